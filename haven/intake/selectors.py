"""Reads of the intake: the inbox and its groups, one request decrypted for staff, the
conversation of a case's request for its caseworker, likely existing cases, and one
conversation for the person who holds its codename."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Max, Min, OuterRef, Q, QuerySet, Subquery
from nacl.public import PrivateKey

from haven.access import policy
from haven.access.permissions import Perm
from haven.audit.services import record
from haven.cases.models import Case, Member
from haven.core.errors import NotFound
from haven.intake.models import (
    OPEN_STATUSES,
    Direction,
    IntakeKey,
    Message,
    Request,
    RequestGroup,
    Status,
)
from haven.keyring import intake_crypto
from haven.people.models import Person
from haven.people.selectors import person_search


def intake_key_current() -> IntakeKey | None:
    """The intake key of the organization this site takes requests for: the one named by
    ``HAVEN_INTAKE_ORG``, else the only one that exists (none if there are several)."""
    keys = IntakeKey.objects.select_related("organization")
    if settings.HAVEN_INTAKE_ORG:
        return keys.filter(organization__slug=settings.HAVEN_INTAKE_ORG).first()
    found = list(keys[:2])
    return found[0] if len(found) == 1 else None


def request_list(*, user: Any, status: str = "") -> Any:
    """The inbox, most urgent then newest first. By default: open requests that are not in a
    group of alike requests (``group_list`` shows those, one row a group), and accepted ones
    whose person wrote again and waits for an answer."""
    qs = policy.requests_visible_to(user, Request.objects.all())
    if status == "all":
        pass
    elif status in Status.values:
        qs = qs.filter(status=status)
    else:
        qs = qs.filter(Q(status__in=OPEN_STATUSES, group__isnull=True)
                       | Q(status=Status.ACCEPTED, awaiting_staff=True))
    return qs.select_related("case").inbox_order()


def request_get(*, user: Any, pk: UUID | str) -> Request:
    """One request the user may see; any other answers exactly like a missing one."""
    try:
        return policy.requests_visible_to(user, Request.objects.all()).select_related("intake_key", "case").get(pk=pk)
    except (Request.DoesNotExist, ValueError):
        raise NotFound("Not found.") from None


def case_request(*, actor: Any, case: Any) -> Request | None:
    """The request a case was opened from (or linked to), if ``actor`` may follow its
    conversation (``policy.may_follow_request``): the intake team, or those who run the case."""
    # By the case's id and the actor's organization: ``case`` may be a partial view of the
    # case (``policy.Projection``, a partner's), which withholds every other attribute.
    req = (Request.objects.filter(case_id=case.pk, organization_id=actor.organization_id)
           .select_related("intake_key", "case").first())
    if req is None or not policy.may_follow_request(actor, Perm.REQUEST_READ, req):
        return None
    return req


def waiting_messages(*, request: Request) -> int:
    """Messages from the person since staff last answered."""
    return _waiting(Message.objects.filter(request=request)).count()


def _waiting(messages: QuerySet[Message]) -> QuerySet[Message]:
    last_out = (Message.objects.filter(request=OuterRef("request"), direction=Direction.OUT)
                .order_by("-created_at").values("created_at")[:1])
    return (messages.filter(direction=Direction.IN, request__awaiting_staff=True)
            .annotate(last_out=Subquery(last_out))
            .filter(Q(last_out__isnull=True) | Q(created_at__gt=F("last_out"))))


@dataclass(frozen=True)
class Waiting:
    total: int
    cases: list[tuple[Any, int]]  # (case, messages waiting), most waiting first


def waiting_on_my_cases(*, actor: Any, limit: int = 10) -> Waiting:
    """Messages waiting for an answer on requests that became cases the actor runs (a
    caseworker's assigned cases; a coordinator's whole organization): the start page's
    count, and the cases they wait on."""
    if not policy.has_perm(actor, Perm.CASE_UPDATE):
        return Waiting(0, [])
    cases = policy.cases_visible_to(actor, Case.objects.all()).open()
    if not policy.has_perm(actor, Perm.CASE_SUPERVISE):
        cases = cases.filter(assigned_to=actor)
    per_case = list(_waiting(Message.objects.filter(
        request__status=Status.ACCEPTED, request__case__in=cases.values("pk")))
        .values("request__case").annotate(n=Count("pk")).order_by("-n")
        .values_list("request__case", "n"))
    named = Case.objects.in_bulk([case_id for case_id, _n in per_case[:limit]])
    return Waiting(total=sum(n for _c, n in per_case),
                   cases=[(named[c], n) for c, n in per_case[:limit] if c in named])


def waiting_requests_on_my_cases(*, actor: Any, limit: int = 15) -> list[Request]:
    """Conversations on the cases the actor runs (as ``waiting_on_my_cases``) in which the
    person wrote last, the most recent first: what the start page's "Needs action now" list
    shows a caseworker, who has no inbox."""
    if not policy.has_perm(actor, Perm.CASE_UPDATE):
        return []
    cases = policy.cases_visible_to(actor, Case.objects.all()).open()
    if not policy.has_perm(actor, Perm.CASE_SUPERVISE):
        cases = cases.filter(assigned_to=actor)
    return list(Request.objects.filter(status=Status.ACCEPTED, awaiting_staff=True,
                                       case__in=cases.values("pk"))
                .order_by("-updated_at")[:limit])


# --- groups of alike requests ------------------------------------------------------------------


def group_list(*, user: Any) -> Any:
    """Groups with open requests, largest first: each with its count, its most urgent rank and
    its first and last arrival."""
    open_members = Q(requests__status__in=OPEN_STATUSES)
    return (RequestGroup.objects.filter(organization_id=user.organization_id)
            .filter(pk__in=policy.requests_visible_to(user, Request.objects.all())
                    .filter(status__in=OPEN_STATUSES, group__isnull=False).values("group"))
            .annotate(size=Count("requests", filter=open_members),
                      urgency_rank=Min("requests__urgency_rank", filter=open_members),
                      first=Min("requests__created_at", filter=open_members),
                      last=Max("requests__created_at", filter=open_members))
            .order_by("-size", "urgency_rank", "-last"))


def group_get(*, user: Any, pk: UUID | str) -> RequestGroup:
    """One group of the user's organization, if the user may read requests at all."""
    if not policy.has_perm(user, Perm.REQUEST_READ):
        raise NotFound("Not found.")
    try:
        return RequestGroup.objects.get(pk=pk, organization_id=user.organization_id)
    except (RequestGroup.DoesNotExist, ValueError):
        raise NotFound("Not found.") from None


def group_members(*, user: Any, group: RequestGroup) -> Any:
    """The group's open requests, oldest first (the order they arrived in)."""
    return (policy.requests_visible_to(user, Request.objects.all()).filter(group=group, status__in=OPEN_STATUSES)
            .select_related("intake_key").order_by("created_at"))


# --- likely existing people and cases ----------------------------------------------------------

_PHONE_SHAPE = re.compile(r"^[\s+()\-.0-9]{7,32}$")


def phone_in(contact: str) -> str:
    """The contact itself when it is a phone number (digits, spaces, + ( ) - .), else ""."""
    text = contact.strip()
    digits = sum(c.isdigit() for c in text)
    return text if _PHONE_SHAPE.match(text) and digits >= 7 else ""


def visible_case(*, actor: Any, pk: UUID | str) -> Any:
    """An open case the actor may see, or None (what a proposed link may point at)."""
    try:
        return policy.cases_visible_to(actor, Case.objects.all()).open().filter(pk=pk).first()
    except ValueError:
        return None



@dataclass(frozen=True)
class Match:
    case: Any
    by: str  # "name" or "phone"


def likely_existing(*, actor: Any, legal_name: str = "", phone: str = "", limit: int = 5
                    ) -> list[Match]:
    """Open cases the actor may see whose people have exactly this name (every word of it)
    or this phone number in the blind index (``people.selectors.person_search``). A fuzzy
    matcher comes later; this finds the plain retyped duplicate. Only cases visible to the
    actor are named: a search says nothing about people the actor may not see."""
    found: list[Match] = []
    seen: set[Any] = set()
    for by, query in (("phone", phone), ("name", legal_name)):
        if not query.strip():
            continue
        search = person_search(actor, query)
        if search is None:
            continue
        if by == "phone" and search.phone is None:
            continue
        queries = search.queries()
        ids = (queries[-1] if by == "phone" else queries[0])
        people = policy.people_visible_to(actor, Person.objects.all()).filter(pk__in=ids).values("pk")
        cases = (policy.cases_visible_to(actor, Case.objects.all()).open()
                 .filter(pk__in=Member.objects.filter(person__in=people).values("case"))
                 .order_by("-created_at")[:limit])
        for case in cases:
            if case.pk not in seen:
                seen.add(case.pk)
                found.append(Match(case=case, by=by))
    return found[:limit]


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


def payload_open(request: Request, private: PrivateKey | None = None) -> Payload:
    """What the person wrote, decrypted in memory (no audit event: callers that show it to
    someone record the read; ``request_open`` does). Needs an unsealed server."""
    private = private or intake_crypto.org_private_key(request.intake_key)
    raw = json.loads(intake_crypto.open_sealed(private, bytes(request.payload)))
    return Payload(contact=raw["contact"], region=raw["region"], story=raw["story"],
                   urgency=raw["urgency"], language=raw.get("language", ""))


def request_open(*, actor: Any, request: Request) -> Opened:
    """Decrypt a request and its conversation for staff, in memory, and record the reveal.

    Staff of the intake team, or those who run the case it became
    (``policy.may_follow_request``). Needs an unsealed server: the intake private key is
    derived from a keyring data key.
    """
    policy.require_request(actor, Perm.REQUEST_READ, request)
    private = intake_crypto.org_private_key(request.intake_key)
    payload = payload_open(request, private)
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
