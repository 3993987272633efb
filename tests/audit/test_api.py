from __future__ import annotations

import json

import pytest
from django.test import Client

from haven.accounts import services as accounts
from haven.accounts.models import User
from haven.audit import services
from haven.audit.models import AuditEvent


def _auth(user: User) -> dict[str, str]:
    raw, _ = accounts.token_create(actor=None, user=user, name="api test")
    return {"Authorization": f"Bearer {raw}"}


def test_auditor_reads_and_filters_events(client: Client, auditor: User, caseworker: User) -> None:
    services.record(actor=caseworker, action="thing.made", object_id="obj-1")
    services.record(actor=caseworker, action="other.made", object_id="obj-2")
    headers = _auth(auditor)
    response = client.get("/api/v1/audit/events?action=thing.", headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    [item] = body["items"]
    assert item["action"] == "thing.made"
    assert item["actor_id"] == str(caseworker.pk)
    assert set(item) >= {"seq", "at", "hash", "prev_hash", "request_id"}
    by_actor = client.get(f"/api/v1/audit/events?actor_id={caseworker.pk}", headers=headers).json()
    assert {e["action"] for e in by_actor["items"]} == {"thing.made", "other.made"}


@pytest.mark.parametrize("query", ["since=nope", "until=2024-02-31", "page=0", "page=x",
                                   "action=" + "a" * 65])
def test_bad_filters_get_a_json_error(client: Client, auditor: User, query: str) -> None:
    headers = _auth(auditor)
    response = client.get(f"/api/v1/audit/events?{query}", headers=headers)
    assert response.status_code == 422
    body = response.json()
    assert body["detail"]
    assert body["fields"]


@pytest.mark.parametrize("role", ["caseworker", "operator", "verifier", "liaison"])
def test_roles_without_audit_read_get_403(
    client: Client, request: pytest.FixtureRequest, role: str, db: None
) -> None:
    headers = _auth(request.getfixturevalue(role))
    response = client.get("/api/v1/audit/events", headers=headers)
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    before = AuditEvent.objects.count()
    assert client.post("/api/v1/audit/verify", headers=headers).status_code == 403
    assert AuditEvent.objects.count() == before


def test_verify_over_the_api(client: Client, auditor: User) -> None:
    headers = _auth(auditor)
    ok = client.post("/api/v1/audit/verify", headers=headers).json()
    assert ok["ok"] is True
    assert ok["bad_seq"] is None
    AuditEvent.objects.filter(seq=1).update(data={"forged": True})
    broken = client.post("/api/v1/audit/verify", headers=headers).json()
    assert broken["ok"] is False
    assert broken["bad_seq"] == 1
    assert json.dumps(broken["reason"])


def test_events_name_the_actor_and_the_case_and_filter_by_them(
    client: Client, auditor: User, operator: User
) -> None:
    from haven.cases import services as cases

    case = cases.case_open(actor=operator, legal_name="Магомед Хасанов")
    services.record(actor=operator, action="thing.else", object_id="x")
    headers = _auth(auditor)
    body = client.get(f"/api/v1/audit/events?case={case.number}", headers=headers).json()
    assert body["count"] >= 1
    opened = next(e for e in body["items"] if e["action"] == "case.opened")
    assert opened["actor_username"] == "operator"
    assert opened["case_number"] == case.number
    assert opened["action_label"] == "Case opened"
    assert all(e["action"] != "thing.else" for e in body["items"])
    by_name = client.get("/api/v1/audit/events?actor=operator&action=thing.",
                         headers=headers).json()
    assert [e["action"] for e in by_name["items"]] == ["thing.else"]
    unknown = client.get("/api/v1/audit/events?actor=nobody", headers=headers)
    assert unknown.status_code == 400
    assert "nobody" in unknown.json()["detail"]
