"""/api/v1/shelters: the board, a shelter, its status, and its address (coordinators only,
recorded). Placements are made on a case: /api/v1/cases/{id}/placements."""

from uuid import UUID

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from haven.access.decorators import api_actor, api_requires
from haven.access.permissions import Perm
from haven.housing import selectors, services
from haven.housing.models import Shelter, ShelterStatus

router = Router(tags=["shelters"])



class ShelterIn(Schema):
    code_name: str = Field(min_length=1, max_length=64)
    address: str = Field(min_length=1, max_length=500)
    coarse_place: str = Field(default="", max_length=200)
    capacity: int = Field(ge=1, le=500)


class ShelterOut(Schema):
    id: UUID
    code_name: str
    status: ShelterStatus
    capacity: int
    occupied: int = 0


class ShelterTransitionIn(Schema):
    to: ShelterStatus


class AddressOut(Schema):
    address: str


def _out(shelter: Shelter) -> ShelterOut:
    return ShelterOut(id=shelter.pk, code_name=shelter.code_name,
                      status=ShelterStatus(shelter.status), capacity=shelter.capacity,
                      occupied=getattr(shelter, "occupied", services.occupancy(shelter)))


@router.get("", response=list[ShelterOut], summary="The shelter board: occupancy per shelter")
@api_requires(Perm.SHELTER_READ)
def shelter_list(request: HttpRequest) -> list[ShelterOut]:
    return [_out(s) for s in selectors.shelter_board(actor=api_actor(request))]


@router.post("", response={201: ShelterOut}, summary="Add a shelter (address sealed)")
@api_requires(Perm.SHELTER_MANAGE)
def shelter_create(request: HttpRequest, payload: ShelterIn) -> Status[ShelterOut]:
    shelter = services.shelter_create(actor=api_actor(request), **payload.model_dump())
    return Status(201, _out(shelter))


@router.get("/{shelter_id}", response=ShelterOut, summary="One shelter (never its address)")
@api_requires(Perm.SHELTER_READ)
def shelter_get(request: HttpRequest, shelter_id: UUID) -> ShelterOut:
    return _out(selectors.shelter_get(actor=api_actor(request), pk=shelter_id))


@router.post("/{shelter_id}/transition", response=ShelterOut,
             summary="Mark compromised (raises an emergency task per resident), close or reopen")
@api_requires(Perm.SHELTER_MANAGE)
def shelter_transition(request: HttpRequest, shelter_id: UUID, payload: ShelterTransitionIn
                       ) -> ShelterOut:
    actor = api_actor(request)
    shelter = selectors.shelter_get(actor=actor, pk=shelter_id)
    services.shelter_transition(actor=actor, shelter=shelter, to=payload.to)
    return _out(selectors.shelter_get(actor=actor, pk=shelter_id))


@router.post("/{shelter_id}/address", response=AddressOut,
             summary="Reveal the exact address (coordinators only; recorded)")
@api_requires(Perm.SHELTER_ADDRESS)
def shelter_address(request: HttpRequest, shelter_id: UUID) -> AddressOut:
    actor = api_actor(request)
    shelter = selectors.shelter_get(actor=actor, pk=shelter_id)
    return AddressOut(address=services.shelter_address_reveal(actor=actor, shelter=shelter))
