"""API tokens as services: hashes only, expiry, scope, the account's epoch, approval."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from haven.accounts import services
from haven.accounts.models import ApiToken, User
from haven.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tests.accounts.helpers import counts, events


def test_token_is_stored_only_as_a_hash(caseworker: User) -> None:
    raw, token = services.token_create(actor=caseworker, user=caseworker, name="script")
    assert raw.startswith(services.TOKEN_PREFIX)
    assert len(raw) > 40
    assert token.key_hash != raw
    assert token.prefix == raw[:12]
    secret_part = raw[len(services.TOKEN_PREFIX):]
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - table names from the DB itself
            for row in cursor.fetchall():
                assert secret_part not in repr(row), f"the raw token is stored in {table}"
    [event] = events("token.created")
    assert event.object_id == str(token.pk)
    assert event.data == {"user": str(caseworker.pk), "days": 30, "read_only": False}


def test_a_token_expires_after_thirty_days_by_default(caseworker: User, settings: Any) -> None:
    assert settings.HAVEN_TOKEN_DEFAULT_DAYS == 30
    assert settings.HAVEN_TOKEN_MAX_DAYS == 90
    _, token = services.token_create(actor=None, user=caseworker, name="script")
    left = token.expires_at - timezone.now()
    assert timedelta(days=29, hours=23) < left <= timedelta(days=30)
    _, longest = services.token_create(actor=None, user=caseworker, name="x", expires_days=90)
    assert (longest.expires_at - timezone.now()).days == 89


@pytest.mark.parametrize("days", [0, -3, 91, 365, "ten", 1.5])
def test_an_expiry_outside_one_to_ninety_days_is_refused(caseworker: User, days: Any) -> None:
    before = counts()
    with pytest.raises(ValidationFailed) as caught:
        services.token_create(actor=None, user=caseworker, name="script", expires_days=days)
    assert "expires_days" in caught.value.fields
    assert counts() == before


def test_token_authenticates_its_user_and_marks_use(caseworker: User) -> None:
    raw, token = services.token_create(actor=None, user=caseworker, name="script")
    found = services.token_authenticate(raw)
    assert found is not None
    assert found.user == caseworker
    token.refresh_from_db()
    assert token.last_used_at is not None


@pytest.mark.parametrize("raw", ["", "hvn_", "nope_abc", "hvn_" + "a" * 200, "hvn_unknown-token"])
def test_unknown_or_malformed_tokens_authenticate_nobody(caseworker: User, raw: str) -> None:
    services.token_create(actor=None, user=caseworker, name="script")
    assert services.token_authenticate(raw) is None


def test_a_revoked_token_is_refused_saying_why(caseworker: User) -> None:
    raw, token = services.token_create(actor=None, user=caseworker, name="script")
    services.token_revoke(actor=caseworker, token_id=token.pk)
    with pytest.raises(services.TokenRejected, match="revoked") as caught:
        services.token_authenticate(raw)
    assert caught.value.status == 401
    [event] = events("token.revoked")
    assert event.object_id == str(token.pk)
    with pytest.raises(Conflict):
        services.token_revoke(actor=caseworker, token_id=token.pk)
    assert len(events("token.revoked")) == 1


def test_an_expired_token_is_refused_saying_when(caseworker: User) -> None:
    raw, token = services.token_create(actor=None, user=caseworker, name="script")
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now())
    with pytest.raises(services.TokenRejected, match="expired on"):
        services.token_authenticate(raw)


def test_a_read_only_token_reads_and_changes_nothing(caseworker: User) -> None:
    raw, _ = services.token_create(actor=None, user=caseworker, name="r", read_only=True)
    assert services.token_authenticate(raw, method="GET") is not None
    for method in ("POST", "PATCH", "PUT", "DELETE"):
        with pytest.raises(services.TokenReadOnly) as caught:
            services.token_authenticate(raw, method=method)
        assert caught.value.status == 403


def test_no_token_survives_disabling_even_after_re_enabling(
    coordinator: User, caseworker: User
) -> None:
    raw, _ = services.token_create(actor=None, user=caseworker, name="script")
    services.user_set_active(actor=coordinator, user_id=caseworker.pk, active=False)
    with pytest.raises(services.TokenRejected):
        services.token_authenticate(raw)
    services.user_set_active(actor=coordinator, user_id=caseworker.pk, active=True)
    with pytest.raises(services.TokenRejected):
        services.token_authenticate(raw)
    raw2, _ = services.token_create(actor=None, user=caseworker, name="new one")
    assert services.token_authenticate(raw2) is not None


@pytest.mark.parametrize("name", ["", "   ", "n" * 101])
def test_token_needs_a_sensible_name(caseworker: User, name: str) -> None:
    before = counts()
    with pytest.raises(ValidationFailed) as caught:
        services.token_create(actor=caseworker, user=caseworker, name=name)
    assert "name" in caught.value.fields
    assert counts() == before


def test_no_token_for_a_disabled_account(caseworker: User) -> None:
    User.objects.filter(pk=caseworker.pk).update(is_active=False)
    caseworker.refresh_from_db()
    with pytest.raises(Conflict):
        services.token_create(actor=None, user=caseworker, name="script")
    assert not ApiToken.objects.exists()


def test_caseworker_cannot_make_a_token_for_someone_else(
    caseworker: User, other_caseworker: User
) -> None:
    with pytest.raises(Forbidden):
        services.token_create(actor=caseworker, user=other_caseworker, name="borrowed")
    assert not ApiToken.objects.exists()


def test_coordinator_makes_and_revokes_tokens_in_their_organization_only(
    coordinator: User, caseworker: User, outsider: User
) -> None:
    _, token = services.token_create(actor=coordinator, user=caseworker, name="for them")
    assert token.user == caseworker
    with pytest.raises(NotFound):
        services.token_create(actor=outsider, user=caseworker, name="foreign")
    with pytest.raises(NotFound):
        services.token_revoke(actor=outsider, token_id=token.pk)
    services.token_revoke(actor=coordinator, token_id=token.pk)
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_someone_elses_token_looks_missing_to_a_caseworker(
    caseworker: User, other_caseworker: User
) -> None:
    _, token = services.token_create(actor=None, user=other_caseworker, name="theirs")
    with pytest.raises(NotFound) as refused:
        services.token_revoke(actor=caseworker, token_id=token.pk)
    with pytest.raises(NotFound) as missing:
        services.token_revoke(actor=caseworker, token_id="00000000-0000-4000-8000-000000000000")
    assert refused.value.message == missing.value.message
    token.refresh_from_db()
    assert token.revoked_at is None
    assert events("token.revoked") == []


def test_approving_a_token_opens_its_window_once_for_its_owner_only(
    caseworker: User, coordinator: User
) -> None:
    _, token = services.token_create(actor=None, user=caseworker, name="script")
    assert not services.token_reauth_ok(token)
    with pytest.raises(NotFound):  # a token manager still cannot step up another's token
        services.token_approve(actor=coordinator, token_id=token.pk)
    services.token_approve(actor=caseworker, token_id=token.pk)
    token.refresh_from_db()
    assert services.token_reauth_ok(token)
    [event] = events("token.reauthenticated")
    assert event.data == {"kind": "session"}
    _, read_only = services.token_create(actor=None, user=caseworker, name="r", read_only=True)
    with pytest.raises(Conflict, match="read-only"):
        services.token_approve(actor=caseworker, token_id=read_only.pk)
