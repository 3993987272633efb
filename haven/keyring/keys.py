"""Data keys and blind indexes, as workers use them.

A worker never holds a master key or KEK. It reads wrapped keys from the database and asks
the agent to unwrap the data keys it needs for the current request; the unwrapped key is
kept on the model instance that needs it and dies with it (no cross-request cache), so a
seal stops every worker at its next call. Reads that race a rotation (a row read just before
the old master key was dropped) are retried with fresh rows, so no read fails.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from django.db.models import Model

from haven.core.errors import HavenError, NotFound
from haven.keyring import client
from haven.keyring.agent import b64d, b64e
from haven.keyring.models import DataKey, Kek, KeySet, KeySetState

DK_ATTR = "_haven_data_key"
STALE_RETRIES = 5
T = TypeVar("T")
Owner = tuple[str, str]


class KeyDestroyed(HavenError):
    """The record's data key no longer exists: the person was erased (crypto-shredded)."""

    status = 410
    code = "erased"


class NotInitialised(HavenError):
    status = 503
    code = "no_keys"


def kek_aad(kek_id: object) -> str:
    return f"haven/kek/v1|{kek_id}"


def index_key_aad(keyset_id: object) -> str:
    return f"haven/index-key/v1|{keyset_id}"


def backup_key_aad(keyset_id: object) -> str:
    return f"haven/backup-key/v1|{keyset_id}"


def dk_aad(owner: Owner) -> str:
    return f"haven/data-key/v1|{owner[0]}|{owner[1]}"


def kek_ref(kek: Kek) -> dict[str, str]:
    return {"keyset": str(kek.keyset_id), "wrapped": b64e(bytes(kek.wrapped)),
            "aad": kek_aad(kek.pk)}


def index_ref(keyset: KeySet) -> dict[str, str]:
    return {"keyset": str(keyset.pk), "wrapped": b64e(bytes(keyset.index_key)),
            "aad": index_key_aad(keyset.pk)}


def backup_ref(keyset: KeySet) -> dict[str, str]:
    return {"keyset": str(keyset.pk), "wrapped": b64e(bytes(keyset.backup_key)),
            "aad": backup_key_aad(keyset.pk)}


def owner_of(instance: Model) -> Owner:
    """Whose data key protects ``instance``: ``instance.keyring_owner()`` or the row itself."""
    get_owner: Callable[[], Owner] | None = getattr(instance, "keyring_owner", None)
    if get_owner is not None:
        return get_owner()
    return instance._meta.label_lower, str(instance.pk)


def active_keyset() -> KeySet:
    keyset = KeySet.objects.filter(state=KeySetState.ACTIVE).first()
    if keyset is None:
        raise NotInitialised("Haven has no keys yet: an operator must run `haven keys init`.")
    return keyset


def active_kek() -> Kek:
    kek = Kek.objects.filter(active=True).select_related("keyset").order_by("-created_at").first()
    if kek is None:
        raise NotInitialised("Haven has no keys yet: an operator must run `haven keys init`.")
    return kek


def _retrying(fn: Callable[[], T]) -> T:
    """Run ``fn`` again (it re-reads its rows) if the agent says a key set was just retired."""
    for attempt in range(STALE_RETRIES):
        try:
            return fn()
        except client.KeyringError as exc:
            if exc.code != "stale_keyset" or attempt == STALE_RETRIES - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def data_key_create(instance: Model) -> bytes:
    """Make the data key for ``instance``'s owner, store it wrapped, and attach it.

    Called by services inside their transaction, before the first encrypted field is saved.
    """
    owner = owner_of(instance)

    def attempt() -> bytes:
        kek = active_kek()
        made = client.call("new_dks", kek=kek_ref(kek), aads=[dk_aad(owner)])["keys"][0]
        DataKey.objects.create(owner_type=owner[0], owner_id=owner[1], kek=kek,
                               wrapped=b64d(made["wrapped"]))
        return b64d(made["key"])

    key = _retrying(attempt)
    setattr(instance, DK_ATTR, key)
    return key


def _unwrap(owners: Sequence[Owner]) -> dict[Owner, bytes]:
    def attempt() -> dict[Owner, bytes]:
        by_type: dict[str, list[str]] = {}
        for owner_type, owner_id in owners:
            by_type.setdefault(owner_type, []).append(owner_id)
        keks: list[dict[str, str]] = []
        kek_index: dict[Any, int] = {}
        items: list[list[Any]] = []
        order: list[Owner] = []
        for owner_type, ids in by_type.items():
            # One query, plain tuples: a page of 50 people costs no model instances here.
            rows = DataKey.objects.filter(owner_type=owner_type, owner_id__in=ids).values_list(
                "owner_id", "wrapped", "kek_id", "kek__keyset_id", "kek__wrapped")
            for row_owner, wrapped, kek_id, keyset_id, kek_wrapped in rows:
                if kek_id not in kek_index:
                    kek_index[kek_id] = len(keks)
                    keks.append({"keyset": str(keyset_id), "wrapped": b64e(bytes(kek_wrapped)),
                                 "aad": kek_aad(kek_id)})
                owner = (owner_type, str(row_owner))
                items.append([kek_index[kek_id], b64e(bytes(wrapped)), dk_aad(owner)])
                order.append(owner)
        if not items:
            return {}
        keys = client.call("unwrap_dks", keks=keks, items=items)["keys"]
        return {owner: b64d(k) for owner, k in zip(order, keys, strict=True)}

    return _retrying(attempt)


def data_key_for(instance: Model) -> bytes:
    """The unwrapped data key for ``instance`` (fetched once per instance)."""
    key: bytes | None = getattr(instance, DK_ATTR, None)
    if key is not None:
        return key
    owner = owner_of(instance)
    key = _unwrap([owner]).get(owner)
    if key is None:
        raise KeyDestroyed("This record's key was destroyed (the person was erased); "
                           "its data can no longer be read.")
    setattr(instance, DK_ATTR, key)
    return key


def prefetch(instances: Iterable[Model]) -> None:
    """Unwrap the data keys of many instances in one query and one agent round trip.

    Lists call this before rendering so that a page of 50 people costs one unwrap call,
    not 50. Instances whose key was destroyed are left without a key (reading them raises).
    """
    from haven.keyring.fields import bench_plaintext

    if bench_plaintext():
        return
    pending: dict[Owner, list[Model]] = {}
    for instance in instances:
        if getattr(instance, DK_ATTR, None) is None:
            pending.setdefault(owner_of(instance), []).append(instance)
    if not pending:
        return
    keys = _unwrap(list(pending))
    for owner, group in pending.items():
        key = keys.get(owner)
        if key is not None:
            for instance in group:
                setattr(instance, DK_ATTR, key)


def blind_indexes(context: str, values: Sequence[str]) -> list[bytes]:
    """HMAC-SHA256 digests of normalized ``values``, computed by the agent under a key
    derived for ``context`` (an organization and a field kind), so equal values in two
    organizations or two fields do not share a digest."""
    if not values:
        return []

    def attempt() -> list[bytes]:
        keyset = active_keyset()
        digests = client.call("blind_index", key=index_ref(keyset), context=context,
                              values=list(values))["digests"]
        return [bytes.fromhex(d) for d in digests]

    return _retrying(attempt)


def data_key_destroy(owner: Owner) -> bool:
    """Delete one owner's data key row; True if there was one. (Callers then re-wrap.)"""
    deleted, _ = DataKey.objects.filter(owner_type=owner[0], owner_id=owner[1]).delete()
    return deleted > 0


def rewrap(rows: Sequence[DataKey], to: Kek) -> None:
    """Re-wrap ``rows`` under KEK ``to`` inside the agent and save them one by one."""
    if not rows:
        return
    keks: list[dict[str, str]] = []
    kek_index: dict[Any, int] = {}
    items: list[list[Any]] = []
    for row in rows:
        if row.kek_id not in kek_index:
            kek_index[row.kek_id] = len(keks)
            keks.append(kek_ref(row.kek))
        items.append([kek_index[row.kek_id], b64e(bytes(row.wrapped)),
                      dk_aad((row.owner_type, str(row.owner_id)))])
    wrapped = client.call("rewrap_dks", keks=keks, to=kek_ref(to), items=items)["wrapped"]
    for row, new in zip(rows, wrapped, strict=True):
        DataKey.objects.filter(pk=row.pk).update(kek=to, wrapped=b64d(new))


def require_owner_key(owner: Owner) -> None:
    """Raise NotFound unless a data key exists for ``owner`` (used before streaming a file)."""
    if not DataKey.objects.filter(owner_type=owner[0], owner_id=owner[1]).exists():
        raise NotFound("Not found.")
