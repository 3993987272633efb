"""Writes to safe houses and placements."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from haven.access import policy
from haven.access.permissions import Perm
from haven.audit.services import record
from haven.cases.models import Case, Member, Priority, TaskOrigin
from haven.cases.services import task_create
from haven.core.errors import Conflict, NotFound, ValidationFailed
from haven.housing.models import (
    OCCUPYING,
    PLACEMENT_TRANSITIONS,
    SHELTER_TRANSITIONS,
    EndReason,
    Placement,
    PlacementStatus,
    Shelter,
    ShelterStatus,
)
from haven.keyring import keys
from haven.people.models import Person

MAX_CAPACITY = 500


def _clean(code_name: str, capacity: int, address: str, coarse_place: str
           ) -> tuple[str, str, str]:
    errors: dict[str, list[str]] = {}
    code_name, address, coarse_place = code_name.strip(), address.strip(), coarse_place.strip()
    if not code_name or len(code_name) > 64:
        errors["code_name"] = [_("A code name of 1–64 characters is required.")]
    if not 1 <= capacity <= MAX_CAPACITY:
        errors["capacity"] = [_("Capacity must be between 1 and %(n)d.") % {"n": MAX_CAPACITY}]
    if not address or len(address) > 500:
        errors["address"] = [_("An address of 1–500 characters is required.")]
    if len(coarse_place) > 200:
        errors["coarse_place"] = [_("At most 200 characters.")]
    if errors:
        raise ValidationFailed(_("The shelter's details are not valid: see fields."),
                               fields=errors)
    return code_name, address, coarse_place


def shelter_create(*, actor: Any, code_name: str, address: str, capacity: int,
                   coarse_place: str = "") -> Shelter:
    """Register a safe house. Its address and area are sealed under the shelter's own key;
    the code name is what everyone but coordinators sees, so it must say nothing of the place."""
    policy.require(actor, Perm.SHELTER_MANAGE, actor.organization)
    code_name, address, coarse_place = _clean(code_name, capacity, address, coarse_place)
    try:
        with transaction.atomic():
            shelter = Shelter(organization_id=actor.organization_id, code_name=code_name,
                              capacity=capacity)
            keys.data_key_create(shelter)
            shelter.address = address
            shelter.coarse_place = coarse_place
            shelter.save()
            record(actor=actor, action="shelter.created", object_type="shelter",
                   object_id=shelter.pk, data={"capacity": capacity})
    except IntegrityError:
        raise ValidationFailed(_("That code name is taken."),
                               fields={"code_name": [_("Choose another code name.")]}) from None
    return shelter


def occupancy(shelter: Shelter) -> int:
    return Placement.objects.filter(shelter=shelter, status__in=OCCUPYING).count()


def shelter_transition(*, actor: Any, shelter: Shelter, to: str) -> Shelter:
    """Mark a shelter compromised, close it, or reopen it.

    Compromised: every planned placement is cancelled and every person living there gets an
    emergency task on their case to be moved out today. Closing needs it empty.
    """
    policy.require(actor, Perm.SHELTER_MANAGE, shelter)
    if to not in ShelterStatus.values:
        raise ValidationFailed(_("Unknown status."), fields={"to": [_("Unknown status.")]})
    with transaction.atomic():
        locked = Shelter.objects.select_for_update().get(pk=shelter.pk)
        current = locked.status
        if to not in SHELTER_TRANSITIONS[ShelterStatus(current)]:
            raise Conflict(_("A shelter cannot move from “%(from)s” to “%(to)s”.") % {
                "from": ShelterStatus(current).label, "to": ShelterStatus(to).label})
        tasks = 0
        if to == ShelterStatus.CLOSED and occupancy(locked):
            raise Conflict(_("Move everyone out before closing the shelter."))
        if to == ShelterStatus.COMPROMISED:
            today = timezone.localdate()
            Placement.objects.filter(shelter=locked, status=PlacementStatus.PLANNED).update(
                status=PlacementStatus.ENDED, end_reason=EndReason.COMPROMISED, moved_out=today,
                updated_at=timezone.now())
            living = (Placement.objects.filter(shelter=locked, status=PlacementStatus.ACTIVE)
                      .select_related("case", "case__assigned_to", "person"))
            for placement in living:
                task_create(actor=actor, case=placement.case, person=placement.person,
                            title=_("Move a person out of compromised shelter %(code)s") % {
                                "code": locked.code_name},
                            assignee=placement.case.assigned_to, due=today,
                            priority=Priority.EMERGENCY, origin=TaskOrigin.SHELTER)
                tasks += 1
        locked.status = to
        locked.save(update_fields=["status", "updated_at"])
        record(actor=actor, action="shelter.transitioned", object_type="shelter",
               object_id=locked.pk, data={"from": current, "to": to, "tasks": tasks})
    shelter.refresh_from_db()
    return shelter


def shelter_address_reveal(*, actor: Any, shelter: Shelter) -> str:
    """A shelter's exact address, for coordinators only, and recorded."""
    policy.require(actor, Perm.SHELTER_ADDRESS, shelter)
    with transaction.atomic():
        record(actor=actor, action="shelter.address_revealed", object_type="shelter",
               object_id=shelter.pk)
    return str(shelter.address)


def placement_create(*, actor: Any, case: Case, person: Person, shelter: Shelter,
                     planned_in: date | None = None) -> Placement:
    """Plan a bed for a member of the case in an active shelter, refused if it is full
    (``placements_create`` for one person)."""
    return placements_create(actor=actor, case=case, persons=[person], shelter=shelter,
                             planned_in=planned_in)[0]


def placements_create(*, actor: Any, case: Case, persons: Iterable[Person], shelter: Shelter,
                      planned_in: date | None = None) -> list[Placement]:
    """Plan beds for one or more members of the case in one active shelter, all or none: a
    household is placed together, so a shelter without room for all of them takes none and
    says how many places are free.

    The shelter row is locked while counting so two caseworkers cannot both take the last bed;
    a person who already has a planned or current placement is refused (end it first).
    """
    policy.require(actor, Perm.PLACEMENT_MANAGE, case)
    if not policy.has_perm(actor, Perm.SHELTER_READ, shelter):
        raise NotFound(_("Not found."))
    chosen = list(dict.fromkeys(persons))
    members = set(Member.objects.filter(case=case, person__in=chosen).values_list("person_id",
                                                                                  flat=True))
    if not chosen or len(members) != len(chosen):
        raise ValidationFailed(_("Choose members of this case."),
                               fields={"person": [_("Choose a member of the case.")]})
    with transaction.atomic():
        locked = Shelter.objects.select_for_update().get(pk=shelter.pk)
        if locked.status != ShelterStatus.ACTIVE:
            raise Conflict(_("%(code)s is not taking anyone: it is %(status)s.") % {
                "code": locked.code_name, "status": ShelterStatus(locked.status).label.lower()})
        if Placement.objects.filter(person__in=chosen, status__in=OCCUPYING).exists():
            raise Conflict(_("This person already has a planned or current placement.")
                           if len(chosen) == 1 else
                           _("Someone chosen already has a planned or current placement: end "
                             "it first."))
        taken = occupancy(locked)
        if taken + len(chosen) > locked.capacity:
            if len(chosen) == 1:
                raise Conflict(_("%(code)s is full: %(taken)d of %(capacity)d places are "
                                 "taken.") % {"code": locked.code_name, "taken": taken,
                                              "capacity": locked.capacity})
            raise Conflict(_("%(code)s has %(free)d free places for the %(n)d people chosen: "
                             "nobody was placed.") % {
                "code": locked.code_name, "free": max(locked.capacity - taken, 0),
                "n": len(chosen)})
        placements = []
        for person in chosen:
            placement = Placement.objects.create(shelter=locked, case=case, person=person,
                                                 planned_in=planned_in, created_by=actor)
            record(actor=actor, action="placement.created", object_type="placement",
                   object_id=placement.pk, data={"case": str(case.pk), "shelter": str(locked.pk),
                                                 "person": str(person.pk)})
            placements.append(placement)
    return placements


def placement_transition(*, actor: Any, placement: Placement, to: str, end_reason: str = ""
                         ) -> Placement:
    """Move in (planned → active) or end a placement (with a reason)."""
    policy.require(actor, Perm.PLACEMENT_MANAGE, placement.case)
    if to not in PlacementStatus.values:
        raise ValidationFailed(_("Unknown status."), fields={"to": [_("Unknown status.")]})
    with transaction.atomic():
        locked = Placement.objects.select_for_update().select_related("shelter").get(
            pk=placement.pk)
        current = locked.status
        if to not in PLACEMENT_TRANSITIONS[PlacementStatus(current)]:
            raise Conflict(_("A placement cannot move from “%(from)s” to “%(to)s”.") % {
                "from": PlacementStatus(current).label, "to": PlacementStatus(to).label})
        today = timezone.localdate()
        if to == PlacementStatus.ACTIVE:
            if locked.shelter.status != ShelterStatus.ACTIVE:
                raise Conflict(_("Nobody can move into a shelter that is not active."))
            locked.moved_in = today
        if to == PlacementStatus.ENDED:
            if end_reason not in EndReason.values:
                raise ValidationFailed(_("Say why the placement ended."),
                                       fields={"end_reason": [_("Choose a reason.")]})
            locked.end_reason = end_reason
            locked.moved_out = today
        locked.status = to
        locked.save(update_fields=["status", "moved_in", "moved_out", "end_reason",
                                   "updated_at"])
        record(actor=actor, action="placement.transitioned", object_type="placement",
               object_id=locked.pk, data={"case": str(locked.case_id), "from": current,
                                          "to": to, "end_reason": locked.end_reason})
    placement.refresh_from_db()
    return placement


def placement_restore(*, actor: Any, placement: Placement, to: str) -> bool:
    """Put back a placement that a journey ended by mistake (the journey's move is undone):
    the person is again ``to`` (planned or active) in the same shelter, without a move-out
    date — when the shelter is still active, has a free place and the person has no other
    placement. Otherwise nothing changes and the answer is False: the bed was given to someone
    else meanwhile, and a new placement must be planned.
    """
    policy.require(actor, Perm.PLACEMENT_MANAGE, placement.case)
    if to not in OCCUPYING:
        raise ValidationFailed(_("Unknown status."), fields={"to": [_("Unknown status.")]})
    with transaction.atomic():
        shelter = Shelter.objects.select_for_update().get(pk=placement.shelter_id)
        locked = Placement.objects.select_for_update().get(pk=placement.pk)
        if (locked.status != PlacementStatus.ENDED or shelter.status != ShelterStatus.ACTIVE
                or occupancy(shelter) >= shelter.capacity
                or Placement.objects.filter(person_id=locked.person_id,
                                            status__in=OCCUPYING).exists()):
            return False
        ended_reason = locked.end_reason
        locked.status, locked.moved_out, locked.end_reason = to, None, ""
        locked.save(update_fields=["status", "moved_out", "end_reason", "updated_at"])
        record(actor=actor, action="placement.restored", object_type="placement",
               object_id=locked.pk, data={"case": str(locked.case_id), "to": to,
                                          "end_reason": ended_reason})
    placement.refresh_from_db()
    return True
