"""What a journey's move changes elsewhere, and how a move is taken back.

A journey is where a household's case, its beds and its tasks meet: when the travellers leave,
the case departs and their shelter beds are freed; a detention is an emergency for the case's
caseworker (and every coordinator sees it); a release or a return closes the detention's
task; an arrival closes the case's travel — the case arrives once every member who travels
with the household has, the interviews and deadlines of the visa they used leave the start
page, and the case leaves the emergency lists. Every one of these goes through the owning
app's service (``cases.services``, ``housing.services``), inside the journey's transaction,
and is written down in the move's ``TravelStep`` (ids and states only), so that
``travel_undo`` can put back exactly what the move changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from haven.access import policy
from haven.access.permissions import Perm
from haven.audit.services import record
from haven.cases.models import (
    WORKING,
    Case,
    Member,
    Priority,
    Status,
    Task,
    TaskOrigin,
    TaskStatus,
)
from haven.cases.services import case_transition, case_update, task_create, task_transition
from haven.core.errors import Conflict
from haven.housing.models import OCCUPYING, EndReason, Placement, PlacementStatus
from haven.housing.services import placement_restore, placement_transition
from haven.pathways.models import (
    Application,
    ApplicationDate,
    Arrival,
    Travel,
    TravelStatus,
    TravelStep,
)

TS = TravelStatus
# Moves that mean the travellers have left their shelters (detained at the airport counts).
LEAVING: frozenset[tuple[TravelStatus, TravelStatus]] = frozenset({
    (TS.BOOKED, TS.IN_TRANSIT), (TS.BOOKED, TS.DETAINED)})
# Journeys whose travellers are out of the country of persecution, or on the way out.
AWAY: tuple[TravelStatus, ...] = (TS.IN_TRANSIT, TS.DETAINED, TS.ARRIVED)


@dataclass
class Effects:
    """What one move changed, as stored in ``TravelStep.effects`` (ids and states only)."""

    case: list[str] = field(default_factory=list)  # statuses walked, the first where it stood
    case_left: str = ""  # the case's status when its lifecycle did not lead where the move did
    priority: list[str] = field(default_factory=list)  # [before, after]
    placements: list[dict[str, str]] = field(default_factory=list)  # {"id", "from"}
    closed: list[dict[str, str]] = field(default_factory=list)  # {"id", "from", "to"}
    created: list[str] = field(default_factory=list)  # tasks made by the move
    arrival: str = ""
    departed_at: str = ""  # the journey's values before the move, to put them back
    ended_at: str = ""

    def as_json(self) -> dict[str, Any]:
        return {name: value for name, value in vars(self).items() if value}

    def audit(self) -> dict[str, Any]:
        """The audit event's summary: statuses and counts."""
        out: dict[str, Any] = {"case_status": self.case, "priority": self.priority,
                               "placements_ended": len(self.placements),
                               "tasks_closed": len(self.closed), "tasks": len(self.created)}
        if self.case_left:
            out["case_left"] = self.case_left
        return out


def travellers(travel: Travel) -> list[Member]:
    return list(travel.members.all())


# --- the case ------------------------------------------------------------------------------------


def _walk(actor: Any, case: Case, to: Status, effects: Effects) -> None:
    """Move the case forward along its working path to ``to`` (active → ready to travel →
    departed → arrived), one ``case_transition`` per step, so every guard and audit event of
    the case's own lifecycle applies. A case that is not on that path (intake, on hold,
    closed…), or already there or beyond, is left where it is and noted."""
    case.refresh_from_db()
    current = Status(case.status)
    if current == to or (current in WORKING and WORKING.index(current) > WORKING.index(to)):
        return
    if current not in WORKING or WORKING.index(current) < WORKING.index(Status.ACTIVE):
        effects.case_left = current
        return
    steps = list(WORKING[WORKING.index(current) + 1: WORKING.index(to) + 1])
    if Status.READY in steps and case.assigned_to_id is None:
        effects.case_left = current  # ready to travel needs a caseworker: left to a person
        return
    for step in steps:
        case_transition(actor=actor, case=case, to=step)
    effects.case = [current, *steps]


def _set_priority(actor: Any, case: Case, to: str, effects: Effects) -> None:
    case.refresh_from_db()
    if case.priority != to:
        effects.priority = [case.priority, to]
        case_update(actor=actor, case=case, priority=to)


def _detention_priority(travel: Travel) -> str:
    """The case's priority before the latest detention of this journey raised it ("" when
    no standing detention raised it)."""
    step = (TravelStep.objects.filter(travel=travel, to_status=TS.DETAINED, undone_at=None)
            .order_by("-created_at").first())
    raised = (step.effects.get("priority") or []) if step is not None else []
    return str(raised[0]) if raised and raised[1] == Priority.EMERGENCY else ""


# --- beds and tasks ------------------------------------------------------------------------------


def _free_beds(actor: Any, travel: Travel, members: Iterable[Member], effects: Effects) -> None:
    """End the travellers' planned and current placements of this case: the beds are free."""
    persons = [m.person_id for m in members]
    for placement in (Placement.objects.filter(case_id=travel.case_id, person_id__in=persons,
                                               status__in=OCCUPYING)
                      .select_related("case").order_by("created_at")):
        effects.placements.append({"id": str(placement.pk), "from": placement.status})
        reason = (EndReason.DEPARTED if placement.status == PlacementStatus.ACTIVE
                  else EndReason.CANCELLED)
        placement_transition(actor=actor, placement=placement, to=PlacementStatus.ENDED,
                             end_reason=reason)


def _close(actor: Any, tasks: Iterable[Task], to: TaskStatus, effects: Effects) -> None:
    for task in tasks:
        if task.status == TaskStatus.OPEN:
            effects.closed.append({"id": str(task.pk), "from": TaskStatus.OPEN, "to": to})
            task_transition(actor=actor, task=task, to=to)


def _detention_tasks(travel: Travel) -> list[Task]:
    made: list[str] = []
    for effects in TravelStep.objects.filter(travel=travel, to_status=TS.DETAINED,
                                             undone_at=None).values_list("effects", flat=True):
        made += effects.get("created") or []
    return list(Task.objects.filter(pk__in=made, origin=TaskOrigin.DETENTION,
                                    status=TaskStatus.OPEN).select_related("case"))


def _date_tasks(applications: Iterable[Application]) -> list[Task]:
    """The open interview and deadline tasks of ``applications``."""
    dates = ApplicationDate.objects.filter(application__in=list(applications))
    return list(Task.objects.filter(pk__in=dates.values("task_id"), status=TaskStatus.OPEN)
                .select_related("case"))


def _raise_alarm(actor: Any, travel: Travel, case: Case, effects: Effects) -> None:
    """A detention: one emergency task, due today, for the case's caseworker (coordinators
    see it among their emergencies, ``selectors.emergencies_for``), and the case becomes an
    emergency until the travellers are released or back."""
    task = task_create(actor=actor, case=case, assignee=case.assigned_to,
                       due=timezone.localdate(), priority=Priority.EMERGENCY,
                       origin=TaskOrigin.DETENTION,
                       title=_("Detained on the way: case %(number)s needs help now") % {
                           "number": case.number})
    effects.created.append(str(task.pk))
    _set_priority(actor, case, Priority.EMERGENCY, effects)


def _stand_down(actor: Any, travel: Travel, case: Case, effects: Effects) -> None:
    """Released, or back: the detention's task is done and the case's priority is what it was
    before the detention (unless someone changed it since)."""
    before = _detention_priority(travel)
    _close(actor, _detention_tasks(travel), TaskStatus.DONE, effects)
    case.refresh_from_db()
    if before and case.priority == Priority.EMERGENCY:
        _set_priority(actor, case, before, effects)


def everyone_arrived(case: Case) -> bool:
    """Has every member who travels with the household (every member when none is marked)
    arrived on a journey of the case?"""
    members = list(Member.objects.filter(case=case).values_list("pk", "travels_with"))
    travelling = {pk for pk, travels in members if travels} or {pk for pk, _t in members}
    arrived = set(Travel.members.through.objects.filter(
        travel__case=case, travel__status=TS.ARRIVED).values_list("member_id", flat=True))
    return bool(travelling) and travelling <= arrived


# --- one move's consequences ---------------------------------------------------------------------


def consequences(actor: Any, travel: Travel, current: TravelStatus, target: TravelStatus,
                 effects: Effects) -> None:
    """Everything outside the journey that its move from ``current`` to ``target`` changes
    (the journey row itself is already saved)."""
    case = travel.case
    members = travellers(travel)
    if (current, target) in LEAVING:
        _walk(actor, case, Status.DEPARTED, effects)
        _free_beds(actor, travel, members, effects)
        _close(actor, Task.objects.filter(case=case, person_id__in=[m.person_id for m in members],
                                          origin=TaskOrigin.SHELTER, status=TaskStatus.OPEN),
               TaskStatus.CANCELLED, effects)
    elif target in (TS.DETAINED, TS.ARRIVED):
        # Recorded as left without the departure having been (a journey entered late).
        _walk(actor, case, Status.DEPARTED, effects)
    if target == TS.DETAINED:
        _raise_alarm(actor, travel, case, effects)
    if current == TS.DETAINED:
        _stand_down(actor, travel, case, effects)
    if target == TS.ABORTED and current in (TS.IN_TRANSIT, TS.DETAINED):
        _returned(actor, travel, case, effects)
    if target == TS.ARRIVED:
        _arrived(actor, travel, case, members, effects)


def _returned(actor: Any, travel: Travel, case: Case, effects: Effects) -> None:
    """Back before arriving: the case is ready to travel again, unless another journey of the
    household is away."""
    case.refresh_from_db()
    others = Travel.objects.filter(case=case, status__in=AWAY).exclude(pk=travel.pk).exists()
    if case.status == Status.DEPARTED and not others:
        case_transition(actor=actor, case=case, to=Status.READY)
        effects.case = [Status.DEPARTED, Status.READY]


def _arrived(actor: Any, travel: Travel, case: Case, members: list[Member],
             effects: Effects) -> None:
    _close(actor, _detention_tasks(travel), TaskStatus.DONE, effects)
    _free_beds(actor, travel, members, effects)
    everyone = everyone_arrived(case)
    applications: list[Application] = (list(Application.objects.filter(case=case)) if everyone
                                       else [travel.application] if travel.application_id
                                       and travel.application else [])
    _close(actor, _date_tasks(applications), TaskStatus.CANCELLED, effects)
    if everyone:
        walked = Effects()
        _walk(actor, case, Status.ARRIVED, walked)
        effects.case = [*effects.case, *walked.case[1 if effects.case else 0:]]
        effects.case_left = walked.case_left or effects.case_left
        case.refresh_from_db()
        if case.status == Status.ARRIVED:
            # Safe: off the emergency lists.
            _set_priority(actor, case, Priority.NORMAL, effects)


# --- undo ----------------------------------------------------------------------------------------


def last_step(travel: Travel) -> TravelStep | None:
    """The journey's latest move that is not undone: the one ``travel_undo`` takes back."""
    return (TravelStep.objects.filter(travel=travel, undone_at=None)
            .select_related("actor").order_by("-created_at").first())


def _undo_case(actor: Any, case: Case, effects: dict[str, Any]) -> str:
    """Walk the case back along the statuses the move walked, while it still stands where the
    move left it; the status it ends in."""
    path = [Status(s) for s in effects.get("case") or []]
    case.refresh_from_db()
    if len(path) < 2 or case.status != path[-1]:
        return str(case.status)
    for back in reversed(path[:-1]):
        case_transition(actor=actor, case=case, to=back)
    return str(path[0])


def travel_undo(*, actor: Any, travel: Travel) -> TravelStep:
    """Take back the journey's latest move ("arrival recorded by mistake"), in one audited
    transaction: the journey returns to the status it had; tasks the move made are cancelled
    and tasks it closed reopened; an arrival it recorded is deleted; the case's priority and
    status go back where the move found them (through the case's own services, while nobody
    has changed them since); placements it ended are restored when their bed is still free —
    those whose bed was given to someone else stay ended and are counted in the audit event
    (``placements_not_restored``), so a new bed can be planned.
    """
    policy.require(actor, Perm.TRAVEL_MANAGE, travel)
    with transaction.atomic():
        locked = Travel.objects.select_for_update().select_related("case").get(pk=travel.pk)
        step = last_step(locked)
        if step is None or step.to_status != locked.status:
            raise Conflict(_("There is no move of this journey to undo."))
        effects = step.effects
        case = locked.case
        for task in Task.objects.filter(pk__in=effects.get("created") or [],
                                        status=TaskStatus.OPEN).select_related("case"):
            task_transition(actor=actor, task=task, to=TaskStatus.CANCELLED)
        closed = {c["id"]: c for c in effects.get("closed") or []}
        for task in Task.objects.filter(pk__in=list(closed)).select_related("case"):
            if task.status == closed[str(task.pk)]["to"]:
                task_transition(actor=actor, task=task, to=TaskStatus.OPEN)
        if effects.get("arrival"):
            Arrival.objects.filter(pk=effects["arrival"], travel=locked).delete()
        priority = effects.get("priority") or []
        case.refresh_from_db()
        if priority and case.priority == priority[1]:
            case_update(actor=actor, case=case, priority=priority[0])
        case_status = _undo_case(actor, case, effects)
        lost = 0
        ended = {p["id"]: p["from"] for p in effects.get("placements") or []}
        for placement in Placement.objects.filter(pk__in=list(ended)).select_related("case"):
            lost += not placement_restore(actor=actor, placement=placement,
                                          to=ended[str(placement.pk)])
        locked.status = step.from_status
        locked.departed_at = parse_datetime(effects.get("departed_at") or "") or None
        locked.ended_at = parse_datetime(effects.get("ended_at") or "") or None
        locked.save(update_fields=["status", "departed_at", "ended_at", "updated_at"])
        step.undone_at, step.undone_by = timezone.now(), actor
        step.save(update_fields=["undone_at", "undone_by", "updated_at"])
        record(actor=actor, action="travel.step_undone", object_type="travel",
               object_id=locked.pk,
               data={"case": str(case.pk), "step": str(step.pk), "from": step.to_status,
                     "to": step.from_status, "case_status": case_status,
                     "placements_not_restored": lost})
    travel.refresh_from_db()
    return step
