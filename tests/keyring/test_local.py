"""Keys derived from the secret key for staff sign-in (haven.keyring.local): sealing authenticator
secrets, hashing recovery codes and session keys, and rotating the secret key."""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from haven.keyring import local
from haven.keyring.crypto import DecryptionFailed

OLD = "the-old-secret-key-0123456789abcdefghijklmnop"
NEW = "the-new-secret-key-0123456789abcdefghijklmnop"


@given(secret=st.binary(min_size=1, max_size=64), user=st.uuids())
def test_a_sealed_secret_opens_for_its_user_only(secret: bytes, user: uuid.UUID) -> None:
    stored = local.seal_totp_secret(secret, user_id=user)
    assert stored.startswith(local.SEALED_PREFIX)
    assert len(stored) <= 80 or len(secret) > 20  # django-otp's key column holds 80 characters
    assert secret.hex() not in stored
    assert local.open_totp_secret(stored, user_id=user) == (secret, True)
    with pytest.raises(DecryptionFailed):
        local.open_totp_secret(stored, user_id=uuid.uuid4())


def test_a_twenty_byte_secret_fits_django_otps_column() -> None:
    assert len(local.seal_totp_secret(os.urandom(20), user_id=uuid.uuid4())) <= 80


@pytest.mark.parametrize("stored", [os.urandom(20).hex(), "hl1.", "hl1.not base64!", "hl1.AAAA"])
def test_anything_not_sealed_here_is_refused(stored: str) -> None:
    with pytest.raises(DecryptionFailed):
        local.open_totp_secret(stored, user_id="u")


def test_a_rotated_secret_key_opens_old_seals_through_its_fallback(settings: Any) -> None:
    settings.SECRET_KEY = OLD
    settings.SECRET_KEY_FALLBACKS = []
    stored = local.seal_totp_secret(b"twenty bytes secret!", user_id="u")
    digest = local.recovery_code_digests("1234abcd-ef0123", user_id="u")[0]
    settings.SECRET_KEY = NEW
    with pytest.raises(DecryptionFailed, match="no configured secret key"):
        local.open_totp_secret(stored, user_id="u")
    assert digest not in local.recovery_code_digests("1234abcd-ef0123", user_id="u")
    settings.SECRET_KEY_FALLBACKS = [OLD]
    assert local.open_totp_secret(stored, user_id="u") == (b"twenty bytes secret!", False)
    digests = local.recovery_code_digests("1234abcd-ef0123", user_id="u")
    assert digests[1] == digest
    assert digests[0] != digest  # what new codes are stored as


def test_recovery_digests_are_keyed_and_bound_to_the_user(settings: Any) -> None:
    settings.SECRET_KEY_FALLBACKS = []
    [one] = local.recovery_code_digests("1234abcd-ef0123", user_id="a")
    assert len(one) == local.RECOVERY_DIGEST_CHARS
    assert local.recovery_code_digests("1234abcd-ef0123", user_id="b") != [one]
    assert local.recovery_code_digests("1234abcd-ef0124", user_id="a") != [one]
    settings.SECRET_KEY = NEW
    assert local.recovery_code_digests("1234abcd-ef0123", user_id="a") != [one]


def test_secret_digest_is_sha256_hex() -> None:
    assert local.secret_digest("abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
