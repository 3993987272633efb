from __future__ import annotations

from typing import Any

import pytest
from shamir_mnemonic import generate_mnemonics

from haven.audit.models import AuditEvent
from haven.core.errors import Conflict, Forbidden, Sealed, ValidationFailed
from haven.keyring import client, keys, services, state
from haven.keyring.models import Kek, KeySet


def _actions() -> list[str]:
    return list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))


def test_init_stores_only_wrapped_keys_and_starts_sealed(shares: list[str]) -> None:
    assert len(shares) == 3
    assert all(len(s.split()) == 33 for s in shares)  # 256-bit secret
    keyset = KeySet.objects.get()
    assert keyset.threshold == 2
    assert Kek.objects.count() == 1
    assert state.is_sealed()
    assert "keys.initialised" in _actions()


def test_init_refuses_second_time(shares: list[str]) -> None:
    with pytest.raises(Conflict):
        services.keys_init(actor=None, shares=3, threshold=2)


@pytest.mark.parametrize(("n", "k"), [(3, 1), (2, 3), (17, 2)])
def test_init_refuses_bad_split(db: None, local_agent: Any, n: int, k: int) -> None:
    with pytest.raises(ValidationFailed):
        services.keys_init(actor=None, shares=n, threshold=k)


def test_two_shares_unseal(shares: list[str]) -> None:
    first = services.unseal_submit_share(actor=None, share=shares[1])
    assert (first.received, first.threshold, first.unsealed) == (1, 2, False)
    assert state.is_sealed()
    second = services.unseal_submit_share(actor=None, share=shares[0].upper() + "  ")
    assert second.unsealed
    assert not state.is_sealed()
    assert _actions()[-2:] == ["keys.share_accepted", "keys.unsealed"]


def test_too_few_shares_leave_it_sealed(shares: list[str]) -> None:
    services.unseal_submit_share(actor=None, share=shares[0])
    assert state.is_sealed()
    with pytest.raises(Sealed):
        keys.blind_indexes("x", ["y"])


def test_duplicate_share_refused(shares: list[str]) -> None:
    services.unseal_submit_share(actor=None, share=shares[0])
    with pytest.raises(services.ShareRefused, match="already given"):
        services.unseal_submit_share(actor=None, share=shares[0])
    assert state.is_sealed()
    assert _actions()[-1] == "keys.share_refused"


def test_misspelt_share_refused(shares: list[str]) -> None:
    words = shares[0].split()
    words[5] = "academic" if words[5] != "academic" else "acid"
    with pytest.raises(services.ShareRefused, match="checksum"):
        services.unseal_submit_share(actor=None, share=" ".join(words))


def test_foreign_share_refused(shares: list[str]) -> None:
    other = generate_mnemonics(1, [(2, 3)], b"\x07" * 32, extendable=False)[0]
    with pytest.raises(services.ShareRefused, match="different key set"):
        services.unseal_submit_share(actor=None, share=other[0])


def test_valid_shares_of_wrong_key_fail_the_verifier(shares: list[str]) -> None:
    """Same identifier, valid checksums, wrong secret: only the verifier can catch it."""
    from shamir_mnemonic.share import Share

    keyset = KeySet.objects.get()
    fake = generate_mnemonics(1, [(2, 3)], b"\x01" * 32, extendable=False)[0]
    forged = []
    for m in fake[:2]:
        s = Share.from_mnemonic(m)
        forged.append(Share(keyset.identifier, s.extendable, s.iteration_exponent, s.group_index,
                            s.group_threshold, s.group_count, s.index, s.member_threshold,
                            s.value).mnemonic())
    services.unseal_submit_share(actor=None, share=forged[0])
    with pytest.raises(services.ShareRefused, match="discarded"):
        services.unseal_submit_share(actor=None, share=forged[1])
    assert state.is_sealed()
    # the pending set was discarded; the real shares still work from scratch
    services.unseal_submit_share(actor=None, share=shares[0])
    assert services.unseal_submit_share(actor=None, share=shares[1]).unsealed


def test_refusals_lock_out(shares: list[str], settings: Any) -> None:
    settings.HAVEN_LOCKOUT_THRESHOLD = 3
    for _ in range(3):
        with pytest.raises(services.ShareRefused):
            services.unseal_submit_share(actor=None, share="not a share at all")
    with pytest.raises(services.UnsealLocked):
        services.unseal_submit_share(actor=None, share=shares[0])


def test_already_unsealed(unsealed: list[str]) -> None:
    with pytest.raises(Conflict):
        services.unseal_submit_share(actor=None, share=unsealed[1])


def test_seal_wipes_and_blocks(unsealed: list[str], local_agent: client.LocalTransport) -> None:
    assert services.seal(actor=None)
    assert state.is_sealed()
    with pytest.raises(Sealed):
        keys.blind_indexes("x", ["y"])
    assert local_agent.agent._masters == {}
    assert _actions()[-1] == "keys.sealed"


def test_roles_without_permission_cannot_unseal_or_seal(shares: list[str], caseworker: Any
                                                         ) -> None:
    with pytest.raises(Forbidden):
        services.unseal_submit_share(actor=caseworker, share=shares[0])
    with pytest.raises(Forbidden):
        services.seal(actor=caseworker)


def test_coordinator_unseals_and_seals(shares: list[str], coordinator: Any) -> None:
    services.unseal_submit_share(actor=coordinator, share=shares[0])
    assert services.unseal_submit_share(actor=coordinator, share=shares[1]).unsealed
    assert services.seal(actor=coordinator)
    assert AuditEvent.objects.filter(action="keys.sealed", actor_id=str(coordinator.pk)).exists()


