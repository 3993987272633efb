from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from haven.accounts import services as account_services
from haven.intake import services
from haven.intake.models import Status
from tests.accounts.helpers import api_reauthenticate
from tests.intake.conftest import reload

pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> Callable[[Any], Client]:
    def make(user: Any) -> Client:
        raw, _ = account_services.token_create(actor=None, user=user, name="test")
        return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")

    return make


def test_inbox_api_round_trip(submitted: services.Submitted, operator: Any,
                              api: Callable[[Any], Client]) -> None:
    client = api(operator)
    pk = submitted.request.pk
    listing = client.get("/api/v1/requests")
    assert listing.status_code == 200
    assert [r["id"] for r in listing.json()] == [str(pk)]
    # The story is decrypted: the token must have re-authenticated (issue 13, item 5).
    stale = client.get(f"/api/v1/requests/{pk}")
    assert stale.status_code == 403
    assert stale.json()["code"] == "reauth_required"
    assert b"North Caucasus" not in stale.content
    api_reauthenticate(client, operator)
    detail = client.get(f"/api/v1/requests/{pk}")
    assert detail.status_code == 200
    assert detail.json()["payload"]["region"] == "North Caucasus"
    reply = client.post(f"/api/v1/requests/{pk}/reply", {"body": "Hello", "ask_for_info": True},
                        content_type="application/json")
    assert reply.status_code == 201
    assert reload(submitted.request).status == Status.NEEDS_INFO
    bad = client.post(f"/api/v1/requests/{pk}/transition", {"to": "triaged"},
                      content_type="application/json")
    assert bad.status_code == 200
    refused = client.post(f"/api/v1/requests/{pk}/transition", {"to": "triaged"},
                          content_type="application/json")
    assert refused.status_code == 409
    assert "nothing was changed" in refused.json()["detail"]
    converted = client.post(f"/api/v1/requests/{pk}/convert", {"legal_name": "A B"},
                            content_type="application/json")
    assert converted.status_code == 200
    assert converted.json()["status"] == "accepted"


def test_inbox_api_refuses_other_roles(plain_submitted: services.Submitted, caseworker: Any,
                                       outsider: Any, api: Callable[[Any], Client]) -> None:
    pk = plain_submitted.request.pk
    assert api(caseworker).get("/api/v1/requests").status_code == 403
    assert api(caseworker).post(f"/api/v1/requests/{pk}/transition", {"to": "spam"},
                                content_type="application/json").status_code == 403
    stranger = api(outsider)
    api_reauthenticate(stranger, outsider)
    assert stranger.get(f"/api/v1/requests/{pk}").status_code == 404
    assert reload(plain_submitted.request).status == Status.NEW


def test_inbox_api_in_openapi(coordinator: Any, api: Callable[[Any], Client]) -> None:
    schema = api(coordinator).get("/api/v1/openapi.json").json()
    assert "/api/v1/requests" in schema["paths"]
    assert "/api/v1/requests/{request_id}/convert" in schema["paths"]
