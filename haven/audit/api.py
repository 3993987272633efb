
from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.pagination import PageNumberPagination, paginate
from pydantic import Field

from haven.access.decorators import api_actor, api_requires
from haven.access.permissions import Perm
from haven.audit import selectors, services

router = Router(tags=["audit"])


class EventOut(Schema):
    seq: int
    at: datetime
    actor_id: str
    action: str
    object_type: str
    object_id: str
    request_id: str
    data: dict[str, Any]
    prev_hash: str
    hash: str


class EventFilter(Schema):
    action: str = Field(default="", max_length=64)
    actor_id: str = Field(default="", max_length=64)
    object_id: str = Field(default="", max_length=64)
    since: date | None = None
    until: date | None = None


class VerifyOut(Schema):
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    bad_seq: int | None
    reason: str


@router.get("/events", response=list[EventOut], summary="The audit log, newest first")
@api_requires(Perm.AUDIT_READ)
@paginate(PageNumberPagination, page_size=50)
def events(request: HttpRequest, filters: Query[EventFilter]) -> Any:
    return selectors.event_list(user=api_actor(request), **filters.model_dump())


@router.post("/verify", response=VerifyOut, summary="Recompute the hash chain")
@api_requires(Perm.AUDIT_VERIFY)
def verify(request: HttpRequest) -> Any:
    return services.verify_as(actor=api_actor(request))
