from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from haven.accounts import services as account_services
from haven.audit.models import AuditEvent
from haven.cases import services
from haven.cases.models import Case, Outcome, SharedField, Status
from haven.housing import services as housing_services

Login = Callable[[Any], Client]


def url(case: Case, suffix: str = "") -> str:
    return f"/cases/{case.pk}/{suffix}"


def test_dashboard_lists_my_cases(assigned: Case, caseworker: Any, login: Login) -> None:
    response = login(caseworker).get("/")
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
    bad = client.post(url(assigned, f"people/{person.pk}/"), {"legal_name": "Магомед Хасанов",
                                                              "birth_date": "1990-02-31"})
    assert bad.status_code == 400
    assert b"YYYY" in bad.content
    ok = client.post(url(assigned, f"people/{person.pk}/"),
                     {"legal_name": "Магомед Хасанов", "birth_date": "1990-02",
                      "nationality": "Russian"})
    assert ok.status_code == 302
    form = client.get(url(assigned, f"people/{person.pk}/")).content.decode()
    assert "1990-02" in form
    revealed = AuditEvent.objects.filter(action="person.revealed").latest("seq")
    assert "legal_name" in revealed.data["fields"]
    assert "story" in revealed.data["fields"]


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
    person = assigned.members.get().person
    upload = SimpleUploadedFile("passport.pdf", b"%PDF secret passport", "application/pdf")
    response = client.post(url(assigned, "documents/"), {"doc_type": "passport", "file": upload,
                                                         "person": str(person.pk)})
    assert response.status_code == 302
    doc = assigned.documents.get()
    assert (doc.person, doc.application) == (person, None)
    stored = (data_dir / "files" / f"{doc.pk}.hvf").read_bytes()
    assert b"secret passport" not in stored
    download = client.get(url(assigned, f"documents/{doc.pk}/"))
    assert b"".join(download.streaming_content) == b"%PDF secret passport"  # type: ignore[attr-defined]
    assert AuditEvent.objects.filter(action="document.downloaded").count() == 1
    # Issue 13, item 5: a download hands the file out decrypted, so it re-authenticates.
    _stale(client)
    refused = client.get(url(assigned, f"documents/{doc.pk}/"))
    assert refused.status_code == 302
    assert refused["Location"] == ("/accounts/reauth/?next=" + url(assigned, f"documents/{doc.pk}/")
                                   .replace("/", "%2F"))
    assert b"secret passport" not in refused.content
    assert AuditEvent.objects.filter(action="document.downloaded").count() == 1


def test_a_document_is_a_persons_and_may_be_made_for_an_application(
        assigned: Case, caseworker: Any, coordinator: Any, login: Login, data_dir: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from haven.pathways import loader
    from haven.pathways import services as pathway_services
    from haven.pathways.models import Pathway

    loader.load_reference_data()
    application = pathway_services.application_create(actor=caseworker, case=assigned,
                                                      pathway=Pathway.objects.first())
    spouse = services.member_add(actor=caseworker, case=assigned, legal_name="Зарема",
                                 relationship="spouse")
    stranger = services.case_open(actor=coordinator, legal_name="Иван").members.get().person
    client = login(caseworker)
    page = client.get(url(assigned)).content.decode()
    assert 'name="person"' in page
    assert f'<option value="{spouse.person_id}">Spouse</option>' in page
    assert f'<option value="{application.pk}">' in page

    def upload(**fields: str) -> Any:
        return client.post(url(assigned, "documents/"), {
            "doc_type": "application_form", **fields,
            "file": SimpleUploadedFile("form.pdf", b"%PDF form", "application/pdf")})

    for refused in ({}, {"person": str(stranger.pk)}):
        response = upload(**refused)
        assert response.status_code == 302
        assert not assigned.documents.exists()
        assert not list((data_dir / "files").glob("*.hvf"))  # the sealed file is removed
    upload(person=str(spouse.person_id), application=str(application.pk))
    doc = assigned.documents.get()
    assert (doc.person_id, doc.application_id) == (spouse.person_id, application.pk)
    audit = AuditEvent.objects.get(action="document.added")
    assert audit.data["person"] == str(spouse.person_id)
    assert audit.data["application"] == str(application.pk)
    assert "Spouse" in client.get(url(assigned)).content.decode().split('id="documents"')[1]


def test_document_upload_passes_the_csrf_check_of_a_no_referrer_browser(
        assigned: Case, caseworker: Any, login: Login, data_dir: Any) -> None:
    """A browser under ``Referrer-Policy: no-referrer`` posts ``Origin: null`` with
    ``Sec-Fetch-Site: same-origin``: the upload's late CSRF check accepts it like every other
    form, and still refuses the same post from another site or without the token."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = login(caseworker)
    client.handler.enforce_csrf_checks = True
    client.get(url(assigned, ""))
    token = client.cookies["haven_csrf"].value

    def post(token: str, site: str) -> int:
        upload = SimpleUploadedFile("passport.pdf", b"%PDF passport", "application/pdf")
        response = client.post(url(assigned, "documents/"),
                               {"doc_type": "passport", "file": upload,
                                "person": str(assigned.members.get().person_id),
                                "csrfmiddlewaretoken": token},
                               headers={"Origin": "null", "Sec-Fetch-Site": site})
        return response.status_code

    assert post(token, "cross-site") == 403
    assert post("wrong" * 8, "same-origin") == 403
    assert not assigned.documents.exists()
    assert post(token, "same-origin") == 302
    assert assigned.documents.count() == 1


# --- tasks ---------------------------------------------------------------------------------------


def _task(case: Case, actor: Any, title: str = "Book tickets", **kwargs: Any) -> Any:
    return services.task_create(actor=actor, case=case, title=title, **kwargs)


def test_my_tasks_lists_open_tasks_overdue_first_and_done_apart(assigned: Case, caseworker: Any,
                                                               login: Login) -> None:
    today = timezone.localdate()
    _task(assigned, caseworker, "Later", assignee=caseworker, due=today + timedelta(days=4))
    _task(assigned, caseworker, "Overdue", assignee=caseworker, due=today - timedelta(days=2))
    done = _task(assigned, caseworker, "Finished", assignee=caseworker)
    _task(assigned, caseworker, "Not mine")
    client = login(caseworker)
    client.post(f"/cases/tasks/{done.pk}/transition/", {"to": "done", "next": "tasks"})
    page = client.get("/cases/tasks/").content.decode()
    assert page.index("Overdue") < page.index("Later")
    assert "Finished" not in page
    assert "Not mine" not in page
    assert assigned.number in page
    finished = client.get("/cases/tasks/", {"status": "done"}).content.decode()
    assert "Finished" in finished
    assert "Overdue" not in finished
    assert client.get("/cases/tasks/", {"status": "nonsense"}).status_code == 200


def test_transition_from_my_tasks_returns_there(assigned: Case, caseworker: Any,
                                                login: Login) -> None:
    task = _task(assigned, caseworker, assignee=caseworker)
    client = login(caseworker)
    edit = client.get(f"/cases/tasks/{task.pk}/edit/", {"next": "tasks"}).content.decode()
    assert 'name="next" value="tasks"' in edit
    saved = client.post(f"/cases/tasks/{task.pk}/edit/", {"title": "Book a bus",
                                                          "priority": "normal", "next": "tasks"})
    assert saved["Location"] == "/cases/tasks/"
    response = client.post(f"/cases/tasks/{task.pk}/transition/", {"to": "done", "next": "tasks"})
    assert response["Location"] == "/cases/tasks/"


def test_edit_task_page_saves_and_audits(assigned: Case, caseworker: Any, coordinator: Any,
                                         login: Login) -> None:
    task = _task(assigned, caseworker, assignee=caseworker)
    client = login(caseworker)
    page = client.get(f"/cases/tasks/{task.pk}/edit/")
    assert page.status_code == 200
    assert "Book tickets" in page.content.decode()
    response = client.post(f"/cases/tasks/{task.pk}/edit/", {
        "title": "Book tickets to Tbilisi", "assignee": coordinator.pk, "due": "2031-05-01",
        "priority": "urgent"})
    assert response.status_code == 302
    assert response["Location"] == url(assigned) + "#tasks"
    task.refresh_from_db()
    assert (task.title, task.assignee, str(task.due)) == ("Book tickets to Tbilisi",
                                                          coordinator, "2031-05-01")
    event = AuditEvent.objects.filter(action="task.updated").get()
    assert "Tbilisi" not in str(event.data)


def test_edit_task_inline_with_htmx(assigned: Case, caseworker: Any, login: Login) -> None:
    task = _task(assigned, caseworker, assignee=caseworker)
    client = login(caseworker)
    assert f'hx-get="/cases/tasks/{task.pk}/edit/"' in client.get(url(assigned)).content.decode()
    htmx = {"HX-Request": "true"}
    form = client.get(f"/cases/tasks/{task.pk}/edit/", headers=htmx).content.decode()
    assert form.startswith("<tr")
    assert "<html" not in form
    bad = client.post(f"/cases/tasks/{task.pk}/edit/", {"title": "", "priority": "normal"},
                      headers=htmx)
    assert bad.status_code == 200  # htmx swaps only successful answers
    assert "error-text" in bad.content.decode()
    row = client.post(f"/cases/tasks/{task.pk}/edit/", {"title": "Book a bus",
                                                         "priority": "normal"}, headers=htmx)
    assert row.status_code == 200
    assert "Book a bus" in row.content.decode()
    assert "<form" in row.content.decode()  # done / cancel buttons are back


def test_edit_task_bad_input_is_an_inline_error_and_changes_nothing(
        assigned: Case, caseworker: Any, other_caseworker: Any, login: Login) -> None:
    task = _task(assigned, caseworker, assignee=caseworker)
    client = login(caseworker)
    events = AuditEvent.objects.count()
    for data in ({"title": "", "priority": "normal"},
                 {"title": "x", "priority": "normal", "assignee": other_caseworker.pk}):
        response = client.post(f"/cases/tasks/{task.pk}/edit/", data)
        assert response.status_code == 400
        assert "error-text" in response.content.decode()
    task.refresh_from_db()
    assert (task.title, task.assignee) == ("Book tickets", caseworker)
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize(("role", "status"), [("other_caseworker", 404), ("outsider", 404),
                                              ("liaison", 403), ("auditor", 403)])
def test_edit_task_is_refused_without_permission(assigned: Case, caseworker: Any, *, role: str,
                                                 status: int, login: Login,
                                                 request: pytest.FixtureRequest) -> None:
    task = _task(assigned, caseworker, assignee=caseworker)
    client = login(request.getfixturevalue(role))
    events = AuditEvent.objects.count()
    assert client.get(f"/cases/tasks/{task.pk}/edit/").status_code == status
    assert client.post(f"/cases/tasks/{task.pk}/edit/",
                       {"title": "mine", "priority": "normal"}).status_code == status
    task.refresh_from_db()
    assert task.title == "Book tickets"
    assert AuditEvent.objects.count() == events


def test_placement_form_is_fetched_when_asked(assigned: Case, caseworker: Any, coordinator: Any,
                                              login: Login) -> None:
    housing_services.shelter_create(actor=coordinator, code_name="Birch", capacity=3,
                                    address="secret street 1")
    client = login(caseworker)
    assert "Birch" not in client.get(url(assigned)).content.decode()
    page = client.get(url(assigned, "placements/new/")).content.decode()
    assert "Birch (0/3)" in page
    assert "secret street" not in page
    partial = client.get(url(assigned, "placements/new/"), headers={"HX-Request": "true"})
    assert b"<html" not in partial.content


def test_case_list_says_more_than_the_cap(unsealed: list[str], coordinator: Any, login: Login,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from haven.cases import selectors

    for i in range(3):
        services.case_open(actor=coordinator, legal_name=f"Person {i}")
    monkeypatch.setattr(selectors, "COUNT_CAP", 2)
    client = login(coordinator)
    page = client.get("/cases/").content.decode()
    assert "More than 2 cases" in page
    assert "Page 1 of 1" not in page
    monkeypatch.setattr(selectors, "SEARCH_IDS", 1)
    search = client.get("/cases/", {"q": "person"}).content.decode()
    assert "More than 1 people match" in search


# --- the start page ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["coordinator", "caseworker", "operator", "verifier"])
def test_start_page_of_case_staff_is_their_work_queue(role: str, login: Login, unsealed: list[str],
                                                      request: pytest.FixtureRequest) -> None:
    response = login(request.getfixturevalue(role)).get("/")
    assert response.status_code == 200
    assert "My work" in response.content.decode()


@pytest.mark.parametrize(("role", "shows"), [("liaison", "Cases referred to you"),
                                             ("auditor", "Latest events")])
def test_start_page_of_liaison_and_auditor(role: str, shows: str, login: Login,
                                           request: pytest.FixtureRequest) -> None:
    response = login(request.getfixturevalue(role)).get("/")
    assert response.status_code == 200
    assert shows in response.content.decode()


def test_start_page_without_case_or_audit_work_says_what_there_is(
        login: Login, caseworker: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from haven.access import policy
    from haven.access.roles import Role

    monkeypatch.setitem(policy.ROLE_PERMISSIONS, Role.CASEWORKER, frozenset())
    page = login(caseworker).get("/").content.decode()
    assert "What you can do here" in page
    assert 'href="/accounts/"' in page


# --- need-to-know on pages (issue 13, findings 2 and 5) ---------------------------------------------


def _stale(client: Client) -> None:
    session = client.session
    session[account_services.SESSION_REAUTH_AT] = 0
    session.save()


def test_profile_page_reauthenticates_before_showing_details(assigned: Case, caseworker: Any,
                                                             login: Login) -> None:
    """Finding 5: the edit page showed birth date, nationality, location and story decrypted
    without the re-authentication the reveal button asks for."""
    person = assigned.members.get().person
    services.profile_update(actor=caseworker, case=assigned, person=person,
                            birth_date="1990-02", story="Detained twice in Grozny")
    client = login(caseworker)
    _stale(client)
    response = client.get(url(assigned, f"people/{person.pk}/"))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauth/?next=")
    assert b"Detained" not in response.content
    assert not AuditEvent.objects.filter(action="person.revealed").exists()
    other = client.get(url(assigned, f"people/{assigned.pk}/"))  # nobody: the same answer
    assert other.status_code == 302
    assert other["Location"].startswith("/accounts/reauth/")


def test_profile_conflict_shows_the_other_version_only_after_reauthentication(
        assigned: Case, caseworker: Any, coordinator: Any, login: Login) -> None:
    person = assigned.members.get().person
    services.profile_update(actor=caseworker, case=assigned, person=person, story="First")
    services.profile_update(actor=coordinator, case=assigned, person=person,
                            story="Their secret version", version=1)
    client = login(caseworker)
    typed = {"legal_name": "Магомед Хасанов", "story": "Mine", "version": "1"}
    fresh = client.post(url(assigned, f"people/{person.pk}/"), typed)
    assert fresh.status_code == 409
    assert "Their secret version" in fresh.content.decode()
    _stale(client)
    stale = client.post(url(assigned, f"people/{person.pk}/"), typed)
    assert stale.status_code == 409
    page = stale.content.decode()
    assert "Their secret version" not in page
    assert "Mine" in page  # what was typed is kept
    assert "/accounts/reauth/?next=" in page


def test_partner_list_and_start_page_show_only_shared_fields(assigned: Case, coordinator: Any,
                                                             caseworker: Any, liaison: Any,
                                                             login: Login) -> None:
    """Finding 2, on pages: the case list and the dashboard showed a partner the priority,
    risk, triage and caseworker of a case shared for its status only."""
    services.risk_assess(actor=caseworker, case=assigned, immediacy="imminent",
                         recommended_priority="emergency",
                         next_review=timezone.localdate() + timedelta(days=3))
    services.case_update(actor=caseworker, case=assigned, priority="emergency")
    services.referral_create(actor=coordinator, case=assigned, liaison=liaison,
                             shared_fields=[SharedField.STATUS])
    client = login(liaison)
    page = client.get("/cases/").content.decode()
    assert assigned.number in page
    assert "Status: Active" in page
    for withheld in ("Imminent", "Emergency", "Triage", ">caseworker<", str(caseworker.pk)):
        assert withheld not in page, withheld
    assert client.get("/cases/", {"risk": "low"}).content.decode().count(assigned.number) >= 1
    old_address = client.get("/cases/dashboard/")  # the start page is "/" now
    assert old_address.status_code == 301
    assert old_address["Location"] == "/"
    start = client.get("/").content.decode()
    assert assigned.number in start  # among "Cases referred to you"
    for withheld in ("Imminent", "Emergency", "Triage", ">caseworker<", str(caseworker.pk)):
        assert withheld not in start, withheld
    case_page = client.get(url(assigned)).content.decode()
    assert "Active" in case_page
    assert "Emergency" not in case_page
    assert "Imminent" not in case_page


def test_operator_case_page_leaves_out_risk_housing_and_history(assigned: Case, operator: Any,
                                                                caseworker: Any,
                                                                login: Login) -> None:
    services.risk_assess(actor=caseworker, case=assigned, immediacy="imminent",
                         recommended_priority="emergency",
                         next_review=timezone.localdate() + timedelta(days=3),
                         threat_actors="Local police unit")
    page = login(operator).get(url(assigned)).content.decode()
    assert assigned.number in page
    for withheld in ("Imminent", "Local police", 'id="risk"', 'id="housing"', 'id="history"',
                     "Triage", "data-outcome"):
        assert withheld not in page, withheld
    full = login(caseworker).get(url(assigned)).content.decode()
    assert "Imminent" in full
    assert 'id="history"' in full


def test_a_member_is_marked_as_staying_behind_from_the_case_page(
        assigned: Case, caseworker: Any, operator: Any, login: Login) -> None:
    """Issue 14: who travels with the household is chosen on the case page, and the journey
    and application forms then start with those who travel."""
    from haven.cases.models import Member, Relationship

    spouse = services.member_add(actor=caseworker, case=assigned, legal_name="Зарема",
                                 relationship=Relationship.SPOUSE)
    client = login(caseworker)
    page = client.get(url(assigned)).content.decode()
    form = f'action="/cases/{assigned.pk}/people/{spouse.person_id}/travels/"'
    assert form in page
    assert "Mark as staying behind" in page
    response = client.post(url(assigned, f"people/{spouse.person_id}/travels/"),
                           {"travels_with": "no"}, follow=True)
    assert response.redirect_chain[-1][0] == url(assigned) + "#people"
    assert "Marked as staying behind." in response.content.decode()
    spouse.refresh_from_db()
    assert spouse.travels_with is False
    event = AuditEvent.objects.filter(action="case.member_updated").latest("seq")
    assert (event.data["person"], event.data["travels_with"]) == (str(spouse.person_id), False)
    page = response.content.decode()
    assert "stays behind" in page
    assert "Mark as travelling with the household" in page
    bad = client.post(url(assigned, f"people/{spouse.person_id}/travels/"), {"travels_with": "?"},
                      follow=True)
    assert "Nothing was changed" in bad.content.decode()
    assert Member.objects.get(pk=spouse.pk).travels_with is False
    client.post(url(assigned, f"people/{spouse.person_id}/travels/"), {"travels_with": "yes"})
    spouse.refresh_from_db()
    assert spouse.travels_with is True
    # The operator who opened the case follows it but does not run it.
    refused = login(operator).post(url(assigned, f"people/{spouse.person_id}/travels/"),
                                   {"travels_with": "no"})
    assert refused.status_code == 403
    spouse.refresh_from_db()
    assert spouse.travels_with is True


def test_coordinator_approving_sees_how_the_verifier_checked(
        opened: Case, *, operator: Any, verifier: Any, coordinator: Any, login: Login) -> None:
    """The hand-over from verifier to coordinator: the methods are shown in words on the case
    page. The page reads verifications through an allow-list that lacked ``method_labels``, so
    the approving coordinator read "Methods: None"."""
    from haven.cases.models import Method

    verification = services.verification_request(actor=operator, case=opened, verifier=verifier)
    services.verification_submit(actor=verifier, verification=verification,
                                 outcome=Outcome.VERIFIED,
                                 methods=[Method.VIDEO_CALL, Method.STORY_CHECK],
                                 narrative="Checked by video call")
    page = login(coordinator).get(url(opened)).content.decode()
    methods = page.split(">Methods</dt><dd>", 1)[1].split("</dd>", 1)[0]
    assert methods == "Video call, Consistency of the story"


def test_case_page_says_which_fields_are_confidential_from_the_household(
        assigned: Case, *, caseworker: Any, coordinator: Any, login: Login) -> None:
    """The member allow-list lacked ``confidential_labels``: the warning read
    "confidential from the household: None" and the next person could not tell what not to
    disclose."""
    from haven.cases.models import Relationship

    services.member_add(actor=caseworker, case=assigned, legal_name="Зарема",
                        relationship=Relationship.SPOUSE, confidential_fields=["sogi", "health"])
    for user in (caseworker, coordinator):
        page = login(user).get(url(assigned)).content.decode()
        assert "confidential from the household: Orientation and gender identity, Health" in page
        assert "household: None" not in page
