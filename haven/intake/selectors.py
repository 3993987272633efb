"""Reads of the intake: the inbox, one request decrypted for staff, one conversation for
the person who holds its codename."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from nacl.public import PrivateKey

from haven.audit.services import record
from haven.core.errors import NotFound
from haven.intake.models import OPEN_STATUSES, Direction, IntakeKey, Message, Request, Status
from haven.keyring import intake_crypto


def intake_key_current() -> IntakeKey | None:
    """The intake key of the organization this site takes requests for: the one named by
    ``HAVEN_INTAKE_ORG``, else the only one that exists (none if there are several)."""
    keys = IntakeKey.objects.select_related("organization")
    if settings.HAVEN_INTAKE_ORG:
        return keys.filter(organization__slug=settings.HAVEN_INTAKE_ORG).first()
    found = list(keys[:2])
    return found[0] if len(found) == 1 else None


def request_list(*, user: Any, status: str = "") -> Any:
    """The inbox: open requests by default, most urgent then newest first."""
    qs = Request.objects.visible_to(user)
    if status == "all":
        pass
    elif status in Status.values:
        qs = qs.filter(status=status)
    else:
        qs = qs.filter(status__in=OPEN_STATUSES)
    return qs.inbox_order()


def request_get(*, user: Any, pk: UUID | str) -> Request:
    """One request the user may see; any other answers exactly like a missing one."""
    try:
        return Request.objects.visible_to(user).select_related("intake_key").get(pk=pk)
    except (Request.DoesNotExist, ValueError):
        raise NotFound("Not found.") from None


@dataclass(frozen=True)
class Payload:
    contact: str
    region: str
    story: str
    urgency: str
    language: str


@dataclass(frozen=True)
class Entry:
    id: UUID
    direction: str
    asks_for_info: bool
    created_at: datetime
    body: str
    author: str


@dataclass(frozen=True)
class Opened:
    request: Request
    payload: Payload
    messages: list[Entry]


def _author(message: Message) -> str:
    if message.direction == Direction.IN:
        return ""
    return message.author.username if message.author is not None else ""


def request_open(*, actor: Any, request: Request) -> Opened:
    """Decrypt a request and its conversation for staff, in memory, and record the reveal.

    Needs an unsealed server: the intake private key is derived from a keyring data key.
    """
    private = intake_crypto.org_private_key(request.intake_key)
    raw = json.loads(intake_crypto.open_sealed(private, bytes(request.payload)))
    payload = Payload(contact=raw["contact"], region=raw["region"], story=raw["story"],
                      urgency=raw["urgency"], language=raw.get("language", ""))
    entries = [
        Entry(id=m.pk, direction=m.direction, asks_for_info=m.asks_for_info,
              created_at=m.created_at, author=_author(m),
              body=intake_crypto.open_sealed(private, bytes(m.for_org)).decode("utf-8"))
        for m in request.messages.select_related("author").order_by("created_at")
    ]
    with transaction.atomic():
        record(actor=actor, action="request.read", object_type="request", object_id=request.pk)
    return Opened(request=request, payload=payload, messages=entries)


def conversation_for_requester(*, request: Request, reply_key: PrivateKey) -> list[Entry]:
    """The person's view: every message, opened with the key derived from their codename."""
    return [
        Entry(id=m.pk, direction=m.direction, asks_for_info=m.asks_for_info,
              created_at=m.created_at, author="",
              body=intake_crypto.open_sealed(reply_key, bytes(m.for_requester)).decode("utf-8"))
        for m in Message.objects.filter(request=request).order_by("created_at")
    ]
