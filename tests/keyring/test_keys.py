"""The worker key cache: cached data keys are used only under the agent's current generation.

``keys.cache`` is this process's cache; another ``KeyCache()`` plays a second worker."""

from __future__ import annotations

import subprocess
import time
import types
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from haven.core.errors import Conflict, Sealed
from haven.keyring import agent as agent_module
from haven.keyring import client, crypto, keys, services
from haven.keyring.fields import CIPHER_ATTR, PLAIN_ATTR, TamperedCiphertext
from haven.people import selectors
from haven.people import services as people
from haven.people.models import Person


def _ops(local_agent: client.LocalTransport, monkeypatch: Any) -> list[str]:
    """Record the operations this process sends to the (in-process) agent."""
    calls: list[str] = []
    original = local_agent.call

    def recording(req: dict[str, Any]) -> dict[str, Any]:
        calls.append(req["op"])
        return original(req)

    monkeypatch.setattr(local_agent, "call", recording)
    return calls


def _fresh() -> list[Person]:
    return list(Person.objects.order_by("created_at"))


def _fill(worker: keys.KeyCache, person: Person) -> int:
    """What another worker does when it shows ``person``: validate, unwrap, keep."""
    generation = worker.generation()
    assert generation is not None
    key = keys._unwrap([person.keyring_owner()])[person.keyring_owner()]
    worker.put({person.keyring_owner(): (key, crypto.AeadKey(key))}, generation)
    assert len(worker) == 1
    return generation


@pytest.fixture
def two(unsealed: list[str], coordinator: Any) -> list[Person]:
    made = [people.person_create(actor=coordinator, legal_name=n) for n in ("Anzor", "Bislan")]
    keys.cache.clear()
    return made


def test_second_page_uses_cached_keys_without_asking_the_agent(
        two: list[Person], coordinator: Any, local_agent: client.LocalTransport,
        monkeypatch: Any) -> None:
    calls = _ops(local_agent, monkeypatch)
    assert [r.legal_name for r in selectors.person_list(actor=coordinator)] == ["Bislan", "Anzor"]
    assert calls == ["unwrap_dks"]
    assert len(keys.cache) == 2
    calls.clear()
    assert [r.legal_name for r in selectors.person_list(actor=coordinator)] == ["Bislan", "Anzor"]
    assert calls == []  # the generation is read from the agent's page, not asked for


def test_cached_key_unusable_after_seal(two: list[Person],
                                        local_agent: client.LocalTransport) -> None:
    keys.prefetch(_fresh())
    assert len(keys.cache) == 2
    # Sealed from elsewhere (another worker, the command line): this cache was not told.
    local_agent.agent.handle({"op": "seal"})
    with pytest.raises(Sealed):
        keys.prefetch(_fresh())
    assert len(keys.cache) == 0
    with pytest.raises(Sealed):
        _ = Person.objects.get(pk=two[0].pk).legal_name


def test_sealed_but_running_agent_serves_no_cached_key(two: list[Person]) -> None:
    other = keys.KeyCache()
    _fill(other, two[0])
    services.seal(actor=None)
    local = client.LocalTransport()  # a new agent, waiting for shares
    with client.using(local):
        assert local.generation() == 0
        assert other.generation() is None
        assert len(other) == 0
        with pytest.raises(Sealed):
            keys.prefetch(_fresh())


def test_cached_key_unusable_after_rotation(two: list[Person], coordinator: Any,
                                            local_agent: client.LocalTransport,
                                            monkeypatch: Any) -> None:
    other = keys.KeyCache()
    before = _fill(other, two[0])
    keys.prefetch(_fresh())
    services.keys_rotate(actor=None, shares=3, threshold=2, on_shares=lambda _m: None)
    assert other.generation() not in (None, before)
    assert len(other) == 0
    calls = _ops(local_agent, monkeypatch)
    assert [r.legal_name for r in selectors.person_list(actor=coordinator)] == ["Bislan", "Anzor"]
    assert calls == ["unwrap_dks"]  # unwrapped afresh under the new key set


def test_erase_makes_cached_key_unusable_in_every_worker(
        two: list[Person], coordinator: Any, local_agent: client.LocalTransport,
        django_capture_on_commit_callbacks: Any) -> None:
    anzor = two[0]
    other = keys.KeyCache()
    before = _fill(other, anzor)
    keys.prefetch(_fresh())
    assert len(keys.cache) == 2
    with django_capture_on_commit_callbacks(execute=True):
        people.person_erase(actor=coordinator, person=anzor)
    after = other.generation()
    assert after not in (None, before)
    assert len(other) == 0
    assert other.get([anzor.keyring_owner()], after) == {}
    assert len(keys.cache) == 0
    assert local_agent.agent._shreds == {}
    with pytest.raises(keys.KeyDestroyed):
        keys.data_key_for(Person(pk=anzor.pk))


def test_no_worker_caches_while_an_erase_runs(two: list[Person], coordinator: Any,
                                              local_agent: client.LocalTransport) -> None:
    """A worker that read wrapped keys before the erase committed must not keep them."""
    anzor, bislan = two
    other = keys.KeyCache()
    before = _fill(other, bislan)
    with transaction.atomic():
        services.shred(owner=anzor.keyring_owner())
        assert local_agent.generation() == 0
        assert other.generation() is None  # generation changed and caching is off: wiped
        assert len(other) == 0
        key = keys._unwrap([anzor.keyring_owner()])  # this transaction's view: already gone
        assert key == {}
        # A key unwrapped meanwhile (rows read before the erase began) is not kept either.
        stale = crypto.random_key()
        other.put({anzor.keyring_owner(): (stale, crypto.AeadKey(stale))}, None)
        other.put({anzor.keyring_owner(): (stale, crypto.AeadKey(stale))}, before)
        assert len(other) == 0
        assert keys._keys_for([bislan.keyring_owner()], cached=True)[0]  # reads work, uncached
        assert len(keys.cache) == 0
        transaction.set_rollback(True)  # the erase never commits: shred_end never comes


def test_erase_that_never_reports_back_stops_blocking_caches(
        two: list[Person], local_agent: client.LocalTransport, monkeypatch: Any) -> None:
    agent = local_agent.agent
    token = agent.handle({"op": "shred_begin"})["token"]
    assert agent.published() == 0
    assert agent.handle({"op": "status"})["generation"] == 0
    monkeypatch.setattr(agent_module, "SHRED_PENDING_TTL", -1)
    assert agent.handle({"op": "shred_begin", "token": token})["token"] == token
    assert agent.handle({"op": "status"})["generation"] == agent.published() != 0
    assert agent._shreds == {}


def test_key_put_under_an_old_generation_is_dropped(two: list[Person],
                                                    local_agent: client.LocalTransport) -> None:
    other = keys.KeyCache()
    old = other.generation()
    local_agent.agent.handle({"op": "shred_end", "token": "none"})  # any generation change
    new = other.generation()
    assert new not in (None, old)
    key = crypto.random_key()
    other.put({two[0].keyring_owner(): (key, crypto.AeadKey(key))}, old)
    assert len(other) == 0
    assert other.get([two[0].keyring_owner()], old) == {}


def test_cache_is_bounded_and_overwrites_what_it_drops(two: list[Person], settings: Any,
                                                       coordinator: Any) -> None:
    settings.HAVEN_KEY_CACHE_SIZE = 1
    people.person_create(actor=coordinator, legal_name="Ruslan")
    keys.cache.clear()
    held: list[bytearray] = []
    for person in _fresh():
        keys.prefetch([person])
        held.extend(entry[0] for entry in keys.cache._entries.values())
    assert len(keys.cache) == 1
    assert [bytes(k) == bytes(32) for k in held] == [True, True, False]
    keys.cache.discard(two[0].keyring_owner())  # not cached: nothing happens
    assert len(keys.cache) == 1


def test_cached_key_expires(two: list[Person], settings: Any, monkeypatch: Any,
                            local_agent: client.LocalTransport) -> None:
    settings.HAVEN_KEY_CACHE_SECONDS = 5
    keys.prefetch(_fresh())
    entry = next(iter(keys.cache._entries.values()))
    later = types.SimpleNamespace(monotonic=lambda: time.monotonic() + 10, sleep=time.sleep)
    monkeypatch.setattr(keys, "time", later)
    calls = _ops(local_agent, monkeypatch)
    keys.prefetch(_fresh())
    assert calls == ["unwrap_dks"]
    assert bytes(entry[0]) == bytes(32)


def test_cache_can_be_switched_off(two: list[Person], settings: Any, coordinator: Any,
                                   local_agent: client.LocalTransport, monkeypatch: Any) -> None:
    settings.HAVEN_KEY_CACHE_SECONDS = 0
    calls = _ops(local_agent, monkeypatch)
    for _ in range(2):
        assert [r.legal_name for r in selectors.person_list(actor=coordinator)] == [
            "Bislan", "Anzor"]
    assert calls == ["unwrap_dks", "unwrap_dks"]
    assert len(keys.cache) == 0


def test_forked_worker_starts_with_an_empty_cache(two: list[Person]) -> None:
    keys.prefetch(_fresh())
    assert len(keys.cache) == 2
    keys.cache._pid = -1  # as seen from a child forked after the parent filled its cache
    assert len(keys.cache) == 0


def test_cipher_follows_a_changed_key_or_row(two: list[Person]) -> None:
    anzor, bislan = (Person.objects.get(pk=p.pk) for p in two)
    assert anzor.legal_name == "Anzor"
    first = anzor.__dict__[CIPHER_ATTR]
    anzor.__dict__.pop(PLAIN_ATTR)
    anzor.__dict__[keys.DK_ATTR] = bytes(bytearray(keys.data_key_for(anzor)))  # a new object
    assert anzor.legal_name == "Anzor"
    assert anzor.__dict__[CIPHER_ATTR][3] is not first[3]
    # Another row's id with this row's key and ciphertext: the associated data refuses it.
    anzor.__dict__.pop(PLAIN_ATTR)
    anzor.__dict__["id"] = bislan.pk
    with pytest.raises(TamperedCiphertext):
        _ = anzor.legal_name


# --- with the real agent process -----------------------------------------------------------------


def test_idle_worker_cache_wiped_within_a_second_of_seal(
        agent_process: subprocess.Popen[bytes], shares: list[str], coordinator: Any,
        settings: Any) -> None:
    with client.using(client.SocketTransport()):
        for share in shares[:2]:
            services.unseal_submit_share(actor=None, share=share)
        for name in ("Anzor", "Bislan"):
            people.person_create(actor=coordinator, legal_name=name)
        keys.cache.clear()
        keys.prefetch(_fresh())
        assert len(keys.cache) == 2
        page = Path(settings.RUN_DIR) / agent_module.GENERATION_FILE
        assert page.stat().st_mode & 0o777 == 0o600
        # Sealed by another process: this one makes no call; its cache watcher notices.
        client.SocketTransport().call({"op": "seal"})
        sealed_at = time.monotonic()
        while len(keys.cache) and time.monotonic() - sealed_at < 2:
            time.sleep(0.02)
        assert len(keys.cache) == 0
        assert time.monotonic() - sealed_at < 1.0
        assert not page.exists()
        assert client.generation() is None
        with pytest.raises(Sealed):
            keys.prefetch(_fresh())


def test_cache_follows_a_restarted_agent(agent_process: subprocess.Popen[bytes],
                                         shares: list[str], coordinator: Any,
                                         settings: Any) -> None:
    """An agent killed without sealing, then a new one: the old page must not be trusted."""
    from tests.keyring.fixtures import start_agent

    with client.using(client.SocketTransport()):
        for share in shares[:2]:
            services.unseal_submit_share(actor=None, share=share)
        for name in ("Anzor", "Bislan"):
            people.person_create(actor=coordinator, legal_name=name)
        keys.cache.clear()
        anzor, bislan = _fresh()
        keys.prefetch([anzor])
        first = client.generation()
        assert first
        agent_process.kill()
        agent_process.wait(5)
        assert client.generation() == first  # a killed agent cannot clear its page...
        with pytest.raises(Sealed):  # ...but a key not in the cache finds no agent: wiped
            keys.prefetch([bislan])
        assert len(keys.cache) == 0
        replacement = start_agent(Path(settings.RUN_DIR))
        try:
            assert client.generation() == 0  # the new agent's page, not the old one
            assert client.status() is not None
            with pytest.raises(Sealed):
                keys.prefetch(_fresh())
            assert len(keys.cache) == 0
        finally:
            replacement.kill()
            replacement.wait(5)


def test_prefetch_skips_keyed_and_erased_records(two: list[Person], coordinator: Any,
                                                 django_capture_on_commit_callbacks: Any) -> None:
    anzor, bislan = _fresh()
    keyed = Person.objects.get(pk=bislan.pk)
    key = keys.data_key_for(keyed)
    with django_capture_on_commit_callbacks(execute=True):
        people.person_erase(actor=coordinator, person=anzor)
    keys.prefetch([anzor, keyed])
    assert keys.DK_ATTR not in anzor.__dict__
    assert keyed.__dict__[keys.DK_ATTR] is key


def test_same_key_unwrapped_twice_is_kept_once(two: list[Person]) -> None:
    generation = keys.cache.generation()
    owner = two[0].keyring_owner()
    for _ in range(2):
        key = crypto.random_key()
        keys.cache.put({owner: (key, crypto.AeadKey(key))}, generation)
    assert len(keys.cache) == 1
    assert keys.cache.get([owner], generation)[owner][0] == key


def test_shred_only_inside_a_transaction_and_not_during_rotation(two: list[Person]) -> None:
    from haven.keyring.models import KeySet, KeySetState

    connection = transaction.get_connection()
    connection.in_atomic_block = False
    try:
        with pytest.raises(RuntimeError, match="inside"):
            services.shred(owner=two[0].keyring_owner())
    finally:
        connection.in_atomic_block = True
    KeySet.objects.update(state=KeySetState.PENDING)
    with pytest.raises(Conflict, match="rotation"):
        services.shred(owner=two[0].keyring_owner())


def test_cache_watcher_drops_expired_keys_while_the_agent_runs(
        agent_process: subprocess.Popen[bytes], shares: list[str], coordinator: Any,
        settings: Any) -> None:
    settings.HAVEN_KEY_CACHE_SECONDS = 1
    with client.using(client.SocketTransport()):
        for share in shares[:2]:
            services.unseal_submit_share(actor=None, share=share)
        people.person_create(actor=coordinator, legal_name="Anzor")
        keys.cache.clear()
        keys.prefetch(_fresh())
        assert len(keys.cache) == 1
        watcher = keys.cache._watcher
        assert watcher is not None
        watcher.join(3)
        assert not watcher.is_alive()
        assert len(keys.cache) == 0
        assert client.status() is not None  # not sealed: the key had simply expired


def _poison(person: Person) -> bytes:
    """Cache a wrong key for ``person`` (as a stale entry would be), under the live generation."""
    generation = keys.cache.generation()
    wrong = crypto.random_key()
    keys.cache.put({person.keyring_owner(): (wrong, crypto.AeadKey(wrong))}, generation)
    return wrong


def test_stale_cached_key_is_replaced_when_reading(two: list[Person], coordinator: Any) -> None:
    """A record id used again with a new key (a deterministic seed run twice)."""
    wrong = _poison(two[0])
    assert [r.legal_name for r in selectors.person_list(actor=coordinator)] == ["Bislan", "Anzor"]
    generation = keys.cache.generation()
    assert keys.cache.get([two[0].keyring_owner()], generation)[two[0].keyring_owner()][0] != wrong


def test_never_writes_with_a_cached_key(two: list[Person]) -> None:
    wrong = _poison(two[0])
    person = Person.objects.get(pk=two[0].pk)
    keys.prefetch([person])
    assert person.__dict__[keys.DK_ATTR] == wrong
    person.other_names = "Anzorik"
    person.save()
    assert person.__dict__[keys.DK_ATTR] != wrong
    assert Person.objects.get(pk=two[0].pk).other_names == "Anzorik"  # data_key_for: uncached


def test_tampered_value_still_refused_with_a_cached_key(two: list[Person]) -> None:
    keys.prefetch(_fresh())
    blob = Person.objects.values_list("legal_name", flat=True).get(pk=two[1].pk)
    Person.objects.filter(pk=two[0].pk).update(legal_name=blob)
    moved = Person.objects.get(pk=two[0].pk)
    keys.prefetch([moved])
    assert moved.__dict__.get(keys.CACHED_ATTR)
    with pytest.raises(TamperedCiphertext):
        _ = moved.legal_name
