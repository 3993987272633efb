"""Data keys and blind indexes, as workers use them.

A worker never holds a master key or KEK. It reads wrapped keys from the database and asks
the agent to unwrap the data keys it needs; the unwrapped key is put on the model instance
that needs it. Reads that race a rotation (a row read just before the old master key was
dropped) are retried with fresh rows, so no read fails.

Between requests a worker keeps recently unwrapped data keys in a small cache
(``KeyCache``), so a list shown again costs no database query and no unwrapping. A cached
key is only used right after reading the agent's published generation (its shared page, no
round trip) and finding the one the key was cached under: a seal, a rotation or an erase
anywhere makes every worker's cached keys unusable at their next use, and a watcher thread
wipes them within ``WATCH_INTERVAL`` even in a worker that gets no request. Cached keys
serve reads only: a key used to write or to encrypt a file is always unwrapped from its row.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from django.conf import settings
from django.db.models import Model

from haven.core.errors import HavenError, NotFound, Sealed
from haven.keyring import client, crypto
from haven.keyring.models import DataKey, Kek, KeySet, KeySetState
from haven.keyring.protocol import b64d, b64e

DK_ATTR = "_haven_data_key"
AEAD_ATTR = "_haven_aead"
CACHED_ATTR = "_haven_key_cached"  # the key came from the worker cache (see refresh)
STALE_RETRIES = 5
WATCH_INTERVAL = 0.5  # seconds between a worker's checks that its cached keys are still good
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


Unwrapped = tuple[bytes, crypto.AeadKey]  # a data key and its cipher, set up once


class KeyCache:
    """Unwrapped data keys a worker keeps between requests: bounded in number and age, and
    only usable under the agent generation they were unwrapped in.

    The rule that makes it safe: a caller first reads the agent's generation (``generation``:
    the agent's shared page, no round trip) and only then reads wrapped keys from the
    database for what the cache lacks, and caches them under that generation. The agent changes its generation
    at unseal, when a rotation ends, and before and after every erase (and allows no caching
    while an erase runs), so a key cached from rows read before an erase committed is never
    served after it. Sealed — no agent, or an agent without keys — wipes the cache and raises
    ``Sealed``. Keys are held in ``bytearray`` and overwritten when dropped (a courtesy:
    CPython may have copied them); callers get their own ``bytes`` copy, so dropping an
    entry never breaks a request that is using the key.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[Owner, tuple[bytearray, crypto.AeadKey, float]] = OrderedDict()
        self._generation: int | None = None
        self._pid = os.getpid()
        self._watcher: threading.Thread | None = None

    @staticmethod
    def enabled() -> bool:
        return bool(settings.HAVEN_KEY_CACHE_SECONDS > 0 and settings.HAVEN_KEY_CACHE_SIZE > 0)

    def __len__(self) -> int:
        with self._lock:
            self._after_fork()
            return len(self._entries)

    def _after_fork(self) -> None:
        # A forked process starts with a copy of its parent's cache and no watcher thread.
        if self._pid != os.getpid():
            self._wipe()
            self._pid, self._watcher = os.getpid(), None

    def _drop(self, owner: Owner) -> None:
        """Overwrite and forget one entry; the caller holds the lock."""
        key = self._entries.pop(owner)[0]
        key[:] = bytes(len(key))

    def _wipe(self) -> None:
        for owner in list(self._entries):
            self._drop(owner)
        self._generation = None

    def clear(self) -> None:
        """Overwrite and forget every cached key (seal, erase)."""
        with self._lock:
            self._wipe()

    def discard(self, owner: Owner) -> None:
        with self._lock:
            if owner in self._entries:
                self._drop(owner)

    def generation(self) -> int | None:
        """Whether cached keys may be used now: the agent's generation, or None (sealed,
        or an erase is running). A changed generation wipes the cache; no agent raises
        Sealed. Reads the agent's shared page: no round trip."""
        published = client.generation()
        if published is None:
            self.clear()
            raise Sealed(client.SEALED_MESSAGE)
        with self._lock:
            self._after_fork()
            if published != self._generation:
                self._wipe()
                self._generation = published
        return published or None

    def get(self, owners: Iterable[Owner], generation: int | None) -> dict[Owner, Unwrapped]:
        """The cached keys of ``owners`` if ``generation`` (just asked) is still the cache's."""
        found: dict[Owner, Unwrapped] = {}
        now = time.monotonic()
        with self._lock:
            if generation is None or generation != self._generation:
                return found
            for owner in owners:
                entry = self._entries.get(owner)
                if entry is None:
                    continue
                if entry[2] <= now:
                    self._drop(owner)
                    continue
                self._entries.move_to_end(owner)
                found[owner] = (bytes(entry[0]), entry[1])
        return found

    def put(self, fresh: dict[Owner, Unwrapped], generation: int | None) -> None:
        """Keep ``fresh`` keys, read after ``generation`` was asked, unless it changed since."""
        if generation is None or not fresh:
            return
        expires, limit = time.monotonic() + settings.HAVEN_KEY_CACHE_SECONDS, settings.HAVEN_KEY_CACHE_SIZE
        with self._lock:
            if generation != self._generation:
                return  # the agent moved on while we were unwrapping: do not keep these
            for owner, (key, aead) in fresh.items():
                if owner in self._entries:
                    self._drop(owner)
                self._entries[owner] = (bytearray(key), aead, expires)
            while len(self._entries) > limit:
                self._drop(next(iter(self._entries)))
            self._start_watcher()

    def _start_watcher(self) -> None:
        if self._watcher is not None or not isinstance(client.transport(), client.SocketTransport):
            return  # an in-process agent (tests, commands) is sealed in this very process
        agent = client.SocketTransport(client.socket_path())
        self._watcher = threading.Thread(target=self._watch, args=(agent,), daemon=True,
                                         name="haven-key-cache")
        self._watcher.start()

    def _watch(self, agent: client.SocketTransport) -> None:
        """While anything is cached: drop expired keys, and wipe everything as soon as the
        agent is sealed or gone or its generation changed, even if no request comes."""
        while True:
            time.sleep(WATCH_INTERVAL)
            try:
                status: dict[str, Any] | None = agent.call({"op": "status"})
            except Exception:  # noqa: BLE001 - whatever failed, the safe answer is to wipe
                status = None
            now = time.monotonic()
            with self._lock:
                if status is None or status.get("generation") != self._generation:
                    self._wipe()
                for owner in [o for o, entry in self._entries.items() if entry[2] <= now]:
                    self._drop(owner)
                if not self._entries:
                    self._watcher = None
                    return


cache = KeyCache()


def _keys_for(owners: Sequence[Owner], *, cached: bool
              ) -> tuple[dict[Owner, Unwrapped], set[Owner]]:
    """Data keys of ``owners``, and which of them came from the cache.

    With ``cached``, keys come from the cache when the agent confirms it is still good; the
    rest (all of them without ``cached``) from the database and one agent round trip, and
    are then cached."""
    if not cache.enabled():
        return {owner: (key, crypto.AeadKey(key)) for owner, key in _unwrap(owners).items()}, set()
    generation = cache.generation()  # before reading any wrapped key from the database
    found = cache.get(owners, generation) if cached else {}
    hits = set(found)
    missing = [owner for owner in owners if owner not in found]
    if missing:
        try:
            unwrapped = _unwrap(missing)
        except Sealed:  # the agent is gone (killed, or sealed just now): keep nothing
            cache.clear()
            raise
        fresh = {owner: (key, crypto.AeadKey(key)) for owner, key in unwrapped.items()}
        cache.put(fresh, generation)
        found.update(fresh)
    return found, hits


def _attach(instance: Model, unwrapped: Unwrapped, *, from_cache: bool) -> None:
    instance.__dict__[DK_ATTR] = unwrapped[0]
    instance.__dict__[AEAD_ATTR] = unwrapped
    if from_cache:
        instance.__dict__[CACHED_ATTR] = True


def data_key_for(instance: Model) -> bytes:
    """The data key for ``instance``, unwrapped from its row (once per instance).

    Never served from the worker cache: this is the key services write with and files are
    encrypted with, so it must be the one in the database now. (It refreshes the cache.)
    """
    key: bytes | None = instance.__dict__.get(DK_ATTR)
    if key is not None:
        return key
    owner = owner_of(instance)
    unwrapped = _keys_for([owner], cached=False)[0].get(owner)
    if unwrapped is None:
        raise KeyDestroyed("This record's key was destroyed (the person was erased); "
                           "its data can no longer be read.")
    _attach(instance, unwrapped, from_cache=False)
    return unwrapped[0]


def refresh(instance: Model) -> bool:
    """If ``instance``'s key came from the worker cache, replace it with the key unwrapped
    from its row now (and the cache entry with it); True if it did.

    The cache assumes a record's data key never changes, which holds for the random ids
    services give records. Where it does not (a deterministic seed run again after its rows
    were rolled back or deleted), a cached key could be stale: reading with it fails the
    authentication check (then the field reads again with the fresh key), and writing always
    refreshes first, so a stale key can never encrypt anything.
    """
    if not instance.__dict__.pop(CACHED_ATTR, False):
        return False
    cache.discard(owner_of(instance))
    instance.__dict__.pop(DK_ATTR, None)
    instance.__dict__.pop(AEAD_ATTR, None)
    data_key_for(instance)
    return True


def aead_for(instance: Model) -> crypto.AeadKey:
    """The cipher for ``instance``'s data key, set up once (callers may set ``DK_ATTR``)."""
    key = data_key_for(instance)
    held: Unwrapped | None = instance.__dict__.get(AEAD_ATTR)
    if held is not None and held[0] is key:
        return held[1]
    held = (key, crypto.AeadKey(key))
    instance.__dict__[AEAD_ATTR] = held
    return held[1]


def data_keys_fresh(owners: Sequence[Owner]) -> dict[Owner, Unwrapped]:
    """Data keys of ``owners``, read from the database and unwrapped by the agent now, never
    taken from the worker cache: for bulk writers that must not use a key of a rolled-back run.
    An owner whose key was destroyed is missing from the answer."""
    return _keys_for(owners, cached=False)[0]


def prefetch(instances: Iterable[Model]) -> None:
    """Give many instances their data keys for reading, with one agent round trip at most.

    Lists call this before rendering so that a page of 50 people costs one look at the
    agent's generation page when their keys are cached (one query and one unwrap call more
    for those that are not), never 50 calls. Instances whose key was destroyed are left
    without a key (reading them raises).
    """
    pending: dict[Owner, list[Model]] = {}
    for instance in instances:
        if instance.__dict__.get(DK_ATTR) is None:
            pending.setdefault(owner_of(instance), []).append(instance)
    if not pending:
        return
    found, hits = _keys_for(list(pending), cached=True)
    for owner, group in pending.items():
        unwrapped = found.get(owner)
        if unwrapped is not None:
            for instance in group:
                _attach(instance, unwrapped, from_cache=owner in hits)


def readable(instances: Iterable[Model]) -> list[Model]:
    """``prefetch`` the instances' keys, then those of them whose fields can be read: an
    instance whose key was destroyed (its owner is being erased) is left out."""
    instances = list(instances)
    prefetch(instances)
    return [i for i in instances if i.__dict__.get(DK_ATTR) is not None]


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
