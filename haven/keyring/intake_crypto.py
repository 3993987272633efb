"""Crypto for the anonymous intake, composed from PyNaCl (libsodium) and hashlib. Nothing invented.

- **To the organization**: every request and message is a libsodium *sealed box*
  (X25519 + XSalsa20-Poly1305, ``nacl.public.SealedBox``) to the organization's intake public
  key. Encrypting needs only the public key, so intake keeps working while the server is
  sealed. The private key is never stored: it is derived (HKDF) from a Haven data key that
  the keyring keeps wrapped under the master key, so only an unsealed server can read.
- **Padding**: before sealing, plaintext is padded with libsodium's ISO/IEC 7816-4 padding
  (``sodium_pad``) up to one of a few size classes, so a ciphertext's length tells only its
  class, not the message's length.
- **Codenames**: seven words drawn with ``secrets`` from a 7,776-word list (about 90 bits).
  One scrypt run (salted with the organization's intake salt) turns a codename into a root;
  HKDF splits the root into a *lookup tag* (stored, to find the request) and the seed of an
  X25519 *reply key pair* (only the public half is stored). Replies to the person are sealed
  boxes to that public key, so reading them needs the codename.
- **Requester sessions**: after a codename log-in, the reply private key is kept server-side
  encrypted (AES-256-GCM, ``keyring.crypto.aead_seal``) under a random key that lives only in the person's
  cookie; the database half and the cookie half are each useless alone, and the cookie
  carries no codename. The codename itself crosses from the form's POST to the page that
  shows it (post/redirect/get) the same way: sealed under a key only the cookie holds.
- **Form tokens and lineage tags** (holding under a flood): HMAC-SHA256 under a subkey of
  the server's secret key (HKDF, its own purpose), which workers hold while sealed. A form
  token is authenticated and bound to the visitor's random cookie; what is stored is only a
  truncated HMAC of that random cookie value (the *lineage tag*) and of the token's nonce
  (the *form tag*): neither names anyone, and neither can be reversed to the cookie.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Model
from nacl import bindings as sodium
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox

from haven.keyring import crypto, keys

SIZE_CLASSES: tuple[int, ...] = (1024, 4096, 16384, 65536)
"""Padded plaintext sizes. The intake form's limits keep every request inside the largest."""

SEAL_OVERHEAD = 48  # sealed box: 32-byte ephemeral public key + 16-byte Poly1305 tag
CODENAME_WORDS = 7
LOOKUP_TAG_BYTES = 32
SALT_BYTES = 16
SESSION_KEY_BYTES = crypto.KEY_BYTES


class IntakeDecryptionFailed(Exception):
    """A sealed box or session blob did not open: wrong key, or changed bytes."""


class MessageTooLarge(ValueError):
    """The plaintext does not fit the largest size class."""


# --- padding ------------------------------------------------------------------------------------


def size_class(length: int) -> int:
    """The smallest class that holds ``length`` bytes plus at least one padding byte."""
    for size in SIZE_CLASSES:
        if length < size:
            return size
    raise MessageTooLarge(f"{length} bytes do not fit the largest size class ({SIZE_CLASSES[-1]}).")


def pad(plaintext: bytes) -> bytes:
    """Pad to exactly ``size_class(len(plaintext))`` bytes with ``sodium_pad``."""
    padded: bytes = sodium.sodium_pad(plaintext, size_class(len(plaintext)))
    return padded


def unpad(padded: bytes) -> bytes:
    if len(padded) not in SIZE_CLASSES:
        raise IntakeDecryptionFailed("padded message has no known size class")
    try:
        plain: bytes = sodium.sodium_unpad(padded, len(padded))
    except (CryptoError, ValueError):
        raise IntakeDecryptionFailed("padding is malformed") from None
    return plain


# --- sealed boxes ---------------------------------------------------------------------------------


def seal_to(public_key: bytes, plaintext: bytes) -> bytes:
    """Pad, then seal to ``public_key``. Anyone can do this; only the private key opens it."""
    return bytes(SealedBox(PublicKey(public_key)).encrypt(pad(plaintext)))


def open_sealed(private_key: PrivateKey, blob: bytes) -> bytes:
    """Open a padded sealed box made by ``seal_to``; raise ``IntakeDecryptionFailed`` if not ours."""
    try:
        padded = SealedBox(private_key).decrypt(bytes(blob))
    except (CryptoError, ValueError, TypeError):
        raise IntakeDecryptionFailed("the message does not open with this key") from None
    return unpad(bytes(padded))


def ciphertext_size(plaintext_length: int) -> int:
    """What ``seal_to`` produces for a plaintext of this length (for tests and docs)."""
    return size_class(plaintext_length) + SEAL_OVERHEAD


# --- the organization's intake key ------------------------------------------------------------------


def _org_private_key(data_key: bytes) -> PrivateKey:
    return PrivateKey(crypto.hkdf(data_key, info=b"haven/intake/org-x25519/v1"))


def org_keypair_create(holder: Model) -> bytes:
    """Make the intake key pair for ``holder`` (an ``intake.IntakeKey`` row); its public key.

    The private key's seed is a keyring data key of ``holder`` (wrapped under the master key,
    re-wrapped by rotation and shredding like every other data key), so the server must be
    unsealed to create it and to read requests, never to accept them. Call inside the
    transaction that saves ``holder``.
    """
    data_key = keys.data_key_create(holder)
    return bytes(_org_private_key(data_key).public_key)


def org_private_key(holder: Model) -> PrivateKey:
    """The intake private key, held only for the current request. Raises ``Sealed`` if sealed."""
    return _org_private_key(keys.data_key_for(holder))


# --- codenames ------------------------------------------------------------------------------------


def codename_generate(words: Sequence[str], count: int = CODENAME_WORDS) -> str:
    """``count`` words chosen uniformly and independently with the OS's CSPRNG."""
    return " ".join(secrets.choice(words) for _ in range(count))


def codename_normalize(text: str) -> str:
    """People retype codenames by hand, from a list numbered 1 to 7 or a printed card: fold
    compatibility forms (NFKC) and case, read ё as е (Russian writers often leave the dots
    out), and keep only the words — digits, list numbers, commas and extra spaces go.

    Every word of either list is letters and hyphens only, so this changes nothing for a
    codename typed exactly as shown; codenames hashed before this rule are unaffected.
    """
    folded = unicodedata.normalize("NFKC", text).lower().replace("ё", "е")
    kept = "".join(c if c.isalpha() or c == "-" else " " for c in folded)
    return " ".join(word.strip("-") for word in kept.split() if word.strip("-"))


def new_salt() -> bytes:
    return secrets.token_bytes(SALT_BYTES)


@dataclass(frozen=True)
class KdfParams:
    """scrypt parameters. Salt, r and p are stored with the organization's intake key; the
    cost (log2 N) with each request, so it can change without breaking codenames already
    given out (docs/intake.md, "How slow the hash is")."""

    salt: bytes
    log2_n: int = 10
    r: int = 8
    p: int = 1


@dataclass(frozen=True)
class CodenameKeys:
    lookup_tag: bytes
    reply_private_key: PrivateKey

    @property
    def reply_public_key(self) -> bytes:
        return bytes(self.reply_private_key.public_key)


def codename_keys(codename: str, params: KdfParams) -> CodenameKeys:
    """The one slow step: scrypt of the normalized codename, split by HKDF into the stored
    lookup tag and the reply key pair's seed (which is never stored)."""
    root = hashlib.scrypt(
        codename_normalize(codename).encode("utf-8"),
        salt=params.salt, n=2**params.log2_n, r=params.r, p=params.p,
        maxmem=256 * 1024 * 1024, dklen=32,
    )
    tag = crypto.hkdf(root, info=b"haven/intake/codename-lookup/v1", length=LOOKUP_TAG_BYTES)
    seed = crypto.hkdf(root, info=b"haven/intake/codename-reply-x25519/v1")
    return CodenameKeys(lookup_tag=tag, reply_private_key=PrivateKey(seed))


def reply_private_key_from_bytes(raw: bytes) -> PrivateKey:
    return PrivateKey(raw)


# --- requester sessions ---------------------------------------------------------------------------


def session_token() -> tuple[str, bytes, str]:
    """A new session: (cookie value, key for the server-side blob, lookup id for the row).

    The cookie is ``id.key`` (URL-safe random); the server stores only SHA-256 of the id and
    the blob sealed under the key, so neither side alone opens the reply key.
    """
    session_id = secrets.token_urlsafe(24)
    key = secrets.token_bytes(SESSION_KEY_BYTES)
    cookie = f"{session_id}.{key.hex()}"
    return cookie, key, session_lookup(session_id)


def session_lookup(session_id: str) -> str:
    return hashlib.sha256(b"haven/intake/session/v1|" + session_id.encode("ascii")).hexdigest()


def session_parse(cookie: str) -> tuple[str, bytes] | None:
    """Split a cookie into (lookup id, key); None if it is not one of ours."""
    session_id, _, key_hex = cookie.partition(".")
    if not (20 <= len(session_id) <= 64) or len(key_hex) != 2 * SESSION_KEY_BYTES:
        return None
    if not all(c.isalnum() or c in "-_" for c in session_id):
        return None
    try:
        key = bytes.fromhex(key_hex)
    except ValueError:
        return None
    return session_lookup(session_id), key


def session_seal(key: bytes, secret: bytes, aad_id: str) -> bytes:
    """Encrypt ``secret`` under the cookie's key, bound to the session row id."""
    return crypto.aead_seal(key, secret, f"haven/intake/session/v1|{aad_id}".encode())


def session_open(key: bytes, blob: bytes, aad_id: str) -> bytes:
    try:
        return crypto.aead_open(key, bytes(blob), f"haven/intake/session/v1|{aad_id}".encode())
    except crypto.DecryptionFailed:
        raise IntakeDecryptionFailed("the session does not open with this key") from None


# --- the codename's way from the form to the page that shows it --------------------------------


def handoff_seal(key: bytes, codename: str, lookup: str) -> bytes:
    """Seal a new codename for the one page that shows it, under the cookie's key."""
    return crypto.aead_seal(key, codename.encode("utf-8"),
                            f"haven/intake/handoff/v1|{lookup}".encode())


def handoff_open(key: bytes, blob: bytes, lookup: str) -> str:
    try:
        return crypto.aead_open(key, bytes(blob),
                                f"haven/intake/handoff/v1|{lookup}".encode()).decode("utf-8")
    except (crypto.DecryptionFailed, UnicodeDecodeError):
        raise IntakeDecryptionFailed("the handoff does not open with this key") from None


# --- form tokens and lineage tags (docs/intake.md, "Holding under a flood") ----------------------

TAG_BYTES = 16
VISIT_BYTES = 24


@functools.cache
def _site_key(secret: str) -> bytes:
    return crypto.hkdf(secret.encode("utf-8"), info=b"haven/intake/site-mac/v1")


def _site_mac(*parts: str) -> bytes:
    return crypto.hmac_sha256(_site_key(settings.SECRET_KEY), "|".join(parts).encode("utf-8"))


def visit_new() -> str:
    """A random visitor id for the cookie that budgets a browser session (names no one)."""
    return secrets.token_urlsafe(VISIT_BYTES)


def visit_valid(visit: str) -> bool:
    return 30 <= len(visit) <= 40 and all(c.isalnum() or c in "-_" for c in visit)


def lineage_tag(visit: str) -> bytes:
    """What is stored of a visitor id: a truncated keyed hash, the same for every request of
    one browser session and unlinkable to the cookie without the server's secret."""
    return _site_mac("lineage", visit)[:TAG_BYTES]


def form_tag(nonce: str) -> bytes:
    """What is stored of a form token: a keyed hash of its nonce, unique per request."""
    return _site_mac("form", nonce)[:TAG_BYTES]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def form_token_make(*, visit: str, issued: int, seq: int) -> str:
    """A form token: issue time, the visitor's sequence number, a nonce, and a MAC binding
    them to the visitor's cookie. Holds nothing secret and nothing about the person."""
    nonce = _b64(secrets.token_bytes(12))
    mac = _b64(_site_mac("token", visit, str(issued), str(seq), nonce)[:TAG_BYTES])
    return f"{issued}.{seq}.{nonce}.{mac}"


@dataclass(frozen=True)
class FormToken:
    issued: int
    seq: int
    nonce: str


def form_token_read(token: str, *, visit: str) -> FormToken | None:
    """The token's fields if it was made by this server for this visitor's cookie; else None."""
    parts = token.split(".")
    if len(parts) != 4 or len(token) > 120:
        return None
    issued, seq, nonce, mac = parts
    if not (issued.isdigit() and seq.isdigit() and len(issued) <= 12 and len(seq) <= 4):
        return None
    expected = _b64(_site_mac("token", visit, issued, seq, nonce)[:TAG_BYTES])
    if not hmac.compare_digest(expected.encode("ascii"), mac.encode("ascii", "replace")):
        return None
    return FormToken(issued=int(issued), seq=int(seq), nonce=nonce)
