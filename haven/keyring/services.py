"""Keyring operations: create keys, unseal, seal, rotate, shred.

``actor=None`` means the command line: an operator with a shell on the server already has
everything a role could grant, so only web callers are checked against the policy.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from haven.access import policy
from haven.access.permissions import Perm
from haven.audit.services import record
from haven.core.errors import Conflict, HavenError, Sealed, ValidationFailed
from haven.keyring import client, keys
from haven.keyring.models import DataKey, Kek, KeySet, KeySetState, UnsealLockout
from haven.keyring.protocol import b64d, b64e

REWRAP_BATCH = 200
SHARE_REFUSALS = {"invalid_share", "foreign_share", "duplicate_share", "wrong_shares"}


class ShareRefused(HavenError):
    """A share was not accepted; the message says why, for the coordinator typing it."""

    status = 400
    code = "share_refused"


class UnsealLocked(HavenError):
    status = 429
    code = "locked"


@dataclass(frozen=True)
class UnsealProgress:
    received: int
    threshold: int
    unsealed: bool


def _check_split(shares: int, threshold: int) -> None:
    if not 2 <= threshold <= shares <= 16:
        raise ValidationFailed(
            "Choose 2 to 16 shares and a threshold from 2 up to the number of shares, so that "
            "no single person can unseal the server alone.",
            fields={"threshold": ["must be between 2 and the number of shares (at most 16)"]},
        )


def keys_init(*, actor: Any, shares: int, threshold: int) -> list[str]:
    """Create the master key, split it into SLIP-39 shares, and store only wrapped keys.

    Runs in the calling process with an in-process agent that is discarded when this
    returns: the master key is never written anywhere, and the server starts sealed.
    Refuses when keys already exist, so an accident cannot orphan every encrypted record.
    """
    if actor is not None:
        policy.require(actor, Perm.KEYS_ROTATE)
    _check_split(shares, threshold)
    if KeySet.objects.exists():
        raise Conflict("Keys already exist. Use `haven keys rotate` to replace them.")
    keyset_id, kek_id = uuid.uuid4(), uuid.uuid4()
    with client.using(client.LocalTransport()):
        made = client.call("init", keyset=str(keyset_id), shares=shares, threshold=threshold)
        index_key = client.call("wrap_new", keyset=str(keyset_id),
                                aad=keys.index_key_aad(keyset_id))["wrapped"]
        backup_key = client.call("wrap_new", keyset=str(keyset_id),
                                 aad=keys.backup_key_aad(keyset_id))["wrapped"]
        kek = client.call("wrap_new", keyset=str(keyset_id), aad=keys.kek_aad(kek_id))["wrapped"]
        client.call("seal")
    with transaction.atomic():
        keyset = KeySet.objects.create(
            id=keyset_id, state=KeySetState.ACTIVE, identifier=made["identifier"],
            threshold=threshold, shares=shares, verifier=b64d(made["verifier"]),
            index_key=b64d(index_key), backup_key=b64d(backup_key))
        Kek.objects.create(id=kek_id, keyset=keyset, wrapped=b64d(kek), active=True)
        record(actor=actor, action="keys.initialised", object_type="keyset", object_id=keyset.pk,
               data={"shares": shares, "threshold": threshold})
    return list(made["mnemonics"])


# --- unseal / seal -------------------------------------------------------------------------------


def _lock_key(actor: Any) -> str:
    return f"user:{actor.pk}" if actor is not None else "cli"


def _register_refusal(actor: Any, reason: str) -> None:
    with transaction.atomic():
        row, _ = UnsealLockout.objects.select_for_update().get_or_create(key=_lock_key(actor))
        row.failures += 1
        locked = row.failures >= settings.HAVEN_LOCKOUT_THRESHOLD
        if locked:
            row.locked_until = timezone.now() + timedelta(minutes=settings.HAVEN_LOCKOUT_MINUTES)
            row.failures = 0
        row.save()
        record(actor=actor, action="keys.share_refused", object_type="keyset",
               data={"reason": reason, "locked": locked})


def unseal_submit_share(*, actor: Any, share: str) -> UnsealProgress:
    """Give one SLIP-39 share to the key agent; at K valid shares the server is unsealed.

    A misspelt, duplicate or foreign share, or a full set that does not open the stored
    verifier, is refused with a message saying which, and counts toward a lockout of the
    account (or of the command line) — shares are long secrets, but a lockout still stops a
    stolen coordinator session from guessing or from disrupting an unseal in progress.
    """
    if actor is not None:
        policy.require(actor, Perm.KEYS_UNSEAL)
    lock = UnsealLockout.objects.filter(key=_lock_key(actor)).first()
    if lock is not None and lock.locked_until and lock.locked_until > timezone.now():
        raise UnsealLocked(
            "Too many refused shares: unsealing from this account is locked until "
            f"{timezone.localtime(lock.locked_until):%H:%M} UTC.")
    keyset = keys.active_keyset()
    if not share.strip():
        raise ValidationFailed("Type a share: its words separated by spaces.")
    client.ensure_agent()
    try:
        result = client.call("submit_share", keyset=str(keyset.pk), identifier=keyset.identifier,
                             threshold=keyset.threshold, verifier=b64e(bytes(keyset.verifier)),
                             share=share)
    except client.KeyringError as exc:
        if exc.code == "already_unsealed":
            raise Conflict("The server is already unsealed.") from None
        if exc.code in SHARE_REFUSALS:
            _register_refusal(actor, exc.code)
            raise ShareRefused(exc.message) from None
        raise
    unsealed = result["result"] == "unsealed"
    with transaction.atomic():
        UnsealLockout.objects.filter(key=_lock_key(actor)).update(failures=0, locked_until=None)
        record(actor=actor, action="keys.unsealed" if unsealed else "keys.share_accepted",
               object_type="keyset", object_id=keyset.pk,
               data={"received": result["received"], "threshold": result["threshold"]})
    return UnsealProgress(result["received"], result["threshold"], unsealed)


def seal(*, actor: Any) -> bool:
    """Seal now: the key agent overwrites its keys and exits; every worker's next call fails.

    Recorded first (the audit log needs no key), then the agent is told. Returns False if
    no agent was running (already sealed).
    """
    if actor is not None:
        policy.require(actor, Perm.KEYS_SEAL)
    with transaction.atomic():
        record(actor=actor, action="keys.sealed", object_type="keyset")
    keys.cache.clear()  # other workers: at their next call, or by their cache watcher
    try:
        client.call("seal")
    except Sealed:
        return False
    return True


# --- rotation ------------------------------------------------------------------------------------


def keys_rotate(*, actor: Any, shares: int, threshold: int,
                on_shares: Callable[[list[str]], None]) -> int:
    """Replace the master key and the KEK while the server serves; returns keys re-wrapped.

    The running agent makes the new master key and holds old and new together, so every
    data key stays readable throughout: each row is re-wrapped in its own small
    transaction, and a reader that raced the final switch retries with fresh rows. The new
    shares are handed to ``on_shares`` before anything depends on them; until the final
    switch commits, the old shares still unseal. When the agent forgets the old master key its
    generation changes, so every worker drops the data keys it had cached.
    """
    if actor is not None:
        policy.require(actor, Perm.KEYS_ROTATE)
    _check_split(shares, threshold)
    if KeySet.objects.filter(state=KeySetState.PENDING).exists():
        raise Conflict("A rotation is already running (or was interrupted: see docs/keyring.md).")
    old = keys.active_keyset()
    status = client.status()
    if status is None or str(old.pk) not in status.get("keysets", []):
        raise Sealed(client.SEALED_MESSAGE)
    new_id, kek_id = uuid.uuid4(), uuid.uuid4()
    made = client.call("init", keyset=str(new_id), shares=shares, threshold=threshold)

    def moved(ref: dict[str, str], aad: str) -> bytes:
        return b64d(client.call("rewrap_master", to_keyset=str(new_id), to_aad=aad,
                                **{"from": ref})["wrapped"])

    with transaction.atomic():
        new = KeySet.objects.create(
            id=new_id, state=KeySetState.PENDING, identifier=made["identifier"],
            threshold=threshold, shares=shares, verifier=b64d(made["verifier"]),
            index_key=moved(keys.index_ref(old), keys.index_key_aad(new_id)),
            backup_key=moved(keys.backup_ref(old), keys.backup_key_aad(new_id)))
        wrapped = client.call("wrap_new", keyset=str(new_id), aad=keys.kek_aad(kek_id))["wrapped"]
        Kek.objects.filter(active=True).update(active=False)
        kek = Kek.objects.create(id=kek_id, keyset=new, wrapped=b64d(wrapped), active=True)
        record(actor=actor, action="keys.rotation_started", object_type="keyset", object_id=new.pk)
    on_shares(list(made["mnemonics"]))
    total = 0
    while True:
        with transaction.atomic():
            batch = list(DataKey.objects.exclude(kek=kek).select_related("kek")[:REWRAP_BATCH])
            keys.rewrap(batch, kek)
        total += len(batch)
        if len(batch) < REWRAP_BATCH:
            break
    with transaction.atomic():
        rest = list(DataKey.objects.exclude(kek=kek).select_related("kek"))
        keys.rewrap(rest, kek)
        total += len(rest)
        Kek.objects.exclude(pk=kek.pk).delete()
        KeySet.objects.filter(pk=old.pk).delete()
        KeySet.objects.filter(pk=new.pk).update(state=KeySetState.ACTIVE)
        record(actor=actor, action="keys.rotated", object_type="keyset", object_id=new.pk,
               data={"rewrapped": total, "shares": shares, "threshold": threshold})
        transaction.on_commit(_after_key_change)
    client.call("forget", keyset=str(old.pk))
    return total


# --- crypto-shredding ----------------------------------------------------------------------------


def shred(*, owner: keys.Owner) -> None:
    """Destroy ``owner``'s data key, and replace the KEK that wrapped it.

    Must run inside the caller's transaction (``person_erase``). Every other data key is
    re-wrapped under a new KEK and the old KEK is deleted, so a copy of the key table taken
    earlier (a stale keystore file, free pages of the database) no longer opens anything
    without the destroyed KEK. After commit the write-ahead log is truncated and the
    keystore file rewritten, leaving no live copy of the old keys in the data folder.

    Worker key caches: the agent is told before anything changes (``shred_begin``: new
    generation, no caching anywhere until the end) and again right after commit
    (``shred_end``: new generation), so no worker keeps this owner's key — not even one
    unwrapped from rows read just before the commit. If this process dies between commit
    and ``shred_end``, caching stays off until the agent's pending-erase timeout.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("shred() must run inside the erasing service's transaction")
    if KeySet.objects.filter(state=KeySetState.PENDING).exists():
        raise Conflict("A key rotation is running; erase the person again when it has finished.")
    token = str(client.call("shred_begin")["token"])
    transaction.on_commit(lambda: _shred_end(token))
    keys.cache.discard(owner)
    keys.data_key_destroy(owner)
    keyset = keys.active_keyset()
    kek_id = uuid.uuid4()
    wrapped = client.call("wrap_new", keyset=str(keyset.pk), aad=keys.kek_aad(kek_id))["wrapped"]
    Kek.objects.update(active=False)
    kek = Kek.objects.create(id=kek_id, keyset=keyset, wrapped=b64d(wrapped), active=True)
    rows = list(DataKey.objects.exclude(kek=kek).select_related("kek"))
    for start in range(0, len(rows), REWRAP_BATCH):
        keys.rewrap(rows[start : start + REWRAP_BATCH], kek)
        client.call("shred_begin", token=token)  # still running: keep caches off
    Kek.objects.exclude(pk=kek.pk).delete()
    transaction.on_commit(_after_key_change)


def _shred_end(token: str) -> None:
    """After an erase commits: a new agent generation, so every worker's cache starts over."""
    keys.cache.clear()
    with contextlib.suppress(Sealed, client.KeyringError):  # sealed: no cache is usable anyway
        client.call("shred_end", token=token)


def _after_key_change() -> None:
    """Push deleted key rows out of the WAL and refresh the keystore file."""
    if connection.vendor == "sqlite" and not connection.in_atomic_block:
        # Best effort: a busy reader makes the checkpoint partial; the next one completes it.
        with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    keystore_export()


# --- keystore ------------------------------------------------------------------------------------


def keystore_path() -> Path:
    return Path(settings.BACKUP_DIR) / "keystore.json"


def keystore_snapshot() -> dict[str, Any]:
    """All key material, wrapped as stored: what a restore needs besides a data archive."""
    return {
        "format": "haven-keystore-1",
        "keysets": [
            {"id": str(k.pk), "state": k.state, "identifier": k.identifier,
             "threshold": k.threshold, "shares": k.shares, "verifier": b64e(bytes(k.verifier)),
             "index_key": b64e(bytes(k.index_key)), "backup_key": b64e(bytes(k.backup_key)),
             "created_at": k.created_at.isoformat(), "updated_at": k.updated_at.isoformat()}
            for k in KeySet.objects.order_by("pk")
        ],
        "keks": [
            {"id": str(k.pk), "keyset": str(k.keyset_id), "wrapped": b64e(bytes(k.wrapped)),
             "active": k.active, "created_at": k.created_at.isoformat(),
             "updated_at": k.updated_at.isoformat()}
            for k in Kek.objects.order_by("pk")
        ],
        "data_keys": [
            {"id": str(d.pk), "owner_type": d.owner_type, "owner_id": str(d.owner_id),
             "kek": str(d.kek_id), "wrapped": b64e(bytes(d.wrapped)),
             "created_at": d.created_at.isoformat(), "updated_at": d.updated_at.isoformat()}
            for d in DataKey.objects.order_by("pk")
        ],
    }


def keystore_export(path: Path | None = None) -> Path:
    """Write the keystore file atomically, replacing the previous one (never versioned).

    Its keys are all wrapped (under the master key or a KEK), so it is safe to keep next to
    backups; it must be *replaced*, not accumulated, or a kept old copy would undo shredding.
    """
    target = path or keystore_path()
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    body = json.dumps(keystore_snapshot(), indent=1, sort_keys=True).encode()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, body)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, target)
    with contextlib.suppress(OSError):
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return target
