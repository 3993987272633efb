from __future__ import annotations

import statistics
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from haven.access import policy
from haven.access.permissions import Perm
from haven.audit.models import AuditEvent
from haven.cases import services as case_services
from haven.cases.models import Case, DocType, Member, Status
from haven.core.errors import Forbidden, NotFound
from haven.pathways import selectors, services
from haven.pathways.models import (
    Application,
    ApplicationStatus,
    Pathway,
    StatusObtained,
    TravelStatus,
)
from tests.pathways.conftest import add_document

pytestmark = pytest.mark.django_db
AS = ApplicationStatus


def days_ago(n: int) -> Any:
    return timezone.localdate() - timedelta(days=n)


# --- where to apply --------------------------------------------------------------------------


def _ranked(fits: list[selectors.PathwayFit]) -> list[tuple[str, int]]:
    return [(f.pathway.slug, f.score) for f in fits]


def test_ranking_orders_open_first_by_score_with_reasons(reference: dict[str, Pathway],
                                                         household: Case, caseworker: Any
                                                         ) -> None:
    # Only the principal travels: a Russian with a passport on file.
    spouse = Member.objects.get(case=household, is_principal=False)
    case_services.member_update(actor=caseworker, member=spouse, travels_with=False,
                                confidential_fields=())
    fits = selectors.pathway_ranking(actor=caseworker, case=household)
    assert _ranked(fits) == [
        ("ge-visa-free", 75),     # RU fits 30, no documents 20, from inside 15, no referrer 10
        ("de-humanitarian", 65),  # RU fits 30, 1 of 2 documents 10, inside 15, none 10
        ("ca-sponsorship", 40),   # any 20, 1 of 1 documents 20, third country unknown 0, sponsor 0
        ("ge-ua-only", 5),        # no eligible nationality −40, 20, 15, 10
        ("de-paused", 75),        # paused: after every open pathway, whatever its score
    ]
    by_slug = {f.pathway.slug: f for f in fits}
    assert by_slug["de-humanitarian"].fits == [
        "Nationality fits for every applicant (needs RU)",
        "Can be used from inside the country of persecution",
        "No referral or sponsor needed"]
    assert by_slug["de-humanitarian"].misfits == [
        "Documents on file: 1 of 2 (missing: Evidence of persecution)"]
    assert by_slug["ca-sponsorship"].unknowns == [
        "Needs presence in a third country: not known whether the household is outside",
        "Needs a referral or sponsor: A sponsor"]
    assert by_slug["ge-ua-only"].misfits == ["No member has an eligible nationality (needs UA)"]
    assert by_slug["de-paused"].misfits[0] == "Paused since 2025-07-28"
    assert "ar-closed" not in by_slug


def test_ranking_with_closed_unknown_nationality_and_third_country(
        reference: dict[str, Pathway], household: Case, caseworker: Any) -> None:
    # Both travel; the spouse's nationality is not recorded.
    add_document(household, caseworker, DocType.RESIDENCE_PROOF)
    fits = selectors.pathway_ranking(actor=caseworker, case=household, include_closed=True)
    by_slug = {f.pathway.slug: f for f in fits}
    assert fits[-1].pathway.slug == "ar-closed"
    # The spouse's nationality is not recorded: something to check, not a misfit.
    assert by_slug["de-humanitarian"].unknowns[0] == (
        "Nationality fits for 1 of 2 members and is not recorded for 1 (needs RU)")
    assert not [m for m in by_slug["de-humanitarian"].misfits if "Nationality" in m]
    # The principal is Russian, which UA-only does not take: that is a misfit.
    assert by_slug["ge-ua-only"].misfits[0] == (
        "Nationality does not fit for 1 of 2 members and is not recorded for 1 (needs UA)")
    assert ("Needs presence in a third country: the household is outside"
            in by_slug["ca-sponsorship"].fits)
    told = selectors.pathway_ranking(actor=caseworker, case=household, in_third_country=False)
    assert ("Needs presence in a third country: the household is not outside yet"
            in {f.pathway.slug: f for f in told}["ca-sponsorship"].misfits)


def test_ranking_shows_this_organizations_outcomes_and_own_applications(
        reference: dict[str, Pathway], household: Case, caseworker: Any) -> None:
    application = services.application_create(actor=caseworker, case=household,
                                              pathway=reference["ge-visa-free"])
    fits = {f.pathway.slug: f for f in selectors.pathway_ranking(actor=caseworker,
                                                                 case=household)}
    assert fits["ge-visa-free"].applications == [application]
    assert "This case already applied: draft" in fits["ge-visa-free"].unknowns
    assert fits["ge-visa-free"].outcome.applications == 1


def test_ranking_of_an_unreachable_case_is_not_found(reference: dict[str, Pathway],
                                                     household: Case, other_caseworker: Any,
                                                     outsider: Any) -> None:
    for actor in (other_caseworker, outsider):
        with pytest.raises(NotFound):
            selectors.pathway_ranking(actor=actor, case=household)


def test_ranking_is_deterministic(reference: dict[str, Pathway], household: Case,
                                  caseworker: Any) -> None:
    first = _ranked(selectors.pathway_ranking(actor=caseworker, case=household))
    assert first == _ranked(selectors.pathway_ranking(actor=caseworker, case=household))


# --- checklist -------------------------------------------------------------------------------


def test_checklist_counts_every_applicant_against_their_own_documents(
        reference: dict[str, Pathway], household: Case, caseworker: Any,
        coordinator: Any) -> None:
    application = services.application_create(actor=caseworker, case=household,
                                              pathway=reference["de-humanitarian"])
    principal, spouse = Member.objects.filter(case=household).order_by("-is_principal")
    checklist = selectors.application_checklist(application)
    assert checklist.applicants == [(principal.pk, "Principal"), (spouse.pk, "Spouse")]
    cells = {i.doc_type: [(c.member_id, c.done) for c in i.cells] for i in checklist.items}
    assert cells == {"passport": [(principal.pk, True), (spouse.pk, False)],
                     "evidence": [(principal.pk, False), (spouse.pk, False)],
                     "photo": [(principal.pk, False), (spouse.pk, False)]}
    # One passport of two applicants' required passports and evidence: a quarter, not half.
    assert checklist.percent == 25
    assert [i.doc_type for i in checklist.missing] == ["passport", "evidence"]
    # A document of someone who is not an applicant does not count, nor one made for
    # another application.
    outsider_case = case_services.case_open(actor=coordinator, legal_name="Иван")
    add_document(outsider_case, coordinator, DocType.EVIDENCE)
    other = services.application_create(actor=caseworker, case=household,
                                        pathway=reference["ge-visa-free"])
    add_document(household, caseworker, DocType.EVIDENCE, spouse.person, application=other)
    assert selectors.application_checklist(application).percent == 25
    add_document(household, caseworker, DocType.PASSPORT, spouse.person)
    add_document(household, caseworker, DocType.EVIDENCE, principal.person,
                 application=application)
    assert selectors.application_checklist(application).percent == 75
    # Ticked by hand for the spouse: who and when are kept.
    assert services.checklist_tick(actor=caseworker, application=application, member=spouse,
                                   doc_type=DocType.EVIDENCE, done=True)
    checklist = selectors.application_checklist(application)
    assert checklist.percent == 100
    (evidence,) = [i for i in checklist.items if i.doc_type == DocType.EVIDENCE]
    ticked = evidence.cells[1]
    assert (ticked.source, ticked.ticked_by, ticked.ticked_at is not None) == (
        "hand", "caseworker", True)
    assert evidence.cells[0].source == "document"
    empty = services.application_create(actor=caseworker, case=household,
                                        pathway=reference["ge-visa-free"])
    assert selectors.application_checklist(empty).percent == 100


# --- visibility ------------------------------------------------------------------------------


def test_applications_are_visible_exactly_when_the_case_is(
        reference: dict[str, Pathway], assigned: Case, *, caseworker: Any, coordinator: Any,
        other_caseworker: Any, operator: Any, verifier: Any, liaison: Any, auditor: Any,
        outsider: Any) -> None:
    application = services.application_create(actor=caseworker, case=assigned,
                                              pathway=reference["de-humanitarian"])
    for actor in (caseworker, coordinator):
        assert list(policy.case_records_visible_to(actor, Perm.APPLICATION_READ, Application.objects.all())) == [application]
        assert selectors.application_get(actor=actor, pk=application.pk) == application
    for actor in (other_caseworker, operator, verifier, liaison, auditor, outsider):
        assert not policy.case_records_visible_to(actor, Perm.APPLICATION_READ, Application.objects.all()).exists()
        with pytest.raises(NotFound):
            selectors.application_get(actor=actor, pk=application.pk)
    assert list(selectors.application_list(actor=caseworker, case=assigned)) == [application]
    assert [e.to_status for e in selectors.application_history(application)] == [AS.DRAFT]


def test_pathways_are_reference_data_for_every_staff_role(
        reference: dict[str, Pathway], operator: Any, auditor: Any, liaison: Any) -> None:
    for actor in (operator, auditor, liaison):
        assert selectors.pathway_list(actor=actor).count() == 6
    assert [p.slug for p in selectors.pathway_list(actor=operator, country="de")] == [
        "de-humanitarian", "de-paused"]
    assert selectors.pathway_list(actor=operator, status="closed").get().slug == "ar-closed"
    assert selectors.pathway_list(actor=operator, kind="private_sponsorship").count() == 1
    assert selectors.pathway_get(actor=auditor, slug="ge-visa-free").country.code == "GE"
    with pytest.raises(NotFound):
        selectors.pathway_get(actor=auditor, slug="nowhere")


def test_route_is_shown_to_coordinator_and_caseworker_until_arrival(
        reference: dict[str, Pathway], assigned: Case, *, caseworker: Any, coordinator: Any,
        operator: Any, other_caseworker: Any) -> None:
    travel = services.travel_plan(actor=caseworker, case=assigned, route="Grozny → Tbilisi")
    route = selectors.travel_route(actor=caseworker, travel=travel)
    assert route is not None
    assert route.route == "Grozny → Tbilisi"
    assert selectors.travel_route(actor=coordinator, travel=travel) is not None
    for actor in (operator, other_caseworker):
        assert selectors.travel_route(actor=actor, travel=travel) is None
    assert AuditEvent.objects.filter(action="travel.route_viewed").count() == 2
    assert list(selectors.travel_list(actor=caseworker, case=assigned)) == [travel]
    with pytest.raises(NotFound):
        selectors.travel_get(actor=other_caseworker, pk=travel.pk)


def test_the_case_arrives_when_every_travelling_member_has(
        reference: dict[str, Pathway], household: Case, caseworker: Any, coordinator: Any
        ) -> None:
    principal, spouse = Member.objects.filter(case=household).order_by("-is_principal")
    first = services.travel_plan(actor=caseworker, case=household, members=[principal])
    second = services.travel_plan(actor=caseworker, case=household, members=[spouse])
    for travel in (first, second):
        services.travel_transition(actor=caseworker, travel=travel, to=TravelStatus.BOOKED)
        services.travel_transition(actor=caseworker, travel=travel, to=TravelStatus.IN_TRANSIT)
    household.refresh_from_db()
    assert household.status == Status.DEPARTED
    services.travel_transition(actor=caseworker, travel=first, to=TravelStatus.ARRIVED,
                               country="DE", status_obtained=StatusObtained.REFUGEE)
    household.refresh_from_db()
    assert household.status == Status.DEPARTED  # the spouse is still on the way
    assert not selectors.case_arrival_offer(actor=caseworker, case=household)
    services.travel_transition(actor=caseworker, travel=second, to=TravelStatus.ARRIVED,
                               country="DE", status_obtained=StatusObtained.REFUGEE)
    household.refresh_from_db()
    assert household.status == Status.ARRIVED
    # Nothing left to offer: the journey moved the case.
    assert not selectors.case_arrival_offer(actor=caseworker, case=household)


def test_arrival_is_offered_when_the_journey_could_not_move_the_case(
        reference: dict[str, Pathway], household: Case, caseworker: Any) -> None:
    travel = services.travel_plan(actor=caseworker, case=household)
    services.travel_transition(actor=caseworker, travel=travel, to=TravelStatus.BOOKED)
    services.travel_transition(actor=caseworker, travel=travel, to=TravelStatus.IN_TRANSIT)
    case_services.case_transition(actor=caseworker, case=household, to=Status.ON_HOLD)
    step = services.travel_transition(actor=caseworker, travel=travel, to=TravelStatus.ARRIVED,
                                      country="DE", status_obtained=StatusObtained.REFUGEE)
    household.refresh_from_db()
    assert household.status == Status.ON_HOLD
    assert step.effects["case_left"] == Status.ON_HOLD
    assert "The case stayed “On hold”" in " ".join(selectors.step_summary(step))
    case_services.case_transition(actor=caseworker, case=household, to=Status.DEPARTED)
    assert selectors.case_arrival_offer(actor=caseworker, case=household)


# --- outcomes --------------------------------------------------------------------------------


def _application(actor: Any, pathway: Pathway, steps: list[tuple[str, int]], created: int,
                 **last: Any) -> Application:
    case = case_services.case_open(actor=actor, legal_name="Тест Тестов")
    application = services.application_create(actor=actor, case=case, pathway=pathway,
                                              on=days_ago(created))
    for n, (to, ago) in enumerate(steps):
        extra: dict[str, Any] = last if n == len(steps) - 1 else {}
        if to == AS.VISA_ISSUED:
            extra = {"valid_from": days_ago(ago), "valid_until": days_ago(ago) + timedelta(90)}
        services.application_transition(actor=actor, application=application, to=to,
                                        on=days_ago(ago), **extra)
    return application


PREPARE = [(AS.COLLECTING_DOCUMENTS, 95), (AS.READY_FOR_REVIEW, 90)]


@pytest.fixture
def outcomes(reference: dict[str, Pathway], coordinator: Any) -> dict[str, Application]:
    """A hand-made history with known answers (days counted back from today):

    de-humanitarian: A1 submitted −80, approved −20 (60 days), visa −10, travelled, arrived;
    A2 submitted −70, refused −30 (40 days); A3 submitted −60, approved −10 (50 days);
    A4 submitted −50, still waiting; A5 a draft since −5.
    ca-sponsorship: B1 submitted −40, refused −10 (30 days).
    """
    de, ca = reference["de-humanitarian"], reference["ca-sponsorship"]
    made = {
        "A1": _application(coordinator, de, [*PREPARE, (AS.SUBMITTED, 80), (AS.APPROVED, 20),
                                             (AS.VISA_ISSUED, 10)], 100),
        "A2": _application(coordinator, de, [*PREPARE, (AS.SUBMITTED, 70), (AS.REFUSED, 30)],
                           100),
        "A3": _application(coordinator, de, [*PREPARE, (AS.SUBMITTED, 60), (AS.APPROVED, 10)],
                           100),
        "A4": _application(coordinator, de, [*PREPARE, (AS.SUBMITTED, 50)], 100),
        "A5": _application(coordinator, de, [], 5),
        "B1": _application(coordinator, ca, [*PREPARE, (AS.SUBMITTED, 40), (AS.REFUSED, 10)],
                           100),
    }
    a1 = made["A1"]
    travel = services.travel_plan(actor=coordinator, case=a1.case, application=a1)
    services.travel_transition(actor=coordinator, travel=travel, to=TravelStatus.BOOKED)
    services.travel_transition(actor=coordinator, travel=travel, to=TravelStatus.IN_TRANSIT)
    services.travel_transition(actor=coordinator, travel=travel, to=TravelStatus.ARRIVED,
                               country="DE", status_obtained=StatusObtained.HUMANITARIAN)
    return made


def test_pathway_outcomes_have_known_figures(outcomes: dict[str, Application],
                                             reference: dict[str, Pathway],
                                             caseworker: Any, outsider: Any) -> None:
    figures = selectors.pathway_outcomes(actor=caseworker)
    de = figures[reference["de-humanitarian"].pk]
    assert (de.applications, de.approved, de.refused, de.pending) == (5, 2, 1, 1)
    assert de.approval_rate == pytest.approx(2 / 3)
    assert de.median_days_to_decision == 50
    ca = figures[reference["ca-sponsorship"].pk]
    assert (ca.applications, ca.approved, ca.refused, ca.approval_rate,
            ca.median_days_to_decision) == (1, 0, 1, 0.0, 30)
    assert selectors.pathway_outcomes(actor=outsider) == {}  # another organization's figures


def test_outcomes_board_has_known_answers(outcomes: dict[str, Application],
                                          reference: dict[str, Pathway],
                                          coordinator: Any) -> None:
    board = selectors.outcomes_board(actor=coordinator)
    (de,) = [r for r in board.pathways if r.pathway == "de-humanitarian"]
    assert de.funnel == {"cases": 5, "submitted": 4, "approved": 2, "visa_issued": 1,
                         "travelled": 1, "arrived": 1}
    assert de.approval_rate == pytest.approx(2 / 3)
    assert de.median_days_to_decision == 50
    # Days in "submitted" before the next stage: 60, 40, 50 → 50; in "ready": 10, 20, 30, 40 → 25.
    assert de.median_days["submitted"] == 50
    assert de.median_days["ready_for_review"] == 25
    assert de.median_days["collecting_documents"] == 5
    assert de.median_days["approved"] == 10
    (germany,) = [r for r in board.countries if r.country == "DE"]
    assert germany.funnel == de.funnel
    (canada,) = [r for r in board.countries if r.country == "CA"]
    assert canada.funnel["cases"] == 1
    assert canada.approval_rate == 0.0
    assert [r.pathway for r in board.pathways_of("DE")] == ["de-humanitarian"]
    ten_days = sorted([(outcomes["A1"].case.number, "de-humanitarian", "visa_issued", 10),
                       (outcomes["A3"].case.number, "de-humanitarian", "approved", 10)])
    assert [(s.case_number, s.pathway, s.stage, s.days) for s in board.stuck] == [
        (outcomes["A4"].case.number, "de-humanitarian", "submitted", 50), *ten_days,
        (outcomes["A5"].case.number, "de-humanitarian", "draft", 5),
    ]
    only_canada = selectors.outcomes_board(actor=coordinator, country="ca")
    assert [r.country for r in only_canada.countries] == ["CA"]
    assert only_canada.stuck == []


def test_auditor_gets_the_figures_but_no_case_by_name(outcomes: dict[str, Application],
                                                      coordinator: Any, auditor: Any) -> None:
    """Finding 9 of issue 13: the auditor's "stuck" list named a coordinator-only case."""
    case_services.case_transition(actor=coordinator, case=outcomes["A4"].case,
                                  to=Status.SUSPENDED)
    full = selectors.outcomes_board(actor=coordinator)
    assert outcomes["A4"].case.number in [s.case_number for s in full.stuck]
    board = selectors.outcomes_board(actor=auditor)
    assert board.stuck == []
    assert board.stuck_withheld
    assert not full.stuck_withheld
    assert [(r.pathway, r.funnel) for r in board.pathways] == [
        (r.pathway, r.funnel) for r in full.pathways]  # the same aggregate figures


def test_outcomes_board_needs_the_permission_and_sees_one_organization(
        outcomes: dict[str, Application], caseworker: Any, operator: Any,
        outsider: Any) -> None:
    for actor in (caseworker, operator):
        with pytest.raises(Forbidden):
            selectors.outcomes_board(actor=actor)
    board = selectors.outcomes_board(actor=outsider)
    assert board.pathways == []
    assert board.stuck == []


@given(st.lists(st.integers(min_value=0, max_value=50), max_size=40))
def test_median_of_a_histogram_is_the_median_of_its_values(values: list[int]) -> None:
    result = selectors.outcomes._median(Counter(values))
    if not values:
        assert result is None
    else:
        assert result == statistics.median(values)


# --- the start page: interviews and deadlines coming ---------------------------------------------


def test_start_page_dates_are_the_open_ones_due_soon_of_cases_the_actor_sees(
        reference: dict[str, Pathway], household: Case, caseworker: Any, other_caseworker: Any,
        coordinator: Any) -> None:
    application = services.application_create(actor=caseworker, case=household,
                                              pathway=reference["de-humanitarian"])
    today = timezone.localdate()
    overdue = services.application_date_set(actor=caseworker, application=application,
                                            kind="deadline", on=today - timedelta(days=2),
                                            label="Send the bank statement")
    soon = services.application_date_set(actor=caseworker, application=application,
                                         kind="interview", on=today + timedelta(days=5))
    services.application_date_set(actor=caseworker, application=application,
                                  kind="interview", on=today + timedelta(days=40))  # too far
    done = services.application_date_set(actor=caseworker, application=application,
                                         kind="deadline", on=today + timedelta(days=1))
    assert done.task is not None
    case_services.task_transition(actor=caseworker, task=done.task, to="done")
    # Each date's task is marked as one: the start page reads them through a partial index
    # of such tasks alone (and a moved date keeps its task, so keeps the mark).
    overdue = services.application_date_set(actor=caseworker, application=application,
                                            kind="deadline", on=today - timedelta(days=2),
                                            label="Send the bank statement", entry=overdue)
    assert overdue.task is not None
    assert overdue.task.origin == "application_date"

    def due(actor: Any) -> list[Any]:
        return [d.pk for d in selectors.application_dates_due(actor=actor)]

    assert due(caseworker) == [overdue.pk, soon.pk]  # overdue first; done and far ones left out
    assert selectors.application_dates_due(actor=caseworker)[0].label == "Send the bank statement"
    assert due(coordinator) == [overdue.pk, soon.pk]
    assert due(other_caseworker) == []  # not their case
    assert [d.pk for d in selectors.application_dates_due(actor=caseworker, limit=1)] == [
        overdue.pk]
