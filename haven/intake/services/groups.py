"""Junk that staff remove in bulk: new requests that are nearly the same, or came from one
browser session, are grouped (``requests_screen``), and one decision closes a group
(``request_group_close``). Only the grouping is stored; the similarity is computed in memory
from the decrypted requests, while the server is unsealed (``haven.intake.similarity``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from haven.access import policy
from haven.access.permissions import Perm
from haven.audit.services import record
from haven.core.errors import Conflict, ValidationFailed
from haven.intake import selectors, similarity
from haven.intake.models import OPEN_STATUSES, Request, RequestGroup, Status
from haven.intake.services.staff import close_locked
from haven.keyring import intake_crypto

SCREEN_BATCH = 5000
CLOSE_CHUNK = 500
GROUP_DECISIONS = (Status.SPAM, Status.DUPLICATE, Status.DECLINED)

T = TypeVar("T")


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


@dataclass(frozen=True)
class Screened:
    screened: int
    grouped: int
    groups: int


def _text(req: Request, private: Any) -> str:
    payload = selectors.payload_open(req, private)
    return f"{payload.contact}\n{payload.region}\n{payload.story}"


def requests_screen(*, actor: Any) -> Screened:
    """Compare new requests not yet screened (at most ``SCREEN_BATCH`` a run, oldest first)
    with one another, with one request of each group that still has new requests, and with
    the new requests screened before and left alone; group those alike (``similarity``) or
    sent from one browser session (the same lineage tag).

    Needs an unsealed server (raises ``Sealed``): the requests are decrypted in memory only
    for this comparison; nothing of them but the grouping is written. A request is screened
    once; staff can take it out of a group (``request_ungroup``). One audit event with the
    counts. If someone else screened the same requests meanwhile, nothing is written.
    """
    policy.require(actor, Perm.REQUEST_READ)
    new = policy.requests_visible_to(actor, Request.objects.all()).filter(status=Status.NEW)
    fresh = list(new.filter(screened_at__isnull=True).select_related("intake_key")
                 .order_by("created_at")[:SCREEN_BATCH])
    if not fresh:
        return Screened(0, 0, 0)
    private = intake_crypto.org_private_key(fresh[0].intake_key)
    alone = list(new.filter(screened_at__isnull=False, group__isnull=True, apart=False)
                 .order_by("-created_at")[:SCREEN_BATCH])
    firsts = {g: pk for pk, g in new.filter(group__isnull=False).order_by("-created_at")
              .values_list("pk", "group_id")}
    heads = list(Request.objects.filter(pk__in=list(firsts.values())))
    lineages = {bytes(r.lineage_tag) for r in fresh if r.lineage_tag is not None}
    kin = list(new.filter(screened_at__isnull=False, group__isnull=False,
                          lineage_tag__in=list(lineages)).values_list("group_id", "lineage_tag"))
    group_of = {r.pk: r.group_id for r in heads}
    items: list[similarity.Item[tuple[str, Any]]] = [
        similarity.Item(key=("group", g), sketch=None, lineage=bytes(tag or b""))
        for g, tag in kin]
    for req in (*heads, *alone, *fresh):
        key: tuple[str, Any] = ("group", req.group_id) if req.pk in group_of else ("req", req.pk)
        items.append(similarity.Item(key=key, sketch=similarity.sketch(_text(req, private)),
                                     lineage=bytes(req.lineage_tag) if req.lineage_tag else None))
    clusters = similarity.clusters(items)
    fresh_ids = [r.pk for r in fresh]
    grouped = made = 0
    with transaction.atomic():
        if Request.objects.filter(pk__in=fresh_ids, screened_at__isnull=True).count() != len(
                fresh_ids):
            return Screened(0, 0, 0)
        for cluster in clusters:
            groups = sorted({k[1] for k in cluster if k[0] == "group"}, key=str)
            members = [k[1] for k in cluster if k[0] == "req"]
            if groups:
                target = RequestGroup.objects.filter(pk__in=groups).order_by("created_at").first()
                assert target is not None  # noqa: S101 - the ids came from existing rows
                others = [g for g in groups if g != target.pk]
                if others:
                    Request.objects.filter(group__in=others).update(group=target)
            else:
                target = RequestGroup.objects.create(organization_id=actor.organization_id)
                made += 1
            for chunk in _chunks(members, CLOSE_CHUNK):
                Request.objects.filter(pk__in=chunk).update(group=target)
            grouped += len(members)
        now = timezone.now()
        for chunk in _chunks(fresh_ids, CLOSE_CHUNK):
            Request.objects.filter(pk__in=chunk).update(screened_at=now)
        record(actor=actor, action="requests.screened", object_type="request", data={
            "screened": len(fresh_ids), "grouped": grouped, "groups_made": made})
    return Screened(screened=len(fresh_ids), grouped=grouped, groups=made)


def request_group_close(*, actor: Any, group: RequestGroup, to: str, seen_until: datetime
                        ) -> int:
    """Close every open request of a group as spam, duplicate or declined — one decision.

    Only the requests that had arrived when the deciding person looked (``seen_until``, the
    newest arrival shown to them) are closed: one that joined the group since is left for
    another look. Each request moves as ``request_transition`` would move it and gets its own
    ``request.transitioned`` event naming the group; the decision itself is one
    ``request_group.closed`` event. Written in chunks, so a flood's ten thousand requests do
    not hold the database's write lock (and new requests) for seconds. Returns how many
    were closed.
    """
    policy.require(actor, Perm.REQUEST_TRIAGE, group)
    if to not in GROUP_DECISIONS:
        raise ValidationFailed(_("Choose spam, duplicate or declined."),
                               fields={"to": [_("Choose spam, duplicate or declined.")]})
    ids = list(Request.objects.filter(group=group, status__in=OPEN_STATUSES,
                                      created_at__lte=seen_until).values_list("pk", flat=True))
    if not ids:
        raise Conflict(_("This group has no open request left to close; nothing was changed."))
    closed = 0
    for chunk in _chunks(ids, CLOSE_CHUNK):
        with transaction.atomic():
            for req in Request.objects.select_for_update().filter(
                    pk__in=chunk, group=group, status__in=OPEN_STATUSES):
                close_locked(actor=actor, req=req, to=to, data={"group": str(group.pk)})
                closed += 1
    with transaction.atomic():
        RequestGroup.objects.filter(pk=group.pk).update(decided_at=timezone.now(),
                                                        decided_by=actor, decided_to=to)
        record(actor=actor, action="request_group.closed", object_type="request_group",
               object_id=group.pk, data={"to": to, "requests": closed})
    return closed


def request_ungroup(*, actor: Any, request: Request) -> Request:
    """Take a request out of its group (it is not like the others): it stays in the inbox on
    its own and is not grouped again by the text that grouped it."""
    policy.require(actor, Perm.REQUEST_TRIAGE, request)
    with transaction.atomic():
        req = Request.objects.select_for_update().get(pk=request.pk)
        if req.group_id is None:
            raise Conflict(_("This request is not in a group; nothing was changed."))
        group: UUID = req.group_id
        req.group = None
        req.apart = True
        req.save(update_fields=["group", "apart", "updated_at"])
        record(actor=actor, action="request.ungrouped", object_type="request",
               object_id=req.pk, data={"group": str(group)})
    return req
