"""A journey moves everything else: the case, the beds, the tasks and the emergency lists —
in one audited transaction, with an exact undo."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from haven.audit.models import AuditEvent
from haven.cases import services as case_services
from haven.cases import start_selectors
from haven.cases.models import Case, Member, Priority, Status, Task, TaskOrigin, TaskStatus
from haven.core.errors import Conflict, Forbidden, NotFound
from haven.housing import services as housing_services
from haven.housing.models import EndReason, Placement, PlacementStatus, Shelter
from haven.pathways import selectors, services
from haven.pathways.models import (
    Application,
    ApplicationStatus,
    Arrival,
    DateKind,
    Pathway,
    StatusObtained,
    Travel,
    TravelStatus,
    TravelStep,
)
from haven.pathways.services import journey

pytestmark = pytest.mark.django_db
AS = ApplicationStatus
TS = TravelStatus


def today() -> Any:
    return timezone.localdate()


def move(actor: Any, travel: Travel, *steps: str, **arrival: Any) -> TravelStep:
    step = None
    for to in steps:
        details = arrival if to == TS.ARRIVED else {}
        step = services.travel_transition(actor=actor, travel=travel, to=to, **details)
    assert step is not None
    return step


ARRIVAL = {"country": "DE", "status_obtained": StatusObtained.HUMANITARIAN}


@pytest.fixture
def shelter(coordinator: Any) -> Shelter:
    return housing_services.shelter_create(actor=coordinator, code_name="Oak", capacity=2,
                                           address="Lenina 5")


@pytest.fixture
def placed(household: Case, caseworker: Any, shelter: Shelter) -> list[Placement]:
    """Both members in the shelter: the principal living there, the spouse's bed planned."""
    persons = [m.person for m in Member.objects.filter(case=household).order_by("-is_principal")]
    placements = housing_services.placements_create(actor=caseworker, case=household,
                                                    persons=persons, shelter=shelter)
    housing_services.placement_transition(actor=caseworker, placement=placements[0],
                                          to=PlacementStatus.ACTIVE)
    return placements


@pytest.fixture
def visa(household: Case, caseworker: Any, reference: dict[str, Pathway]) -> Application:
    """An application with a visa issued after a consulate interview that is still on the
    start page's deadlines (its task was never closed)."""
    application = services.application_create(actor=caseworker, case=household,
                                              pathway=reference["de-humanitarian"])
    for to in (AS.COLLECTING_DOCUMENTS, AS.READY_FOR_REVIEW, AS.SUBMITTED):
        services.application_transition(actor=caseworker, application=application, to=to)
    services.application_transition(actor=caseworker, application=application,
                                    to=AS.INTERVIEW_SCHEDULED,
                                    interview_on=today() + timedelta(days=3),
                                    interview_label="Consulate interview")
    services.application_transition(actor=caseworker, application=application, to=AS.APPROVED)
    services.application_transition(actor=caseworker, application=application,
                                    to=AS.VISA_ISSUED, valid_from=today(),
                                    valid_until=today() + timedelta(days=90))
    return application


@pytest.fixture
def travel(household: Case, caseworker: Any, visa: Application) -> Travel:
    return services.travel_plan(actor=caseworker, case=household, application=visa)


def interview_due(actor: Any) -> bool:
    return any(d.kind == DateKind.INTERVIEW
               for d in selectors.application_dates_due(actor=actor, days=30))


def beds(shelter: Shelter) -> int:
    return housing_services.occupancy(shelter)


def test_leaving_departs_the_case_and_frees_the_beds(
        travel: Travel, caseworker: Any, shelter: Shelter, placed: list[Placement],
        coordinator: Any) -> None:
    principal = placed[0].person
    # A task to move the principal out of a compromised shelter no longer applies once they
    # have left.
    task = case_services.task_create(actor=coordinator, case=travel.case, person=principal,
                                     title="Move out", priority=Priority.EMERGENCY,
                                     origin=TaskOrigin.SHELTER)
    assert beds(shelter) == 2
    step = move(caseworker, travel, TS.BOOKED, TS.IN_TRANSIT)
    case = Case.objects.get(pk=travel.case_id)
    assert case.status == Status.DEPARTED
    assert step.effects["case"] == [Status.ACTIVE, Status.READY, Status.DEPARTED]
    ended = {p.pk: (p.status, p.end_reason, p.moved_out) for p in Placement.objects.all()}
    assert ended == {placed[0].pk: (PlacementStatus.ENDED, EndReason.DEPARTED, today()),
                     placed[1].pk: (PlacementStatus.ENDED, EndReason.CANCELLED, today())}
    assert beds(shelter) == 0
    task.refresh_from_db()
    assert task.status == TaskStatus.CANCELLED
    event = AuditEvent.objects.get(action="travel.transitioned", data__to=TS.IN_TRANSIT)
    assert event.data["case_status"] == [Status.ACTIVE, Status.READY, Status.DEPARTED]
    assert (event.data["placements_ended"], event.data["tasks_closed"]) == (2, 1)
    assert event.data["step"] == str(step.pk)
    # Each change went through its own service, audited in the same transaction.
    assert AuditEvent.objects.filter(action="case.transitioned").count() >= 2
    assert AuditEvent.objects.filter(action="placement.transitioned",
                                     data__to=PlacementStatus.ENDED).count() == 2


def test_detention_alerts_the_caseworker_and_every_coordinator_sees_it(
        travel: Travel, caseworker: Any, coordinator: Any, other_caseworker: Any) -> None:
    move(caseworker, travel, TS.BOOKED, TS.IN_TRANSIT)
    step = move(caseworker, travel, TS.DETAINED)
    (task,) = Task.objects.filter(origin=TaskOrigin.DETENTION)
    assert (task.assignee, task.priority, task.due, task.status) == (
        caseworker, Priority.EMERGENCY, today(), TaskStatus.OPEN)
    assert travel.case.number in task.title
    case = Case.objects.get(pk=travel.case_id)
    assert case.priority == Priority.EMERGENCY
    assert step.effects["priority"] == [Priority.NORMAL, Priority.EMERGENCY]
    for actor in (caseworker, coordinator):
        (alert,) = selectors.emergencies_for(actor)
        assert (alert.kind, alert.task, alert.case, alert.travel) == ("detention", task, case,
                                                                      travel)
        assert case in start_selectors.dashboard(actor=actor).emergencies
    assert selectors.emergencies_for(other_caseworker) == []


def test_emergencies_put_detentions_first_then_the_most_overdue(
        travel: Travel, caseworker: Any, coordinator: Any, household: Case) -> None:
    late = case_services.task_create(actor=coordinator, case=household, title="Late",
                                     priority=Priority.EMERGENCY, assignee=caseworker,
                                     due=today() - timedelta(days=2))
    case_services.task_create(actor=coordinator, case=household, title="Not urgent",
                              assignee=caseworker, due=today() - timedelta(days=9))
    later = case_services.task_create(actor=coordinator, case=household, title="Later",
                                      priority=Priority.EMERGENCY, assignee=coordinator,
                                      due=today() + timedelta(days=1))
    move(caseworker, travel, TS.BOOKED, TS.DETAINED)
    rows = selectors.emergencies_for(coordinator)
    assert [r.kind for r in rows] == ["detention", "task", "task"]
    assert [r.task for r in rows[1:]] == [late, later]
    assert rows[1].overdue
    # A caseworker sees those of their cases, whoever the task is for.
    assert [r.task for r in selectors.emergencies_for(caseworker)][1:] == [late, later]


def test_release_closes_the_detention_task_and_restores_the_priority(
        travel: Travel, caseworker: Any) -> None:
    move(caseworker, travel, TS.BOOKED, TS.DETAINED)
    step = move(caseworker, travel, TS.IN_TRANSIT)
    task = Task.objects.get(origin=TaskOrigin.DETENTION)
    assert task.status == TaskStatus.DONE
    assert step.effects["closed"] == [{"id": str(task.pk), "from": "open", "to": "done"}]
    case = Case.objects.get(pk=travel.case_id)
    assert (case.status, case.priority) == (Status.DEPARTED, Priority.NORMAL)
    assert selectors.emergencies_for(caseworker) == []


def test_arrival_closes_the_loop(travel: Travel, caseworker: Any, coordinator: Any,
                                 shelter: Shelter, placed: list[Placement]) -> None:
    case_services.case_update(actor=coordinator, case=travel.case, priority=Priority.EMERGENCY)
    assert interview_due(caseworker)
    move(caseworker, travel, TS.BOOKED, TS.IN_TRANSIT, TS.DETAINED, TS.IN_TRANSIT)
    step = move(caseworker, travel, TS.ARRIVED, follow_up_on=today() + timedelta(days=30),
                **ARRIVAL)
    case = Case.objects.get(pk=travel.case_id)
    assert case.status == Status.ARRIVED
    assert case.priority == Priority.NORMAL  # off the emergency lists
    assert beds(shelter) == 0
    assert not interview_due(caseworker)  # the consulate interview left the deadlines
    assert Task.objects.get(origin=TaskOrigin.DETENTION).status == TaskStatus.DONE
    assert selectors.emergencies_for(coordinator) == []
    assert case not in start_selectors.dashboard(actor=coordinator).emergencies
    assert step.effects["case"] == [Status.DEPARTED, Status.ARRIVED]
    assert "The case moved from “Departed” to “Arrived”." in selectors.step_summary(step)
    event = AuditEvent.objects.get(action="travel.transitioned", data__to=TS.ARRIVED)
    assert event.data["priority"] == [Priority.EMERGENCY, Priority.NORMAL]


def test_undo_takes_back_each_move_exactly(travel: Travel, caseworker: Any,
                                           shelter: Shelter, placed: list[Placement]) -> None:
    move(caseworker, travel, TS.BOOKED, TS.IN_TRANSIT, TS.DETAINED, TS.IN_TRANSIT)
    move(caseworker, travel, TS.ARRIVED, follow_up_on=today() + timedelta(days=30), **ARRIVAL)
    case = Case.objects.get(pk=travel.case_id)
    follow_up = Arrival.objects.get().follow_up_task
    detention = Task.objects.get(origin=TaskOrigin.DETENTION)

    # "Arrival recorded by mistake."
    services.travel_undo(actor=caseworker, travel=travel)
    travel.refresh_from_db()
    case.refresh_from_db()
    assert (travel.status, travel.ended_at) == (TS.IN_TRANSIT, None)
    assert not Arrival.objects.exists()
    assert case.status == Status.DEPARTED
    assert interview_due(caseworker)  # the interview is back among the deadlines
    assert follow_up is not None
    follow_up.refresh_from_db()
    assert follow_up.status == TaskStatus.CANCELLED
    event = AuditEvent.objects.get(action="travel.step_undone")
    assert (event.data["from"], event.data["to"], event.data["case_status"]) == (
        TS.ARRIVED, TS.IN_TRANSIT, Status.DEPARTED)

    # The release, then the detention itself.
    services.travel_undo(actor=caseworker, travel=travel)
    detention.refresh_from_db()
    case.refresh_from_db()
    assert detention.status == TaskStatus.OPEN
    assert case.priority == Priority.EMERGENCY
    services.travel_undo(actor=caseworker, travel=travel)
    detention.refresh_from_db()
    case.refresh_from_db()
    assert detention.status == TaskStatus.CANCELLED
    assert case.priority == Priority.NORMAL

    # The departure: the case is active again and both beds are back.
    services.travel_undo(actor=caseworker, travel=travel)
    travel.refresh_from_db()
    case.refresh_from_db()
    assert (travel.status, travel.departed_at) == (TS.BOOKED, None)
    assert case.status == Status.ACTIVE
    assert beds(shelter) == 2
    assert {p.status for p in Placement.objects.all()} == {PlacementStatus.ACTIVE,
                                                           PlacementStatus.PLANNED}
    services.travel_undo(actor=caseworker, travel=travel)
    with pytest.raises(Conflict, match="no move"):
        services.travel_undo(actor=caseworker, travel=travel)
    assert TravelStep.objects.filter(undone_at=None).count() == 0


def test_undo_leaves_a_bed_given_to_someone_else(travel: Travel, caseworker: Any,
                                                 coordinator: Any, shelter: Shelter,
                                                 placed: list[Placement]) -> None:
    move(caseworker, travel, TS.BOOKED, TS.IN_TRANSIT)
    for name in ("Иван", "Пётр"):
        other = case_services.case_open(actor=coordinator, legal_name=name)
        housing_services.placement_create(actor=coordinator, case=other,
                                          person=other.members.get().person, shelter=shelter)
    services.travel_undo(actor=caseworker, travel=travel)
    assert {p.status for p in Placement.objects.filter(case=travel.case)} == {
        PlacementStatus.ENDED}
    assert AuditEvent.objects.get(action="travel.step_undone").data[
        "placements_not_restored"] == 2
    assert Case.objects.get(pk=travel.case_id).status == Status.ACTIVE


def test_undo_leaves_a_case_someone_moved_since(travel: Travel, caseworker: Any) -> None:
    move(caseworker, travel, TS.BOOKED, TS.IN_TRANSIT, TS.ARRIVED, **ARRIVAL)
    case = Case.objects.get(pk=travel.case_id)
    case_services.case_transition(actor=caseworker, case=case, to=Status.ON_HOLD)
    services.travel_undo(actor=caseworker, travel=travel)
    case.refresh_from_db()
    assert case.status == Status.ON_HOLD
    assert Travel.objects.get(pk=travel.pk).status == TS.IN_TRANSIT


def test_a_return_makes_the_case_ready_to_travel_again(
        household: Case, caseworker: Any, travel: Travel) -> None:
    move(caseworker, travel, TS.BOOKED, TS.IN_TRANSIT, TS.DETAINED)
    step = move(caseworker, travel, TS.ABORTED)
    household.refresh_from_db()
    assert (household.status, household.priority) == (Status.READY, Priority.NORMAL)
    assert step.effects["case"] == [Status.DEPARTED, Status.READY]
    assert Task.objects.get(origin=TaskOrigin.DETENTION).status == TaskStatus.DONE


def test_a_return_leaves_the_case_departed_while_another_journey_is_away(
        household: Case, caseworker: Any, reference: dict[str, Pathway]) -> None:
    principal, spouse = Member.objects.filter(case=household).order_by("-is_principal")
    first = services.travel_plan(actor=caseworker, case=household, members=[principal])
    second = services.travel_plan(actor=caseworker, case=household, members=[spouse])
    move(caseworker, first, TS.BOOKED, TS.IN_TRANSIT)
    move(caseworker, second, TS.BOOKED, TS.IN_TRANSIT)
    step = move(caseworker, second, TS.ABORTED)
    household.refresh_from_db()
    assert household.status == Status.DEPARTED
    assert "case" not in step.effects


def test_a_case_not_yet_active_stays_where_it_is(
        reference: dict[str, Pathway], coordinator: Any) -> None:
    case = case_services.case_open(actor=coordinator, legal_name="Тест")
    travel = services.travel_plan(actor=coordinator, case=case)
    step = move(coordinator, travel, TS.BOOKED, TS.IN_TRANSIT)
    case.refresh_from_db()
    assert case.status == Status.INTAKE
    assert step.effects["case_left"] == Status.INTAKE


def test_a_move_is_one_transaction(travel: Travel, caseworker: Any, placed: list[Placement],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    move(caseworker, travel, TS.BOOKED)
    before = AuditEvent.objects.count()

    def fail(*args: Any, **kwargs: Any) -> None:
        raise Conflict("the beds cannot be freed")

    monkeypatch.setattr(journey, "_free_beds", fail)
    with pytest.raises(Conflict):
        services.travel_transition(actor=caseworker, travel=travel, to=TS.IN_TRANSIT)
    travel.refresh_from_db()
    assert travel.status == TS.BOOKED
    assert Case.objects.get(pk=travel.case_id).status == Status.ACTIVE  # walked, then undone
    assert AuditEvent.objects.count() == before
    assert TravelStep.objects.count() == 1


def test_undo_needs_the_journey(travel: Travel, caseworker: Any, operator: Any,
                                other_caseworker: Any) -> None:
    move(caseworker, travel, TS.BOOKED)
    with pytest.raises(NotFound):
        services.travel_undo(actor=other_caseworker, travel=travel)
    with pytest.raises(Forbidden):
        services.travel_undo(actor=operator, travel=travel)
    assert Travel.objects.get(pk=travel.pk).status == TS.BOOKED
