from __future__ import annotations

from typing import Any

import pytest

from haven.audit.models import AuditEvent
from haven.core.errors import Forbidden, Sealed
from haven.keyring import client, services, state
from haven.keyring.models import DataKey, Kek, KeySet
from haven.people import selectors
from haven.people import services as people


def test_rotate_rewraps_everything_and_replaces_shares(unsealed: list[str], coordinator: Any,
                                                       local_agent: client.LocalTransport,
                                                       monkeypatch: Any) -> None:
    monkeypatch.setattr(services, "REWRAP_BATCH", 3)
    made = [people.person_create(actor=coordinator, legal_name=f"Магомед {i}") for i in range(8)]
    old_keyset, old_kek = KeySet.objects.get(), Kek.objects.get()
    printed: list[list[str]] = []
    count = services.keys_rotate(actor=coordinator, shares=4, threshold=3, on_shares=printed.append)
    assert count == 8
    new_keyset = KeySet.objects.get()
    assert new_keyset.pk != old_keyset.pk
    assert new_keyset.threshold == 3
    assert not Kek.objects.filter(pk=old_kek.pk).exists()
    assert set(DataKey.objects.values_list("kek__keyset", flat=True)) == {new_keyset.pk}
    assert local_agent.agent._masters.keys() == {str(new_keyset.pk)}
    assert len(selectors.person_list(actor=coordinator, q="MAGOMED")) == 8
    assert AuditEvent.objects.filter(action="keys.rotated").exists()

    services.seal(actor=None)
    local_agent.agent = type(local_agent.agent)()  # a fresh agent process
    with pytest.raises(services.ShareRefused, match="different key set"):
        services.unseal_submit_share(actor=None, share=unsealed[0])
    new_shares = printed[0]
    assert len(new_shares) == 4
    for share in new_shares[:3]:
        services.unseal_submit_share(actor=None, share=share)
    assert not state.is_sealed()
    assert {r.legal_name for r in selectors.person_list(actor=coordinator)} == {
        p.legal_name for p in made}


def test_rotate_needs_unsealed_and_permission(shares: list[str], coordinator: Any,
                                              caseworker: Any) -> None:
    with pytest.raises(Forbidden):
        services.keys_rotate(actor=caseworker, shares=3, threshold=2, on_shares=print)
    with pytest.raises(Sealed):
        services.keys_rotate(actor=coordinator, shares=3, threshold=2, on_shares=print)
    assert KeySet.objects.count() == 1


def test_read_racing_the_final_switch_retries(unsealed: list[str], coordinator: Any,
                                              local_agent: client.LocalTransport) -> None:
    """A reader that loaded wrapped keys just before the old master key was dropped."""
    from haven.keyring import keys
    from haven.people.models import Person

    person = people.person_create(actor=coordinator, legal_name="Ruslan")
    stale = Person.objects.get(pk=person.pk)  # no key yet: fetched on first read
    columns = ("owner_id", "wrapped", "kek_id", "kek__keyset_id", "kek__wrapped")
    old_rows = list(DataKey.objects.values_list(*columns))
    services.keys_rotate(actor=None, shares=3, threshold=2, on_shares=lambda _m: None)
    # Replay the stale rows once: the agent says stale_keyset, the reader re-reads and succeeds.
    calls = {"n": 0}
    original = DataKey.objects.filter

    def first_stale(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            return type("Q", (), {"values_list": lambda self, *_: old_rows})()
        return original(*args, **kwargs)

    import unittest.mock

    with unittest.mock.patch.object(DataKey.objects, "filter", first_stale):
        assert keys.data_key_for(stale)
    assert calls["n"] == 2
    assert stale.legal_name == "Ruslan"
