"""The only primitives Haven uses, composed from `cryptography` and PyNaCl. Nothing invented.

- AEAD for keys and field values: AES-256-GCM (`cryptography`), a fresh 96-bit random nonce
  per message, and associated data that names what the ciphertext belongs to.
- Key derivation: HKDF-SHA256 with a purpose string, so one root key never serves two uses.
- Blind indexes: HMAC-SHA256.
- Files and backup archives: libsodium's secretstream (XChaCha20-Poly1305), which
  authenticates every chunk, their order, and the end of the stream (no silent truncation).

This module imports nothing from Django so that the key agent process stays small.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from collections.abc import Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from nacl import bindings as sodium
from nacl.exceptions import CryptoError

KEY_BYTES = 32
NONCE_BYTES = 12
AEAD_VERSION = b"\x01"
STREAM_CHUNK = 64 * 1024
STREAM_HEADER_BYTES: int = sodium.crypto_secretstream_xchacha20poly1305_HEADERBYTES
STREAM_ABYTES: int = sodium.crypto_secretstream_xchacha20poly1305_ABYTES
_TAG_MESSAGE: int = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
_TAG_FINAL: int = sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL
_LEN = struct.Struct(">I")


class DecryptionFailed(Exception):
    """A ciphertext did not authenticate: wrong key, changed bytes, or moved to another place."""


def random_key() -> bytes:
    """32 bytes from the operating system's CSPRNG."""
    return os.urandom(KEY_BYTES)


class AeadKey:
    """AES-256-GCM under one key, set up once for the several values of one record.

    ``seal`` writes version byte, random nonce, ciphertext and tag; ``aad`` is authenticated.
    Holding the cipher object saves setting the key up again for every field of a page.
    """

    __slots__ = ("_aes",)

    def __init__(self, key: bytes) -> None:
        self._aes = AESGCM(key)

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return AEAD_VERSION + nonce + self._aes.encrypt(nonce, plaintext, aad)

    def open(self, blob: bytes, aad: bytes) -> bytes:
        """Open what ``seal`` made with the same key and associated data, or raise."""
        if len(blob) < 1 + NONCE_BYTES + 16 or blob[:1] != AEAD_VERSION:
            raise DecryptionFailed("not a Haven ciphertext")
        try:
            return self._aes.decrypt(blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :], aad)
        except InvalidTag:
            raise DecryptionFailed("ciphertext failed authentication") from None


def aead_seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """AES-256-GCM: version byte, random nonce, ciphertext and tag. ``aad`` is authenticated."""
    return AeadKey(key).seal(plaintext, aad)


def aead_open(key: bytes, blob: bytes, aad: bytes) -> bytes:
    """Open what ``aead_seal`` made with the same key and associated data, or raise."""
    return AeadKey(key).open(blob, aad)


def hkdf(key: bytes, *, info: bytes, salt: bytes | None = None, length: int = KEY_BYTES) -> bytes:
    """HKDF-SHA256: a subkey for one named purpose."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(key)


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


# --- streams (files, backup archives) ----------------------------------------------------------


class StreamSealer:
    """Encrypt a stream chunk by chunk; the header goes first, ``finish`` marks the end.

    The output framing is ``header | (len | chunk)*``; the last chunk carries the FINAL tag,
    so a truncated stream is detected on reading.
    """

    def __init__(self, key: bytes, aad: bytes) -> None:
        self._state = sodium.crypto_secretstream_xchacha20poly1305_state()
        self.header: bytes = sodium.crypto_secretstream_xchacha20poly1305_init_push(
            self._state, key
        )
        self._aad = aad
        self.finished = False

    def push(self, chunk: bytes, *, final: bool = False) -> bytes:
        if self.finished:
            raise ValueError("stream already finished")
        tag = _TAG_FINAL if final else _TAG_MESSAGE
        sealed: bytes = sodium.crypto_secretstream_xchacha20poly1305_push(
            self._state, chunk, self._aad, tag
        )
        self.finished = final
        return _LEN.pack(len(sealed)) + sealed


class StreamOpener:
    """Decrypt what ``StreamSealer`` wrote; refuses changed, reordered or truncated streams."""

    def __init__(self, key: bytes, header: bytes, aad: bytes) -> None:
        if len(header) != STREAM_HEADER_BYTES:
            raise DecryptionFailed("stream header is missing or short")
        self._state = sodium.crypto_secretstream_xchacha20poly1305_state()
        try:
            sodium.crypto_secretstream_xchacha20poly1305_init_pull(self._state, header, key)
        except (CryptoError, ValueError):
            raise DecryptionFailed("stream header failed authentication") from None
        self._aad = aad
        self.finished = False

    def pull(self, sealed: bytes) -> bytes:
        if self.finished:
            raise DecryptionFailed("data after the end of the stream")
        try:
            plain, tag = sodium.crypto_secretstream_xchacha20poly1305_pull(
                self._state, sealed, self._aad
            )
        except (CryptoError, ValueError):
            raise DecryptionFailed("stream chunk failed authentication") from None
        self.finished = tag == _TAG_FINAL
        return bytes(plain)


def read_frames(source: BinaryIO) -> Iterator[bytes]:
    """The length-prefixed sealed chunks of a stream, as written by ``StreamSealer.push``."""
    max_frame = STREAM_CHUNK + STREAM_ABYTES + 1024
    while True:
        head = source.read(_LEN.size)
        if not head:
            return
        if len(head) != _LEN.size:
            raise DecryptionFailed("stream is truncated inside a chunk length")
        (size,) = _LEN.unpack(head)
        if size > max_frame:
            raise DecryptionFailed("stream chunk is larger than any Haven writes")
        body = source.read(size)
        if len(body) != size:
            raise DecryptionFailed("stream is truncated inside a chunk")
        yield body


def open_stream(key: bytes, source: BinaryIO, aad: bytes) -> Iterator[bytes]:
    """Plaintext chunks of a sealed stream read from ``source`` (positioned at the header)."""
    opener = StreamOpener(key, source.read(STREAM_HEADER_BYTES), aad)
    for frame in read_frames(source):
        yield opener.pull(frame)
    if not opener.finished:
        raise DecryptionFailed("stream ended before its final chunk (truncated)")
