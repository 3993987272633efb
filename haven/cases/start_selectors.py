"""The start page's reads from cases: the actor's cases, emergencies, overdue tasks, reviews
due and verifications waiting (``dashboard``), and the urgent items of "Needs action now"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from django.db.models import Q, QuerySet
from django.utils import timezone

from haven.access import policy
from haven.access.permissions import Perm
from haven.access.roles import Role
from haven.cases.models import (
    OPEN,
    Case,
    Priority,
    RiskLevel,
    Task,
    TaskStatus,
    Verification,
    VerificationState,
)
from haven.cases.selectors import case_order, cases_visible, on_case
from haven.keyring import keys

DASHBOARD_ROWS = 15


# --- dashboard ------------------------------------------------------------------------------------


@dataclass
class Dashboard:
    """The start page's lists; cases are projections (``policy.project_case``)."""

    my_cases: list[Any]
    emergencies: list[Any]
    overdue: list[Task]
    reviews_due: list[Any]
    to_verify: list[Verification]
    to_approve: list[Verification]


def dashboard(*, actor: Any) -> Dashboard:
    """What needs the actor today: their open cases (most urgent first), open emergencies,
    overdue tasks, risk reviews due, and verifications waiting for them.

    Every list is capped at ``DASHBOARD_ROWS`` and read in the order of an index (see
    ``Case.Meta.indexes``), so the page costs the same with a thousand cases or a million;
    nothing is counted, and only the task titles shown are decrypted.
    """
    visible = cases_visible(actor).filter(status__in=OPEN).select_related("assigned_to")
    today = timezone.localdate()
    mine = visible.filter(assigned_to=actor) if actor.role in (
        Role.CASEWORKER, Role.COORDINATOR) else visible
    shown = policy.case_filterable(actor)
    order = case_order(actor)
    tasks_qs = Task.objects.overdue(today).filter(on_case(visible))
    if not policy.has_perm(actor, Perm.CASE_SUPERVISE):
        tasks_qs = tasks_qs.filter(assignee=actor)
    overdue = list(tasks_qs.select_related("case", "assignee").order_by("due", "created_at")
                   [:DASHBOARD_ROWS])
    keys.prefetch(overdue)  # the titles shown, and only those: one agent call
    to_verify: list[Verification] = []
    if policy.has_perm(actor, Perm.VERIFICATION_SUBMIT):
        to_verify = list(Verification.objects.filter(
            on_case(visible), verifier=actor, state=VerificationState.REQUESTED,
        ).select_related("case")[:DASHBOARD_ROWS])
    to_approve: list[Verification] = []
    if policy.has_perm(actor, Perm.VERIFICATION_APPROVE):
        to_approve = list(Verification.objects.filter(
            state=VerificationState.AWAITING_APPROVAL,
            case__organization_id=actor.organization_id).select_related("case", "verifier")
            [:DASHBOARD_ROWS])
    def shown_as(cases: QuerySet[Case]) -> list[Any]:
        return [policy.project_case(actor, case) for case in cases[:DASHBOARD_ROWS]]

    return Dashboard(
        my_cases=shown_as(mine.order_by(*order)),
        emergencies=shown_as(visible.filter(priority=Priority.EMERGENCY).order_by(*order))
        if "priority" in shown else [],
        overdue=overdue,
        reviews_due=shown_as(visible.filter(next_review__lte=today).order_by("next_review"))
        if "next_review" in shown else [],
        to_verify=to_verify,
        to_approve=to_approve,
    )


def urgent_cases(*, actor: Any) -> list[Case]:
    """The actor's open cases in an emergency or at imminent risk, the most recently changed
    first (a case raised to emergency today comes before one that has been for a month).

    Two reads of at most ``DASHBOARD_ROWS`` cases, each in the order of its own index
    (``case_priority_recent``, ``case_risk_recent``), merged here: an OR of the two
    conditions would have the database sort every urgent case of the organization.
    """
    visible = policy.cases_visible_to(actor, Case.objects.all()).open().select_related("assigned_to")
    # Only on what the actor's view of a case shows (an operator sees no risk level): a list
    # chosen by a withheld field would tell it.
    filterable = policy.case_filterable(actor)
    conditions = [condition for name, condition in (
        ("priority", Q(priority=Priority.EMERGENCY)),
        ("risk_level", Q(risk_level=RiskLevel.IMMINENT))) if name in filterable]
    found: dict[Any, Case] = {}
    for condition in conditions:
        for case in visible.filter(condition).order_by("-updated_at")[:DASHBOARD_ROWS]:
            found[case.pk] = case
    urgent = sorted(found.values(), key=lambda c: c.updated_at, reverse=True)[:DASHBOARD_ROWS]
    return [cast("Case", policy.project_case(actor, case)) for case in urgent]


def urgent_tasks(*, actor: Any, today: Any = None) -> list[Task]:
    """Open emergency tasks on the cases the actor may see, whoever they are assigned to — a
    detention alert goes to the coordinators on duty, and concerns the case's caseworker as
    much: the newest, and those most recently overdue.

    Two reads of at most ``DASHBOARD_ROWS`` tasks in index order (``task_priority_recent``,
    ``task_priority_due``); only the titles shown are decrypted.
    """
    if not policy.has_perm(actor, Perm.TASK_READ):
        return []
    today = today or timezone.localdate()
    emergency = Task.objects.filter(status=TaskStatus.OPEN, priority=Priority.EMERGENCY).filter(
        on_case(policy.cases_visible_to(actor, Case.objects.all()))).select_related("case", "assignee")
    found: dict[Any, Task] = {}
    for task in [*emergency.order_by("-created_at")[:DASHBOARD_ROWS],
                 *emergency.filter(due__lt=today).order_by("-due")[:DASHBOARD_ROWS]]:
        found[task.pk] = task
    tasks = list(found.values())
    keys.prefetch(tasks)
    return tasks


# --- the case page ------------------------------------------------------------------------------
