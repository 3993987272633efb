"""Writing to and checking the audit chain."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from haven.access import policy
from haven.access.permissions import Perm
from haven.audit.models import AuditEvent, AuditHead
from haven.core import request_context

GENESIS = "0" * 64
_SCALARS = (str, int, float, bool, type(None))


def _check_data(data: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in data.items():
        if not isinstance(key, str) or not isinstance(value, (*_SCALARS, list)):
            raise TypeError(f"audit data must be flat scalars or lists, got {key!r}")
    return dict(data)


def event_hash(
    *,
    seq: int,
    at: datetime,
    actor_id: str,
    organization_id: str,
    action: str,
    object_type: str,
    object_id: str,
    request_id: str,
    data: Mapping[str, Any],
    prev_hash: str,
) -> str:
    """SHA-256 over a canonical JSON of the event and the previous hash.

    Plain SHA-256 (not a keyed MAC) so that anyone holding the log can check it.
    """
    body = json.dumps(
        [
            seq,
            at.astimezone(UTC).isoformat(timespec="microseconds"),
            actor_id,
            organization_id,
            action,
            object_type,
            object_id,
            request_id,
            data,
            prev_hash,
        ],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )
    return hashlib.sha256(body.encode("ascii")).hexdigest()


def record(
    *,
    actor: Any,
    action: str,
    object_type: str = "",
    object_id: object = "",
    organization_id: object = "",
    data: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain, in the caller's transaction.

    Called by services inside the same ``transaction.atomic`` as the write it records, so
    the write and its event commit together or not at all. ``data`` must carry ids and
    states only, never a name, contact, location or story.
    """
    actor_id = str(getattr(actor, "pk", "") or "") if actor is not None else ""
    if not organization_id and actor is not None:
        organization_id = getattr(actor, "organization_id", "") or ""
    payload = _check_data(data or {})
    with transaction.atomic():
        head, _ = AuditHead.objects.select_for_update().get_or_create(
            id=1, defaults={"seq": 0, "hash": GENESIS}
        )
        seq = head.seq + 1
        at = timezone.now()
        fields: dict[str, Any] = {
            "seq": seq,
            "at": at,
            "actor_id": actor_id,
            "organization_id": str(organization_id or ""),
            "action": action,
            "object_type": object_type,
            "object_id": str(object_id or ""),
            "request_id": request_context.request_id.get(),
            "data": payload,
            "prev_hash": head.hash,
        }
        digest = event_hash(**fields)
        event = AuditEvent.objects.create(hash=digest, **fields)
        head.seq = seq
        head.hash = digest
        head.save(update_fields=["seq", "hash"])
    return event


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    bad_seq: int | None = None
    reason: str = ""


def _events() -> Iterator[AuditEvent]:
    return AuditEvent.objects.order_by("seq").iterator(chunk_size=2000)


def verify() -> VerifyResult:
    """Recompute the whole chain; report the first event that does not fit.

    Detects a changed event (its hash no longer matches), a deleted or inserted one
    (a gap in the sequence or a broken link), a reordering (broken links), and a chain
    whose recorded head does not match its last event (the tail was cut off).
    """
    prev = GENESIS
    expected_seq = 1
    checked = 0
    for ev in _events():
        if ev.seq != expected_seq:
            return VerifyResult(False, checked, expected_seq - 1, prev, ev.seq,
                                f"event #{ev.seq} follows #{expected_seq - 1}: "
                                f"event #{expected_seq} is missing or was inserted")
        if ev.prev_hash != prev:
            return VerifyResult(False, checked, ev.seq - 1, prev, ev.seq,
                                f"event #{ev.seq} does not link to the event before it "
                                "(an event was removed, inserted or moved)")
        recomputed = event_hash(
            seq=ev.seq, at=ev.at, actor_id=ev.actor_id, organization_id=ev.organization_id,
            action=ev.action, object_type=ev.object_type, object_id=ev.object_id,
            request_id=ev.request_id, data=ev.data, prev_hash=ev.prev_hash,
        )
        if recomputed != ev.hash:
            return VerifyResult(False, checked, ev.seq - 1, prev, ev.seq,
                                f"event #{ev.seq} was changed after it was written")
        prev = ev.hash
        expected_seq += 1
        checked += 1
    head = AuditHead.objects.filter(id=1).first()
    last_seq = expected_seq - 1
    if head is not None and (head.seq != last_seq or head.hash != prev):
        return VerifyResult(False, checked, last_seq, prev, last_seq + 1,
                            f"the chain ends at #{last_seq} but its head says #{head.seq}: "
                            "events at the end were removed")
    return VerifyResult(True, checked, last_seq, prev)


def verify_as(*, actor: Any) -> VerifyResult:
    """Verify the chain on a staff member's request, and record that it was checked."""
    policy.require(actor, Perm.AUDIT_VERIFY)
    result = verify()
    with transaction.atomic():
        record(actor=actor, action="audit.verified", data={
            "ok": result.ok, "checked": result.checked, "bad_seq": result.bad_seq})
    return result


def head_matches(*, seq: int, digest: str) -> bool:
    """Does the chain hold event ``seq`` with hash ``digest``? Catches a rewritten or cut log
    against a head noted earlier outside the server (printed by `haven audit head`)."""
    return AuditEvent.objects.filter(seq=seq, hash=digest).exists()
