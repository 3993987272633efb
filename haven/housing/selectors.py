"""Reads of shelters: the board (occupancy per shelter) and one shelter with its residents."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models import Count, Q, QuerySet

from haven.access import policy
from haven.access.permissions import Perm
from haven.cases.models import Case
from haven.core.errors import NotFound
from haven.housing.models import OCCUPYING, Placement, Shelter, ShelterStatus


def shelter_board(*, actor: Any, status: str = "") -> QuerySet[Shelter]:
    """Shelters of the organization with ``occupied`` (planned or current placements)."""
    qs = policy.org_scoped(actor, Perm.SHELTER_READ, Shelter.objects.all()).annotate(
        occupied=Count("placements", filter=Q(placements__status__in=OCCUPYING)))
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("code_name")


def shelter_get(*, actor: Any, pk: UUID | str) -> Shelter:
    shelter = shelter_board(actor=actor).filter(pk=pk).first()
    if shelter is None:
        raise NotFound("Not found.")
    return shelter


def shelter_residents(*, actor: Any, shelter: Shelter) -> list[Placement]:
    """Current and planned placements of the shelter on cases the actor may see (a caseworker
    learns nothing here about other caseworkers' cases)."""
    return list(policy.placements_visible_to(actor, Placement.objects.filter(
        shelter=shelter, status__in=OCCUPYING)).select_related("case").order_by(
        "status", "created_at"))


def placeable_shelters(*, actor: Any) -> list[Shelter]:
    if not policy.has_perm(actor, Perm.SHELTER_READ):
        return []
    return list(shelter_board(actor=actor, status=ShelterStatus.ACTIVE))


def placement_get(*, actor: Any, case: Case, placement_id: UUID | str) -> Placement:
    placement = policy.placements_visible_to(actor, Placement.objects.filter(
        case=case, pk=placement_id)).select_related("shelter", "case").first()
    if placement is None or not policy.has_perm(actor, Perm.PLACEMENT_MANAGE, case):
        raise NotFound("Not found.")
    return placement
