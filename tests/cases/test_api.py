from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from haven.audit.models import AuditEvent
from haven.cases import services
from haven.cases.models import Case, SharedField, Status
from haven.housing import services as housing_services
from tests.accounts.helpers import api_reauthenticate

Api = Callable[[Any], Client]
JSON = "application/json"


def test_open_list_search_and_detail(unsealed: list[str], operator: Any, api: Api) -> None:
    client = api(operator)
    created = client.post("/api/v1/cases", {"legal_name": "Магомед Хасанов",
                                            "phone": "+7 928 000 11 22", "priority": "urgent"},
                          content_type=JSON)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["number"].startswith("HV-")
    assert body["status"] == "intake"
    assert "Магомед" not in created.content.decode()
    assert body["members"][0]["is_principal"] is True
    for q in ("magomed", "ХАСАНОВ", "+79280001122", body["number"]):
        found = client.get("/api/v1/cases", {"q": q}).json()
        assert [c["id"] for c in found] == [body["id"]], q
    detail = client.get(f"/api/v1/cases/{body['id']}")
    assert detail.status_code == 200
    assert "Магомед" not in detail.content.decode()


def test_transition_refusal_is_409_with_reason(opened: Case, coordinator: Any, api: Api) -> None:
    client = api(coordinator)
    response = client.post(f"/api/v1/cases/{opened.pk}/transition", {"to": "departed"},
                           content_type=JSON)
    assert response.status_code == 409
    assert "cannot move from" in response.json()["detail"]
    ok = client.post(f"/api/v1/cases/{opened.pk}/transition", {"to": "on_hold"},
                     content_type=JSON)
    assert ok.status_code == 200
    assert ok.json()["paused_from"] == Status.INTAKE


def test_unassigned_caseworker_gets_404(assigned: Case, other_caseworker: Any, api: Api) -> None:
    client = api(other_caseworker)
    assert client.get(f"/api/v1/cases/{assigned.pk}").status_code == 404
    response = client.post(f"/api/v1/cases/{assigned.pk}/transition", {"to": "on_hold"},
                           content_type=JSON)
    assert response.status_code == 404
    assert client.get("/api/v1/cases").json() == []


def test_reveal_is_audited(assigned: Case, caseworker: Any, api: Api) -> None:
    person = assigned.members.get().person
    client = api(caseworker)
    api_reauthenticate(client, caseworker)  # a reveal wants a re-authenticated token
    response = client.post(f"/api/v1/cases/{assigned.pk}/people/{person.pk}/reveal",
                           {"field": "legal_name"}, content_type=JSON)
    assert response.json() == {"field": "legal_name", "value": "Магомед Хасанов"}
    assert AuditEvent.objects.filter(action="person.revealed", object_id=str(person.pk)).exists()


def test_verification_flow(opened: Case, operator: Any, verifier: Any, coordinator: Any,
                           api: Api) -> None:
    sent = api(operator).post(f"/api/v1/cases/{opened.pk}/verification",
                              {"verifier_id": str(verifier.pk)}, content_type=JSON)
    assert sent.status_code == 201
    vid = sent.json()["id"]
    empty = api(verifier).post(f"/api/v1/cases/{opened.pk}/verification/{vid}/submit",
                               {"outcome": "verified", "methods": [], "narrative": "x"},
                               content_type=JSON)
    assert empty.status_code == 400
    assert "methods" in empty.json()["fields"]
    done = api(verifier).post(f"/api/v1/cases/{opened.pk}/verification/{vid}/submit",
                              {"outcome": "verified", "methods": ["video_call"],
                               "narrative": "ok"}, content_type=JSON)
    assert done.json()["state"] == "awaiting_approval"
    approved = api(coordinator).post(f"/api/v1/cases/{opened.pk}/verification/{vid}/approve",
                                     {"approve": True}, content_type=JSON)
    assert approved.json()["state"] == "concluded"
    opened.refresh_from_db()
    assert opened.verification_outcome == "verified"


def test_notes_and_tasks(assigned: Case, caseworker: Any, coordinator: Any, api: Api) -> None:
    client = api(caseworker)
    note = client.post(f"/api/v1/cases/{assigned.pk}/notes", {"body": "hello"},
                       content_type=JSON)
    assert note.status_code == 201
    api(coordinator).post(f"/api/v1/cases/{assigned.pk}/notes",
                          {"body": "coord", "visibility": "coordinator"}, content_type=JSON)
    assert [n["body"] for n in client.get(f"/api/v1/cases/{assigned.pk}/notes").json()] == [
        "hello"]
    task = client.post("/api/v1/tasks", {"case_id": str(assigned.pk), "title": "Visa form",
                                         "assignee_id": str(caseworker.pk),
                                         "due": "2020-01-01"}, content_type=JSON)
    assert task.status_code == 201
    assert task.json()["overdue"] is True
    assert [t["title"] for t in client.get("/api/v1/tasks").json()] == ["Visa form"]
    done = client.post(f"/api/v1/tasks/{task.json()['id']}/transition", {"to": "done"},
                       content_type=JSON)
    assert done.json()["status"] == "done"
    again = client.post(f"/api/v1/tasks/{task.json()['id']}/transition", {"to": "cancelled"},
                        content_type=JSON)
    assert again.status_code == 409


@pytest.mark.parametrize("role", ["liaison", "auditor"])
def test_roles_without_case_permissions(unsealed: list[str], role: str, api: Api,
                                        request: pytest.FixtureRequest) -> None:
    client = api(request.getfixturevalue(role))
    assert client.post("/api/v1/cases", {"legal_name": "x"}, content_type=JSON).status_code == 403
    assert Case.objects.count() == 0


def test_shelters_api(assigned: Case, coordinator: Any, caseworker: Any, api: Api) -> None:
    coord = api(coordinator)
    shelter = coord.post("/api/v1/shelters", {"code_name": "Oak", "address": "Lenina 5",
                                              "capacity": 1}, content_type=JSON)
    assert shelter.status_code == 201
    sid = shelter.json()["id"]
    cw = api(caseworker)
    assert "Lenina" not in cw.get(f"/api/v1/shelters/{sid}").content.decode()
    assert cw.post(f"/api/v1/shelters/{sid}/address").status_code == 403
    api_reauthenticate(coord, coordinator)  # a reveal wants a re-authenticated token
    assert coord.post(f"/api/v1/shelters/{sid}/address").json() == {"address": "Lenina 5"}
    person = assigned.members.get().person
    placed = cw.post(f"/api/v1/cases/{assigned.pk}/placements",
                     {"person_id": str(person.pk), "shelter_id": sid}, content_type=JSON)
    assert placed.status_code == 201
    moved = cw.post(f"/api/v1/cases/{assigned.pk}/placements/{placed.json()['id']}/transition",
                    {"to": "active"}, content_type=JSON)
    assert moved.json()["status"] == "active"
    child = cw.post(f"/api/v1/cases/{assigned.pk}/members", {"legal_name": "Child",
                                                             "relationship": "child"},
                    content_type=JSON).json()
    full = cw.post(f"/api/v1/cases/{assigned.pk}/placements",
                   {"person_id": child["person_id"], "shelter_id": sid}, content_type=JSON)
    assert full.status_code == 409
    assert "full" in full.json()["detail"]
    board = cw.get("/api/v1/shelters").json()
    assert board[0]["occupied"] == 1
    compromised = coord.post(f"/api/v1/shelters/{sid}/transition", {"to": "compromised"},
                             content_type=JSON)
    assert compromised.json()["status"] == "compromised"
    assert [t["priority"] for t in cw.get("/api/v1/tasks").json()] == ["emergency"]


def test_patch_task_changes_only_what_is_sent(assigned: Case, caseworker: Any, coordinator: Any,
                                              api: Api) -> None:
    client = api(caseworker)
    task = client.post("/api/v1/tasks", {"case_id": str(assigned.pk), "title": "Visa form",
                                         "assignee_id": str(caseworker.pk),
                                         "due": "2031-01-01"}, content_type=JSON).json()
    response = client.patch(f"/api/v1/tasks/{task['id']}", {"priority": "urgent"},
                            content_type=JSON)
    assert response.status_code == 200
    body = response.json()
    assert (body["title"], body["priority"], body["due"]) == ("Visa form", "urgent", "2031-01-01")
    assert body["assignee_id"] == str(caseworker.pk)
    moved = client.patch(f"/api/v1/tasks/{task['id']}", {"assignee_id": str(coordinator.pk),
                                                          "due": None}, content_type=JSON)
    assert (moved.json()["assignee_id"], moved.json()["due"]) == (str(coordinator.pk), None)
    event = AuditEvent.objects.filter(action="task.updated").latest("seq")
    assert event.data["fields"] == ["assignee", "due"]


def test_patch_task_refusals(assigned: Case, caseworker: Any, other_caseworker: Any,
                             liaison: Any, api: Api) -> None:
    client = api(caseworker)
    task = client.post("/api/v1/tasks", {"case_id": str(assigned.pk), "title": "Visa form"},
                       content_type=JSON).json()
    path = f"/api/v1/tasks/{task['id']}"
    events = AuditEvent.objects.count()
    for payload in ({"title": ""}, {"title": None}, {"priority": "soon"},
                    {"assignee_id": str(other_caseworker.pk)},
                    {"assignee_id": "00000000-0000-4000-8000-000000000000"}):
        response = client.patch(path, payload, content_type=JSON)
        assert response.status_code in {400, 422}, payload
        assert response.json()["detail"], payload
    assert api(other_caseworker).patch(path, {"title": "x"}, content_type=JSON).status_code == 404
    assert api(liaison).patch(path, {"title": "x"}, content_type=JSON).status_code == 403
    client.post(f"{path}/transition", {"to": "done"}, content_type=JSON)
    assert client.patch(path, {"title": "x"}, content_type=JSON).status_code == 409
    tasks = client.get("/api/v1/tasks", {"open_only": False, "mine": False}).json()
    assert [t["title"] for t in tasks] == ["Visa form"]
    written = AuditEvent.objects.filter(seq__gt=events).exclude(action="token.created")
    assert list(written.values_list("action", flat=True)) == ["task.transitioned"]


# --- partial views (issue 13, finding 2) -----------------------------------------------------------

CASE_FIELDS = ("status", "paused_from", "case_type", "priority", "risk_level", "triage_score",
               "verification_outcome", "assigned_to_id", "opened_by_id", "next_review",
               "created_at", "version")


def _risk(case: Case, caseworker: Any) -> None:
    services.member_add(actor=caseworker, case=case, legal_name="Зарема Хасанова",
                        relationship="spouse", confidential_fields=["sogi"])
    services.risk_assess(actor=caseworker, case=case, immediacy="imminent",
                         recommended_priority="emergency",
                         next_review=timezone.localdate() + timedelta(days=9))


def test_a_partner_gets_exactly_what_the_referral_shares(assigned: Case, coordinator: Any,
                                                         caseworker: Any, liaison: Any,
                                                         api: Api) -> None:
    _risk(assigned, caseworker)
    services.referral_create(actor=coordinator, case=assigned, liaison=liaison,
                             shared_fields=[SharedField.STATUS])
    client = api(liaison)
    detail = client.get(f"/api/v1/cases/{assigned.pk}")
    assert detail.status_code == 200
    body = detail.json()
    assert (body["id"], body["number"], body["status"]) == (str(assigned.pk), assigned.number,
                                                           "active")
    assert {f: body[f] for f in CASE_FIELDS if f != "status"} == dict.fromkeys(
        (f for f in CASE_FIELDS if f != "status"), None)
    assert body["members"] == []
    assert body["shared"] == {"status": "active", "priority": None, "case_type": None,
                              "household_size": None, "nationality": None, "languages": None}
    for text in (str(caseworker.pk), "imminent", "sogi"):
        assert text not in detail.content.decode()
    (row,) = client.get("/api/v1/cases").json()
    assert {f: row[f] for f in CASE_FIELDS} == {**dict.fromkeys(CASE_FIELDS), "status": "active"}
    # A filter on what the referral does not share is ignored: it cannot reveal it.
    assert client.get("/api/v1/cases", {"risk": "low"}).json() == [row]


def test_a_second_referral_shares_other_fields(assigned: Case, coordinator: Any,
                                               caseworker: Any, liaison: Any, api: Api) -> None:
    _risk(assigned, caseworker)
    person = assigned.members.get(is_principal=True).person
    services.profile_update(actor=caseworker, case=assigned, person=person,
                            nationality="Russian", story="Detained twice")
    services.referral_create(actor=coordinator, case=assigned, liaison=liaison, shared_fields=[
        SharedField.HOUSEHOLD_SIZE, SharedField.NATIONALITY, SharedField.PRIORITY])
    body = api(liaison).get(f"/api/v1/cases/{assigned.pk}").json()
    assert body["status"] is None
    assert body["priority"] == "normal"
    assert body["shared"]["household_size"] == 2
    assert body["shared"]["nationality"] == "Russian"
    assert body["shared"]["status"] is None
    assert "Detained" not in str(body)


def test_an_operator_sees_what_following_up_needs(assigned: Case, operator: Any,
                                                  caseworker: Any, api: Api) -> None:
    _risk(assigned, caseworker)
    body = api(operator).get(f"/api/v1/cases/{assigned.pk}").json()
    assert (body["status"], body["priority"]) == ("active", "normal")
    assert body["assigned_to_id"] == str(caseworker.pk)
    assert (body["risk_level"], body["triage_score"], body["next_review"],
            body["verification_outcome"]) == (None, None, None, None)
    assert [m["confidential"] for m in body["members"]] == [None, None]
    full = api(caseworker).get(f"/api/v1/cases/{assigned.pk}").json()
    assert full["risk_level"] == "imminent"
    assert [m["confidential"] for m in full["members"]] == [[], ["sogi"]]


def test_documents_belong_to_people_over_the_api(assigned: Case, *, caseworker: Any,
                                                  coordinator: Any, verifier: Any,
                                                  api: Api, data_dir: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    cw = api(caseworker)
    person = assigned.members.get().person
    url = f"/api/v1/cases/{assigned.pk}/documents"
    stranger = services.case_open(actor=coordinator, legal_name="Иван").members.get().person
    for query in (f"?doc_type=passport&person_id={stranger.pk}",
                  f"?doc_type=passport&person_id={person.pk}&application_id={uuid.uuid4()}"):
        refused = cw.post(url + query, {"file": SimpleUploadedFile("p.pdf", b"%PDF x")})
        assert refused.status_code == 400
    assert not list((data_dir / "files").glob("*.hvf"))
    made = cw.post(f"{url}?doc_type=ticket&person_id={person.pk}",
                   {"file": SimpleUploadedFile("boarding.pdf", b"%PDF boarding")})
    assert made.status_code == 201, made.content
    doc = made.json()
    assert (doc["person_id"], doc["doc_type"], doc["application_id"]) == (
        str(person.pk), "ticket", None)
    # Reading documents wants a re-authenticated token (issue 13, item 5).
    assert cw.get(url).json()["code"] == "reauth_required"
    assert cw.get(f"{url}/{doc['id']}").status_code == 403
    api_reauthenticate(cw, caseworker)
    assert [d["id"] for d in cw.get(url).json()] == [doc["id"]]
    download = cw.get(f"{url}/{doc['id']}")
    assert b"".join(download.streaming_content) == b"%PDF boarding"  # type: ignore[attr-defined]
    # A verifier of the case reads its documents, but not its tickets.
    vf = api(verifier)
    api_reauthenticate(vf, verifier)
    assert vf.get(url).json() == []
    assert vf.get(f"{url}/{doc['id']}").status_code == 404


def test_a_household_is_placed_in_one_call(assigned: Case, caseworker: Any, coordinator: Any,
                                           api: Api) -> None:
    from haven.housing.models import Placement

    cw = api(caseworker)
    child = cw.post(f"/api/v1/cases/{assigned.pk}/members",
                    {"legal_name": "Child", "relationship": "child"}, content_type=JSON).json()
    persons = [str(assigned.members.get(is_principal=True).person_id), child["person_id"]]
    small = housing_services.shelter_create(actor=coordinator, code_name="Small", capacity=1,
                                            address="x")
    big = housing_services.shelter_create(actor=coordinator, code_name="Big", capacity=4,
                                          address="y")
    url = f"/api/v1/cases/{assigned.pk}/placements/group"
    full = cw.post(url, {"person_ids": persons, "shelter_id": str(small.pk)},
                   content_type=JSON)
    assert full.status_code == 409
    assert "nobody was placed" in full.json()["detail"]
    assert not Placement.objects.exists()
    placed = cw.post(url, {"person_ids": persons, "shelter_id": str(big.pk)},
                     content_type=JSON)
    assert placed.status_code == 201, placed.content
    assert sorted(p["person_id"] for p in placed.json()) == sorted(persons)
