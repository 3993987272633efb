"""Fuzz every API operation from its OpenAPI document, with a token of every role.

Fails on any 5xx, any response that breaks the documented schema, and any write that
happened on a rejected request (the audit head and table counts must not move on 4xx,
except for events that record the refusal itself).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import ignored_auth, negative_data_rejection, positive_data_acceptance

from haven.access.roles import Role
from haven.accounts import services
from haven.accounts.models import ApiToken, User
from haven.audit.models import AuditEvent
from haven.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)

ROLE_FIXTURES = [r.value for r in Role]


def _counts() -> tuple[int, int]:
    return User.objects.count(), ApiToken.objects.count()


@pytest.fixture(params=ROLE_FIXTURES)
def token(request: pytest.FixtureRequest) -> str:
    user = request.getfixturevalue(request.param)
    raw, _ = services.token_create(actor=None, user=user, name="fuzz")
    return raw


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_operations_hold_their_contract(case: schemathesis.Case, token: str) -> None:
    before = _counts()
    events_before = AuditEvent.objects.count()
    response = case.call_and_validate(
        headers={"Authorization": f"Bearer {token}"},
        # Token checks have their own tests; this one re-sends without the header we add.
        # Business rules refuse some schema-valid input (a common password) and the API
        # ignores unknown query parameters; both are deliberate, so these two checks are off.
        excluded_checks=[ignored_auth, negative_data_rejection, positive_data_acceptance],
    )
    assert response.status_code < 500
    if response.status_code >= 400:
        assert _counts() == before, "a rejected request changed data"
        new = AuditEvent.objects.filter(seq__gt=events_before).exclude(
            action__startswith="auth.")
        assert not new.exists(), "a rejected request wrote an audit event"
