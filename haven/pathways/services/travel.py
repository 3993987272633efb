"""Travel and arrival: planning a journey, following it, raising the alarm, receiving people."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from haven.access import policy
from haven.access.permissions import Perm
from haven.audit.services import record
from haven.cases.models import Case
from haven.cases.services import task_create
from haven.cases.services.common import KEEP, Keep, choice, share_key, text
from haven.core.errors import Conflict, ValidationFailed
from haven.pathways.models import (
    TRAVEL_TRANSITIONS,
    Application,
    Arrival,
    Country,
    StatusObtained,
    Travel,
    TravelStatus,
    TravelStep,
)
from haven.pathways.services import journey
from haven.pathways.services._common import members_of, not_future

TS = TravelStatus
MAX_ROUTE = 2000
MAX_SHORT = 300
# A traveller on one of these journeys is not free to start another.
UNDER_WAY: tuple[TravelStatus, ...] = (TS.PLANNING, TS.BOOKED, TS.IN_TRANSIT, TS.DETAINED)
# Details each target takes; the rest is refused (see applications.DETAILS).
ARRIVAL_DETAILS = frozenset({"country", "arrived_on", "status_obtained", "receiving_partner",
                             "follow_up_on"})


def _label(status: str) -> str:
    return str(TravelStatus(status).label)


def travel_refusal(current: str, to: str) -> str:
    """The message for a move the travel table does not allow."""
    targets = TRAVEL_TRANSITIONS[TravelStatus(current)]
    if not targets:
        return _("A journey that is “%(from)s” cannot move to “%(to)s”: “%(from)s” is "
                 "final.") % {"from": _label(current), "to": _label(to)}
    return _("A journey cannot move from “%(from)s” to “%(to)s”. From “%(from)s” it can "
             "move to: %(allowed)s.") % {
        "from": _label(current), "to": _label(to),
        "allowed": ", ".join(f"“{_label(t)}”" for t in targets)}


def travel_plan(*, actor: Any, case: Case, members: Iterable[Any] | None = None,
                application: Application | None = None, depart_on: date | None = None,
                route: str = "", transit_points: str = "", escort: str = "") -> Travel:
    """Plan a journey for some or all of the case's members (default: those who travel with
    the household), optionally on the visa of one of its applications.

    Route, transit points and escort are sealed under the case's key and shown only to
    coordinators and the assigned caseworker until arrival (``policy.may_see_route``). A
    member already on a journey under way cannot be put on a second one.
    """
    policy.require(actor, Perm.TRAVEL_MANAGE, case)
    if not case.is_open:
        raise Conflict(_("This case is not open."))
    chosen = members_of(case, members)
    if application is not None and application.case_id != case.pk:
        raise ValidationFailed(_("That application is of another case."),
                               fields={"application": [_("Choose an application of this case.")]})
    values = {"route": text(route, "route", maximum=MAX_ROUTE),
              "transit_points": text(transit_points, "transit_points", maximum=MAX_ROUTE),
              "escort": text(escort, "escort", maximum=MAX_SHORT)}
    with transaction.atomic():
        busy = Travel.members.through.objects.filter(
            member__in=chosen, travel__status__in=UNDER_WAY).exists()
        if busy:
            raise Conflict(_("A member is already on a journey under way: end or abort it "
                             "first."))
        travel = Travel(organization_id=case.organization_id, case=case, application=application,
                        depart_on=depart_on, created_by=actor)
        share_key(case, travel)
        for name, value in values.items():
            setattr(travel, name, value)
        travel.save()
        travel.members.set(chosen)
        record(actor=actor, action="travel.planned", object_type="travel", object_id=travel.pk,
               data={"case": str(case.pk), "members": len(chosen),
                     "application": str(application.pk) if application else ""})
    return travel


def travel_update(*, actor: Any, travel: Travel, depart_on: date | Keep | None = KEEP,
                  route: str | Keep = KEEP, transit_points: str | Keep = KEEP,
                  escort: str | Keep = KEEP) -> Travel:
    """Change a journey that has not ended; the audit event names the fields, never values."""
    policy.require(actor, Perm.TRAVEL_MANAGE, travel)
    wanted: dict[str, Any] = {}
    if not isinstance(depart_on, Keep):
        wanted["depart_on"] = depart_on
    for name, value, maximum in (("route", route, MAX_ROUTE),
                                 ("transit_points", transit_points, MAX_ROUTE),
                                 ("escort", escort, MAX_SHORT)):
        if not isinstance(value, Keep):
            wanted[name] = text(value, name, maximum=maximum)
    with transaction.atomic():
        locked = Travel.objects.select_for_update().get(pk=travel.pk)
        if not TRAVEL_TRANSITIONS[TravelStatus(locked.status)]:
            raise Conflict(_("This journey has ended."))
        share_key(travel.case, locked)
        changed = sorted(n for n, v in wanted.items() if getattr(locked, n) != v)
        if changed:
            for name in changed:
                setattr(locked, name, wanted[name])
            locked.save(update_fields=[*changed, "updated_at"])
            record(actor=actor, action="travel.updated", object_type="travel",
                   object_id=locked.pk, data={"case": str(locked.case_id), "fields": changed})
    travel.refresh_from_db()
    return travel


def travel_transition(*, actor: Any, travel: Travel, to: str,
                      country: Country | str | None = None, arrived_on: date | None = None,
                      status_obtained: str | None = None, receiving_partner: str | None = None,
                      follow_up_on: date | None = None) -> TravelStep:
    """Move a journey along ``TRAVEL_TRANSITIONS`` and everything that follows from it, in one
    audited transaction (see ``journey.consequences``):

    - *leaving* (booked → in transit, or detained at the airport): the case moves to
      departed (from active or ready to travel, through the case's own transitions), the
      travellers' shelter placements end and their beds are free, and the tasks to move them
      out of a compromised shelter are cancelled;
    - *detained*: one emergency task, due today, for the case's caseworker — coordinators see
      it with every emergency of the organization (``selectors.emergencies_for``) — and the
      case becomes an emergency;
    - *released* (detained → in transit) or *back* (aborted after leaving): the detention's
      task is done and the case's priority is what it was; back, the case is ready to travel
      again unless another journey of the household is away;
    - *arrived*: the arrival (country, status obtained, receiving partner or sponsor, a
      follow-up date — a follow-up task for the caseworker); the detention's tasks are done;
      the interviews and deadlines of the visa used are cancelled; once every member who
      travels with the household has arrived, the case moves to arrived, every application
      date task of the case is cancelled and the case's priority returns to normal.

    What the move changed is kept in its ``TravelStep`` (the return value), so ``travel_undo``
    can take it back. A case whose lifecycle does not lead where the journey went (on hold,
    still in intake) is left where it is, and the step says so (``case_left``).
    """
    policy.require(actor, Perm.TRAVEL_MANAGE, travel)
    if to not in TravelStatus.values:
        raise ValidationFailed(_("Unknown status."), fields={"to": [_("Unknown status.")]})
    target = TravelStatus(to)
    given = {"country": country, "arrived_on": arrived_on, "status_obtained": status_obtained,
             "receiving_partner": receiving_partner, "follow_up_on": follow_up_on}
    if target != TS.ARRIVED:
        extra = sorted(n for n, v in given.items() if v is not None)
        if extra:
            raise ValidationFailed(
                _("These details belong to an arrival: %(fields)s.") % {"fields": ", ".join(extra)},
                fields={name: [_("Not used for this step.")] for name in extra})
    case = travel.case
    with transaction.atomic():
        # Only the journey's row is locked: PostgreSQL cannot lock the nullable side of the
        # outer join to its application.
        locked = Travel.objects.select_for_update(of=("self",)).select_related(
            "case", "application").get(pk=travel.pk)
        current = TravelStatus(locked.status)
        if target not in TRAVEL_TRANSITIONS[current]:
            raise Conflict(travel_refusal(current, target))
        now = timezone.now()
        effects = journey.Effects(
            departed_at=locked.departed_at.isoformat() if locked.departed_at else "",
            ended_at=locked.ended_at.isoformat() if locked.ended_at else "")
        data: dict[str, Any] = {"case": str(case.pk), "from": current, "to": target}
        fields = ["status", "updated_at"]
        if target in (TS.IN_TRANSIT, TS.DETAINED) and locked.departed_at is None:
            locked.departed_at = now
            fields.append("departed_at")
        if target in (TS.ARRIVED, TS.ABORTED):
            locked.ended_at = now
            fields.append("ended_at")
        locked.status = target
        locked.save(update_fields=fields)
        if target == TS.ARRIVED:
            arrival = _arrive(actor, locked, case, country=country, arrived_on=arrived_on,
                              status_obtained=status_obtained,
                              receiving_partner=receiving_partner, follow_up_on=follow_up_on)
            effects.arrival = str(arrival.pk)
            if arrival.follow_up_task_id:
                effects.created.append(str(arrival.follow_up_task_id))
            data.update({"country": arrival.country.code, "arrived_on":
                         arrival.arrived_on.isoformat(), "status_obtained":
                         arrival.status_obtained,
                         "follow_up_task": str(arrival.follow_up_task_id or "")})
        journey.consequences(actor, locked, current, target, effects)
        step = TravelStep.objects.create(travel=locked, from_status=current, to_status=target,
                                         actor=actor, effects=effects.as_json())
        data.update(effects.audit(), step=str(step.pk))
        record(actor=actor, action="travel.transitioned", object_type="travel",
               object_id=locked.pk, data=data)
    travel.refresh_from_db()
    case.refresh_from_db()
    return step


def _arrive(actor: Any, travel: Travel, case: Case, *, country: Country | str | None,
            arrived_on: date | None, status_obtained: str | None,
            receiving_partner: str | None, follow_up_on: date | None) -> Arrival:
    errors: dict[str, list[str]] = {}
    if isinstance(country, str):
        country = Country.objects.filter(code=country.upper()).first()
    if country is None:
        errors["country"] = [_("Choose the country of arrival.")]
    if status_obtained is None:
        errors["status_obtained"] = [_("This field is required.")]
    if errors:
        raise ValidationFailed(_("Say where they arrived and with which status."),
                               fields=errors)
    assert isinstance(country, Country)  # noqa: S101 - checked above
    choice(status_obtained or "", StatusObtained, "status_obtained")
    day = not_future(arrived_on, "arrived_on")
    if follow_up_on is not None and follow_up_on < day:
        raise ValidationFailed(_("The follow-up cannot be before the arrival."),
                               fields={"follow_up_on": [_("Choose a later date.")]})
    arrival = Arrival(travel=travel, country=country, arrived_on=day,
                      status_obtained=status_obtained or "", follow_up_on=follow_up_on)
    share_key(case, arrival)
    arrival.receiving_partner = text(receiving_partner or "", "receiving_partner",
                                     maximum=MAX_SHORT)
    if follow_up_on is not None:
        arrival.follow_up_task = task_create(
            actor=actor, case=case, assignee=case.assigned_to, due=follow_up_on,
            title=_("Follow up after arrival in %(country)s") % {"country": country.name})
    arrival.save()
    return arrival
