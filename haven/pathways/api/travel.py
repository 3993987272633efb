"""/api/v1/travel: journeys, their steps and bookings. A route is withheld until arrival from
anyone but coordinators and the assigned caseworker, and each reading of it is recorded."""

from datetime import date, datetime
from typing import Any
from uuid import UUID

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import Field

from haven.access.decorators import api_actor, api_reauth, api_requires
from haven.access.permissions import Perm
from haven.accounts.models import User
from haven.cases.models import Status as CaseStatus
from haven.cases.services.common import KEEP
from haven.core.errors import NotFound
from haven.keyring import keys
from haven.pathways import selectors, services
from haven.pathways.api.common import MAX_OFFSET, application_ref, case_for, page
from haven.pathways.models import (
    TRAVEL_TRANSITIONS,
    Arrival,
    BookingMode,
    StatusObtained,
    Travel,
    TravelStatus,
    TravelStep,
)
from haven.pathways.services.bookings import TIMES

router = Router(tags=["travel"])


# --- travel --------------------------------------------------------------------------------------


class TravelFilter(Schema):
    case: UUID | None = Field(default=None, description="Only this case's journeys")
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


class TravelIn(Schema):
    case_id: UUID
    members: list[UUID] | None = Field(default=None, max_length=100, description=(
        "Member ids of the case; leave it out for every member who travels with the "
        "household."))
    application_id: UUID | None = Field(default=None, description="Travelling on this "
                                        "application's visa")
    depart_on: date | None = None
    route: str = Field(default="", max_length=2000)
    transit_points: str = Field(default="", max_length=2000)
    escort: str = Field(default="", max_length=300)


class TravelUpdateIn(Schema):
    """Only the fields sent change; null clears."""

    depart_on: date | None = None
    route: str | None = Field(default=None, max_length=2000)
    transit_points: str | None = Field(default=None, max_length=2000)
    escort: str | None = Field(default=None, max_length=300)


class TravelTransitionIn(Schema):
    """``to``; a move to ``arrived`` also takes the arrival (country and status_obtained
    required). Detained raises an emergency task for the case's caseworker."""

    to: TravelStatus
    country: str | None = Field(default=None, max_length=2, description="→ arrived: ISO code")
    arrived_on: date | None = Field(default=None, description="→ arrived (default today)")
    status_obtained: StatusObtained | None = Field(default=None, description="→ arrived")
    receiving_partner: str | None = Field(default=None, max_length=300,
                                          description="→ arrived: partner or sponsor")
    follow_up_on: date | None = Field(default=None, description=(
        "→ arrived: makes a follow-up task for the caseworker"))


class ArrivalOut(Schema):
    country: str
    arrived_on: date
    status_obtained: StatusObtained
    receiving_partner: str | None = Field(description=(
        "The receiving partner or sponsor: in the journey's own document, null in lists"))
    follow_up_on: date | None
    follow_up_task_id: UUID | None


class TravelStepOut(Schema):
    id: UUID
    from_status: TravelStatus
    to_status: TravelStatus
    actor_id: UUID | None
    created_at: datetime
    case_status: list[CaseStatus] = Field(description="The statuses the case walked through "
                                          "(empty: the case did not move)")
    case_left: CaseStatus | None = Field(description="The case's status when its lifecycle "
                                         "did not lead where the journey went")
    placements_ended: int
    tasks_closed: int
    tasks_created: int


class TravelOut(Schema):
    id: UUID
    case_id: UUID
    application_id: UUID | None
    status: TravelStatus
    next: list[TravelStatus] = Field(description="Where it may move from here")
    members: list[UUID] = Field(description="Member ids of the case on this journey")
    depart_on: date | None
    departed_at: datetime | None
    ended_at: datetime | None
    created_at: datetime
    arrival: ArrivalOut | None
    last_step: TravelStepOut | None = Field(default=None, description=(
        "The latest move, which `POST /travel/{id}/undo` takes back, with what it changed "
        "(null in lists, and when there is nothing to undo)"))


class BookingIn(Schema):
    mode: BookingMode = BookingMode.FLIGHT
    carrier: str = Field(default="", max_length=300)
    number: str = Field(default="", max_length=300, description="Flight or train number")
    departs_from: str = Field(default="", max_length=300)
    arrives_in: str = Field(default="", max_length=300)
    departs_at: datetime | None = Field(default=None, description=(
        "Local time printed on the ticket (a time zone, if sent, is ignored)"))
    arrives_at: datetime | None = Field(default=None, description="Local time at arrival")
    reference: str = Field(default="", max_length=300, description="Booking reference")
    ticket_ids: list[UUID] = Field(default=[], max_length=50, description=(
        "Ticket documents of travellers (uploaded with `POST /cases/{id}/documents` and "
        "`doc_type=ticket`)"))


class BookingPatchIn(Schema):
    """Only the fields sent change; ``ticket_ids`` replaces the list."""

    mode: BookingMode | None = None
    carrier: str | None = Field(default=None, max_length=300)
    number: str | None = Field(default=None, max_length=300)
    departs_from: str | None = Field(default=None, max_length=300)
    arrives_in: str | None = Field(default=None, max_length=300)
    departs_at: datetime | None = None
    arrives_at: datetime | None = None
    reference: str | None = Field(default=None, max_length=300)
    ticket_ids: list[UUID] | None = Field(default=None, max_length=50)


class BookingOut(Schema):
    id: UUID
    mode: BookingMode
    carrier: str
    number: str
    departs_from: str
    arrives_in: str
    departs_at: str = Field(description="YYYY-MM-DDTHH:MM local, or empty")
    arrives_at: str = Field(description="YYYY-MM-DDTHH:MM local, or empty")
    reference: str
    ticket_ids: list[UUID]


class TravelRouteOut(Schema):
    route: str
    transit_points: str
    escort: str


class TravelDetailOut(TravelOut):
    route: TravelRouteOut | None = Field(description=(
        "Null when withheld: until arrival only coordinators and the case's assigned "
        "caseworker see it (each reading is recorded)."))
    bookings: list[BookingOut] | None = Field(description=(
        "Carrier, numbers, times, references and tickets: shown with the route, to the same "
        "people; null when withheld."))


def _arrival_of(travel: Travel) -> Arrival | None:
    try:
        return travel.arrival
    except Arrival.DoesNotExist:
        return None


def _arrival(arrival: Arrival, *, partner: bool) -> ArrivalOut:
    if partner:
        keys.prefetch([arrival])
    return ArrivalOut(country=arrival.country.code, arrived_on=arrival.arrived_on,
                      status_obtained=StatusObtained(arrival.status_obtained),
                      receiving_partner=str(arrival.receiving_partner) if partner else None,
                      follow_up_on=arrival.follow_up_on,
                      follow_up_task_id=arrival.follow_up_task_id)


def _travel(travel: Travel, *, partner: bool = False) -> dict[str, Any]:
    arrival = _arrival_of(travel)
    return {"id": travel.pk, "case_id": travel.case_id, "application_id": travel.application_id,
            "status": TravelStatus(travel.status),
            "next": list(TRAVEL_TRANSITIONS[TravelStatus(travel.status)]),
            "members": [m.pk for m in travel.members.all()], "depart_on": travel.depart_on,
            "departed_at": travel.departed_at, "ended_at": travel.ended_at,
            "created_at": travel.created_at,
            "arrival": _arrival(arrival, partner=partner) if arrival is not None else None}


def _step(step: TravelStep | None) -> TravelStepOut | None:
    if step is None:
        return None
    effects = step.effects
    return TravelStepOut(
        id=step.pk, from_status=TravelStatus(step.from_status),
        to_status=TravelStatus(step.to_status), actor_id=step.actor_id,
        created_at=step.created_at,
        case_status=[CaseStatus(s) for s in effects.get("case") or []],
        case_left=CaseStatus(effects["case_left"]) if effects.get("case_left") else None,
        placements_ended=len(effects.get("placements") or []),
        tasks_closed=len(effects.get("closed") or []),
        tasks_created=len(effects.get("created") or []))


def _travel_out(actor: User, travel_id: Any) -> TravelOut:
    travel = selectors.travel_get(actor=actor, pk=travel_id)
    return TravelOut(**_travel(travel),
                     last_step=_step(selectors.travel_last_step(actor=actor, travel=travel)))


def _booking(view: selectors.BookingView) -> BookingOut:
    return BookingOut(id=view.booking.pk, mode=BookingMode(view.mode), carrier=view.carrier,
                      number=view.number, departs_from=view.departs_from,
                      arrives_in=view.arrives_in, departs_at=view.departs_at,
                      arrives_at=view.arrives_at, reference=view.reference,
                      ticket_ids=[d.pk for d in view.tickets])


def _booking_view(actor: User, travel: Travel, booking_id: Any) -> BookingOut:
    route = selectors.travel_route(actor=actor, travel=travel)
    found = [b for b in (route.bookings if route else []) if b.booking.pk == booking_id]
    if not found:
        raise NotFound(_("Not found."))
    return _booking(found[0])


@router.get("", response=list[TravelOut],
                   summary="Journeys on visible cases, newest first (routes are never listed)")
@api_requires(Perm.TRAVEL_READ)
def travel_list(request: HttpRequest, filters: Query[TravelFilter]) -> list[TravelOut]:
    actor = api_actor(request)
    f = filters
    case = case_for(actor, f.case) if f.case is not None else None
    qs = selectors.travel_list(actor=actor, case=case).prefetch_related("members")
    return [TravelOut(**_travel(t)) for t in page(qs, f.limit, f.offset)]


@router.post("", response={201: TravelOut},
                    summary="Plan a journey for some or all of a case's members")
@api_requires(Perm.TRAVEL_MANAGE)
def travel_plan(request: HttpRequest, payload: TravelIn) -> Status[TravelOut]:
    actor = api_actor(request)
    case = case_for(actor, payload.case_id)
    application = application_ref(actor, payload.application_id, "application_id")
    travel = services.travel_plan(actor=actor, case=case, members=payload.members,
                                  application=application, depart_on=payload.depart_on,
                                  route=payload.route, transit_points=payload.transit_points,
                                  escort=payload.escort)
    return Status(201, _travel_out(actor, travel.pk))


@router.get("/{travel_id}", response=TravelDetailOut,
                   summary="One journey; its route only for those who may see it (recorded; "
                           "the token must have re-authenticated)")
@api_reauth
@api_requires(Perm.TRAVEL_READ)
def travel_get(request: HttpRequest, travel_id: UUID) -> TravelDetailOut:
    actor = api_actor(request)
    travel = selectors.travel_get(actor=actor, pk=travel_id)
    route = selectors.travel_route(actor=actor, travel=travel)
    return TravelDetailOut(
        **_travel(travel, partner=True),
        last_step=_step(selectors.travel_last_step(actor=actor, travel=travel)),
        route=TravelRouteOut(route=route.route, transit_points=route.transit_points,
                             escort=route.escort) if route is not None else None,
        bookings=[_booking(b) for b in route.bookings] if route is not None else None)


@router.patch("/{travel_id}", response=TravelOut,
                     summary="Change a journey that has not ended (only the fields sent)")
@api_reauth
@api_requires(Perm.TRAVEL_MANAGE)
def travel_update(request: HttpRequest, travel_id: UUID, payload: TravelUpdateIn) -> TravelOut:
    actor = api_actor(request)
    travel = selectors.travel_get(actor=actor, pk=travel_id)
    sent = payload.model_dump(exclude_unset=True)
    changes: dict[str, Any] = {name: (sent[name] or "") if name != "depart_on" else sent[name]
                               for name in sent}
    services.travel_update(actor=actor, travel=travel,
                           depart_on=changes.get("depart_on", KEEP),
                           route=changes.get("route", KEEP),
                           transit_points=changes.get("transit_points", KEEP),
                           escort=changes.get("escort", KEEP))
    return _travel_out(actor, travel.pk)


@router.post(
    "/{travel_id}/transition", response=TravelOut,
    summary="Move a journey (409 with what is allowed if not); arrived takes the arrival",
    description="One transaction moves everything that follows: leaving moves the case to "
                "departed and ends the travellers' shelter placements; detained raises one "
                "emergency task, due today, for the case's caseworker and makes the case an "
                "emergency; release or return closes it; arrived records the arrival "
                "(country, status obtained, receiving partner, follow-up date → a follow-up "
                "task), cancels the visa's interview and deadline tasks and, once every "
                "travelling member has arrived, moves the case to arrived and back to normal "
                "priority. `last_step` says what changed; `POST /travel/{id}/undo` takes it "
                "back.")
@api_requires(Perm.TRAVEL_MANAGE)
def travel_transition(request: HttpRequest, travel_id: UUID, payload: TravelTransitionIn
                      ) -> TravelOut:
    actor = api_actor(request)
    travel = selectors.travel_get(actor=actor, pk=travel_id)
    services.travel_transition(
        actor=actor, travel=travel, to=payload.to, country=payload.country,
        arrived_on=payload.arrived_on, status_obtained=payload.status_obtained,
        receiving_partner=payload.receiving_partner, follow_up_on=payload.follow_up_on)
    return _travel_out(actor, travel.pk)


@router.post(
    "/{travel_id}/undo", response=TravelOut,
    summary="Take back the journey's latest move (recorded by mistake) and what it changed",
    description="The journey returns to its previous status; the case's status and priority, "
                "the tasks and the arrival go back as they were; placements the move ended "
                "are restored while their bed is still free. 409 when there is nothing to "
                "undo.")
@api_requires(Perm.TRAVEL_MANAGE)
def travel_undo(request: HttpRequest, travel_id: UUID) -> TravelOut:
    actor = api_actor(request)
    services.travel_undo(actor=actor, travel=selectors.travel_get(actor=actor, pk=travel_id))
    return _travel_out(actor, travel_id)


@router.post("/{travel_id}/bookings", response={201: BookingOut},
                    summary="Add a booking to a journey (sealed; for those who may see the "
                            "route)")
@api_reauth
@api_requires(Perm.TRAVEL_MANAGE)
def booking_add(request: HttpRequest, travel_id: UUID, payload: BookingIn) -> Status[BookingOut]:
    actor = api_actor(request)
    travel = selectors.travel_get(actor=actor, pk=travel_id)
    values = payload.model_dump(exclude={"ticket_ids"})
    booking = services.booking_add(actor=actor, travel=travel, tickets=payload.ticket_ids,
                                   **values)
    return Status(201, _booking_view(actor, travel, booking.pk))


@router.patch("/{travel_id}/bookings/{booking_id}", response=BookingOut,
                     summary="Change a booking (only the fields sent)")
@api_reauth
@api_requires(Perm.TRAVEL_MANAGE)
def booking_update(request: HttpRequest, travel_id: UUID, booking_id: UUID,
                   payload: BookingPatchIn) -> BookingOut:
    actor = api_actor(request)
    travel = selectors.travel_get(actor=actor, pk=travel_id)
    booking = selectors.booking_get(actor=actor, travel=travel, pk=booking_id)
    sent = payload.model_dump(exclude_unset=True)
    tickets = sent.pop("ticket_ids", None)
    # null clears a text or a time; a null kind of transport leaves it as it is.
    values = {k: "" if v is None and k not in TIMES else v for k, v in sent.items()
              if not (k == "mode" and v is None)}
    services.booking_update(actor=actor, booking=booking,
                            tickets=KEEP if tickets is None else tickets, **values)
    return _booking_view(actor, travel, booking.pk)


@router.delete("/{travel_id}/bookings/{booking_id}", response={204: None},
                      summary="Remove a booking (its tickets stay on the case)")
@api_requires(Perm.TRAVEL_MANAGE)
def booking_remove(request: HttpRequest, travel_id: UUID, booking_id: UUID) -> Status[None]:
    actor = api_actor(request)
    travel = selectors.travel_get(actor=actor, pk=travel_id)
    services.booking_remove(actor=actor, booking=selectors.booking_get(
        actor=actor, travel=travel, pk=booking_id))
    return Status(204, None)
