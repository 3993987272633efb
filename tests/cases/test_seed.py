from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction

from haven.cases import selectors
from haven.cases.models import Case, Status
from haven.housing.models import Placement, Shelter
from haven.people.models import Person


class Undo(Exception):
    pass


def _snapshot() -> tuple[list[str], list[str], list[str]]:
    cases = list(Case.objects.order_by("number").values_list("number", "status", "priority"))
    names = sorted(p.legal_name for p in Person.objects.all())
    return [str(c) for c in cases], names, sorted(str(p) for p in Person.objects.values_list(
        "id", flat=True))


def test_seed_is_deterministic_and_consistent(unsealed: list[str], coordinator: Any,
                                              caseworker: Any, operator: Any) -> None:
    snapshots = []

    def seed_and_undo() -> None:
        with transaction.atomic():
            call_command("seed", "--people", "120", "--seed", "7", "--org", "test-org")
            assert Person.objects.count() == 120
            assert Shelter.objects.exists()
            snapshots.append(_snapshot())
            statuses = set(Case.objects.values_list("status", flat=True))
            assert len(statuses) >= 6
            for case in Case.objects.filter(status=Status.ACTIVE):
                assert case.assigned_to_id is not None
                assert case.verification_outcome
            for shelter in Shelter.objects.all():
                assert Placement.objects.filter(shelter=shelter).count() <= shelter.capacity
            raise Undo

    for _ in range(2):
        with pytest.raises(Undo):
            seed_and_undo()
    assert snapshots[0] == snapshots[1]


def test_seeded_people_are_searchable_in_both_scripts(unsealed: list[str], coordinator: Any,
                                                      caseworker: Any) -> None:
    call_command("seed", "--people", "40", "--seed", "3", "--org", "test-org")
    person = Person.objects.first()
    assert person is not None
    cyrillic, latin = person.legal_name.split()[0], person.other_names.split()[0]
    by_cyrillic = set(selectors.case_list(actor=coordinator, q=cyrillic))
    assert by_cyrillic
    assert by_cyrillic == set(selectors.case_list(actor=coordinator, q=latin))


def test_seed_refuses_without_staff(unsealed: list[str], org: Any) -> None:
    with pytest.raises(CommandError):
        call_command("seed", "--people", "5", "--org", "test-org")
