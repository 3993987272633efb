"""The start page: what needs each staff member now, read through each area's selectors so
that area's access rules decide what is shown.

The page's first list, *Needs action now*, puts every emergency item that concerns the
user in one list, newest first: open emergency tasks (a detention alert among them) and
overdue ones, cases in an emergency or at imminent risk, new requests from people in danger
now or within days, and conversations waiting for an answer. Each source reads at most
``DASHBOARD_ROWS`` rows in the order of an index, so the page costs the same with a thousand
cases or a million.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from django.urls import reverse
from django.utils import timezone

from haven.access import policy
from haven.access.permissions import Perm
from haven.auditlog import display
from haven.auditlog import selectors as audit
from haven.cases import selectors as cases
from haven.cases import start_selectors
from haven.cases.models import RiskLevel
from haven.intake import selectors as intake
from haven.intake.models import URGENCY_RANK, Status, Urgency
from haven.pathways.selectors import application_dates_due, dossier_exports

# Kinds of urgent items, in the words the page uses for them (see core/_urgent.html).
TASK, OVERDUE, CASE, REQUEST, MESSAGE = "task", "overdue", "case", "request", "message"
DASHBOARD_ROWS = 15
# An organization flooded with requests sees "more than 99" rather than a count that costs
# as much as the flood.
COUNT_CAP = 99


@dataclass(frozen=True)
class UrgentItem:
    """One thing to act on: what it is, since when, and where to act on it."""

    kind: str
    at: datetime
    url: str
    case: Any = None
    task: Any = None
    request: Any = None

    @property
    def risk_imminent(self) -> bool:
        return bool(self.case is not None and self.case.risk_level == RiskLevel.IMMINENT)


def _overdue_since(task: Any) -> datetime:
    """When an overdue task became overdue: the start of the day after it was due."""
    start = timezone.make_aware(datetime.combine(task.due + timedelta(days=1), time.min))
    created: datetime = task.created_at
    return max(created, start)


def _task_items(actor: Any, today: Any) -> list[UrgentItem]:
    items = []
    for task in start_selectors.urgent_tasks(actor=actor, today=today):
        url = reverse("cases:detail", args=[task.case_id]) + "#tasks"
        overdue = task.due is not None and task.due < today
        items.append(UrgentItem(OVERDUE if overdue else TASK,
                                _overdue_since(task) if overdue else task.created_at, url,
                                case=task.case, task=task))
    return items


def _case_items(actor: Any) -> list[UrgentItem]:
    return [UrgentItem(CASE, case.updated_at, reverse("cases:detail", args=[case.pk]),
                       case=case) for case in start_selectors.urgent_cases(actor=actor)]


def _request_items(actor: Any) -> list[UrgentItem]:
    """New requests from people in danger now or within days."""
    if not policy.has_perm(actor, Perm.REQUEST_READ):
        return []
    urgent = (URGENCY_RANK[Urgency.NOW], URGENCY_RANK[Urgency.DAYS])
    found = intake.request_list(user=actor, status=Status.NEW).filter(
        urgency_rank__in=urgent)[:DASHBOARD_ROWS]
    return [UrgentItem(REQUEST, r.created_at, reverse("inbox:detail", args=[r.pk]), request=r)
            for r in found]


def _message_items(actor: Any) -> list[UrgentItem]:
    """Conversations in which the person wrote last and waits for an answer (a new request
    is counted as a request, above).

    This is where messages on accepted requests will reach the case's caseworker: the intake
    selectors decide which conversations the actor may read, and this list shows them.
    """
    if not policy.has_perm(actor, Perm.REQUEST_READ):
        # Those who run cases (a caseworker has no inbox): the conversations of their cases.
        return [UrgentItem(MESSAGE, r.updated_at,
                           reverse("inbox:case_conversation", args=[r.case_id]), request=r)
                for r in intake.waiting_requests_on_my_cases(actor=actor,
                                                             limit=DASHBOARD_ROWS)]
    found = intake.request_list(user=actor).filter(awaiting_staff=True).exclude(
        status=Status.NEW).order_by("-updated_at")[:DASHBOARD_ROWS]
    return [UrgentItem(MESSAGE, r.updated_at, reverse("inbox:detail", args=[r.pk]), request=r)
            for r in found]



def urgent_items(*, actor: Any, today: Any = None) -> list[UrgentItem]:
    """Every emergency item that concerns ``actor``, newest first: when a task or request
    was made, when a task became overdue, when an urgent case last changed, when a person
    last wrote. At most ``2 × DASHBOARD_ROWS``; the page links to the full lists."""
    today = today or timezone.localdate()
    items: list[UrgentItem] = []
    if policy.has_perm(actor, Perm.CASE_READ) and not policy.case_referral_only(actor):
        items += _task_items(actor, today) + _case_items(actor)
    items += _request_items(actor) + _message_items(actor)
    items.sort(key=lambda item: item.at, reverse=True)
    return items[:2 * DASHBOARD_ROWS]


@dataclass
class Inbox:
    """How many requests wait in the inbox (capped: ``more`` when past ``COUNT_CAP``)."""

    new: int = 0
    waiting: int = 0
    more_new: bool = False
    more_waiting: bool = False


def inbox_counts(*, actor: Any) -> Inbox | None:
    """New requests and conversations waiting for an answer, for those who read the inbox."""
    if not policy.has_perm(actor, Perm.REQUEST_READ):
        return None
    new = intake.request_list(user=actor, status=Status.NEW).order_by().values("pk")
    waiting = intake.request_list(user=actor).filter(awaiting_staff=True).exclude(
        status=Status.NEW).order_by().values("pk")
    n_new = new[:COUNT_CAP + 1].count()
    n_waiting = waiting[:COUNT_CAP + 1].count()
    return Inbox(new=min(n_new, COUNT_CAP), waiting=min(n_waiting, COUNT_CAP),
                 more_new=n_new > COUNT_CAP, more_waiting=n_waiting > COUNT_CAP)


@dataclass
class StartPage:
    """Everything the start page shows the actor; each part is empty when their role has
    nothing to do with it."""

    urgent: list[UrgentItem] = field(default_factory=list)
    shows_urgent: bool = False
    board: Any = None
    application_dates: list[Any] = field(default_factory=list)
    dossier_requests: list[Any] = field(default_factory=list)
    inbox: Inbox | None = None
    referred: list[Any] = field(default_factory=list)
    events: list[Any] = field(default_factory=list)


def start_page(*, actor: Any) -> StartPage:
    """The actor's start page: urgent items first, then their work queue (case roles), the
    cases referred to them (partner liaisons) or the newest audit events (auditors)."""
    page = StartPage(inbox=inbox_counts(actor=actor))
    works_cases = (policy.has_perm(actor, Perm.CASE_READ)
                   and not policy.case_referral_only(actor))
    page.shows_urgent = works_cases or page.inbox is not None
    if page.shows_urgent:
        page.urgent = urgent_items(actor=actor)
    if works_cases:
        page.board = start_selectors.dashboard(actor=actor)
        if policy.has_perm(actor, Perm.APPLICATION_READ):
            page.application_dates = list(application_dates_due(actor=actor))
        if policy.has_perm(actor, Perm.DOSSIER_APPROVE):
            page.dossier_requests = list(dossier_exports(actor=actor)[:10])
    elif policy.case_referral_only(actor):
        page.referred = list(cases.case_search(actor=actor).cases[:DASHBOARD_ROWS])
    if policy.has_perm(actor, Perm.AUDIT_READ) and not works_cases:
        page.events = display.rows(audit.latest(user=actor, limit=10), viewer=actor)
    return page
