from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.pagination import PageNumberPagination, paginate
from pydantic import Field

from haven.access.decorators import api_actor, api_requires
from haven.access.permissions import Perm
from haven.audit import services
from haven.auditlog import display, selectors

router = Router(tags=["audit"])


class EventOut(Schema):
    seq: int
    at: datetime
    actor_id: str
    actor_username: str = Field(description="The acting staff member's username; empty for "
                                            "the system or an unknown login name.")
    action: str
    action_label: str = Field(description="The action in words, in the request's language.")
    object_type: str
    object_id: str
    case_number: str = Field(description="The case the event concerns (its own or one of its "
                                         "records'), by number; empty when none.")
    request_id: str
    data: dict[str, Any]
    prev_hash: str
    hash: str


class EventFilter(Schema):
    action: str = Field(default="", max_length=64, description="The action, or its start.")
    actor: str = Field(default="", max_length=64, description="A staff member's username.")
    case: str = Field(default="", max_length=16, description="A case number (HV-XXXX-XXXX): "
                      "its events and those of its notes, tasks, people…")
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


class EventPagination(PageNumberPagination):
    """One page of events, each with the names its ids stand for (read once per page)."""

    def paginate_queryset(self, queryset: Any, pagination: Any, request: HttpRequest,
                          **params: Any) -> Any:
        page = super().paginate_queryset(queryset, pagination, request, **params)
        page["items"] = [_out(row) for row in display.rows(page["items"],
                                                          viewer=api_actor(request))]
        return page


def _out(row: display.Row) -> dict[str, Any]:
    e = row.event
    return {"seq": e.seq, "at": e.at, "actor_id": e.actor_id, "actor_username": row.actor,
            "action": e.action, "action_label": row.action, "object_type": e.object_type,
            "object_id": e.object_id, "case_number": row.case_number,
            "request_id": e.request_id, "data": e.data, "prev_hash": e.prev_hash,
            "hash": e.hash}


@router.get("/events", response=list[EventOut], summary="The audit log, newest first, with "
            "staff by username and cases by number")
@api_requires(Perm.AUDIT_READ)
@paginate(EventPagination, page_size=50)
def events(request: HttpRequest, filters: Query[EventFilter]) -> Any:
    return selectors.event_list(user=api_actor(request), **filters.model_dump())


@router.post("/verify", response=VerifyOut, summary="Recompute the hash chain")
@api_requires(Perm.AUDIT_VERIFY)
def verify(request: HttpRequest) -> Any:
    return services.verify_as(actor=api_actor(request))
