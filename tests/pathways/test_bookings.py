"""A journey's bookings: sealed like its route, and only for those who may see the route."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from haven.audit.models import AuditEvent
from haven.cases import document_selectors
from haven.cases import services as case_services
from haven.cases.models import Case, DocType, Member
from haven.core.errors import Forbidden, NotFound, ValidationFailed
from haven.keyring import files
from haven.pathways import selectors, services
from haven.pathways.models import Booking, BookingMode, Pathway, Travel

pytestmark = pytest.mark.django_db


@pytest.fixture
def travel(household: Case, caseworker: Any, reference: dict[str, Pathway]) -> Travel:
    principal = Member.objects.get(case=household, is_principal=True)
    return services.travel_plan(actor=caseworker, case=household, members=[principal],
                                route="Grozny → Tbilisi")


def ticket(case: Case, actor: Any, person: Any) -> Any:
    upload = files.EncryptedUpload(file_id=uuid.uuid4(), name="boarding-pass.pdf",
                                   content_type="application/pdf", size=10)
    return case_services.document_attach(actor=actor, case=case, upload=upload, person=person,
                                         doc_type=DocType.TICKET)


def test_a_booking_is_sealed_and_shown_with_the_route(travel: Travel, caseworker: Any,
                                                      coordinator: Any) -> None:
    principal = travel.members.get().person
    boarding = ticket(travel.case, caseworker, principal)
    booking = services.booking_add(
        actor=caseworker, travel=travel, mode=BookingMode.FLIGHT, carrier="Georgian Airways",
        number="A9 652", departs_from="Mineralnye Vody", arrives_in="Tbilisi",
        departs_at=datetime(2027, 1, 15, 6, 40, tzinfo=UTC), arrives_at="2027-01-15T08:05",
        reference="QX7P2L", tickets=[boarding])
    raw = Booking.objects.filter(pk=booking.pk).values_list("number", "reference",
                                                            "departs_at")[0]
    for value, secret in zip(raw, (b"A9 652", b"QX7P2L", b"2027-01-15"), strict=True):
        assert secret not in bytes(value)
    route = selectors.travel_route(actor=coordinator, travel=travel)
    assert route is not None
    (seen,) = route.bookings
    assert (seen.carrier, seen.number, seen.departs_at, seen.arrives_at, seen.reference) == (
        "Georgian Airways", "A9 652", "2027-01-15T06:40", "2027-01-15T08:05", "QX7P2L")
    assert seen.tickets == [boarding]
    event = AuditEvent.objects.get(action="booking.added")
    assert event.data == {"case": str(travel.case_id), "travel": str(travel.pk),
                          "mode": "flight", "tickets": 1}
    assert AuditEvent.objects.filter(action="travel.route_viewed").count() == 1


def test_bookings_sort_by_departure_and_change_field_by_field(travel: Travel,
                                                              caseworker: Any) -> None:
    second = services.booking_add(actor=caseworker, travel=travel, mode=BookingMode.BUS,
                                  departs_at="2027-01-16T09:00")
    first = services.booking_add(actor=caseworker, travel=travel, number="A9 652",
                                 departs_at="2027-01-15T06:40")
    undated = services.booking_add(actor=caseworker, travel=travel, mode=BookingMode.TRAIN)
    route = selectors.travel_route(actor=caseworker, travel=travel)
    assert route is not None
    assert [b.booking for b in route.bookings] == [first, second, undated]
    services.booking_update(actor=caseworker, booking=first, number="A9 654",
                            reference="QX7P2L")
    assert AuditEvent.objects.get(action="booking.updated").data["fields"] == [
        "number", "reference"]
    first.refresh_from_db()
    assert first.number == "A9 654"
    services.booking_remove(actor=caseworker, booking=second)
    assert not Booking.objects.filter(pk=second.pk).exists()
    assert AuditEvent.objects.filter(action="booking.removed").count() == 1


def test_bad_booking_input_changes_nothing(travel: Travel, caseworker: Any,
                                           coordinator: Any) -> None:
    spouse = Member.objects.get(case=travel.case, is_principal=False).person
    not_a_ticket = ticket(travel.case, caseworker, spouse)  # the spouse is not travelling
    with pytest.raises(ValidationFailed) as caught:
        services.booking_add(actor=caseworker, travel=travel, mode="rocket",
                             departs_at="tomorrow", number="x" * 301)
    assert set(caught.value.fields) == {"mode", "departs_at", "number"}
    with pytest.raises(ValidationFailed):
        services.booking_add(actor=caseworker, travel=travel, tickets=[not_a_ticket])
    with pytest.raises(ValidationFailed):
        services.booking_add(actor=caseworker, travel=travel, tickets=[uuid.uuid4()])
    assert not Booking.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="booking.").exists()


def test_only_those_who_may_see_the_route_handle_bookings(
        travel: Travel, caseworker: Any, operator: Any, other_caseworker: Any,
        outsider: Any) -> None:
    booking = services.booking_add(actor=caseworker, travel=travel, number="A9 652")
    with pytest.raises(Forbidden):
        services.booking_add(actor=operator, travel=travel)
    for stranger in (other_caseworker, outsider):
        with pytest.raises(NotFound):
            services.booking_update(actor=stranger, booking=booking, number="x")
        with pytest.raises(NotFound):
            selectors.booking_get(actor=stranger, travel=travel, pk=booking.pk)
        assert selectors.travel_route(actor=stranger, travel=travel) is None


def test_tickets_are_listed_only_to_those_who_follow_journeys(
        travel: Travel, caseworker: Any, verifier: Any, coordinator: Any) -> None:
    principal = travel.members.get().person
    boarding = ticket(travel.case, caseworker, principal)
    passport = ticket(travel.case, caseworker, principal)
    type(passport).objects.filter(pk=passport.pk).update(doc_type=DocType.PASSPORT)
    # The verifier who verified the case reads its documents, but does not follow journeys.
    assert {boarding.pk, passport.pk} <= set(case_selectors_visible(caseworker, travel.case))
    seen = set(case_selectors_visible(verifier, travel.case))
    assert passport.pk in seen
    assert boarding.pk not in seen


def case_selectors_visible(actor: Any, case: Case) -> list[Any]:
    return [d.pk for d in document_selectors.documents_visible(actor, case)]
