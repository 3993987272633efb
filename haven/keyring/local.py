"""Keys for staff sign-in, which must work while the server is sealed.

Staff log in to unseal the server, so what protects their second factor cannot depend on the
master key. It is derived instead from the secret key (``HAVEN_SECRET_KEY`` or the
``secret_key`` file in ``HAVEN_DATA_DIR``), which lives outside the database and outside data
backups. A copy of the database alone therefore yields:

- no authenticator (TOTP) secret: each is AES-256-GCM under ``HKDF(secret key, "totp")``,
  bound to its user, so it can neither be read nor moved to another account's row;
- no recovery code: only ``HMAC(HKDF(secret key, "recovery"), user | code)`` is kept, so the
  56 bits of a code cannot be searched for without the secret key;
- no session cookie and no API token: only their SHA-256 is kept (``secret_digest``). Those
  are 128 bits or more of randomness, which no search reaches, so no key is needed.

Rotation: the secret key may be replaced with the old one kept in ``HAVEN_SECRET_KEY_FALLBACKS``.
Everything sealed or hashed under a fallback still opens or matches; ``open_totp_secret`` says
when a value was sealed under a fallback so the caller can seal it again under the current key
(``haven user rekey`` does it for every account at once).
"""

from __future__ import annotations

import base64
import functools
import hashlib

from django.conf import settings

from haven.keyring.crypto import (
    DecryptionFailed,
    aead_open,
    aead_seal,
    hkdf,
    hmac_sha256,
    random_key,
)

SEALED_PREFIX = "hl1."
_SALT = b"haven local keys v1"
_TOTP = b"haven/accounts/totp-secret/v1"
_RECOVERY = b"haven/accounts/recovery-code/v1"
RECOVERY_DIGEST_CHARS = 16  # what django-otp's static token column holds: 96 bits here


@functools.lru_cache(maxsize=16)
def _subkey(root: str, purpose: bytes) -> bytes:
    return hkdf(root.encode("utf-8"), info=purpose, salt=_SALT)


def _roots() -> list[str]:
    """The current secret key first, then its fallbacks (older keys being rotated out)."""
    fallbacks = [k for k in getattr(settings, "SECRET_KEY_FALLBACKS", []) if k]
    return [settings.SECRET_KEY, *fallbacks]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _totp_aad(user_id: object) -> bytes:
    return b"totp|" + str(user_id).encode("ascii")


def new_totp_secret() -> bytes:
    """A fresh authenticator secret: 160 random bits, as RFC 4226 recommends for HMAC-SHA1."""
    return random_key()[:20]


def seal_totp_secret(secret: bytes, *, user_id: object) -> str:
    """The authenticator secret of ``user_id`` sealed under the current secret key (text)."""
    blob = aead_seal(_subkey(_roots()[0], _TOTP), secret, _totp_aad(user_id))
    return SEALED_PREFIX + _b64(blob)


def open_totp_secret(stored: str, *, user_id: object) -> tuple[bytes, bool]:
    """The secret and whether it was sealed under the *current* secret key.

    Raises ``DecryptionFailed`` for a value that is not sealed (a clear hex key must never be
    used), belongs to another user, or was sealed under a key that is no longer configured.
    """
    if not stored.startswith(SEALED_PREFIX):
        raise DecryptionFailed("authenticator secret is not sealed")
    try:
        blob = _unb64(stored[len(SEALED_PREFIX):])
    except ValueError:
        raise DecryptionFailed("authenticator secret is not valid base64") from None
    for index, root in enumerate(_roots()):
        try:
            return aead_open(_subkey(root, _TOTP), blob, _totp_aad(user_id)), index == 0
        except DecryptionFailed:
            continue
    raise DecryptionFailed("authenticator secret opens under no configured secret key")


def is_sealed_totp_secret(stored: str) -> bool:
    return stored.startswith(SEALED_PREFIX)


def recovery_code_digests(code: str, *, user_id: object) -> list[str]:
    """What a recovery code of ``user_id`` is stored as: the first entry under the current
    secret key (for storing), then one per fallback key (for matching codes made before a
    rotation)."""
    message = b"recovery|" + str(user_id).encode("ascii") + b"|" + code.encode("utf-8")
    return [_b64(hmac_sha256(_subkey(root, _RECOVERY), message))[:RECOVERY_DIGEST_CHARS]
            for root in _roots()]


def secret_digest(secret: str) -> str:
    """SHA-256 (hex) of a high-entropy secret (a session key, an API token): what the database
    keeps instead of the secret, so a copy of it cannot be replayed as a cookie or a token."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
