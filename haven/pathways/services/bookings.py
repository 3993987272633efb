"""A journey's bookings: carrier, flight or train number, places and times, the booking
reference and the travellers' tickets — sealed under the case's key and handled only by those
who may see the route."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from haven.access import policy
from haven.access.permissions import Perm
from haven.audit.services import record
from haven.cases.models import DocType, Document
from haven.cases.services.common import KEEP, Keep, choice, share_key, text
from haven.core.errors import NotFound, ValidationFailed
from haven.pathways.models import Booking, BookingMode, Travel

MAX_SHORT = 300
TEXTS = ("carrier", "number", "departs_from", "arrives_in", "reference")
TIMES = ("departs_at", "arrives_at")
# A time is kept as local ISO text, to the minute, inside the ciphertext.
TIME_FORMAT = "%Y-%m-%dT%H:%M"


def _require(actor: Any, travel: Travel) -> None:
    """Managing bookings needs ``travel:manage`` and the right to see the route: a flight
    number and a time say where the household will be."""
    policy.require(actor, Perm.TRAVEL_MANAGE, travel)
    if not policy.may_see_route(actor, travel):
        raise NotFound(_("Not found."))


def _time(value: datetime | str | None, name: str) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValidationFailed(_("Not a date and time."), fields={name: [
                _("Write YYYY-MM-DD HH:MM.")]}) from None
    return value.replace(tzinfo=None).strftime(TIME_FORMAT)


def _tickets(travel: Travel, tickets: Iterable[Any]) -> list[Document]:
    """Ticket documents of the journey's travellers on its case (``Document`` rows or ids)."""
    wanted = {str(getattr(t, "pk", t)) for t in tickets}
    if not wanted:
        return []
    persons = list(travel.members.values_list("person_id", flat=True))
    found = list(Document.objects.filter(case_id=travel.case_id, doc_type=DocType.TICKET,
                                         person_id__in=persons, pk__in=list(wanted)))
    if len(found) != len(wanted):
        raise ValidationFailed(_("A ticket must be a ticket document of a traveller on this "
                                 "journey."), fields={"tickets": [
                                     _("Choose tickets of this journey's travellers.")]})
    return found


def _clean(values: dict[str, Any]) -> dict[str, str]:
    cleaned: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for name, value in values.items():
        try:
            if name == "mode":
                cleaned[name] = choice(value, BookingMode, "mode")
            elif name in TIMES:
                cleaned[name] = _time(value, name)
            else:
                cleaned[name] = text(value, name, maximum=MAX_SHORT)
        except ValidationFailed as exc:
            errors.update(exc.fields)
    if errors:
        raise ValidationFailed(_("The booking's details are not valid: see fields."),
                               fields=errors)
    return cleaned


def booking_add(*, actor: Any, travel: Travel, mode: str = BookingMode.FLIGHT,
                carrier: str = "", number: str = "", departs_from: str = "",
                arrives_in: str = "", departs_at: datetime | str | None = None,
                arrives_at: datetime | str | None = None, reference: str = "",
                tickets: Iterable[Any] = ()) -> Booking:
    """Add a booked leg to a journey. Times are the local times printed on the ticket (an
    arrival may read earlier than its departure across time zones, so they are not ordered).
    The audit event names the journey and the kind of transport, never a value."""
    _require(actor, travel)
    cleaned = _clean({"mode": mode, "carrier": carrier, "number": number,
                      "departs_from": departs_from, "arrives_in": arrives_in,
                      "departs_at": departs_at, "arrives_at": arrives_at,
                      "reference": reference})
    chosen = _tickets(travel, tickets)
    with transaction.atomic():
        booking = Booking(travel=travel, created_by=actor, mode=cleaned.pop("mode"))
        share_key(travel.case, booking)
        for name, value in cleaned.items():
            setattr(booking, name, value)
        booking.save()
        booking.tickets.set(chosen)
        record(actor=actor, action="booking.added", object_type="booking",
               object_id=booking.pk, data={"case": str(travel.case_id),
                                           "travel": str(travel.pk), "mode": booking.mode,
                                           "tickets": len(chosen)})
    return booking


def booking_update(*, actor: Any, booking: Booking, tickets: Iterable[Any] | Keep = KEEP,
                   **values: Any) -> Booking:
    """Change a booking; arguments left out stay as they are (``tickets`` replaces the list).
    The audit event names the changed fields only."""
    travel = booking.travel
    _require(actor, travel)
    unknown = set(values) - {"mode", *TEXTS, *TIMES}
    if unknown:
        raise ValidationFailed(_("Unknown field."),
                               fields={f: [_("Unknown field.")] for f in sorted(unknown)})
    cleaned = _clean({k: v for k, v in values.items() if not isinstance(v, Keep)})
    chosen = None if isinstance(tickets, Keep) else _tickets(travel, tickets)
    with transaction.atomic():
        locked = Booking.objects.select_for_update().get(pk=booking.pk)
        share_key(travel.case, locked)
        changed = sorted(n for n, v in cleaned.items() if str(getattr(locked, n)) != v)
        for name in changed:
            setattr(locked, name, cleaned[name])
        if changed:
            locked.save(update_fields=[*changed, "updated_at"])
        if chosen is not None and {d.pk for d in chosen} != set(
                locked.tickets.values_list("pk", flat=True)):
            locked.tickets.set(chosen)
            changed.append("tickets")
        if changed:
            record(actor=actor, action="booking.updated", object_type="booking",
                   object_id=locked.pk, data={"case": str(travel.case_id),
                                              "travel": str(travel.pk), "fields": changed})
    booking.refresh_from_db()
    return booking


def booking_ticket_add(*, actor: Any, booking: Booking, document: Document) -> Booking:
    """Put one more ticket (a ticket document of a traveller) on a booking."""
    current = list(booking.tickets.values_list("pk", flat=True))
    return booking_update(actor=actor, booking=booking, tickets=[*current, document.pk])


def booking_remove(*, actor: Any, booking: Booking) -> None:
    """Delete a booking (a cancelled flight); its ticket documents stay on the case."""
    travel = booking.travel
    _require(actor, travel)
    with transaction.atomic():
        booking_id = booking.pk
        booking.delete()
        record(actor=actor, action="booking.removed", object_type="booking",
               object_id=booking_id, data={"case": str(travel.case_id),
                                           "travel": str(travel.pk)})
