from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from haven.accounts import services as account_services
from haven.audit.models import AuditEvent
from haven.cases import services
from haven.cases.models import Case, Outcome, SharedField, Status
from haven.housing import services as housing_services

Login = Callable[[Any], Client]


def url(case: Case, suffix: str = "") -> str:
    return f"/cases/{case.pk}/{suffix}"


def test_dashboard_lists_my_cases(assigned: Case, caseworker: Any, login: Login) -> None:
    response = login(caseworker).get("/cases/dashboard/")
    assert response.status_code == 200
    assert assigned.number in response.content.decode()


@pytest.mark.parametrize("query", ["магомед", "MAGOMED", "Хасанов", "khasanov", "+79280001122"])
def test_case_list_search_in_cyrillic_and_latin(assigned: Case, *, caseworker: Any,
                                                other_caseworker: Any, coordinator: Any,
                                                login: Login, query: str) -> None:
    services.case_open(actor=coordinator, legal_name="Ислам Ильясов")
    page = login(caseworker).get("/cases/", {"q": query}).content.decode()
    assert assigned.number in page
    assert "1 case" in page
    other = login(other_caseworker).get("/cases/", {"q": query}).content.decode()
    assert assigned.number not in other


def test_case_list_filters_paginate_and_htmx_partial(unsealed: list[str], coordinator: Any,
                                                     login: Login) -> None:
    for i in range(27):
        services.case_open(actor=coordinator, legal_name=f"Person {i}")
    client = login(coordinator)
    first = client.get("/cases/").content.decode()
    assert "Page 1 of 2" in first
    assert client.get("/cases/", {"page": 2}).status_code == 200
    assert "No cases match" in client.get("/cases/", {"status": Status.ACTIVE}).content.decode()
    partial = client.get("/cases/", {"q": "person"}, headers={"HX-Request": "true"})
    assert b"<html" not in partial.content
    assert b"27 cases" in partial.content


def test_open_case_page_and_inline_errors(unsealed: list[str], operator: Any,
                                          login: Login) -> None:
    client = login(operator)
    bad = client.post("/cases/new/", {"legal_name": "", "case_type": "evacuation",
                                      "priority": "normal"})
    assert bad.status_code == 400
    assert b"error-text" in bad.content
    assert Case.objects.count() == 0
    good = client.post("/cases/new/", {"legal_name": "Магомед", "case_type": "evacuation",
                                       "priority": "urgent"})
    case = Case.objects.get()
    assert good.status_code == 302
    assert good["Location"] == url(case)
    assert case.opened_by == operator


def test_case_page_masks_people_and_reveal_is_audited(assigned: Case, caseworker: Any,
                                                      login: Login) -> None:
    client = login(caseworker)
    page = client.get(url(assigned)).content.decode()
    assert "Магомед" not in page
    assert "928 000" not in page
    assert "reveal" in page
    person = assigned.members.get().person
    revealed = client.post(url(assigned, f"people/{person.pk}/reveal/"), {"field": "legal_name"})
    assert revealed.status_code == 200
    assert "Магомед Хасанов" in revealed.content.decode()
    event = AuditEvent.objects.filter(action="person.revealed").latest("seq")
    assert event.data == {"field": "legal_name", "case": str(assigned.pk)}
    assert event.actor_id == str(caseworker.pk)
    partial = client.post(url(assigned, f"people/{person.pk}/reveal/"), {"field": "phone"},
                          headers={"HX-Request": "true"})
    assert partial.content.decode().strip().startswith('<span class="revealed">+7 928')


def test_reveal_asks_to_reauthenticate_when_stale(assigned: Case, caseworker: Any,
                                                  login: Login) -> None:
    client = login(caseworker)
    session = client.session
    session[account_services.SESSION_REAUTH_AT] = 0
    session.save()
    person = assigned.members.get().person
    events = AuditEvent.objects.filter(action="person.revealed").count()
    response = client.post(url(assigned, f"people/{person.pk}/reveal/"),
                           {"field": "legal_name", "next": url(assigned)})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauth/")
    htmx = client.post(url(assigned, f"people/{person.pk}/reveal/"), {"field": "legal_name"},
                       headers={"HX-Request": "true"})
    assert htmx.status_code == 204
    assert htmx["HX-Redirect"].startswith("/accounts/reauth/")
    assert AuditEvent.objects.filter(action="person.revealed").count() == events


def test_operator_sees_masked_values_without_reveal_button(opened: Case, operator: Any,
                                                          login: Login) -> None:
    client = login(operator)
    page = client.get(url(opened)).content.decode()
    assert "Магомед" not in page
    assert "reveal</button>" not in page
    person = opened.members.get().person
    response = client.post(url(opened, f"people/{person.pk}/reveal/"),
                                    {"field": "legal_name"})
    assert response.status_code == 403


def test_unassigned_caseworker_gets_404_everywhere(assigned: Case, other_caseworker: Any,
                                                   login: Login) -> None:
    client = login(other_caseworker)
    person = assigned.members.get().person
    for method, path, data in [
        ("get", url(assigned), {}),
        ("post", url(assigned, "transition/"), {"to": Status.ON_HOLD}),
        ("post", url(assigned, "notes/"), {"body": "x", "visibility": "team"}),
        ("post", url(assigned, f"people/{person.pk}/reveal/"), {"field": "legal_name"}),
        ("get", url(assigned, f"people/{person.pk}/"), {}),
    ]:
        response = getattr(client, method)(path, data)
        assert response.status_code == 404, path
    assert Case.objects.get(pk=assigned.pk).status == Status.ACTIVE


def test_refused_transition_shows_the_reason_and_changes_nothing(opened: Case, coordinator: Any,
                                                                 login: Login) -> None:
    client = login(coordinator)
    client.post(url(opened, "transition/"), {"to": Status.VERIFICATION})
    response = client.post(url(opened, "transition/"), {"to": Status.ACTIVE})
    assert response.status_code == 400
    assert "becomes active only once it is verified" in response.content.decode()
    assert Case.objects.get(pk=opened.pk).status == Status.VERIFICATION


def test_full_flow_through_the_pages(opened: Case, *, operator: Any, verifier: Any,
                                     coordinator: Any, caseworker: Any, login: Login) -> None:
    op = login(operator)
    assert op.post(url(opened, "verification/"), {"verifier": verifier.pk}).status_code == 302
    verification = opened.verifications.get()
    ver = login(verifier)
    assert "Магомед" not in ver.get(url(opened)).content.decode()
    response = ver.post(url(opened, f"verification/{verification.pk}/submit/"), {
        "outcome": Outcome.VERIFIED, "methods": ["video_call", "documents"],
        "narrative": "Video call matched the documents"})
    assert response.status_code == 302
    coord = login(coordinator)
    coord.post(url(opened, f"verification/{verification.pk}/approve/"), {"decision": "approve"})
    coord.post(url(opened, "assign/"), {"assignee": caseworker.pk})
    opened.refresh_from_db()
    assert opened.verification_outcome == Outcome.VERIFIED
    assert opened.assigned_to == caseworker
    cw = login(caseworker)
    assert cw.post(url(opened, "transition/"), {"to": Status.ACTIVE}).status_code == 302
    shelter = housing_services.shelter_create(actor=coordinator, code_name="Birch", capacity=3,
                                              address="secret street 1")
    person = opened.members.get().person
    assert cw.post(url(opened, "placements/"), {"person": person.pk,
                                                "shelter": shelter.pk}).status_code == 302
    assert cw.post(url(opened, "notes/"), {"body": "Arrived at Birch",
                                           "visibility": "team"}).status_code == 302
    assert cw.post(url(opened, "tasks/"), {"title": "Book tickets", "assignee": caseworker.pk,
                                           "priority": "urgent"}).status_code == 302
    page = cw.get(url(opened)).content.decode()
    assert "Arrived at Birch" in page
    assert "Book tickets" in page
    assert "Birch" in page
    assert "secret street" not in page
    task = opened.tasks.get()
    cw.post(f"/cases/tasks/{task.pk}/transition/", {"to": "done"})
    task.refresh_from_db()
    assert task.status == "done"


def test_bad_note_visibility_is_an_inline_error(assigned: Case, caseworker: Any,
                                                login: Login) -> None:
    response = login(caseworker).post(url(assigned, "notes/"),
                                      {"body": "x", "visibility": "coordinator"})
    assert response.status_code == 400
    assert assigned.notes.count() == 0


def test_profile_edit_reveals_and_saves(assigned: Case, caseworker: Any, login: Login) -> None:
    client = login(caseworker)
    person = assigned.members.get().person
    bad = client.post(url(assigned, f"people/{person.pk}/"), {"birth_date": "1990-02-31"})
    assert bad.status_code == 400
    assert b"YYYY" in bad.content
    ok = client.post(url(assigned, f"people/{person.pk}/"),
                     {"birth_date": "1990-02", "nationality": "Russian"})
    assert ok.status_code == 302
    form = client.get(url(assigned, f"people/{person.pk}/")).content.decode()
    assert "1990-02" in form
    assert AuditEvent.objects.filter(action="person.revealed", data__field="profile").exists()


def test_redaction_through_the_page(assigned: Case, caseworker: Any, coordinator: Any,
                                    login: Login) -> None:
    note = services.note_add(actor=caseworker, case=assigned, body="leaked address")
    client = login(caseworker)
    assert client.post(url(assigned, f"notes/{note.pk}/redact/")).status_code == 403
    login(coordinator).post(url(assigned, f"notes/{note.pk}/redact/"))
    page = client.get(url(assigned)).content.decode()
    assert "leaked address" not in page
    assert "Redacted by coordinator" in page


def test_liaison_sees_referred_fields_only(assigned: Case, coordinator: Any, caseworker: Any,
                                           liaison: Any, login: Login) -> None:
    client = login(liaison)
    assert client.get(url(assigned)).status_code == 404
    services.referral_create(actor=coordinator, case=assigned, liaison=liaison,
                             shared_fields=[SharedField.PRIORITY, SharedField.HOUSEHOLD_SIZE])
    page = client.get(url(assigned)).content.decode()
    assert "Household size" in page
    assert "Магомед" not in page
    assert "reveal" not in page
    assert assigned.number in client.get("/cases/").content.decode()


def test_suspended_case_disappears_for_caseworker(assigned: Case, caseworker: Any,
                                                  coordinator: Any, login: Login) -> None:
    services.case_transition(actor=caseworker, case=assigned, to=Status.SUSPENDED)
    client = login(caseworker)
    assert client.get(url(assigned)).status_code == 404
    assert assigned.number not in client.get("/cases/").content.decode()
    assert login(coordinator).get(url(assigned)).status_code == 200


def test_document_upload_and_download_encrypted(assigned: Case, caseworker: Any,
                                                login: Login, data_dir: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = login(caseworker)
    upload = SimpleUploadedFile("passport.pdf", b"%PDF secret passport", "application/pdf")
    response = client.post(url(assigned, "documents/"), {"doc_type": "passport", "file": upload})
    assert response.status_code == 302
    doc = assigned.documents.get()
    stored = (data_dir / "files" / f"{doc.pk}.hvf").read_bytes()
    assert b"secret passport" not in stored
    download = client.get(url(assigned, f"documents/{doc.pk}/"))
    assert b"".join(download.streaming_content) == b"%PDF secret passport"  # type: ignore[attr-defined]
    assert AuditEvent.objects.filter(action="document.downloaded").count() == 1
