"""Reads of travel: journeys, their route and bookings, arrival offers, and the emergencies on the start page."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models import Case as Choose
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Value, When
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from haven.access import policy
from haven.access.permissions import Perm
from haven.audit.services import record
from haven.cases.models import (
    Case,
    Document,
    Member,
    Priority,
    Status,
    Task,
    TaskOrigin,
    TaskStatus,
)
from haven.core.errors import NotFound
from haven.keyring import keys
from haven.pathways.models import Booking, Travel, TravelStatus, TravelStep

# --- travel --------------------------------------------------------------------------------------


def travel_list(*, actor: Any, case: Case | None = None) -> QuerySet[Travel]:
    qs = policy.case_records_visible_to(actor, Perm.TRAVEL_READ, Travel.objects.all()).select_related("case", "application", "arrival",
                                                         "arrival__country")
    if case is not None:
        qs = qs.filter(case=case)
    return qs.order_by("-created_at")


def travel_get(*, actor: Any, pk: UUID | str) -> Travel:
    travel = travel_list(actor=actor).filter(pk=pk).first()
    if travel is None:
        raise NotFound("Not found.")
    return travel


@dataclass
class BookingView:
    """A booking, decrypted, with its tickets (ticket documents of travellers)."""

    booking: Booking
    mode: str
    carrier: str
    number: str
    departs_from: str
    arrives_in: str
    departs_at: str
    arrives_at: str
    reference: str
    tickets: list[Document]


@dataclass
class TravelRoute:
    route: str
    transit_points: str
    escort: str
    bookings: list[BookingView] = field(default_factory=list)


def _bookings(travel: Travel) -> list[BookingView]:
    rows = list(Booking.objects.filter(travel=travel).prefetch_related("tickets"))
    tickets = [t for b in rows for t in b.tickets.all()]
    keys.prefetch([*rows, *tickets])
    views = [BookingView(
        booking=b, mode=b.mode, carrier=str(b.carrier), number=str(b.number),
        departs_from=str(b.departs_from), arrives_in=str(b.arrives_in),
        departs_at=str(b.departs_at), arrives_at=str(b.arrives_at), reference=str(b.reference),
        tickets=sorted(b.tickets.all(), key=lambda d: d.created_at)) for b in rows]
    # By departure (times are ISO text, so they sort as text), undated last, then as entered.
    return sorted(views, key=lambda v: (not v.departs_at, v.departs_at, v.booking.created_at))


def travel_route(*, actor: Any, travel: Travel) -> TravelRoute | None:
    """A journey's route, transit points, escort and bookings (carrier, numbers, times,
    references, tickets), when ``policy.may_see_route`` allows (None otherwise); every reading
    is recorded, as a person's details are."""
    if not policy.may_see_route(actor, travel):
        return None
    keys.prefetch([travel])
    route = TravelRoute(route=str(travel.route), transit_points=str(travel.transit_points),
                        escort=str(travel.escort), bookings=_bookings(travel))
    with transaction.atomic():
        record(actor=actor, action="travel.route_viewed", object_type="travel",
               object_id=travel.pk, data={"case": str(travel.case_id)})
    return route


def booking_get(*, actor: Any, travel: Travel, pk: UUID | str) -> Booking:
    """A booking of a journey whose route the actor may see, or NotFound."""
    booking = Booking.objects.filter(travel=travel, pk=pk).select_related("travel").first()
    if booking is None or not policy.may_see_route(actor, travel):
        raise NotFound("Not found.")
    return booking


def travel_last_step(*, actor: Any, travel: Travel) -> TravelStep | None:
    """The move an undo would take back, for those who may manage the journey."""
    if not policy.has_perm(actor, Perm.TRAVEL_MANAGE, travel):
        return None
    step = (TravelStep.objects.filter(travel=travel, undone_at=None)
            .select_related("actor").order_by("-created_at").first())
    return step if step is not None and step.to_status == travel.status else None


def step_summary(step: TravelStep) -> list[str]:
    """What a journey's move changed, in words for the person who made it (or will undo it)."""
    effects = step.effects
    out = []
    walked = effects.get("case") or []
    if walked:
        out.append(_("The case moved from “%(from)s” to “%(to)s”.") % {
            "from": Status(walked[0]).label, "to": Status(walked[-1]).label})
    if effects.get("case_left"):
        out.append(_("The case stayed “%(status)s”: change its status by hand if needed.") % {
            "status": Status(effects["case_left"]).label})
    placements = len(effects.get("placements") or [])
    if placements:
        out.append(ngettext("%(n)d shelter placement ended: the bed is free.",
                            "%(n)d shelter placements ended: the beds are free.",
                            placements) % {"n": placements})
    closed = len(effects.get("closed") or [])
    if closed:
        out.append(ngettext("%(n)d task that no longer applies was closed.",
                            "%(n)d tasks that no longer apply were closed.", closed) % {"n": closed})
    if step.to_status == TravelStatus.DETAINED:
        out.append(_("An emergency task, due today, went to the case's caseworker; "
                     "coordinators see it among their emergencies."))
    priority = effects.get("priority") or []
    if priority:
        out.append(_("The case's priority changed from “%(from)s” to “%(to)s”.") % {
            "from": Priority(priority[0]).label, "to": Priority(priority[1]).label})
    return out


def case_arrival_offer(*, actor: Any, case: Case) -> bool:
    """Should the case page offer to move the case to "arrived"?

    Yes when the case may move there now (departed) and every member who travels with the
    household is on a journey that arrived. The journey's arrival normally moved the case
    already (``services.travel_transition``); this is for a case it had to leave alone (on
    hold at the time, say), now departed again: the caseworker confirms, and case
    transitions keep their own guards.
    """
    if case.status != Status.DEPARTED or not policy.has_perm(actor, Perm.TRAVEL_READ, case):
        return False
    travelling = set(Member.objects.filter(case=case, travels_with=True).values_list(
        "pk", flat=True))
    arrived = set(Travel.members.through.objects.filter(
        travel__case=case, travel__status=TravelStatus.ARRIVED).values_list(
        "member_id", flat=True))
    return bool(travelling) and travelling <= arrived


# --- emergencies ---------------------------------------------------------------------------------

EMERGENCY_ROWS = 20


@dataclass
class Emergency:
    """One open emergency task — a detention on a journey, a compromised shelter, or one a
    person raised — with its case and, for a detention, the journey."""

    task: Task
    case: Case
    kind: str  # "detention", "shelter" or "task"
    overdue: bool
    travel: Travel | None = None


def emergencies_for(actor: Any, *, limit: int = EMERGENCY_ROWS) -> list[Emergency]:
    """What is on fire for ``actor``: open emergency-priority tasks on cases they may see —
    every one of the organization for a coordinator (``case:supervise``), for anyone else
    those assigned to them or on a case assigned to them (a detention's task goes to the
    case's caseworker). Detentions first, then the rest; within each, most overdue first,
    then newest. Only the titles of the rows returned are decrypted.

    For the start page of every role; a task closes (and leaves this list) when the
    travellers are released, back, or arrived (``services.travel_transition``).
    """
    if not policy.has_perm(actor, Perm.TASK_READ):
        return []
    visible = policy.cases_visible_to(actor, Case.objects.all())
    qs = Task.objects.filter(Exists(visible.filter(pk=OuterRef("case_id"))),
                             status=TaskStatus.OPEN, priority=Priority.EMERGENCY)
    if not policy.has_perm(actor, Perm.CASE_SUPERVISE):
        qs = qs.filter(Q(assignee=actor) | Q(case__assigned_to=actor))
    detention_first = Choose(When(origin=TaskOrigin.DETENTION, then=Value(0)), default=Value(1))
    rows = list(qs.select_related("case", "assignee").annotate(rank=detention_first).order_by(
        "rank", F("due").asc(nulls_last=True), "-created_at")[:limit])
    keys.prefetch(rows)
    journeys = _detention_journeys([t for t in rows if t.origin == TaskOrigin.DETENTION])
    kinds = {TaskOrigin.DETENTION: "detention", TaskOrigin.SHELTER: "shelter"}
    return [Emergency(task=t, case=t.case, kind=kinds.get(TaskOrigin(t.origin), "task"),
                      overdue=t.is_overdue, travel=journeys.get(str(t.pk)))
            for t in rows]


def _detention_journeys(tasks: list[Task]) -> dict[str, Travel]:
    """The journey whose detention made each task (from the journeys' steps)."""
    if not tasks:
        return {}
    wanted = {str(t.pk) for t in tasks}
    out: dict[str, Travel] = {}
    for step in TravelStep.objects.filter(
            travel__case_id__in={t.case_id for t in tasks}, to_status=TravelStatus.DETAINED,
            undone_at=None).select_related("travel"):
        for task_id in step.effects.get("created") or []:
            if task_id in wanted:
                out[task_id] = step.travel
    return out
