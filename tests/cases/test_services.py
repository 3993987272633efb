from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from haven.access import policy
from haven.access.permissions import Perm
from haven.audit.models import AuditEvent
from haven.cases import services
from haven.cases.models import (
    CASE_NUMBER_RE,
    Case,
    ClosureReason,
    Member,
    Method,
    Note,
    Outcome,
    PersonProfile,
    Priority,
    Relationship,
    RiskLevel,
    Status,
    Task,
    TaskStatus,
    Verification,
    VerificationState,
    Visibility,
    allowed_targets,
)
from haven.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from haven.keyring.models import DataKey
from tests.cases.conftest import soon, verify
from tests.factories.accounts import UserFactory


def last_event(action: str) -> AuditEvent:
    return AuditEvent.objects.filter(action=action).order_by("-seq").first()  # type: ignore[return-value]


class Rollback(Exception):
    pass


def _try_and_undo(coordinator: Any, case: Case, start: Status, to: Status) -> None:
    """Make the transition, check it, and roll it back so the next target starts alike."""
    with transaction.atomic():
        services.case_transition(actor=coordinator, case=case, to=to,
                                 closure_reason=ClosureReason.OTHER)
        case.refresh_from_db()
        assert case.status == to
        event = last_event("case.transitioned")
        assert event.data["from"] == start
        assert event.data["to"] == to
        raise Rollback


# --- opening ------------------------------------------------------------------------------------


def test_open_case_gets_random_number_own_key_principal_and_audit(opened: Case,
                                                                  operator: Any) -> None:
    assert CASE_NUMBER_RE.match(opened.number)
    assert "MAG" not in opened.number
    assert "KHA" not in opened.number
    assert opened.status == Status.INTAKE
    assert opened.opened_by == operator
    assert DataKey.objects.filter(owner_type="cases.case", owner_id=opened.pk).count() == 1
    (member,) = opened.members.all()
    assert member.is_principal
    assert member.relationship == Relationship.SELF
    event = last_event("case.opened")
    assert event.object_id == str(opened.pk)
    assert "Магомед" not in str(event.data)
    assert "Grozny" not in str(event.data)
    raw = Case.objects.filter(pk=opened.pk).values_list("summary", flat=True).get()
    assert b"Grozny" not in bytes(raw)


def test_open_refused_for_roles_without_permission(unsealed: list[str], caseworker: Any,
                                                   verifier: Any, liaison: Any,
                                                   auditor: Any) -> None:
    for actor in (caseworker, verifier, liaison, auditor):
        with pytest.raises(Forbidden):
            services.case_open(actor=actor, legal_name="Ruslan")
    assert Case.objects.count() == 0


def test_open_validates_choices_and_changes_nothing(unsealed: list[str], operator: Any) -> None:
    with pytest.raises(ValidationFailed) as exc:
        services.case_open(actor=operator, legal_name="Ruslan", priority="panic")
    assert "priority" in exc.value.fields
    with pytest.raises(ValidationFailed):
        services.case_open(actor=operator, legal_name="  ")
    assert Case.objects.count() == 0


# --- every transition ---------------------------------------------------------------------------


ALL = list(Status)


def _at(status: Status, driver: Callable[[Case, str], Case], case: Case) -> Case:
    if status in (Status.ON_HOLD, Status.SUSPENDED):
        driver(case, Status.ACTIVE)
    return driver(case, status)


@pytest.mark.parametrize("start", ALL, ids=str)
def test_every_transition_from_each_status(start: Status, opened: Case, coordinator: Any,
                                           caseworker: Any,
                                           driver: Callable[[Case, str], Case]) -> None:
    services.case_assign(actor=coordinator, case=opened, assignee=caseworker)
    case = _at(start, driver, opened)
    assert case.status == start
    allowed = allowed_targets(case.status, case.paused_from)
    before = Case.objects.filter(pk=case.pk).values().get()
    events = AuditEvent.objects.count()
    for to in ALL:
        if to in allowed:
            with pytest.raises(Rollback):
                _try_and_undo(coordinator, case, start, to)
            case.refresh_from_db()
            continue
        with pytest.raises(Conflict) as exc:
            services.case_transition(actor=coordinator, case=case, to=to,
                                     closure_reason=ClosureReason.OTHER)
        assert "cannot move from" in exc.value.message
        assert Case.objects.filter(pk=case.pk).values().get() == before
        assert AuditEvent.objects.count() == events


def test_paused_case_resumes_only_where_it_stood(assigned: Case, caseworker: Any) -> None:
    services.case_transition(actor=caseworker, case=assigned, to=Status.ON_HOLD)
    assert assigned.paused_from == Status.ACTIVE
    with pytest.raises(Conflict):
        services.case_transition(actor=caseworker, case=assigned, to=Status.INTAKE)
    services.case_transition(actor=caseworker, case=assigned, to=Status.ACTIVE)
    assert assigned.status == Status.ACTIVE
    assert assigned.paused_from == ""


def test_active_needs_a_verification_outcome(opened: Case, coordinator: Any) -> None:
    services.case_transition(actor=coordinator, case=opened, to=Status.VERIFICATION)
    with pytest.raises(Conflict) as exc:
        services.case_transition(actor=coordinator, case=opened, to=Status.ACTIVE)
    assert "verified" in exc.value.message
    assert Case.objects.get(pk=opened.pk).status == Status.VERIFICATION


@pytest.mark.parametrize(("outcome", "may_activate"), [
    (Outcome.PARTIAL, True), (Outcome.UNVERIFIABLE, False),
])
def test_outcome_decides_activation(opened: Case, *, operator: Any, verifier: Any,
                                    coordinator: Any, outcome: str, may_activate: bool) -> None:
    verify(opened, operator=operator, verifier=verifier, coordinator=coordinator, outcome=outcome)
    assert opened.verification_outcome == outcome
    if may_activate:
        services.case_transition(actor=coordinator, case=opened, to=Status.ACTIVE)
        assert opened.status == Status.ACTIVE
    else:
        with pytest.raises(Conflict):
            services.case_transition(actor=coordinator, case=opened, to=Status.ACTIVE)


def test_ready_to_travel_needs_a_caseworker(opened: Case, operator: Any, verifier: Any,
                                            coordinator: Any) -> None:
    verify(opened, operator=operator, verifier=verifier, coordinator=coordinator)
    services.case_transition(actor=coordinator, case=opened, to=Status.ACTIVE)
    with pytest.raises(Conflict) as exc:
        services.case_transition(actor=coordinator, case=opened, to=Status.READY)
    assert "Assign a caseworker" in exc.value.message


def test_closing_needs_a_reason(opened: Case, coordinator: Any) -> None:
    services.case_transition(actor=coordinator, case=opened, to=Status.WITHDRAWN)
    with pytest.raises(ValidationFailed) as exc:
        services.case_transition(actor=coordinator, case=opened, to=Status.CLOSED)
    assert "closure_reason" in exc.value.fields
    services.case_transition(actor=coordinator, case=opened, to=Status.CLOSED,
                             closure_reason=ClosureReason.WITHDRAWN)
    assert opened.closed_at is not None


def test_unknown_status_is_a_validation_error(opened: Case, coordinator: Any) -> None:
    with pytest.raises(ValidationFailed):
        services.case_transition(actor=coordinator, case=opened, to="teleported")


def test_operator_may_only_send_to_verification_or_pause(opened: Case, operator: Any) -> None:
    services.case_transition(actor=operator, case=opened, to=Status.ON_HOLD)
    services.case_transition(actor=operator, case=opened, to=Status.INTAKE)
    services.case_transition(actor=operator, case=opened, to=Status.VERIFICATION)
    assert opened.status == Status.VERIFICATION
    opened.verification_outcome = Outcome.PARTIAL
    opened.save()
    with pytest.raises(Forbidden):
        services.case_transition(actor=operator, case=opened, to=Status.ACTIVE)


def test_caseworker_cannot_transition_unassigned_case(opened: Case, caseworker: Any) -> None:
    with pytest.raises(NotFound):
        services.case_transition(actor=caseworker, case=opened, to=Status.ON_HOLD)


# --- assignment ---------------------------------------------------------------------------------


def test_assign_and_reassign_are_audited(assigned: Case, coordinator: Any, caseworker: Any,
                                         other_caseworker: Any) -> None:
    services.case_assign(actor=coordinator, case=assigned, assignee=other_caseworker)
    assert assigned.assigned_to == other_caseworker
    event = last_event("case.assigned")
    assert event.data == {"from": str(caseworker.pk), "to": str(other_caseworker.pk)}


def test_assign_refuses_wrong_role_and_non_coordinators(opened: Case, coordinator: Any,
                                                        caseworker: Any, verifier: Any,
                                                        outsider: Any) -> None:
    with pytest.raises(ValidationFailed):
        services.case_assign(actor=coordinator, case=opened, assignee=verifier)
    with pytest.raises(ValidationFailed):
        services.case_assign(actor=coordinator, case=opened, assignee=outsider)
    with pytest.raises(Forbidden):
        services.case_assign(actor=caseworker, case=opened, assignee=caseworker)
    assert Case.objects.get(pk=opened.pk).assigned_to is None


# --- verification rules -------------------------------------------------------------------------


def test_verifier_cannot_be_the_opener(unsealed: list[str], coordinator: Any) -> None:
    case = services.case_open(actor=coordinator, legal_name="Ruslan")
    with pytest.raises(ValidationFailed) as exc:
        services.verification_request(actor=coordinator, case=case, verifier=coordinator)
    assert "opened" in exc.value.message
    assert not policy.has_perm(coordinator, Perm.VERIFICATION_SUBMIT, case)
    assert Verification.objects.count() == 0


def test_opener_cannot_submit_even_when_assigned(unsealed: list[str], coordinator: Any,
                                                 org: Any) -> None:
    from haven.access.roles import Role

    second = UserFactory(organization=org, role=Role.COORDINATOR, username="second")
    case = services.case_open(actor=coordinator, legal_name="Ruslan")
    verification = services.verification_request(actor=coordinator, case=case, verifier=second)
    verification.verifier = coordinator  # as if someone tampered with the assignment
    with pytest.raises(NotFound):
        services.verification_submit(actor=coordinator, verification=verification,
                                     outcome=Outcome.VERIFIED, methods=[Method.DOCUMENTS],
                                     narrative="mine")


def test_verified_waits_for_a_coordinators_approval(opened: Case, operator: Any, verifier: Any,
                                                    coordinator: Any) -> None:
    verification = services.verification_request(actor=operator, case=opened, verifier=verifier)
    assert opened.status == Status.VERIFICATION
    services.verification_submit(actor=verifier, verification=verification,
                                 outcome=Outcome.VERIFIED, methods=[Method.VIDEO_CALL],
                                 narrative="Consistent story", red_flags="none")
    assert verification.state == VerificationState.AWAITING_APPROVAL
    opened.refresh_from_db()
    assert opened.verification_outcome == ""
    with pytest.raises(Conflict):
        services.case_transition(actor=coordinator, case=opened, to=Status.ACTIVE)
    with pytest.raises(Forbidden):
        services.verification_approve(actor=verifier, verification=verification)
    services.verification_approve(actor=coordinator, verification=verification)
    opened.refresh_from_db()
    assert opened.verification_outcome == Outcome.VERIFIED
    assert last_event("verification.approved").data["case"] == str(opened.pk)
    raw = Verification.objects.filter(pk=verification.pk).values_list("narrative", flat=True)
    assert b"Consistent" not in bytes(raw.get())


def test_coordinator_who_verified_cannot_approve_own(opened: Case, operator: Any,
                                                     coordinator: Any, org: Any) -> None:
    from haven.access.roles import Role

    verification = services.verification_request(actor=operator, case=opened,
                                                 verifier=coordinator)
    services.verification_submit(actor=coordinator, verification=verification,
                                 outcome=Outcome.VERIFIED, methods=[Method.DOCUMENTS],
                                 narrative="Checked")
    with pytest.raises(Forbidden) as exc:
        services.verification_approve(actor=coordinator, verification=verification)
    assert "second person" in exc.value.message
    second = UserFactory(organization=org, role=Role.COORDINATOR, username="second")
    services.verification_approve(actor=second, verification=verification, approve=False)
    assert verification.state == VerificationState.REQUESTED
    assert last_event("verification.returned")


def test_only_the_assigned_verifier_submits(opened: Case, operator: Any, verifier: Any,
                                            coordinator: Any) -> None:
    verification = services.verification_request(actor=operator, case=opened, verifier=verifier)
    with pytest.raises(Forbidden):
        services.verification_submit(actor=coordinator, verification=verification,
                                     outcome=Outcome.PARTIAL, methods=[Method.DOCUMENTS],
                                     narrative="x")
    with pytest.raises(ValidationFailed) as exc:
        services.verification_submit(actor=verifier, verification=verification,
                                     outcome=Outcome.PARTIAL, methods=[], narrative="")
    assert set(exc.value.fields) == {"methods"}
    with pytest.raises(Conflict):
        services.verification_request(actor=operator, case=opened, verifier=verifier)


def test_suspect_goes_to_coordinators_only(opened: Case, *, operator: Any, verifier: Any,
                                           coordinator: Any, caseworker: Any,
                                           liaison: Any) -> None:
    services.case_assign(actor=coordinator, case=opened, assignee=caseworker)
    verify(opened, operator=operator, verifier=verifier, coordinator=coordinator,
           outcome=Outcome.SUSPECT)
    for user in (operator, verifier, caseworker, liaison):
        assert not policy.cases_visible_to(user, Case.objects.all()).filter(pk=opened.pk).exists()
        assert not policy.has_perm(user, Perm.CASE_READ, opened)
    assert policy.cases_visible_to(coordinator, Case.objects.all()).filter(pk=opened.pk).exists()
    with pytest.raises(Conflict) as exc:
        services.referral_create(actor=coordinator, case=opened, liaison=liaison,
                                 shared_fields=["status"])
    assert "never shared" in exc.value.message


def test_suspended_case_is_hidden_from_all_but_coordinators(assigned: Case, caseworker: Any,
                                                            coordinator: Any, operator: Any,
                                                            verifier: Any) -> None:
    services.case_transition(actor=caseworker, case=assigned, to=Status.SUSPENDED)
    for user in (caseworker, operator, verifier):
        assert not policy.cases_visible_to(user, Case.objects.all()).filter(pk=assigned.pk).exists()
    with pytest.raises(NotFound):
        services.case_transition(actor=caseworker, case=assigned, to=Status.ACTIVE)
    services.case_transition(actor=coordinator, case=assigned, to=Status.ACTIVE)
    assert policy.cases_visible_to(caseworker, Case.objects.all()).filter(pk=assigned.pk).exists()


# --- household and profile ----------------------------------------------------------------------


def test_member_add_raises_triage_and_audits(assigned: Case, caseworker: Any) -> None:
    before = assigned.triage_score
    member = services.member_add(actor=caseworker, case=assigned, legal_name="Аминат",
                                 relationship=Relationship.SPOUSE,
                                 confidential_fields=["sogi"])
    assigned.refresh_from_db()
    assert assigned.triage_score == before + 1
    assert member.confidential == ["sogi"]
    assert last_event("case.member_added").data["relationship"] == Relationship.SPOUSE
    with pytest.raises(ValidationFailed):
        services.member_add(actor=caseworker, case=assigned, legal_name="X",
                            relationship=Relationship.SELF)
    with pytest.raises(ValidationFailed):
        services.member_add(actor=caseworker, case=assigned, legal_name="X",
                            confidential_fields=["shoe_size"])


@pytest.mark.parametrize(("birth", "ok"), [
    ("1990", True), ("1990-04", True), ("1990-04-30", True), ("1990-02-30", False),
    ("90", False), ("2990", False), ("1990-13", False),
])
def test_profile_partial_birth_date(assigned: Case, caseworker: Any, birth: str, ok: bool
                                    ) -> None:
    person = assigned.members.get().person
    if ok:
        services.profile_update(actor=caseworker, case=assigned, person=person,
                                birth_date=birth)
        assert PersonProfile.objects.get(person=person).birth_date == birth
    else:
        with pytest.raises(ValidationFailed) as exc:
            services.profile_update(actor=caseworker, case=assigned, person=person,
                                    birth_date=birth)
        assert "birth_date" in exc.value.fields
        assert not PersonProfile.objects.filter(person=person).exists()


def test_profile_sealed_under_person_key_and_audited_by_field(assigned: Case,
                                                              caseworker: Any) -> None:
    person = assigned.members.get().person
    services.profile_update(actor=caseworker, case=assigned, person=person, sogi="gay man",
                            story="Detained in 2017", duress_word="apricot")
    raw = PersonProfile.objects.filter(person=person).values("sogi", "story").get()
    assert b"gay" not in bytes(raw["sogi"])
    assert b"Detained" not in bytes(raw["story"])
    event = last_event("person.profile_updated")
    assert event.data["fields"] == ["duress_word", "sogi", "story"]
    assert "apricot" not in str(event.data)
    fresh = PersonProfile.objects.get(person=person)
    assert fresh.story == "Detained in 2017"


def test_reveal_returns_value_and_records_field(assigned: Case, caseworker: Any,
                                                operator: Any) -> None:
    person = assigned.members.get().person
    value = services.person_reveal(actor=caseworker, case=assigned, person=person,
                                   field="legal_name")
    assert value == "Магомед Хасанов"
    event = last_event("person.revealed")
    assert event.object_id == str(person.pk)
    assert event.data == {"field": "legal_name", "case": str(assigned.pk)}
    with pytest.raises(Forbidden):
        services.person_reveal(actor=operator, case=assigned, person=person, field="phone")
    with pytest.raises(ValidationFailed):
        services.person_reveal(actor=caseworker, case=assigned, person=person, field="pk")


def test_reveal_refused_on_someone_elses_case(assigned: Case, other_caseworker: Any) -> None:
    person = assigned.members.get().person
    with pytest.raises(NotFound):
        services.person_reveal(actor=other_caseworker, case=assigned, person=person,
                               field="legal_name")


def test_risk_assessment_sets_level_review_and_score(assigned: Case, caseworker: Any) -> None:
    before = assigned.triage_score
    services.risk_assess(actor=caseworker, case=assigned, immediacy=RiskLevel.IMMINENT,
                         recommended_priority=Priority.EMERGENCY, next_review=soon(3),
                         threat_actors="local police", incidents="raid")
    assigned.refresh_from_db()
    assert assigned.risk_level == RiskLevel.IMMINENT
    assert assigned.next_review == soon(3)
    assert assigned.triage_score > before
    assert last_event("case.risk_assessed").data["immediacy"] == RiskLevel.IMMINENT
    with pytest.raises(ValidationFailed):
        services.risk_assess(actor=caseworker, case=assigned, immediacy=RiskLevel.LOW,
                             recommended_priority=Priority.NORMAL,
                             next_review=timezone.localdate() - timedelta(days=1))


def test_update_priority_puts_emergencies_first(assigned: Case, caseworker: Any) -> None:
    services.case_update(actor=caseworker, case=assigned, priority=Priority.EMERGENCY)
    assert assigned.triage_score >= 100
    assert last_event("case.updated").data["fields"] == ["priority"]


# --- notes --------------------------------------------------------------------------------------


def test_notes_visibility_by_role(assigned: Case, caseworker: Any, coordinator: Any,
                                  verifier: Any) -> None:
    services.note_add(actor=caseworker, case=assigned, body="team note")
    services.note_add(actor=verifier, case=assigned, body="verifier note",
                      visibility=Visibility.VERIFIER)
    services.note_add(actor=coordinator, case=assigned, body="coordinator note",
                      visibility=Visibility.COORDINATOR)
    assert policy.note_visibilities(caseworker, assigned) == (Visibility.TEAM,)
    assert set(policy.note_visibilities(verifier, assigned)) == {Visibility.TEAM,
                                                                 Visibility.VERIFIER}
    assert set(policy.note_visibilities(coordinator, assigned)) == set(Visibility)
    with pytest.raises(ValidationFailed):
        services.note_add(actor=caseworker, case=assigned, body="x",
                          visibility=Visibility.COORDINATOR)
    assert Note.objects.count() == 3
    raw = Note.objects.values_list("body", flat=True)
    assert all(b"note" not in bytes(r) for r in raw)


def test_note_redaction_is_final_and_audited(assigned: Case, caseworker: Any,
                                             coordinator: Any) -> None:
    note = services.note_add(actor=caseworker, case=assigned, body="address: Lenina 5")
    with pytest.raises(Forbidden):
        services.note_redact(actor=caseworker, note=note)
    services.note_redact(actor=coordinator, note=note)
    assert note.body == ""
    assert note.redacted_by == coordinator
    assert last_event("note.redacted").object_id == str(note.pk)
    with pytest.raises(Conflict):
        services.note_redact(actor=coordinator, note=note)


# --- tasks --------------------------------------------------------------------------------------


def test_task_lifecycle_and_overdue(assigned: Case, caseworker: Any) -> None:
    yesterday = timezone.localdate() - timedelta(days=1)
    task = services.task_create(actor=caseworker, case=assigned, title="Buy a ticket",
                                assignee=caseworker, due=yesterday)
    assert task.is_overdue
    assert list(Task.objects.overdue()) == [task]
    assert last_event("task.created").data["due"] == yesterday.isoformat()
    for to, allowed in [(TaskStatus.OPEN, False), (TaskStatus.DONE, True),
                        (TaskStatus.CANCELLED, False), (TaskStatus.OPEN, True),
                        (TaskStatus.CANCELLED, True), (TaskStatus.DONE, False)]:
        if allowed:
            services.task_transition(actor=caseworker, task=task, to=to)
            assert task.status == to
        else:
            before = task.status
            with pytest.raises(Conflict):
                services.task_transition(actor=caseworker, task=task, to=to)
            task.refresh_from_db()
            assert task.status == before
    assert not Task.objects.overdue().exists()


def test_task_assignee_must_see_the_case(assigned: Case, caseworker: Any,
                                         other_caseworker: Any) -> None:
    with pytest.raises(ValidationFailed) as exc:
        services.task_create(actor=caseworker, case=assigned, title="x",
                             assignee=other_caseworker)
    assert "assignee" in exc.value.fields
    with pytest.raises(ValidationFailed):
        services.task_create(actor=caseworker, case=assigned, title="   ")
    with pytest.raises(ValidationFailed) as exc:
        services.task_create(actor=caseworker, case=assigned, title="x", origin="robot")
    assert "origin" in exc.value.fields
    assert Task.objects.count() == 0


def _task_state(task: Task) -> tuple[Any, ...]:
    task.refresh_from_db()
    return task.title, task.due, task.priority, task.assignee_id, task.status


def test_task_update_changes_fields_and_audits_their_names_only(
        assigned: Case, caseworker: Any, coordinator: Any) -> None:
    task = services.task_create(actor=caseworker, case=assigned, title="Buy a ticket",
                                assignee=caseworker)
    due = soon(3)
    services.task_update(actor=caseworker, task=task, title="Buy a train ticket to Nalchik",
                         due=due, priority=Priority.URGENT, assignee=coordinator)
    assert _task_state(task) == ("Buy a train ticket to Nalchik", due, Priority.URGENT,
                                 coordinator.pk, TaskStatus.OPEN)
    event = last_event("task.updated")
    assert event.object_id == str(task.pk)
    assert event.data == {"case": str(assigned.pk),
                          "fields": ["assignee", "due", "priority", "title"],
                          "assignee": str(coordinator.pk), "due": due.isoformat(),
                          "priority": "urgent"}
    assert "Nalchik" not in str(event.data)


def test_task_update_clears_due_and_assignee_and_skips_what_did_not_change(
        assigned: Case, caseworker: Any) -> None:
    task = services.task_create(actor=caseworker, case=assigned, title="Call", assignee=caseworker,
                                due=soon())
    services.task_update(actor=caseworker, task=task, due=None, assignee=None, title="Call")
    assert _task_state(task)[1:4] == (None, Priority.NORMAL, None)
    assert last_event("task.updated").data["fields"] == ["assignee", "due"]
    events = AuditEvent.objects.count()
    services.task_update(actor=caseworker, task=task, title="Call", due=None)
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize("who", ["other_caseworker", "liaison", "inactive", "stranger"])
def test_task_cannot_go_to_someone_who_cannot_reach_the_case(
        assigned: Case, caseworker: Any, who: str, request: pytest.FixtureRequest) -> None:
    task = services.task_create(actor=caseworker, case=assigned, title="Call",
                                assignee=caseworker)
    if who == "inactive":  # the verifier reaches this case, but has left
        target = request.getfixturevalue("verifier")
        target.is_active = False
        target.save()
    elif who == "stranger":
        target = request.getfixturevalue("outsider")
    else:
        target = request.getfixturevalue(who)
    before, events = _task_state(task), AuditEvent.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        services.task_update(actor=caseworker, task=task, assignee=target)
    assert "assignee" in exc.value.fields
    assert _task_state(task) == before
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize(("changes", "field"), [
    ({"title": "  "}, "title"), ({"title": "x" * 501}, "title"),
    ({"priority": "whenever"}, "priority")])
def test_task_update_refuses_bad_input_and_changes_nothing(
        assigned: Case, caseworker: Any, changes: dict[str, Any], field: str) -> None:
    task = services.task_create(actor=caseworker, case=assigned, title="Call")
    before, events = _task_state(task), AuditEvent.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        services.task_update(actor=caseworker, task=task, **changes)
    assert field in exc.value.fields
    assert _task_state(task) == before
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize(("role", "error"), [
    ("other_caseworker", NotFound), ("outsider", NotFound), ("liaison", Forbidden),
    ("auditor", Forbidden)])
def test_task_update_is_refused_without_permission(
        assigned: Case, caseworker: Any, role: str, error: type[Exception],
        request: pytest.FixtureRequest) -> None:
    task = services.task_create(actor=caseworker, case=assigned, title="Call")
    before, events = _task_state(task), AuditEvent.objects.count()
    with pytest.raises(error):
        services.task_update(actor=request.getfixturevalue(role), task=task, title="Mine now")
    assert _task_state(task) == before
    assert AuditEvent.objects.count() == events


def test_a_closed_task_is_reopened_before_it_is_changed(assigned: Case, caseworker: Any) -> None:
    task = services.task_create(actor=caseworker, case=assigned, title="Call")
    services.task_transition(actor=caseworker, task=task, to=TaskStatus.DONE)
    events = AuditEvent.objects.count()
    with pytest.raises(Conflict):
        services.task_update(actor=caseworker, task=task, title="Call again")
    assert _task_state(task)[0] == "Call"
    assert AuditEvent.objects.count() == events
    services.task_transition(actor=caseworker, task=task, to=TaskStatus.OPEN)
    services.task_update(actor=caseworker, task=task, title="Call again")
    assert _task_state(task)[0] == "Call again"


def test_members_are_listed_principal_first(assigned: Case, caseworker: Any) -> None:
    services.member_add(actor=caseworker, case=assigned, legal_name="Child",
                        relationship=Relationship.CHILD)
    assert [m.is_principal for m in Member.objects.filter(case=assigned)] == [True, False]
