from __future__ import annotations

from typing import Any

import pytest

from haven.audit.models import AuditEvent
from haven.cases import services as case_services
from haven.cases.models import Case, Priority, Relationship, Task
from haven.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from haven.housing import selectors, services
from haven.housing.models import EndReason, Placement, PlacementStatus, Shelter, ShelterStatus


@pytest.fixture
def shelter(unsealed: list[str], coordinator: Any) -> Shelter:
    return services.shelter_create(actor=coordinator, code_name="Birch", capacity=2,
                                   address="ул. Ленина 5, кв. 12", coarse_place="Moscow region")


def test_create_seals_address_under_shelter_key(shelter: Shelter) -> None:
    raw = Shelter.objects.filter(pk=shelter.pk).values("address", "coarse_place").get()
    assert "Ленина".encode() not in bytes(raw["address"])
    assert Shelter.objects.get(pk=shelter.pk).address == "ул. Ленина 5, кв. 12"
    event = AuditEvent.objects.get(action="shelter.created")
    assert "Ленина" not in str(event.data)


def test_create_validates_and_needs_coordinator(shelter: Shelter, coordinator: Any,
                                                caseworker: Any) -> None:
    with pytest.raises(ValidationFailed) as exc:
        services.shelter_create(actor=coordinator, code_name="Birch", capacity=0, address="")
    assert {"capacity", "address"} <= set(exc.value.fields)
    with pytest.raises(ValidationFailed):
        services.shelter_create(actor=coordinator, code_name="Birch", capacity=1, address="x")
    with pytest.raises(Forbidden):
        services.shelter_create(actor=caseworker, code_name="Oak", capacity=1, address="x")
    assert Shelter.objects.count() == 1


def test_only_coordinators_reveal_the_address(shelter: Shelter, coordinator: Any,
                                              caseworker: Any) -> None:
    with pytest.raises(Forbidden):
        services.shelter_address_reveal(actor=caseworker, shelter=shelter)
    assert services.shelter_address_reveal(actor=coordinator, shelter=shelter).startswith("ул.")
    assert AuditEvent.objects.filter(action="shelter.address_revealed",
                                     object_id=str(shelter.pk)).count() == 1


def _household(case: Case, caseworker: Any, n: int) -> list[Any]:
    for i in range(n):
        case_services.member_add(actor=caseworker, case=case, legal_name=f"Member {i}",
                                 relationship=Relationship.CHILD)
    return [m.person for m in case.members.all()]


def test_capacity_is_never_exceeded(assigned: Case, caseworker: Any, shelter: Shelter) -> None:
    people = _household(assigned, caseworker, 2)
    services.placement_create(actor=caseworker, case=assigned, person=people[0], shelter=shelter)
    services.placement_create(actor=caseworker, case=assigned, person=people[1], shelter=shelter)
    with pytest.raises(Conflict) as exc:
        services.placement_create(actor=caseworker, case=assigned, person=people[2],
                                  shelter=shelter)
    assert "full: 2 of 2" in exc.value.message
    assert Placement.objects.count() == 2
    assert selectors.shelter_get(actor=caseworker, pk=shelter.pk).occupied == 2  # type: ignore[attr-defined]


def test_ended_placement_frees_the_bed(assigned: Case, caseworker: Any, shelter: Shelter
                                       ) -> None:
    person = assigned.members.get().person
    placement = services.placement_create(actor=caseworker, case=assigned, person=person,
                                          shelter=shelter)
    with pytest.raises(Conflict):
        services.placement_create(actor=caseworker, case=assigned, person=person,
                                  shelter=shelter)
    services.placement_transition(actor=caseworker, placement=placement,
                                  to=PlacementStatus.ACTIVE)
    assert placement.moved_in is not None
    with pytest.raises(ValidationFailed):
        services.placement_transition(actor=caseworker, placement=placement,
                                      to=PlacementStatus.ENDED)
    services.placement_transition(actor=caseworker, placement=placement,
                                  to=PlacementStatus.ENDED, end_reason=EndReason.MOVED_ON)
    assert services.occupancy(shelter) == 0
    for to in PlacementStatus:
        with pytest.raises(Conflict):
            services.placement_transition(actor=caseworker, placement=placement, to=to,
                                          end_reason=EndReason.OTHER)
    assert AuditEvent.objects.filter(action="placement.transitioned").count() == 2


def test_placement_needs_a_member_and_the_case(assigned: Case, other_caseworker: Any,
                                               caseworker: Any, shelter: Shelter,
                                               coordinator: Any) -> None:
    person = assigned.members.get().person
    with pytest.raises(NotFound):
        services.placement_create(actor=other_caseworker, case=assigned, person=person,
                                  shelter=shelter)
    other = case_services.case_open(actor=coordinator, legal_name="Other")
    with pytest.raises(ValidationFailed):
        services.placement_create(actor=caseworker, case=assigned,
                                  person=other.members.get().person, shelter=shelter)


def test_compromised_shelter_raises_an_emergency_task_per_resident(
        assigned: Case, caseworker: Any, coordinator: Any, shelter: Shelter) -> None:
    people = _household(assigned, caseworker, 1)
    living = services.placement_create(actor=caseworker, case=assigned, person=people[0],
                                       shelter=shelter)
    services.placement_transition(actor=caseworker, placement=living, to=PlacementStatus.ACTIVE)
    planned = services.placement_create(actor=caseworker, case=assigned, person=people[1],
                                        shelter=shelter)
    services.shelter_transition(actor=coordinator, shelter=shelter, to=ShelterStatus.COMPROMISED)
    (task,) = Task.objects.all()
    assert task.priority == Priority.EMERGENCY
    assert task.person == people[0]
    assert task.assignee == caseworker
    assert task.case == assigned
    assert "Birch" in task.title
    planned.refresh_from_db()
    assert planned.status == PlacementStatus.ENDED
    assert planned.end_reason == EndReason.COMPROMISED
    event = AuditEvent.objects.get(action="shelter.transitioned")
    assert event.data == {"from": "active", "to": "compromised", "tasks": 1}
    with pytest.raises(Conflict):
        services.placement_create(actor=caseworker, case=assigned, person=people[1],
                                  shelter=shelter)
    with pytest.raises(Conflict) as exc:
        services.shelter_transition(actor=coordinator, shelter=shelter, to=ShelterStatus.CLOSED)
    assert "Move everyone out" in exc.value.message


def test_shelter_transitions(shelter: Shelter, coordinator: Any, caseworker: Any) -> None:
    with pytest.raises(Forbidden):
        services.shelter_transition(actor=caseworker, shelter=shelter, to=ShelterStatus.CLOSED)
    with pytest.raises(Conflict):
        services.shelter_transition(actor=coordinator, shelter=shelter, to=ShelterStatus.ACTIVE)
    services.shelter_transition(actor=coordinator, shelter=shelter, to=ShelterStatus.CLOSED)
    with pytest.raises(Conflict):
        services.shelter_transition(actor=coordinator, shelter=shelter,
                                    to=ShelterStatus.COMPROMISED)
    services.shelter_transition(actor=coordinator, shelter=shelter, to=ShelterStatus.ACTIVE)
    assert shelter.status == ShelterStatus.ACTIVE


def test_board_counts_and_residents_scoped(assigned: Case, caseworker: Any,
                                           other_caseworker: Any, shelter: Shelter,
                                           outsider: Any) -> None:
    person = assigned.members.get().person
    services.placement_create(actor=caseworker, case=assigned, person=person, shelter=shelter)
    assert [s.occupied for s in selectors.shelter_board(actor=caseworker)] == [1]  # type: ignore[attr-defined]
    assert len(selectors.shelter_residents(actor=caseworker, shelter=shelter)) == 1
    assert selectors.shelter_residents(actor=other_caseworker, shelter=shelter) == []
    assert list(selectors.shelter_board(actor=outsider)) == []


def test_a_household_is_placed_together_or_not_at_all(assigned: Case, caseworker: Any,
                                                      shelter: Shelter) -> None:
    people = _household(assigned, caseworker, 2)  # three people, two beds
    with pytest.raises(Conflict, match="2 free places for the 3 people chosen"):
        services.placements_create(actor=caseworker, case=assigned, persons=people,
                                   shelter=shelter)
    assert not Placement.objects.exists()
    assert not AuditEvent.objects.filter(action="placement.created").exists()
    placed = services.placements_create(actor=caseworker, case=assigned, persons=people[:2],
                                        shelter=shelter, planned_in=None)
    assert [p.person for p in placed] == people[:2]
    assert services.occupancy(shelter) == 2
    assert AuditEvent.objects.filter(action="placement.created").count() == 2
    with pytest.raises(Conflict, match="already has a planned or current placement"):
        services.placements_create(actor=caseworker, case=assigned, persons=people[:1],
                                   shelter=shelter)
    with pytest.raises(ValidationFailed):
        services.placements_create(actor=caseworker, case=assigned, persons=[],
                                   shelter=shelter)


def test_a_placement_ended_by_mistake_is_restored_only_to_a_free_bed(
        assigned: Case, caseworker: Any, coordinator: Any, shelter: Shelter) -> None:
    people = _household(assigned, caseworker, 1)
    first, second = services.placements_create(actor=caseworker, case=assigned,
                                               persons=people, shelter=shelter)
    for placement in (first, second):
        services.placement_transition(actor=caseworker, placement=placement,
                                      to=PlacementStatus.ENDED, end_reason=EndReason.DEPARTED)
    other = case_services.case_open(actor=coordinator, legal_name="Иван")
    services.placement_create(actor=coordinator, case=other, person=other.members.get().person,
                              shelter=shelter)
    assert services.placement_restore(actor=caseworker, placement=first,
                                      to=PlacementStatus.ACTIVE)
    assert (first.status, first.moved_out, first.end_reason) == (PlacementStatus.ACTIVE,
                                                                 None, "")
    assert not services.placement_restore(actor=caseworker, placement=second,
                                          to=PlacementStatus.PLANNED)
    second.refresh_from_db()
    assert second.status == PlacementStatus.ENDED
    event = AuditEvent.objects.get(action="placement.restored")
    assert event.data == {"case": str(assigned.pk), "to": "active", "end_reason": "departed"}
