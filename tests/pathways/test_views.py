"""The pathways pages through the real stack: logged-in users, forms, services, templates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from haven.accounts.services import SESSION_REAUTH_AT
from haven.cases.models import Case, DocType, Member, Priority, Status, Task, TaskStatus
from haven.pathways import selectors, services
from haven.pathways.models import (
    ApplicantOutcome,
    Application,
    ApplicationDate,
    ApplicationStatus,
    Arrival,
    DateKind,
    DossierExport,
    DossierState,
    Pathway,
    PathwayStatus,
    Travel,
    TravelStatus,
)
from tests.pathways.conftest import actions, add_document, audit_count

Login = Callable[[Any], Client]
AS = ApplicationStatus


def members(case: Case) -> list[Member]:
    return list(Member.objects.filter(case=case).order_by("-is_principal", "created_at"))


def app_url(application: Application, suffix: str = "") -> str:
    return f"/pathways/applications/{application.pk}/{suffix}"


@pytest.fixture
def application(household: Case, caseworker: Any, reference: dict[str, Pathway]) -> Application:
    return services.application_create(actor=caseworker, case=household,
                                       pathway=reference["de-humanitarian"])


def submit(application: Application, actor: Any) -> Application:
    for to in (AS.COLLECTING_DOCUMENTS, AS.READY_FOR_REVIEW, AS.SUBMITTED):
        services.application_transition(actor=actor, application=application, to=to)
    return application


# --- reference data --------------------------------------------------------------------------


def test_pathway_list_filters_and_navigation(reference: dict[str, Pathway], caseworker: Any,
                                             auditor: Any, login: Login) -> None:
    client = login(caseworker)
    page = client.get("/pathways/").content.decode()
    assert 'data-pathway="de-humanitarian"' in page
    assert 'data-pathway="ca-sponsorship"' in page
    assert 'href="/pathways/"' in page  # the main navigation
    assert 'href="/pathways/outcomes/"' not in page  # caseworkers read no outcome board
    germany = client.get("/pathways/", {"country": "DE"}).content.decode()
    assert 'data-pathway="de-humanitarian"' in germany
    assert 'data-pathway="ca-sponsorship"' not in germany
    paused = client.get("/pathways/", {"status": PathwayStatus.PAUSED}).content.decode()
    assert 'data-pathway="de-paused"' in paused
    assert 'data-pathway="de-humanitarian"' not in paused
    assert 'href="/pathways/outcomes/"' in login(auditor).get("/pathways/").content.decode()


def test_pathway_page_shows_facts_and_checklist(reference: dict[str, Pathway], caseworker: Any,
                                                login: Login) -> None:
    client = login(caseworker)
    page = client.get("/pathways/routes/de-humanitarian/").content.decode()
    assert reference["de-humanitarian"].name in page
    assert "Evidence of persecution" in page
    assert "Edit pathway" not in page
    assert client.get("/pathways/routes/no-such-route/").status_code == 404


def test_coordinator_edits_a_pathway_and_the_edit_is_audited(
        reference: dict[str, Pathway], coordinator: Any, login: Login) -> None:
    client = login(coordinator)
    pathway = reference["de-humanitarian"]
    form = client.get(f"/pathways/routes/{pathway.slug}/edit/")
    assert form.status_code == 200
    assert 'for="id_status"' in form.content.decode()
    data = {"version": pathway.version, "name": pathway.name, "name_ru": pathway.name_ru,
            "type": pathway.type, "status": PathwayStatus.PAUSED, "status_since": "",
            "referrer_kind": pathway.referrer_kind, "referrer": pathway.referrer,
            "eligibility_notes": pathway.eligibility_notes, "processing_days_min":
            pathway.processing_days_min or "", "processing_days_typical":
            pathway.processing_days_typical or "", "processing_days_max":
            pathway.processing_days_max or "", "cost": pathway.cost,
            "uncertain": pathway.uncertain}
    response = client.post(f"/pathways/routes/{pathway.slug}/edit/", data)
    assert response.status_code == 302
    pathway.refresh_from_db()
    assert pathway.status == PathwayStatus.PAUSED
    assert pathway.status_since == timezone.localdate()
    assert pathway.edited_by == coordinator
    assert actions()[-1] == "pathway.updated"
    # An edit made on the version before is refused and shown, nothing changes.
    before = audit_count()
    stale = client.post(f"/pathways/routes/{pathway.slug}/edit/",
                        {**data, "status": PathwayStatus.CLOSED})
    assert stale.status_code == 400
    assert "changed by someone else" in stale.content.decode()
    pathway.refresh_from_db()
    assert pathway.status == PathwayStatus.PAUSED
    assert audit_count() == before


def test_bad_pathway_edit_shows_errors_and_changes_nothing(
        reference: dict[str, Pathway], coordinator: Any, login: Login) -> None:
    pathway = reference["de-humanitarian"]
    client = login(coordinator)
    before = audit_count()
    response = client.post(f"/pathways/routes/{pathway.slug}/edit/", {
        "version": pathway.version, "name": "", "type": pathway.type, "status": "open",
        "referrer_kind": pathway.referrer_kind, "processing_days_min": "90",
        "processing_days_max": "10"})
    assert response.status_code == 400
    assert "error-text" in response.content.decode()
    pathway.refresh_from_db()
    assert pathway.name
    assert pathway.version == 1
    assert audit_count() == before


# --- where to apply ----------------------------------------------------------------------------


def test_where_to_apply_ranks_pathways_with_reasons_and_outcomes(
        household: Case, reference: dict[str, Pathway], caseworker: Any, login: Login) -> None:
    client = login(caseworker)
    page = client.get(f"/pathways/cases/{household.pk}/").content.decode()
    assert household.number in page
    assert 'id="pathway-de-humanitarian"' in page
    assert 'id="pathway-ar-closed"' not in page  # closed pathways only on request
    assert "Start application" in page
    assert "Approval rate" in page
    assert "Median days to decision" in page
    assert "Documents on file: 1 of 2" in page
    with_closed = client.get(f"/pathways/cases/{household.pk}/", {"closed": "1"})
    assert 'id="pathway-ar-closed"' in with_closed.content.decode()


def test_caseworker_starts_an_application_for_chosen_members(
        household: Case, reference: dict[str, Pathway], caseworker: Any, login: Login) -> None:
    principal, spouse = members(household)
    response = login(caseworker).post(f"/pathways/cases/{household.pk}/apply/", {
        "pathway": "de-humanitarian", "members": [str(principal.pk), str(spouse.pk)]})
    application = Application.objects.get()
    assert response.status_code == 302
    assert response["Location"] == app_url(application)
    assert application.case == household
    assert application.status == AS.DRAFT
    assert set(application.applicants.values_list("member_id", flat=True)) == {
        principal.pk, spouse.pk}
    assert "application.created" in actions()


@pytest.mark.parametrize(("pathway", "chosen", "message"), [
    ("de-humanitarian", "none", "Choose at least one member"),
    ("ar-closed", "principal", "it takes no applications"),
    ("no-such-route", "principal", "That pathway does not exist"),
])
def test_starting_an_application_with_bad_input_changes_nothing(
        household: Case, reference: dict[str, Pathway], caseworker: Any, login: Login, *,
        pathway: str, chosen: str, message: str) -> None:
    principal = members(household)[0]
    client = login(caseworker)
    before = audit_count()
    data: dict[str, Any] = {"pathway": pathway}
    if chosen == "principal":
        data["members"] = [str(principal.pk)]
    response = client.post(f"/pathways/cases/{household.pk}/apply/", data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Application.objects.count() == 0
    assert audit_count() == before


def test_another_caseworker_cannot_see_where_to_apply(
        household: Case, reference: dict[str, Pathway], other_caseworker: Any,
        login: Login) -> None:
    client = login(other_caseworker)
    assert client.get(f"/pathways/cases/{household.pk}/").status_code == 404
    response = client.post(f"/pathways/cases/{household.pk}/apply/", {
        "pathway": "de-humanitarian", "members": [str(members(household)[0].pk)]})
    assert response.status_code == 404
    assert Application.objects.count() == 0


# --- the application page ----------------------------------------------------------------------


def test_application_page_shows_checklist_history_and_allowed_steps(
        application: Application, caseworker: Any, login: Login) -> None:
    client = login(caseworker)
    page = client.get(app_url(application)).content.decode()
    # Two applicants × (passport, evidence): the principal's passport is one of four.
    assert 'data-testid="checklist-percent">25 %' in page
    principal, spouse = Member.objects.filter(case=application.case).order_by("-is_principal")
    assert f'data-member="{principal.pk}" data-done="yes" data-source="document"' in page
    assert f'data-member="{spouse.pk}" data-done="no"' in page
    assert 'data-doc-type="passport" data-done="no"' in page
    assert "Move to: Collecting documents" in page
    assert "Move to: Withdrawn" in page
    assert "Move to: Approved" not in page
    assert "Request dossier" in page
    assert "Download PDF" not in page
    for person in (principal.person, spouse.person):
        add_document(application.case, caseworker, DocType.EVIDENCE, person)
    add_document(application.case, caseworker, DocType.PASSPORT, spouse.person)
    page = client.get(app_url(application)).content.decode()
    assert 'data-testid="checklist-percent">100 %' in page


def test_application_moves_through_a_form(application: Application, caseworker: Any,
                                          login: Login) -> None:
    client = login(caseworker)
    response = client.post(app_url(application, "transition/"),
                           {"to": AS.COLLECTING_DOCUMENTS})
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == AS.COLLECTING_DOCUMENTS
    client.post(app_url(application, "transition/"), {"to": AS.READY_FOR_REVIEW})
    response = client.post(app_url(application, "transition/"), {
        "to": AS.SUBMITTED, "submitted-submitted_to": "Embassy in Tbilisi",
        "submitted-external_reference": "DE-2026-77"})
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == AS.SUBMITTED
    assert application.submitted_on == timezone.localdate()
    assert str(application.external_reference) == "DE-2026-77"
    page = client.get(app_url(application)).content.decode()
    assert "DE-2026-77" in page
    assert "Move to: Interview scheduled" in page


def test_a_refused_move_says_why_and_changes_nothing(application: Application, caseworker: Any,
                                                     login: Login) -> None:
    client = login(caseworker)
    before = audit_count()
    response = client.post(app_url(application, "transition/"), {"to": AS.APPROVED})
    assert response.status_code == 409
    page = response.content.decode()
    assert "cannot move from “Draft” to “Approved”" in page
    application.refresh_from_db()
    assert application.status == AS.DRAFT
    assert audit_count() == before


def test_a_move_with_bad_details_shows_the_error_and_changes_nothing(
        application: Application, caseworker: Any, login: Login) -> None:
    client = login(caseworker)
    before = audit_count()
    future = (timezone.localdate() + timedelta(days=3)).isoformat()
    response = client.post(app_url(application, "transition/"), {
        "to": AS.COLLECTING_DOCUMENTS, "collecting_documents-on": future})
    assert response.status_code == 409
    assert "Choose today or an earlier date." in response.content.decode()
    bad_date = client.post(app_url(application, "transition/"), {
        "to": AS.COLLECTING_DOCUMENTS, "collecting_documents-on": "31.02.2026"})
    assert bad_date.status_code == 400
    assert "error-text" in bad_date.content.decode()
    application.refresh_from_db()
    assert application.status == AS.DRAFT
    assert audit_count() == before


def test_split_decision_per_applicant(application: Application, caseworker: Any,
                                      login: Login) -> None:
    submit(application, caseworker)
    principal, spouse = members(application.case)
    client = login(caseworker)
    page = client.get(app_url(application)).content.decode()
    assert f'name="approved-outcome_{spouse.pk}"' in page
    response = client.post(app_url(application, "transition/"), {
        "to": AS.APPROVED, f"approved-outcome_{principal.pk}": ApplicantOutcome.APPROVED,
        f"approved-outcome_{spouse.pk}": ApplicantOutcome.REFUSED,
        "approved-refusal_reasons": "No proof of the marriage"})
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == AS.APPROVED
    assert application.decision == "approved"
    outcomes = dict(application.applicants.values_list("member_id", "outcome"))
    assert outcomes == {principal.pk: ApplicantOutcome.APPROVED,
                        spouse.pk: ApplicantOutcome.REFUSED}
    page = client.get(app_url(application)).content.decode()
    assert 'data-outcome="refused"' in page
    assert "Plan travel" in page


def test_a_contradictory_decision_is_refused(application: Application, caseworker: Any,
                                             login: Login) -> None:
    submit(application, caseworker)
    principal = members(application.case)[0]
    client = login(caseworker)
    before = audit_count()
    response = client.post(app_url(application, "transition/"), {
        "to": AS.REFUSED, f"refused-outcome_{principal.pk}": ApplicantOutcome.APPROVED})
    assert response.status_code == 409
    assert "split" in response.content.decode()
    application.refresh_from_db()
    assert application.status == AS.SUBMITTED
    assert audit_count() == before


def test_refused_application_offers_to_apply_elsewhere_linked(
        application: Application, reference: dict[str, Pathway], caseworker: Any,
        login: Login) -> None:
    submit(application, caseworker)
    client = login(caseworker)
    client.post(app_url(application, "transition/"), {"to": AS.REFUSED})
    application.refresh_from_db()
    assert application.status == AS.REFUSED
    page = client.get(app_url(application)).content.decode()
    assert "Apply elsewhere" in page
    where = client.get(f"/pathways/cases/{application.case_id}/",
                       {"follows": str(application.pk)}).content.decode()
    assert 'data-testid="follows"' in where
    assert f'name="follows" value="{application.pk}"' in where
    response = client.post(f"/pathways/cases/{application.case_id}/apply/", {
        "pathway": "ge-visa-free", "follows": str(application.pk),
        "members": [str(m.pk) for m in members(application.case)]})
    assert response.status_code == 302
    follow_up = Application.objects.get(follows=application)
    assert follow_up.pathway.slug == "ge-visa-free"
    assert "Followed by" in client.get(app_url(application)).content.decode()


def test_interview_date_creates_a_task_and_shows_on_the_start_page(
        application: Application, caseworker: Any, login: Login) -> None:
    client = login(caseworker)
    day = timezone.localdate() + timedelta(days=5)
    response = client.post(app_url(application, "dates/"), {
        "kind": DateKind.DEADLINE, "on": day.isoformat(), "label": "Send the birth certificates"})
    assert response.status_code == 302
    entry = ApplicationDate.objects.get(application=application)
    assert entry.task is not None
    assert entry.task.due == day
    assert entry.task.status == TaskStatus.OPEN
    dashboard = client.get("/").content.decode()
    assert 'data-testid="application-dates"' in dashboard
    assert "Send the birth certificates" in dashboard
    # Moving the date moves its task, never a second one.
    later = day + timedelta(days=3)
    client.post(app_url(application, "dates/"), {"kind": DateKind.DEADLINE, "on": later.isoformat(),
                                                 "entry": str(entry.pk)})
    entry.refresh_from_db()
    assert entry.on == later
    assert Task.objects.filter(case=application.case, due=later).count() == 1
    assert ApplicationDate.objects.count() == 1


def test_bad_date_is_refused_and_changes_nothing(application: Application, caseworker: Any,
                                                 login: Login) -> None:
    client = login(caseworker)
    before = audit_count()
    response = client.post(app_url(application, "dates/"),
                                      {"kind": "birthday", "on": ""})
    assert response.status_code == 400
    assert "error-text" in response.content.decode()
    assert ApplicationDate.objects.count() == 0
    assert audit_count() == before


def test_details_are_corrected_and_a_bad_visa_window_refused(
        application: Application, caseworker: Any, login: Login) -> None:
    client = login(caseworker)
    response = client.post(app_url(application, "update/"), {
        "submitted_to": "Consulate", "external_reference": "REF-1", "refusal_reasons": ""})
    assert response.status_code == 302
    application.refresh_from_db()
    assert str(application.external_reference) == "REF-1"
    before = audit_count()
    bad = client.post(app_url(application, "update/"), {
        "external_reference": "REF-2", "valid_from": "2026-05-01", "valid_until": "2026-04-01"})
    assert bad.status_code == 400
    assert "Choose a later date." in bad.content.decode()
    application.refresh_from_db()
    assert str(application.external_reference) == "REF-1"
    assert audit_count() == before


# --- dossiers ----------------------------------------------------------------------------------


def test_dossier_request_approve_and_download_with_reauthentication(
        application: Application, caseworker: Any, coordinator: Any, login: Login) -> None:
    response = login(caseworker).post(app_url(application, "dossier/"), {
        "include": ["legal_name", "birth_date", "external_reference"], "language": "en"})
    assert response.status_code == 302
    export = DossierExport.objects.get()
    assert export.state == DossierState.REQUESTED
    assert export.requested_by == caseworker
    boss = login(coordinator)
    assert "Approve dossier" in boss.get(app_url(application)).content.decode()
    assert 'data-testid="dossier-requests"' in boss.get("/").content.decode()
    queue = boss.get("/pathways/dossiers/").content.decode()
    assert application.case.number in queue
    assert "Approve dossier" in queue
    assert "Legal name, Birth date, External reference" in queue  # labels, not field names
    assert boss.post(f"/pathways/dossiers/{export.pk}/decide/",
                     {"decision": "approve"}).status_code == 302
    export.refresh_from_db()
    assert export.state == DossierState.APPROVED
    assert "Download PDF" in boss.get("/pathways/dossiers/").content.decode()
    # Logged in a while ago: the download asks for the password and a code again first.
    session = boss.session
    session[SESSION_REAUTH_AT] = (timezone.now() - timedelta(hours=1)).timestamp()
    session.save()
    before = audit_count()
    asked = boss.get(f"/pathways/dossiers/{export.pk}/download/")
    assert asked.status_code == 302
    assert asked["Location"].startswith("/accounts/reauth/?next=")
    assert f"%2Fpathways%2Fdossiers%2F{export.pk}%2Fdownload%2F" in asked["Location"]
    export.refresh_from_db()
    assert export.state == DossierState.APPROVED
    assert audit_count() == before
    session = boss.session
    session[SESSION_REAUTH_AT] = timezone.now().timestamp()
    session.save()
    pdf = boss.get(f"/pathways/dossiers/{export.pk}/download/")
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert application.case.number in pdf["Content-Disposition"]
    export.refresh_from_db()
    assert export.state == DossierState.DOWNLOADED
    assert export.downloaded_by == coordinator
    assert actions()[-1] == "dossier.exported"


def test_a_caseworker_cannot_download_or_approve_a_dossier(
        application: Application, caseworker: Any, login: Login) -> None:
    export = services.dossier_request(actor=caseworker, application=application,
                                      fields=["legal_name"])
    client = login(caseworker)
    assert client.get(f"/pathways/dossiers/{export.pk}/download/").status_code == 403
    assert client.post(f"/pathways/dossiers/{export.pk}/decide/",
                       {"decision": "approve"}).status_code == 403
    export.refresh_from_db()
    assert export.state == DossierState.REQUESTED


def test_dossier_request_without_fields_is_refused(application: Application, caseworker: Any,
                                                   login: Login) -> None:
    response = login(caseworker).post(app_url(application, "dossier/"), {"language": "en"})
    assert response.status_code == 400
    assert "error-text" in response.content.decode()
    assert DossierExport.objects.count() == 0


def test_a_declined_dossier_cannot_be_decided_again(
        application: Application, caseworker: Any, coordinator: Any, login: Login) -> None:
    export = services.dossier_request(actor=caseworker, application=application,
                                      fields=["legal_name"])
    boss = login(coordinator)
    boss.post(f"/pathways/dossiers/{export.pk}/decide/", {"decision": "decline"})
    export.refresh_from_db()
    assert export.state == DossierState.DECLINED
    again = boss.post(f"/pathways/dossiers/{export.pk}/decide/", {"decision": "approve"},
                      follow=True)
    assert "already decided" in again.content.decode()
    export.refresh_from_db()
    assert export.state == DossierState.DECLINED


# --- travel, arrival and the outcomes board -----------------------------------------------------


def test_approved_members_travel_arrive_and_the_board_counts_it(
        application: Application, caseworker: Any, coordinator: Any, login: Login) -> None:
    submit(application, caseworker)
    principal, spouse = members(application.case)
    services.application_transition(actor=caseworker, application=application,
                                    to=AS.APPROVED, outcomes={spouse.pk: "refused"})
    client = login(caseworker)
    form = client.get(f"/pathways/cases/{application.case_id}/travel/",
                      {"application": str(application.pk)}).content.decode()
    assert f'value="{principal.pk}" id="id_members_0" checked' in form
    assert "Plan journey" in form
    response = client.post(f"/pathways/cases/{application.case_id}/travel/", {
        "members": [str(principal.pk)], "application": str(application.pk),
        "route": "Tbilisi – Istanbul – Berlin", "escort": "A."})
    travel = Travel.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/pathways/travel/{travel.pk}/"
    assert list(travel.members.all()) == [principal]
    page = client.get(f"/pathways/travel/{travel.pk}/").content.decode()
    assert "Istanbul" not in page  # the route is shown on request, and that is recorded
    shown = client.get(f"/pathways/travel/{travel.pk}/", {"show": "route"}).content.decode()
    assert "Istanbul" in shown
    assert "travel.route_viewed" in actions()
    for to in (TravelStatus.BOOKED, TravelStatus.IN_TRANSIT):
        assert client.post(f"/pathways/travel/{travel.pk}/transition/",
                           {"to": to}).status_code == 302
    before = audit_count()
    bad = client.post(f"/pathways/travel/{travel.pk}/transition/",
                      {"to": "arrived", "status_obtained": "refugee"})
    assert bad.status_code == 400
    assert "error-text" in bad.content.decode()
    travel.refresh_from_db()
    assert travel.status == TravelStatus.IN_TRANSIT
    assert audit_count() == before
    arrived = client.post(f"/pathways/travel/{travel.pk}/transition/", {
        "to": "arrived", "country": "DE", "status_obtained": "humanitarian",
        "receiving_partner": "Host association",
        "follow_up_on": (timezone.localdate() + timedelta(days=30)).isoformat()})
    assert arrived.status_code == 302
    travel.refresh_from_db()
    assert travel.status == TravelStatus.ARRIVED
    arrival = Arrival.objects.get(travel=travel)
    assert arrival.country.code == "DE"
    assert "Host association" in client.get(f"/pathways/travel/{travel.pk}/").content.decode()
    board = login(coordinator).get("/pathways/outcomes/")
    assert board.status_code == 200
    html = board.content.decode()
    assert '<tr data-pathway="de-humanitarian">' in html
    assert '<td data-stage="arrived">1</td>' in html
    assert '<td data-stage="approved">1</td>' in html
    assert "<svg" in html
    assert "Хасанов" not in html  # aggregates only


def test_a_refused_travel_move_says_why_and_changes_nothing(
        household: Case, caseworker: Any, login: Login) -> None:
    travel = services.travel_plan(actor=caseworker, case=household)
    client = login(caseworker)
    before = audit_count()
    response = client.post(f"/pathways/travel/{travel.pk}/transition/",
                                      {"to": TravelStatus.IN_TRANSIT})
    assert response.status_code == 409
    assert "cannot move from “Planning” to “In transit”" in response.content.decode()
    travel.refresh_from_db()
    assert travel.status == TravelStatus.PLANNING
    assert audit_count() == before


def test_planning_travel_with_nobody_is_refused(household: Case, caseworker: Any,
                                                login: Login) -> None:
    response = login(caseworker).post(f"/pathways/cases/{household.pk}/travel/", {
        "route": "somewhere"})
    assert response.status_code == 400
    assert Travel.objects.count() == 0


def test_travel_update_saves_the_departure(household: Case, caseworker: Any,
                                           login: Login) -> None:
    travel = services.travel_plan(actor=caseworker, case=household)
    day = timezone.localdate() + timedelta(days=9)
    response = login(caseworker).post(f"/pathways/travel/{travel.pk}/update/",
                                      {"depart_on": day.isoformat()})
    assert response.status_code == 302
    travel.refresh_from_db()
    assert travel.depart_on == day


def test_outcomes_board_filters_by_destination(application: Application, coordinator: Any,
                                               caseworker: Any, login: Login) -> None:
    client = login(coordinator)
    page = client.get("/pathways/outcomes/").content.decode()
    assert '<tr data-country="DE">' in page
    other = client.get("/pathways/outcomes/", {"country": "CA"}).content.decode()
    assert '<tr data-country="DE">' not in other
    assert login(caseworker).get("/pathways/outcomes/").status_code == 403


# --- the case page and its panel ----------------------------------------------------------------


def test_case_page_has_a_pathways_section_and_panel(application: Application, caseworker: Any,
                                                    login: Login) -> None:
    client = login(caseworker)
    case_page = client.get(f"/cases/{application.case_id}/").content.decode()
    assert 'id="pathways"' in case_page
    assert f'hx-get="/pathways/cases/{application.case_id}/panel/"' in case_page
    assert "Where to apply" in case_page
    panel = client.get(f"/pathways/cases/{application.case_id}/panel/",
                       headers={"HX-Request": "true"})
    assert panel.status_code == 200
    html = panel.content.decode()
    assert "<html" not in html
    assert f'data-application="{application.pk}"' in html
    assert "Plan travel" in html
    assert "<html" in client.get(f"/pathways/cases/{application.case_id}/panel/").content.decode()


def test_operator_sees_no_pathways_section_on_a_case(household: Case, operator: Any,
                                                     login: Login) -> None:
    page = login(operator).get(f"/cases/{household.pk}/")
    if page.status_code == 200:
        assert 'id="pathways"' not in page.content.decode()


def test_another_caseworkers_application_is_not_found(application: Application,
                                                      other_caseworker: Any,
                                                      login: Login) -> None:
    client = login(other_caseworker)
    assert client.get(app_url(application)).status_code == 404
    before = audit_count()
    assert client.post(app_url(application, "transition/"),
                       {"to": AS.COLLECTING_DOCUMENTS}).status_code == 404
    application.refresh_from_db()
    assert application.status == AS.DRAFT
    assert audit_count() == before


def test_members_who_share_a_relationship_are_told_apart(
        household: Case, reference: dict[str, Pathway], caseworker: Any, login: Login) -> None:
    from haven.cases import services as case_services
    from haven.cases.models import Relationship

    for name in ("Амина", "Ислам"):
        case_services.member_add(actor=caseworker, case=household, legal_name=name,
                                 relationship=Relationship.CHILD)
    page = login(caseworker).get(f"/pathways/cases/{household.pk}/").content.decode()
    assert "Child 1" in page
    assert "Child 2" in page
    assert "Амина" not in page  # members are named by their place, never by name


def test_an_edit_of_details_on_an_older_version_is_refused(
        application: Application, caseworker: Any, login: Login) -> None:
    client = login(caseworker)
    page = client.get(app_url(application)).content.decode()
    assert 'name="version"' in page
    seen = application.version
    services.application_update(actor=caseworker, application=application,
                                external_reference="THEIRS")
    before = audit_count()
    response = client.post(app_url(application, "update/"), {
        "version": seen, "external_reference": "MINE"})
    assert response.status_code == 400
    assert "changed by someone else" in response.content.decode()
    application.refresh_from_db()
    assert str(application.external_reference) == "THEIRS"
    assert audit_count() == before


def test_detention_raises_an_emergency_task_for_the_caseworker(
        household: Case, caseworker: Any, coordinator: Any, login: Login) -> None:
    travel = services.travel_plan(actor=caseworker, case=household)
    client = login(caseworker)
    client.post(f"/pathways/travel/{travel.pk}/transition/", {"to": TravelStatus.BOOKED})
    page = client.get(f"/pathways/travel/{travel.pk}/").content.decode()
    assert "Move to: Detained" in page
    response = client.post(f"/pathways/travel/{travel.pk}/transition/",
                           {"to": TravelStatus.DETAINED})
    assert response.status_code == 302
    travel.refresh_from_db()
    assert travel.status == TravelStatus.DETAINED
    assert Task.objects.filter(case=household, assignee=caseworker,
                               priority=Priority.EMERGENCY).count() == 1
    assert not Task.objects.filter(assignee=coordinator).exists()


def test_a_closed_application_leaves_the_start_page(application: Application,
                                                    caseworker: Any, login: Login) -> None:
    services.application_date_set(actor=caseworker, application=application,
                                  kind=DateKind.INTERVIEW,
                                  on=timezone.localdate() + timedelta(days=2),
                                  label="Embassy interview")
    client = login(caseworker)
    assert "Embassy interview" in client.get("/").content.decode()
    client.post(app_url(application, "transition/"), {"to": AS.WITHDRAWN})
    application.refresh_from_db()
    assert application.status == AS.WITHDRAWN
    start = client.get("/").content.decode()
    assert "Embassy interview" not in start
    assert "No interview or deadline in the next two weeks." in start
    assert "Apply elsewhere" in client.get(app_url(application)).content.decode()


# --- forms that read the record --------------------------------------------------------------


def step(page: str, to: str) -> str:
    """The disclosure of the move to ``to`` on an application page."""
    start = page.index(f'data-step="{to}"')
    return page[start: page.index("</details>\n", start)]


def test_each_step_opens_alone_and_starts_from_the_record(
        application: Application, caseworker: Any, login: Login) -> None:
    submit(application, caseworker)
    services.application_update(actor=caseworker, application=application,
                                submitted_to="Embassy in Tbilisi", refusal_reasons="Old")
    interview = timezone.localdate() + timedelta(days=5)
    services.application_date_set(actor=caseworker, application=application,
                                  kind=DateKind.INTERVIEW, on=interview, label="Consulate")
    client = login(caseworker)
    page = client.get(app_url(application)).content.decode()
    steps = page.split('<details class="step" ')[1:]
    assert len(steps) == 6  # interview, information, approved, refused, deferred, withdrawn
    assert all(s.startswith('name="next-step"') and " open>" not in s.split(">")[0]
               for s in steps)
    scheduled = step(page, AS.INTERVIEW_SCHEDULED)
    assert f'value="{interview.isoformat()}"' in scheduled
    assert 'value="Consulate"' in scheduled
    # Approved asks for the split decision; refusal reasons only tucked away for a refused
    # member. Refused asks for the reasons, starting from those saved.
    approved = step(page, AS.APPROVED)
    assert "Outcome for Spouse" in approved
    assert approved.index('<details class="later">') < approved.index("refusal_reasons")
    assert "\nOld</textarea>" in step(page, AS.REFUSED)


def test_approved_asks_no_refusal_reasons_of_a_single_applicant(
        assigned: Case, caseworker: Any, reference: dict[str, Pathway], login: Login) -> None:
    application = submit(services.application_create(actor=caseworker, case=assigned,
                                                     pathway=reference["de-humanitarian"]),
                         caseworker)
    page = login(caseworker).get(app_url(application)).content.decode()
    approved = step(page, AS.APPROVED)
    assert "refusal_reasons" not in approved
    assert "Outcome for" not in approved
    assert "refusal_reasons" in step(page, AS.REFUSED)


def test_visa_issued_form_carries_the_saved_validity(
        application: Application, caseworker: Any, login: Login) -> None:
    submit(application, caseworker)
    services.application_transition(actor=caseworker, application=application, to=AS.APPROVED)
    start, end = timezone.localdate(), timezone.localdate() + timedelta(days=90)
    services.application_update(actor=caseworker, application=application, valid_from=start,
                                valid_until=end)
    client = login(caseworker)
    visa = step(client.get(app_url(application)).content.decode(), AS.VISA_ISSUED)
    assert f'value="{start.isoformat()}"' in visa
    assert f'value="{end.isoformat()}"' in visa
    # Submitting the form as it comes moves the application, validity and all.
    response = client.post(app_url(application, "transition/"), {
        "to": AS.VISA_ISSUED, "visa_issued-valid_from": start.isoformat(),
        "visa_issued-valid_until": end.isoformat()})
    assert response.status_code == 302
    # And so does a move that leaves the dates out: the saved ones are used.
    application.refresh_from_db()
    assert application.status == AS.VISA_ISSUED


def test_a_step_posted_with_htmx_comes_back_in_place(application: Application,
                                                     caseworker: Any, login: Login) -> None:
    client = login(caseworker)
    for to in (AS.COLLECTING_DOCUMENTS, AS.READY_FOR_REVIEW, AS.SUBMITTED):
        services.application_transition(actor=caseworker, application=application, to=to)
    htmx = {"HX-Request": "true"}
    refused = client.post(app_url(application, "transition/"), {
        "to": AS.INTERVIEW_SCHEDULED}, headers=htmx)
    assert refused.status_code == 200  # htmx swaps only successful answers
    html = refused.content.decode()
    assert html.startswith('<details class="step" name="next-step" data-step="interview_scheduled" open>')
    assert "<html" not in html
    assert "When is the interview?" in html
    application.refresh_from_db()
    assert application.status == AS.SUBMITTED
    done = client.post(app_url(application, "transition/"), {
        "to": AS.INTERVIEW_SCHEDULED,
        "interview_scheduled-interview_on": (timezone.localdate() + timedelta(days=4)
                                             ).isoformat()}, headers=htmx)
    assert done.status_code == 204
    assert done["HX-Redirect"] == app_url(application)
    application.refresh_from_db()
    assert application.status == AS.INTERVIEW_SCHEDULED


def test_the_checklist_is_ticked_per_applicant_on_the_page(
        application: Application, caseworker: Any, login: Login, operator: Any) -> None:
    spouse = members(application.case)[1]
    client = login(caseworker)
    response = client.post(app_url(application, "checklist/"), {
        "member": str(spouse.pk), "doc_type": DocType.PASSPORT, "done": "on"})
    assert response.status_code == 302
    assert response["Location"].endswith("#checklist")
    page = client.get(app_url(application)).content.decode()
    assert f'data-member="{spouse.pk}" data-done="yes" data-source="hand"' in page
    assert "by caseworker," in page
    assert 'data-doc-type="passport" data-done="yes"' in page
    assert 'data-testid="checklist-percent">50 %' in page
    client.post(app_url(application, "checklist/"), {"member": str(spouse.pk),
                                                     "doc_type": DocType.PASSPORT})
    assert 'data-testid="checklist-percent">25 %' in client.get(
        app_url(application)).content.decode()
    other = login(operator)
    before = audit_count()
    assert other.post(app_url(application, "checklist/"), {
        "member": str(spouse.pk), "doc_type": DocType.PASSPORT,
        "done": "on"}).status_code == 403
    assert audit_count() == before


# --- a journey that closes the loop ----------------------------------------------------------


def test_moving_a_journey_says_what_followed_and_can_be_undone(
        household: Case, caseworker: Any, login: Login) -> None:
    travel = services.travel_plan(actor=caseworker, case=household)
    client = login(caseworker)
    client.post(f"/pathways/travel/{travel.pk}/transition/", {"to": TravelStatus.BOOKED})
    moved = client.post(f"/pathways/travel/{travel.pk}/transition/",
                        {"to": TravelStatus.IN_TRANSIT}, follow=True).content.decode()
    assert "The case moved from “Active” to “Departed”." in moved
    arrived = client.post(f"/pathways/travel/{travel.pk}/transition/", {
        "to": "arrived", "country": "DE", "status_obtained": "refugee"},
        follow=True).content.decode()
    assert "The case moved from “Departed” to “Arrived”." in arrived
    assert 'data-testid="last-step"' in arrived
    assert "Undo “Arrived” (recorded by mistake)" in arrived
    undone = client.post(f"/pathways/travel/{travel.pk}/undo/", follow=True).content.decode()
    assert "Undone: the journey is “In transit” again" in undone
    household.refresh_from_db()
    assert household.status == Status.DEPARTED
    assert not Arrival.objects.exists()
    assert "Undo “In transit” (recorded by mistake)" in undone


def test_bookings_and_tickets_on_the_journey_page(
        household: Case, caseworker: Any, login: Login, data_dir: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    principal = members(household)[0]
    travel = services.travel_plan(actor=caseworker, case=household, members=[principal])
    client = login(caseworker)
    url = f"/pathways/travel/{travel.pk}/"
    bad = client.post(url + "bookings/", {"mode": "rocket"})
    assert bad.status_code == 400
    added = client.post(url + "bookings/", {
        "mode": "flight", "carrier": "Georgian Airways", "number": "A9 652",
        "departs_at": "2027-01-15T06:40", "reference": "QX7P2L"})
    assert added.status_code == 302
    assert added["Location"] == url + "?show=route#bookings"
    assert "QX7P2L" not in client.get(url).content.decode()  # only with the route
    page = client.get(url, {"show": "route"}).content.decode()
    assert "QX7P2L" in page
    assert "2027-01-15T06:40" in page
    booking = travel.bookings.get()
    stored = client.post(url + f"bookings/{booking.pk}/tickets/", {
        "person": str(principal.person_id),
        "file": SimpleUploadedFile("boarding.pdf", b"%PDF boarding pass", "application/pdf")})
    assert stored.status_code == 302
    (ticket,) = booking.tickets.all()
    assert (ticket.doc_type, ticket.person_id) == (DocType.TICKET, principal.person_id)
    assert b"boarding pass" not in (data_dir / "files" / f"{ticket.pk}.hvf").read_bytes()
    assert "boarding.pdf" in client.get(url, {"show": "route"}).content.decode()
    spouse = members(household)[1]
    refused = client.post(url + f"bookings/{booking.pk}/tickets/", {
        "person": str(spouse.person_id),
        "file": SimpleUploadedFile("other.pdf", b"%PDF", "application/pdf")})
    assert refused.status_code == 302
    assert booking.tickets.count() == 1
    assert household.documents.filter(doc_type=DocType.TICKET).count() == 1
    client.post(url + f"bookings/{booking.pk}/", {f"{booking.pk}-mode": "train",
                                                  f"{booking.pk}-number": "EC 172"})
    booking.refresh_from_db()
    assert (booking.mode, booking.number) == ("train", "EC 172")
    client.post(url + f"bookings/{booking.pk}/", {"remove": "1"})
    assert not travel.bookings.exists()


# --- re-authentication (issue 13, item 5) ----------------------------------------------------------


def _stale(client: Client) -> None:
    session = client.session
    session[SESSION_REAUTH_AT] = 0
    session.save()


def test_route_bookings_and_where_to_apply_ask_to_reauthenticate(
        household: Case, reference: dict[str, Pathway], caseworker: Any, login: Login) -> None:
    travel = services.travel_plan(actor=caseworker, case=household,
                                  route="Tbilisi – Istanbul – Berlin")
    booking = services.booking_add(actor=caseworker, travel=travel, carrier="Turkish Airlines",
                                   number="TK1383", reference="PNRX7Q")
    client = login(caseworker)
    route_url = f"/pathways/travel/{travel.pk}/?show=route"
    shown = client.get(route_url).content.decode()
    assert "Istanbul" in shown
    assert "PNRX7Q" in shown
    assert 'id="pathway-de-humanitarian"' in client.get(
        f"/pathways/cases/{household.pk}/").content.decode()
    _stale(client)
    viewed = actions().count("travel.route_viewed")
    for page in (route_url, f"/pathways/cases/{household.pk}/"):
        refused = client.get(page)
        assert refused.status_code == 302, page
        assert refused["Location"].startswith("/accounts/reauth/?next=")
        for secret in (b"Istanbul", b"PNRX7Q", b"TK1383", b"pathway-de-humanitarian"):
            assert secret not in refused.content
    assert actions().count("travel.route_viewed") == viewed
    # Without the route the journey's page is still there (status, members, steps).
    plain = client.get(f"/pathways/travel/{travel.pk}/")
    assert plain.status_code == 200
    assert b"Istanbul" not in plain.content
    # Changing the route or a booking re-authenticates too, and changes nothing before.
    for post, data in ((f"/pathways/travel/{travel.pk}/update/", {"route": "Other way"}),
                       (f"/pathways/travel/{travel.pk}/bookings/{booking.pk}/",
                        {"carrier": "Other", "mode": "flight"})):
        refused = client.post(post, {**data, "next": route_url})
        assert refused.status_code == 302
        assert refused["Location"].startswith("/accounts/reauth/?next=%2Fpathways%2Ftravel%2F")
    route = selectors.travel_route(actor=caseworker, travel=travel)
    assert route is not None
    assert route.route == "Tbilisi – Istanbul – Berlin"
    assert route.bookings[0].carrier == "Turkish Airlines"
