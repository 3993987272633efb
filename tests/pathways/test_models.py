from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from haven.access import policy
from haven.access.permissions import Perm
from haven.access.roles import Role
from haven.cases.models import Case
from haven.pathways import services
from haven.pathways.models import (
    APPLICATION_TRANSITIONS,
    FINAL,
    GRANTED,
    PENDING_DECISION,
    PREPARING,
    TRAVEL_TRANSITIONS,
    ApplicationStatus,
    DossierExport,
    Pathway,
    Travel,
    TravelStatus,
    application_targets,
)
from haven.pathways.nationality import nationality_codes
from haven.pathways.selectors import Checklist, ChecklistCell, ChecklistItem

AS = ApplicationStatus


def test_status_groups_partition_the_application_statuses() -> None:
    groups = [PREPARING, PENDING_DECISION, GRANTED, (AS.REFUSED, AS.WITHDRAWN)]
    flat = [s for group in groups for s in group]
    assert sorted(flat) == sorted(AS)
    assert set(FINAL) == {AS.REFUSED, AS.WITHDRAWN, AS.USED, AS.EXPIRED}
    assert application_targets("deferred") == (AS.SUBMITTED, AS.WITHDRAWN)


def _reachable(table: dict[Any, tuple[Any, ...]], start: Any) -> set[Any]:
    seen, todo = {start}, [start]
    while todo:
        for target in table[todo.pop()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_every_status_can_be_reached_from_the_start() -> None:
    assert _reachable(dict(APPLICATION_TRANSITIONS), AS.DRAFT) == set(AS)
    assert _reachable(dict(TRAVEL_TRANSITIONS), TravelStatus.PLANNING) == set(TravelStatus)


@pytest.mark.parametrize(("text", "codes"), [
    ("Russian", {"RU"}),
    ("RU", {"RU"}),
    ("ru", {"RU"}),
    ("Российская Федерация", {"RU"}),
    ("чеченец", {"RU"}),
    ("Russian, Ukrainian", {"RU", "UA"}),
    ("Россия и Украина", {"RU", "UA"}),
    ("citizen of Belarus", {"BY"}),
    ("РФ", {"RU"}),
    ("Ёжикистан", set()),
    ("", set()),
    ("stateless", set()),
])
def test_nationality_codes(text: str, codes: set[str]) -> None:
    assert nationality_codes(text) == codes


@given(st.text(max_size=60))
def test_nationality_codes_never_fail(text: str) -> None:
    assert all(len(code) == 2 for code in nationality_codes(text))


def test_checklist_percent_counts_applicants_times_required_items() -> None:
    def item(required: bool, *done: bool) -> ChecklistItem:
        return ChecklistItem(doc_type="passport", label="P", label_ru="П", required=required,
                             cells=[ChecklistCell(member_id=uuid.uuid4(), label=str(n),
                                                  document_id=uuid.uuid4() if d else None)
                                    for n, d in enumerate(done)])

    assert Checklist([]).percent == 100
    assert Checklist([item(True, True), item(True, False), item(False, False)]).percent == 50
    assert Checklist([item(False, True), item(False, False), item(False, False)]).percent == 33
    # Two applicants, one passport: half, not everything.
    assert Checklist([item(True, True, False)]).percent == 50
    assert not item(True, True, False).done
    assert Checklist([item(True, True, True), item(True, False, True)]).percent == 75
    assert item(True, True).label_for("ru") == "П"
    assert item(True, True).label_for("en") == "P"


@pytest.mark.django_db
def test_records_are_sealed_under_the_case_key(reference: dict[str, Pathway], assigned: Case,
                                               caseworker: Any) -> None:
    application = services.application_create(actor=caseworker, case=assigned,
                                              pathway=reference["de-humanitarian"])
    travel = services.travel_plan(actor=caseworker, case=assigned)
    owner = assigned.keyring_owner()
    assert application.keyring_owner() == owner
    assert travel.keyring_owner() == owner
    assert str(application.applicants.get()).startswith("applicant")
    assert str(reference["de-humanitarian"]) == "de-humanitarian"
    assert str(reference["de-humanitarian"].country) == "Germany"
    assert "draft" in str(application.events.get())


@pytest.mark.django_db
def test_object_rules_follow_the_case(reference: dict[str, Pathway], assigned: Case, *,
                                      caseworker: Any, other_caseworker: Any, coordinator: Any,
                                      outsider: Any) -> None:
    application = services.application_create(actor=caseworker, case=assigned,
                                              pathway=reference["de-humanitarian"])
    export = services.dossier_request(actor=caseworker, application=application,
                                      fields=["legal_name"])
    travel = services.travel_plan(actor=caseworker, case=assigned)
    for obj, perm in ((application, Perm.APPLICATION_READ), (travel, Perm.TRAVEL_READ),
                      (export, Perm.DOSSIER_REQUEST)):
        assert policy.has_perm(caseworker, perm, obj)
        assert policy.has_perm(coordinator, perm, obj)
        assert not policy.has_perm(other_caseworker, perm, obj)
        assert not policy.has_perm(outsider, perm, obj)
    assert list(policy.case_records_visible_to(caseworker, Perm.DOSSIER_REQUEST, DossierExport.objects.all())) == [export]
    assert not policy.case_records_visible_to(other_caseworker, Perm.DOSSIER_REQUEST, DossierExport.objects.all()).exists()
    assert list(policy.case_records_visible_to(coordinator, Perm.TRAVEL_READ, Travel.objects.all())) == [travel]


def test_auditor_gets_figures_and_reference_data_only() -> None:
    table = policy.ROLE_PERMISSIONS
    assert table[Role.AUDITOR] & {p for p in Perm if p.value.split(":")[0] in {
        "pathway", "outcomes", "application", "travel", "dossier"}} == {
        Perm.OUTCOMES_READ, Perm.PATHWAY_READ}
    assert Perm.DOSSIER_EXPORT not in table[Role.CASEWORKER]
    for role in (Role.OPERATOR, Role.VERIFIER, Role.LIAISON):
        assert Perm.PATHWAY_READ in table[role]
        assert not {Perm.APPLICATION_READ, Perm.TRAVEL_READ} & table[role]
