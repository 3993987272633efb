from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from haven.audit.models import AuditEvent
from haven.cases import services as case_services
from haven.cases.models import Case, DocType, Member, Priority, Status, Task, TaskStatus
from haven.core.errors import Conflict, Forbidden, NotFound, Stale, ValidationFailed
from haven.pathways import services
from haven.pathways.models import (
    APPLICATION_TRANSITIONS,
    TRAVEL_TRANSITIONS,
    ApplicantOutcome,
    Application,
    ApplicationDate,
    ApplicationEvent,
    ApplicationStatus,
    Arrival,
    DateKind,
    Decision,
    DossierExport,
    DossierState,
    Pathway,
    PathwayStatus,
    StatusObtained,
    Travel,
    TravelStatus,
)
from haven.pathways.services.applications import DETAILS
from tests.pathways.conftest import actions, add_document, audit_count

pytestmark = pytest.mark.django_db
AS = ApplicationStatus
TS = TravelStatus


def today() -> Any:
    return timezone.localdate()


def days_ago(n: int) -> Any:
    return today() - timedelta(days=n)


@pytest.fixture
def application(reference: dict[str, Pathway], assigned: Case, caseworker: Any) -> Application:
    return services.application_create(actor=caseworker, case=assigned,
                                       pathway=reference["de-humanitarian"])


def force(application: Application, status: str) -> Application:
    """Put an application in ``status`` directly: these tests are about the next step."""
    Application.objects.filter(pk=application.pk).update(status=status)
    application.refresh_from_db()
    return application


def details_for(to: str) -> dict[str, Any]:
    if to == AS.INTERVIEW_SCHEDULED:
        return {"interview_on": today() + timedelta(days=10)}
    if to == AS.VISA_ISSUED:
        return {"valid_from": today(), "valid_until": today() + timedelta(days=90)}
    return {}


# --- creating --------------------------------------------------------------------------------


def test_create_makes_a_draft_for_the_travelling_members(reference: dict[str, Pathway],
                                                         assigned: Case, caseworker: Any) -> None:
    case_services.member_add(actor=caseworker, case=assigned, legal_name="Ахмед",
                             travels_with=False)
    application = services.application_create(actor=caseworker, case=assigned,
                                              pathway=reference["de-humanitarian"])
    assert application.status == AS.DRAFT
    assert application.organization_id == assigned.organization_id
    (applicant,) = application.applicants.all()
    assert applicant.member.is_principal
    assert applicant.outcome == ApplicantOutcome.PENDING
    (event,) = ApplicationEvent.objects.filter(application=application)
    assert (event.from_status, event.to_status, event.on) == ("", AS.DRAFT, today())
    audit = AuditEvent.objects.get(action="application.created")
    assert audit.data == {"case": str(assigned.pk), "pathway": "de-humanitarian",
                          "applicants": 1, "follows": ""}


def test_create_refuses_a_closed_pathway_a_stranger_and_a_future_date(
        reference: dict[str, Pathway], assigned: Case, caseworker: Any,
        coordinator: Any) -> None:
    with pytest.raises(Conflict, match="closed"):
        services.application_create(actor=caseworker, case=assigned,
                                    pathway=reference["ar-closed"])
    other = case_services.case_open(actor=coordinator, legal_name="Иван")
    stranger = Member.objects.get(case=other)
    with pytest.raises(ValidationFailed):
        services.application_create(actor=caseworker, case=assigned,
                                    pathway=reference["de-humanitarian"], members=[stranger])
    with pytest.raises(ValidationFailed):
        services.application_create(actor=caseworker, case=assigned,
                                    pathway=reference["de-humanitarian"],
                                    on=today() + timedelta(days=1))
    assert not Application.objects.exists()
    # A paused programme may still be prepared.
    services.application_create(actor=caseworker, case=assigned, pathway=reference["de-paused"])


@pytest.mark.parametrize("role", ["operator", "verifier", "liaison", "auditor"])
def test_create_is_refused_to_roles_without_the_permission(
        request: pytest.FixtureRequest, reference: dict[str, Pathway], assigned: Case,
        role: str) -> None:
    actor = request.getfixturevalue(role)
    with pytest.raises(Forbidden):
        services.application_create(actor=actor, case=assigned,
                                    pathway=reference["de-humanitarian"])


@pytest.mark.parametrize("role", ["other_caseworker", "outsider"])
def test_create_on_an_unreachable_case_is_not_found(
        request: pytest.FixtureRequest, reference: dict[str, Pathway], assigned: Case,
        role: str) -> None:
    actor = request.getfixturevalue(role)
    with pytest.raises(NotFound):
        services.application_create(actor=actor, case=assigned,
                                    pathway=reference["de-humanitarian"])


def test_a_refused_application_can_be_followed_elsewhere(
        application: Application, reference: dict[str, Pathway], caseworker: Any) -> None:
    with pytest.raises(ValidationFailed, match="refused, withdrawn or expired"):
        services.application_create(actor=caseworker, case=application.case,
                                    pathway=reference["ge-visa-free"], follows=application)
    force(application, AS.REFUSED)
    follow = services.application_create(actor=caseworker, case=application.case,
                                         pathway=reference["ge-visa-free"], follows=application)
    assert follow.follows == application
    assert list(application.followed_by.all()) == [follow]


# --- the transition table, exhaustively ------------------------------------------------------

PAIRS = [(a, b) for a in AS for b in AS]
ALLOWED = [(a, b) for a, b in PAIRS if b in APPLICATION_TRANSITIONS[a]]
REFUSED = [(a, b) for a, b in PAIRS if b not in APPLICATION_TRANSITIONS[a]]


def test_the_table_covers_every_status_and_withdrawn_is_reachable_from_every_open_one() -> None:
    assert set(APPLICATION_TRANSITIONS) == set(AS)
    for status, targets in APPLICATION_TRANSITIONS.items():
        if targets:
            assert AS.WITHDRAWN in targets, status
    assert AS.SUBMITTED in APPLICATION_TRANSITIONS[AS.DEFERRED]
    assert {AS.SUBMITTED, AS.INTERVIEW_SCHEDULED} <= set(
        APPLICATION_TRANSITIONS[AS.INFORMATION_REQUESTED])
    assert set(APPLICATION_TRANSITIONS[AS.VISA_ISSUED]) >= {AS.USED, AS.EXPIRED}


@pytest.mark.parametrize(("current", "to"), ALLOWED, ids=[f"{a}->{b}" for a, b in ALLOWED])
def test_every_allowed_transition_works_and_is_audited(
        application: Application, caseworker: Any, current: str, to: str) -> None:
    force(application, current)
    before = audit_count()
    services.application_transition(actor=caseworker, application=application, to=to,
                                    **details_for(to))
    application.refresh_from_db()
    assert application.status == to
    assert application.stage_since == today()
    event = ApplicationEvent.objects.filter(application=application).latest("created_at")
    assert (event.from_status, event.to_status) == (current, to)
    audit = AuditEvent.objects.get(action="application.transitioned")
    assert (audit.data["from"], audit.data["to"], audit.data["case"]) == (
        current, to, str(application.case_id))
    assert audit.object_id == str(application.pk)
    assert audit_count() > before


@pytest.mark.parametrize(("current", "to"), REFUSED, ids=[f"{a}->{b}" for a, b in REFUSED])
def test_every_other_transition_is_refused_and_changes_nothing(
        application: Application, caseworker: Any, current: str, to: str) -> None:
    force(application, current)
    before = (audit_count(), ApplicationEvent.objects.count(), Task.objects.count())
    with pytest.raises(Conflict) as caught:
        services.application_transition(actor=caseworker, application=application, to=to,
                                        **details_for(to))
    message = caught.value.message
    assert f"“{AS(current).label}”" in message
    assert f"“{AS(to).label}”" in message
    for allowed in APPLICATION_TRANSITIONS[AS(current)]:
        assert f"“{AS(allowed).label}”" in message
    if not APPLICATION_TRANSITIONS[AS(current)]:
        assert "final" in message
    application.refresh_from_db()
    assert application.status == current
    assert (audit_count(), ApplicationEvent.objects.count(), Task.objects.count()) == before


def test_unknown_status_and_stray_details_are_refused(application: Application,
                                                      caseworker: Any) -> None:
    with pytest.raises(ValidationFailed):
        services.application_transition(actor=caseworker, application=application, to="lost")
    with pytest.raises(ValidationFailed) as caught:
        services.application_transition(actor=caseworker, application=application,
                                        to=AS.COLLECTING_DOCUMENTS, valid_from=today())
    assert "valid_from" in caught.value.fields
    assert set(DETAILS) <= set(AS)


@pytest.mark.parametrize("role", ["operator", "verifier", "liaison", "auditor"])
def test_transition_is_refused_to_roles_without_the_permission(
        request: pytest.FixtureRequest, application: Application, role: str) -> None:
    with pytest.raises(Forbidden):
        services.application_transition(actor=request.getfixturevalue(role),
                                        application=application, to=AS.COLLECTING_DOCUMENTS)


@pytest.mark.parametrize("role", ["other_caseworker", "outsider"])
def test_transition_of_an_unreachable_application_is_not_found(
        request: pytest.FixtureRequest, application: Application, role: str) -> None:
    with pytest.raises(NotFound):
        services.application_transition(actor=request.getfixturevalue(role),
                                        application=application, to=AS.COLLECTING_DOCUMENTS)
    application.refresh_from_db()
    assert application.status == AS.DRAFT


def walk(application: Application, actor: Any, steps: list[tuple[str, int]],
         **last: Any) -> Application:
    for n, (to, ago) in enumerate(steps):
        extra = last if n == len(steps) - 1 else details_for(to)
        services.application_transition(actor=actor, application=application, to=to,
                                        on=days_ago(ago), **extra)
    return application


def test_stages_are_stamped_with_the_day_they_happened(reference: dict[str, Pathway],
                                                      assigned: Case, caseworker: Any) -> None:
    application = services.application_create(actor=caseworker, case=assigned,
                                              pathway=reference["de-humanitarian"],
                                              on=days_ago(100))
    walk(application, caseworker, [(AS.COLLECTING_DOCUMENTS, 95), (AS.READY_FOR_REVIEW, 90),
                                   (AS.SUBMITTED, 80), (AS.APPROVED, 20)])
    application.refresh_from_db()
    assert application.submitted_on == days_ago(80)
    assert application.decided_on == days_ago(20)
    assert application.decision == Decision.APPROVED
    assert application.decision_days == 60
    days = list(application.events.order_by("on").values_list("to_status", "days_in_previous"))
    assert days == [(AS.DRAFT, None), (AS.COLLECTING_DOCUMENTS, 5), (AS.READY_FOR_REVIEW, 5),
                    (AS.SUBMITTED, 10), (AS.APPROVED, 60)]
    with pytest.raises(ValidationFailed, match="before the previous one"):
        services.application_transition(actor=caseworker, application=application,
                                        to=AS.VISA_ISSUED, on=days_ago(30),
                                        **details_for(AS.VISA_ISSUED))


def test_submission_records_where_and_reference_encrypted(application: Application,
                                                          caseworker: Any) -> None:
    force(application, AS.READY_FOR_REVIEW)
    services.application_transition(actor=caseworker, application=application,
                                    to=AS.SUBMITTED, submitted_to="Embassy in Tbilisi",
                                    external_reference="VIS-2026-001")
    row = Application.objects.get(pk=application.pk)
    assert row.submitted_to == "Embassy in Tbilisi"
    assert row.external_reference == "VIS-2026-001"
    raw = Application.objects.filter(pk=application.pk).values_list("external_reference",
                                                                    flat=True)[0]
    assert b"VIS-2026" not in bytes(raw)
    audit = AuditEvent.objects.get(action="application.transitioned")
    assert "Tbilisi" not in str(audit.data)
    assert "VIS-2026" not in str(audit.data)


def test_visa_needs_an_ordered_validity(application: Application, caseworker: Any) -> None:
    force(application, AS.APPROVED)
    with pytest.raises(ValidationFailed):
        services.application_transition(actor=caseworker, application=application,
                                        to=AS.VISA_ISSUED)
    with pytest.raises(ValidationFailed):
        services.application_transition(actor=caseworker, application=application,
                                        to=AS.VISA_ISSUED, valid_from=today(),
                                        valid_until=days_ago(1))
    services.application_transition(actor=caseworker, application=application,
                                    to=AS.VISA_ISSUED, **details_for(AS.VISA_ISSUED))
    application.refresh_from_db()
    assert application.valid_until == today() + timedelta(days=90)


# --- split decisions -------------------------------------------------------------------------


@pytest.fixture
def family_application(reference: dict[str, Pathway], household: Case,
                       caseworker: Any) -> Application:
    application = services.application_create(actor=caseworker, case=household,
                                              pathway=reference["de-humanitarian"])
    return force(application, AS.SUBMITTED)


def _outcomes(application: Application) -> dict[str, str]:
    return {row.member.relationship: row.outcome
            for row in application.applicants.select_related("member")}


def test_a_split_decision_is_approved(family_application: Application, caseworker: Any) -> None:
    spouse = Member.objects.get(case=family_application.case, is_principal=False)
    services.application_transition(actor=caseworker, application=family_application,
                                    to=AS.APPROVED, outcomes={spouse.pk: "refused"},
                                    refusal_reasons="Marriage not recognised")
    family_application.refresh_from_db()
    assert family_application.decision == Decision.APPROVED
    assert _outcomes(family_application) == {"self": "approved", "spouse": "refused"}
    assert family_application.refusal_reasons == "Marriage not recognised"
    audit = AuditEvent.objects.get(action="application.transitioned")
    assert audit.data["applicants_approved"] == 1
    assert audit.data["applicants_refused"] == 1
    assert "Marriage" not in str(audit.data)


def test_decisions_must_match_the_applicants(family_application: Application,
                                             caseworker: Any) -> None:
    members = list(Member.objects.filter(case=family_application.case))
    with pytest.raises(Conflict, match="at least one applicant"):
        services.application_transition(
            actor=caseworker, application=family_application, to=AS.APPROVED,
            outcomes={m.pk: "refused" for m in members})
    with pytest.raises(Conflict, match="split"):
        services.application_transition(actor=caseworker, application=family_application,
                                        to=AS.REFUSED, outcomes={members[0].pk: "approved"})
    with pytest.raises(ValidationFailed):
        services.application_transition(actor=caseworker, application=family_application,
                                        to=AS.APPROVED, outcomes={members[0].pk: "maybe"})
    family_application.refresh_from_db()
    assert family_application.status == AS.SUBMITTED
    assert set(_outcomes(family_application).values()) == {"pending"}
    services.application_transition(actor=caseworker, application=family_application,
                                    to=AS.REFUSED)
    family_application.refresh_from_db()
    assert family_application.decision == Decision.REFUSED
    assert set(_outcomes(family_application).values()) == {"refused"}


def test_withdrawing_after_approval_keeps_the_decision(family_application: Application,
                                                       caseworker: Any) -> None:
    services.application_transition(actor=caseworker, application=family_application,
                                    to=AS.APPROVED)
    services.application_transition(actor=caseworker, application=family_application,
                                    to=AS.WITHDRAWN)
    family_application.refresh_from_db()
    assert family_application.decision == Decision.APPROVED
    assert set(_outcomes(family_application).values()) == {"approved"}


# --- dates and tasks -------------------------------------------------------------------------


def test_an_interview_makes_one_task_that_moves_with_the_date(
        application: Application, caseworker: Any, assigned: Case) -> None:
    force(application, AS.SUBMITTED)
    first = today() + timedelta(days=10)
    services.application_transition(actor=caseworker, application=application,
                                    to=AS.INTERVIEW_SCHEDULED, interview_on=first)
    (entry,) = ApplicationDate.objects.filter(application=application)
    task = entry.task
    assert task is not None
    assert (task.due, task.assignee, task.case, task.status) == (first, caseworker, assigned,
                                                                 TaskStatus.OPEN)
    assert task.title == "Interview — Germany — humanitarian visa"  # the name, not the slug
    # The embassy asks for a paper, then reschedules the interview.
    services.application_transition(actor=caseworker, application=application,
                                    to=AS.INFORMATION_REQUESTED,
                                    deadline=today() + timedelta(days=5),
                                    deadline_label="Send the birth certificate")
    later = today() + timedelta(days=20)
    services.application_transition(actor=caseworker, application=application,
                                    to=AS.INTERVIEW_SCHEDULED, interview_on=later)
    interviews = ApplicationDate.objects.filter(application=application, kind=DateKind.INTERVIEW)
    assert interviews.count() == 1
    task.refresh_from_db()
    assert task.due == later
    assert Task.objects.filter(case=assigned).count() == 2
    deadline = ApplicationDate.objects.get(application=application, kind=DateKind.DEADLINE)
    assert deadline.task is not None
    assert deadline.task.priority == Priority.URGENT
    assert deadline.task.title.startswith("Send the birth certificate")
    assert "application.date_set" in actions()
    # Rescheduled again, explicitly.
    services.application_date_set(actor=caseworker, application=application,
                                  kind=DateKind.INTERVIEW, on=later + timedelta(days=1),
                                  entry=interviews.get())
    task.refresh_from_db()
    assert task.due == later + timedelta(days=1)
    assert Task.objects.filter(case=assigned).count() == 2
    # A decision that ends the application cancels its open date tasks.
    services.application_transition(actor=caseworker, application=application,
                                    to=AS.REFUSED)
    assert set(Task.objects.filter(case=assigned).values_list("status", flat=True)) == {
        TaskStatus.CANCELLED}
    with pytest.raises(Conflict):
        services.application_date_set(actor=caseworker, application=application,
                                      kind=DateKind.DEADLINE, on=today())


def test_a_done_task_is_not_reopened_by_a_new_date(application: Application,
                                                   caseworker: Any) -> None:
    entry = services.application_date_set(actor=caseworker, application=application,
                                          kind=DateKind.DEADLINE, on=today(), label="Pay fee")
    assert entry.task is not None
    done = entry.task
    case_services.task_transition(actor=caseworker, task=done, to=TaskStatus.DONE)
    moved = services.application_date_set(actor=caseworker, application=application,
                                          kind=DateKind.DEADLINE, on=today() + timedelta(days=3),
                                          entry=ApplicationDate.objects.get(pk=entry.pk))
    assert moved.task is not None
    assert moved.task.pk != done.pk
    done.refresh_from_db()
    assert done.status == TaskStatus.DONE
    assert moved.task.due == today() + timedelta(days=3)


def test_interview_needs_a_date(application: Application, caseworker: Any) -> None:
    force(application, AS.SUBMITTED)
    with pytest.raises(ValidationFailed):
        services.application_transition(actor=caseworker, application=application,
                                        to=AS.INTERVIEW_SCHEDULED)


def test_update_corrects_details_and_names_only_fields(application: Application,
                                                       caseworker: Any, operator: Any) -> None:
    services.application_update(actor=caseworker, application=application,
                                external_reference="REF-9")
    application.refresh_from_db()
    assert application.external_reference == "REF-9"
    audit = AuditEvent.objects.get(action="application.updated")
    assert audit.data == {"case": str(application.case_id), "fields": ["external_reference"],
                          "version": 2}
    with pytest.raises(ValidationFailed):
        services.application_update(actor=caseworker, application=application,
                                    valid_from=today(), valid_until=days_ago(3))
    with pytest.raises(Forbidden):
        services.application_update(actor=operator, application=application,
                                    external_reference="x")


# --- travel ----------------------------------------------------------------------------------


@pytest.fixture
def travel(assigned: Case, caseworker: Any, reference: dict[str, Pathway]) -> Travel:
    return services.travel_plan(actor=caseworker, case=assigned, route="Grozny → Tbilisi",
                                transit_points="Vladikavkaz", escort="A. K.")


def force_travel(travel: Travel, status: str) -> Travel:
    Travel.objects.filter(pk=travel.pk).update(status=status)
    travel.refresh_from_db()
    return travel


def arrival_details(to: str) -> dict[str, Any]:
    if to == TS.ARRIVED:
        return {"country": "DE", "status_obtained": StatusObtained.ASYLUM_SEEKER}
    return {}


TPAIRS = [(a, b) for a in TS for b in TS]
TALLOWED = [(a, b) for a, b in TPAIRS if b in TRAVEL_TRANSITIONS[a]]
TREFUSED = [(a, b) for a, b in TPAIRS if b not in TRAVEL_TRANSITIONS[a]]


def test_plan_seals_the_route_and_picks_travelling_members(travel: Travel) -> None:
    assert travel.members.count() == 1
    raw = Travel.objects.filter(pk=travel.pk).values_list("route", flat=True)[0]
    assert b"Tbilisi" not in bytes(raw)
    assert Travel.objects.get(pk=travel.pk).route == "Grozny → Tbilisi"
    audit = AuditEvent.objects.get(action="travel.planned")
    assert audit.data == {"case": str(travel.case_id), "members": 1, "application": ""}


def test_a_member_cannot_be_on_two_journeys_under_way(travel: Travel, caseworker: Any) -> None:
    with pytest.raises(Conflict, match="already on a journey"):
        services.travel_plan(actor=caseworker, case=travel.case)
    force_travel(travel, TS.ABORTED)
    services.travel_plan(actor=caseworker, case=travel.case)


@pytest.mark.parametrize(("current", "to"), TALLOWED, ids=[f"{a}->{b}" for a, b in TALLOWED])
def test_every_allowed_travel_transition_works_and_is_audited(
        travel: Travel, caseworker: Any, current: str, to: str) -> None:
    force_travel(travel, current)
    services.travel_transition(actor=caseworker, travel=travel, to=to, **arrival_details(to))
    travel.refresh_from_db()
    assert travel.status == to
    audit = AuditEvent.objects.get(action="travel.transitioned")
    assert (audit.data["from"], audit.data["to"]) == (current, to)


@pytest.mark.parametrize(("current", "to"), TREFUSED, ids=[f"{a}->{b}" for a, b in TREFUSED])
def test_every_other_travel_transition_is_refused_and_changes_nothing(
        travel: Travel, caseworker: Any, current: str, to: str) -> None:
    force_travel(travel, current)
    before = (audit_count(), Task.objects.count(), Arrival.objects.count())
    with pytest.raises(Conflict) as caught:
        services.travel_transition(actor=caseworker, travel=travel, to=to,
                                   **arrival_details(to))
    assert f"“{TS(current).label}”" in caught.value.message
    assert f"“{TS(to).label}”" in caught.value.message
    travel.refresh_from_db()
    assert travel.status == current
    assert (audit_count(), Task.objects.count(), Arrival.objects.count()) == before


def test_arrival_is_recorded_with_a_follow_up_task(travel: Travel, caseworker: Any,
                                                   reference: dict[str, Pathway]) -> None:
    force_travel(travel, TS.IN_TRANSIT)
    follow_up = today() + timedelta(days=14)
    with pytest.raises(ValidationFailed):
        services.travel_transition(actor=caseworker, travel=travel, to=TS.ARRIVED)
    with pytest.raises(ValidationFailed):
        services.travel_transition(actor=caseworker, travel=travel, to=TS.ABORTED, country="DE")
    services.travel_transition(actor=caseworker, travel=travel, to=TS.ARRIVED, country="DE",
                               status_obtained=StatusObtained.ASYLUM_SEEKER,
                               receiving_partner="Berlin sponsor circle",
                               follow_up_on=follow_up)
    arrival = Arrival.objects.get(travel=travel)
    assert arrival.country.code == "DE"
    assert arrival.arrived_on == today()
    assert arrival.receiving_partner == "Berlin sponsor circle"
    task = arrival.follow_up_task
    assert task is not None
    assert (task.due, task.assignee) == (follow_up, caseworker)
    audit = AuditEvent.objects.get(action="travel.transitioned")
    assert audit.data["country"] == "DE"
    assert "Berlin" not in str(audit.data)
    travel.refresh_from_db()
    assert travel.ended_at is not None


def test_travel_update_and_access(travel: Travel, caseworker: Any, operator: Any,
                                  other_caseworker: Any, outsider: Any) -> None:
    services.travel_update(actor=caseworker, travel=travel, route="Grozny → Baku")
    assert Travel.objects.get(pk=travel.pk).route == "Grozny → Baku"
    assert AuditEvent.objects.get(action="travel.updated").data["fields"] == ["route"]
    with pytest.raises(Forbidden):
        services.travel_update(actor=operator, travel=travel, route="x")
    for stranger in (other_caseworker, outsider):
        with pytest.raises(NotFound):
            services.travel_transition(actor=stranger, travel=travel, to=TS.BOOKED)
    with pytest.raises(Forbidden):
        services.travel_plan(actor=operator, case=travel.case)


# --- pathways edited in the app --------------------------------------------------------------


def test_pathway_update_validates_stamps_and_audits(reference: dict[str, Pathway],
                                                    coordinator: Any, caseworker: Any) -> None:
    pathway = reference["de-humanitarian"]
    with pytest.raises(Forbidden):
        services.pathway_update(actor=caseworker, pathway=pathway, cost="x")
    with pytest.raises(ValidationFailed) as caught:
        services.pathway_update(actor=coordinator, pathway=pathway, status="asleep",
                                documents_required=["diploma"])
    assert set(caught.value.fields) == {"status", "documents_required"}
    with pytest.raises(ValidationFailed):
        services.pathway_update(actor=coordinator, pathway=pathway, processing_days_min=500)
    services.pathway_update(actor=coordinator, pathway=pathway, status=PathwayStatus.PAUSED,
                            cost="Free")
    pathway.refresh_from_db()
    assert (pathway.status, pathway.status_since, pathway.cost) == (PathwayStatus.PAUSED,
                                                                    today(), "Free")
    assert pathway.edited_by == coordinator
    assert pathway.edited_at is not None
    audit = AuditEvent.objects.get(action="pathway.updated")
    assert audit.data == {"slug": "de-humanitarian", "fields": ["cost", "status", "status_since"],
                          "status": "paused", "version": 2}
    with pytest.raises(Stale):
        services.pathway_update(actor=coordinator, pathway=pathway, version=1, cost="Other")
    services.pathway_update(actor=coordinator, pathway=pathway, country="CA")
    pathway.refresh_from_db()
    assert pathway.country.code == "CA"


# --- dossiers --------------------------------------------------------------------------------


def test_dossier_request_approve_and_download(application: Application, caseworker: Any,
                                              coordinator: Any) -> None:
    add_document(application.case, caseworker, DocType.PASSPORT)
    export = services.dossier_request(actor=caseworker, application=application,
                                      fields=["legal_name", "nationality", "external_reference"])
    assert export.state == DossierState.REQUESTED
    with pytest.raises(Forbidden):
        services.dossier_approve(actor=caseworker, export=export)
    with pytest.raises(Forbidden):
        services.dossier_export(actor=caseworker, application=application, export=export,
                                reauthenticated_at=timezone.now())
    with pytest.raises(Conflict):
        services.dossier_export(actor=coordinator, application=application, export=export,
                                reauthenticated_at=timezone.now())
    services.dossier_approve(actor=coordinator, export=export)
    with pytest.raises(services.ReauthenticationRequired):
        services.dossier_export(actor=coordinator, application=application, export=export,
                                reauthenticated_at=None)
    with pytest.raises(services.ReauthenticationRequired):
        services.dossier_export(actor=coordinator, application=application, export=export,
                                reauthenticated_at=timezone.now() - timedelta(minutes=30))
    before = audit_count()
    result = services.dossier_export(actor=coordinator, application=application, export=export,
                                     reauthenticated_at=timezone.now().timestamp())
    assert result.content.startswith(b"%PDF")
    assert result.filename.startswith(f"dossier-{application.case.number}-")
    export.refresh_from_db()
    assert (export.state, export.downloaded_by, export.downloads) == (
        DossierState.DOWNLOADED, coordinator, 1)
    assert audit_count() == before + 1
    audit = AuditEvent.objects.get(action="dossier.exported")
    assert audit.actor_id == str(coordinator.pk)
    assert audit.data["fields"] == ["legal_name", "nationality", "external_reference"]
    assert "Магомед" not in str(audit.data)
    assert [a for a in actions() if a.startswith("dossier.")] == [
        "dossier.requested", "dossier.approved", "dossier.exported"]


def test_dossier_data_carries_chosen_fields_documents_and_stamp(
        household: Case, reference: dict[str, Pathway], caseworker: Any,
        coordinator: Any) -> None:
    from haven.pathways.services.dossiers import dossier_data

    application = services.application_create(actor=caseworker, case=household,
                                              pathway=reference["de-humanitarian"])
    export = DossierExport.objects.create(organization_id=application.organization_id,
                                          case=household, application=application)
    now = timezone.now()
    data = dossier_data(actor=coordinator, application=application,
                        fields=["legal_name", "nationality"], language="en", export=export,
                        at=now)
    assert data.case_number == household.number
    assert data.organization == "Test organization"
    assert data.applicants[0] == ("Магомед Хасанов", "Principal")
    assert ("Nationality (#1)", "Russian") in data.fields
    # One line per applicant: the principal's passport is on file, the spouse's is not.
    assert [(label, present) for label, _doc, present in data.documents[:2]] == [
        ("Valid passport (#1)", True), ("Valid passport (#2)", False)]
    assert data.documents[0][1] == "passport.pdf"
    assert data.documents[2][2] is False
    assert (data.exported_by, data.export_id, data.exported_at) == ("coordinator",
                                                                   str(export.pk), now)
    anonymous = dossier_data(actor=coordinator, application=application, fields=["nationality"],
                             language="ru", export=export, at=now)
    assert anonymous.applicants[0][0] == "#1"
    assert anonymous.country == "Германия"


def test_direct_export_and_decline(application: Application, coordinator: Any,
                                   caseworker: Any, outsider: Any) -> None:
    with pytest.raises(ValidationFailed):
        services.dossier_export(actor=coordinator, application=application, fields=["story2"],
                                reauthenticated_at=timezone.now())
    with pytest.raises(ValidationFailed):
        services.dossier_request(actor=caseworker, application=application,
                                 fields=["duress_word"])
    with pytest.raises(NotFound):
        services.dossier_export(actor=outsider, application=application, fields=["legal_name"],
                                reauthenticated_at=timezone.now())
    result = services.dossier_export(actor=coordinator, application=application,
                                     fields=["legal_name"], reauthenticated_at=timezone.now(),
                                     language="ru")
    assert result.export.state == DossierState.DOWNLOADED
    assert result.export.requested_by == coordinator
    export = services.dossier_request(actor=caseworker, application=application,
                                      fields=["legal_name"])
    services.dossier_decline(actor=coordinator, export=export)
    with pytest.raises(Conflict):
        services.dossier_approve(actor=coordinator, export=export)
    with pytest.raises(Conflict):
        services.dossier_export(actor=coordinator, application=application, export=export,
                                reauthenticated_at=timezone.now())


def test_cases_of_the_case_keep_their_status(application: Application) -> None:
    # Nothing in pathways moves the case by itself.
    assert Case.objects.get(pk=application.case_id).status == Status.ACTIVE


# --- every service against every role without the right ---------------------------------------


@pytest.fixture
def records(application: Application, caseworker: Any, coordinator: Any,
            reference: dict[str, Pathway]) -> dict[str, Any]:
    travel = services.travel_plan(actor=caseworker, case=application.case)
    export = services.dossier_request(actor=caseworker, application=application,
                                      fields=["legal_name"])
    return {"application": application, "travel": travel, "export": export,
            "case": application.case, "pathway": reference["ge-visa-free"]}


CALLS: dict[str, Any] = {
    "application_create": lambda a, r: services.application_create(
        actor=a, case=r["case"], pathway=r["pathway"]),
    "application_transition": lambda a, r: services.application_transition(
        actor=a, application=r["application"], to=AS.COLLECTING_DOCUMENTS),
    "application_update": lambda a, r: services.application_update(
        actor=a, application=r["application"], external_reference="x"),
    "application_date_set": lambda a, r: services.application_date_set(
        actor=a, application=r["application"], kind=DateKind.DEADLINE, on=today()),
    "travel_plan": lambda a, r: services.travel_plan(actor=a, case=r["case"]),
    "travel_update": lambda a, r: services.travel_update(actor=a, travel=r["travel"],
                                                         route="x"),
    "travel_transition": lambda a, r: services.travel_transition(actor=a, travel=r["travel"],
                                                                 to=TS.BOOKED),
    "dossier_request": lambda a, r: services.dossier_request(
        actor=a, application=r["application"], fields=["legal_name"]),
    "dossier_approve": lambda a, r: services.dossier_approve(actor=a, export=r["export"]),
    "dossier_decline": lambda a, r: services.dossier_decline(actor=a, export=r["export"]),
    "dossier_export": lambda a, r: services.dossier_export(
        actor=a, application=r["application"], fields=["legal_name"],
        reauthenticated_at=timezone.now()),
}
COORDINATOR_ONLY = {"dossier_approve", "dossier_decline", "dossier_export"}


FORBIDDEN = [(role, call) for call in sorted(CALLS)
             for role in ("operator", "verifier", "liaison", "auditor")] + [
    ("caseworker", call) for call in sorted(COORDINATOR_ONLY)]
UNREACHABLE = [("outsider", call) for call in sorted(CALLS)] + [
    ("other_caseworker", call) for call in sorted(set(CALLS) - COORDINATOR_ONLY)]


@pytest.mark.parametrize(("role", "call"), FORBIDDEN, ids=[f"{r}-{c}" for r, c in FORBIDDEN])
def test_every_service_refuses_a_role_without_the_permission(
        request: pytest.FixtureRequest, records: dict[str, Any], role: str, call: str) -> None:
    before = audit_count()
    with pytest.raises(Forbidden):
        CALLS[call](request.getfixturevalue(role), records)
    assert audit_count() == before


@pytest.mark.parametrize(("role", "call"), UNREACHABLE,
                         ids=[f"{r}-{c}" for r, c in UNREACHABLE])
def test_every_service_answers_not_found_for_an_unreachable_case(
        request: pytest.FixtureRequest, records: dict[str, Any], role: str, call: str) -> None:
    before = audit_count()
    with pytest.raises(NotFound):
        CALLS[call](request.getfixturevalue(role), records)
    assert audit_count() == before


# --- what the record already holds -----------------------------------------------------------


def test_visa_issued_takes_the_validity_saved_earlier(application: Application,
                                                      caseworker: Any) -> None:
    force(application, AS.APPROVED)
    start, end = today(), today() + timedelta(days=90)
    services.application_update(actor=caseworker, application=application, valid_from=start,
                                valid_until=end)
    services.application_transition(actor=caseworker, application=application,
                                    to=AS.VISA_ISSUED)
    application.refresh_from_db()
    assert (application.status, application.valid_from, application.valid_until) == (
        AS.VISA_ISSUED, start, end)


def test_visa_issued_still_needs_a_validity_from_somewhere(application: Application,
                                                           caseworker: Any) -> None:
    force(application, AS.APPROVED)
    services.application_update(actor=caseworker, application=application, valid_from=today())
    with pytest.raises(ValidationFailed) as caught:
        services.application_transition(actor=caseworker, application=application,
                                        to=AS.VISA_ISSUED)
    assert set(caught.value.fields) == {"valid_until"}
    assert Application.objects.get(pk=application.pk).status == AS.APPROVED
