from __future__ import annotations

from typing import Any

from django.test import Client

from haven.accounts import services as account_services
from haven.audit.models import AuditEvent
from haven.people import duplicates, services
from haven.people.models import DuplicatePair, Person


def _client(user: Any) -> Client:
    raw, _ = account_services.token_create(actor=None, user=user, name="test")
    return Client(headers={"Authorization": f"Bearer {raw}"})


def _pair(actor: Any) -> tuple[DuplicatePair, Person, Person]:
    a = services.person_create(actor=actor, legal_name="Зелимхан Яндарбиев",
                               phone="+7 928 000 11 22")
    b = services.person_create(actor=actor, legal_name="Zelimkhan Iandarbiev",
                               phone="8 928 000 11 22")
    (pair,) = duplicates.duplicates_find(actor, b)
    return pair, a, b


def test_list_decide_undo(unsealed: list[str], sealed_middleware: None, coordinator: Any
                          ) -> None:
    pair, a, b = _pair(coordinator)
    client = _client(coordinator)
    listed = client.get("/api/v1/people/duplicates")
    assert listed.status_code == 200
    (row,) = listed.json()
    assert row["id"] == str(pair.pk)
    assert {row["first"], row["second"]} == {str(a.pk), str(b.pk)}
    assert {f["field"] for f in row["fields"]} == {"name", "phone"}
    assert "Зелимхан".encode() not in listed.content
    assert b"Zelimkhan" not in listed.content
    decided = client.post(f"/api/v1/people/duplicates/{pair.pk}/decide",
                          {"decision": "same", "keep": str(b.pk)},
                          content_type="application/json")
    assert decided.status_code == 200
    assert decided.json()["state"] == "same"
    assert decided.json()["kept"] == str(b.pk)
    assert client.get("/api/v1/people/duplicates").json() == []
    assert client.get("/api/v1/people/duplicates?state=same").json()[0]["id"] == str(pair.pk)
    undone = client.post(f"/api/v1/people/duplicates/{pair.pk}/undo")
    assert undone.status_code == 200
    assert undone.json()["state"] == "open"
    assert undone.json()["kept"] is None
    assert Person.objects.count() == 2
    assert AuditEvent.objects.filter(action__startswith="people.duplicate_").count() == 3


def test_bad_keep_changes_nothing(unsealed: list[str], sealed_middleware: None,
                                  coordinator: Any) -> None:
    pair, _, _ = _pair(coordinator)
    stranger = services.person_create(actor=coordinator, legal_name="Ахмед Закаев")
    response = _client(coordinator).post(
        f"/api/v1/people/duplicates/{pair.pk}/decide",
        {"decision": "same", "keep": str(stranger.pk)}, content_type="application/json")
    assert response.status_code == 400
    pair.refresh_from_db()
    assert pair.state == "open"


def test_other_roles_and_orgs_see_no_pair(unsealed: list[str], sealed_middleware: None,
                                          coordinator: Any, caseworker: Any, outsider: Any
                                          ) -> None:
    pair, _, _ = _pair(coordinator)
    assert _client(caseworker).get("/api/v1/people/duplicates").status_code == 403
    outside = _client(outsider)
    assert outside.get("/api/v1/people/duplicates").json() == []
    response = outside.post(f"/api/v1/people/duplicates/{pair.pk}/decide",
                            {"decision": "different"}, content_type="application/json")
    assert response.status_code == 404
    pair.refresh_from_db()
    assert pair.state == "open"
