from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction

from haven.access import policy
from haven.access.roles import Role
from haven.accounts.models import User
from haven.cases import selectors
from haven.cases.models import Case, Member, Outcome, Referral, Status
from haven.demo.management.commands import seed
from haven.housing.models import Placement, Shelter
from haven.people.models import Person, PersonIndex


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


def _staff(org: Any) -> dict[Role, list[User]]:
    return {role: list(User.objects.filter(organization=org, role=role, is_active=True))
            for role in Role}


def test_seed_in_parts_makes_the_same_people_as_in_one(
        unsealed: list[str], coordinator: Any, caseworker: Any, operator: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """What `haven seed --jobs 3` does (three processes, each every third batch, shelters
    read back from the database) gives the very rows one process gives."""
    monkeypatch.setattr(seed, "BATCH", 40)  # 130 people: four batches
    org, staff = coordinator.organization, _staff(coordinator.organization)
    snapshots = []
    undo = transaction.savepoint()
    made = seed.Seeder(org, staff, 9).run(130)
    assert made["people"] == 130
    snapshots.append((_snapshot(), _placements()))
    transaction.savepoint_rollback(undo)
    assert not Person.objects.exists()

    seed.Seeder(org, staff, 9)._shelters(2)  # what `run` does before starting the processes
    counts = [seed.Seeder(org, staff, 9).part(130, i, 3) for i in range(3)]
    assert sum(c["people"] for c in counts) == 130
    assert sum(c["cases"] for c in counts) == made["cases"]
    snapshots.append((_snapshot(), _placements()))
    for shelter in Shelter.objects.all():
        assert Placement.objects.filter(shelter=shelter).count() <= shelter.capacity
    assert snapshots[0] == snapshots[1]


def _placements() -> list[tuple[str, str]]:
    return sorted((str(p.shelter_id), str(p.person_id)) for p in Placement.objects.all())


def test_seeded_names_are_found_through_the_blind_index(unsealed: list[str], coordinator: Any,
                                                         caseworker: Any) -> None:
    """Every seeded person's full name, in either script, finds their case: the index rows
    are real digests, not copies of the names."""
    call_command("seed", "--people", "30", "--seed", "4", "--org", "test-org")
    digests = set(PersonIndex.objects.values_list("digest", flat=True))
    for person in Person.objects.all()[:10]:
        assert person.legal_name.encode() not in digests
        case_ids = set(Member.objects.filter(person=person).values_list("case_id", flat=True))
        for name in (person.legal_name, person.other_names):
            found = {c.pk for c in selectors.case_list(actor=coordinator, q=name)}
            assert case_ids <= found


def test_seed_refuses_a_bad_number_of_jobs(unsealed: list[str], coordinator: Any,
                                           caseworker: Any) -> None:
    with pytest.raises(CommandError, match="--jobs"):
        call_command("seed", "--people", "5", "--org", "test-org", "--jobs", "0")
    assert not Person.objects.exists()


def test_seed_refuses_parallel_jobs_on_sqlite(unsealed: list[str], coordinator: Any,
                                              caseworker: Any) -> None:
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("SQLite only: PostgreSQL seeds in parallel")
    with pytest.raises(CommandError, match="--jobs needs PostgreSQL"):
        call_command("seed", "--people", "5", "--org", "test-org", "--jobs", "2")
    assert not Person.objects.exists()


def test_seed_refers_cases_to_a_liaison_with_several_shared_sets(
        unsealed: list[str], coordinator: Any, caseworker: Any, operator: Any,
        liaison: Any) -> None:
    """The demo organization (`haven demo` seeds it) has referrals to its partner liaison, so
    the partial view can be tried; each seeded referral shares one of the sets in turn."""
    call_command("seed", "--people", "60", "--seed", "3", "--org", "test-org")
    referrals = list(Referral.objects.select_related("case"))
    assert {tuple(r.shared) for r in referrals} == {tuple(s) for s in seed.SHARED_SETS}
    assert all(r.liaison == liaison and r.active for r in referrals)
    assert not [r for r in referrals if r.case.status == Status.SUSPENDED
                or r.case.verification_outcome == Outcome.SUSPECT]
    visible = selectors.case_list(actor=liaison)
    assert set(visible) == {r.case for r in referrals}
    shared = selectors.referral_shared(actor=liaison, cases=list(visible))
    assert {tuple(v) for v in shared.values()} == {tuple(s) for s in seed.SHARED_SETS}
    assert policy.case_view_of(liaison) == policy.CaseView.REFERRAL
