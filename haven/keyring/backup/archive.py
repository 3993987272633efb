"""The archive format shared by every database engine: ``HAVENBK1 | header length | header
JSON | secretstream of a tar``. The header is authenticated as the stream's associated data
and names the database (``sqlite`` or ``postgresql``); the tar holds ``manifest.json`` (the
SHA-256 of every member and a content hash of the database), the database and ``files/…``.

The archive key is derived from the backup root key (held wrapped in the keystore, opened
only inside the key agent) and a random salt per archive. The engines that fill and read
archives are ``backup.sqlite`` and ``backup.postgresql``; ``haven.keyring.backup`` picks one.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import tarfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings

from haven.core.errors import HavenError
from haven.keyring import client, crypto, keys
from haven.keyring.models import KeySetState
from haven.keyring.protocol import b64d, b64e

MAGIC = b"HAVENBK1"
FORMAT = "haven-backup-1"
_LEN = struct.Struct(">I")


class BackupError(HavenError):
    code = "backup_invalid"


@dataclass(frozen=True)
class Manifest:
    created_at: str
    members: dict[str, str]
    content_hash: str
    files: int
    database: str = "sqlite"


# --- content hash of the files --------------------------------------------------------------------


def files_hash(files_dir: Path) -> str:
    digest = hashlib.sha256()
    if files_dir.exists():
        for path in sorted(p for p in files_dir.rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(files_dir)).encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


# --- stream plumbing ------------------------------------------------------------------------------


class _SealingWriter(io.RawIOBase):
    def __init__(self, out: BinaryIO, sealer: crypto.StreamSealer) -> None:
        self._out, self._sealer, self._buffer = out, sealer, bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._buffer += data
        while len(self._buffer) >= crypto.STREAM_CHUNK:
            self._out.write(self._sealer.push(bytes(self._buffer[: crypto.STREAM_CHUNK])))
            del self._buffer[: crypto.STREAM_CHUNK]
        return len(data)

    def finish(self) -> None:
        self._out.write(self._sealer.push(bytes(self._buffer), final=True))
        self._buffer.clear()


class _OpeningReader(io.RawIOBase):
    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks, self._buffer = chunks, bytearray()

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not self._buffer:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._buffer += chunk
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        del self._buffer[:size]
        return size

    def drain(self) -> None:
        for _ in self._chunks:
            pass


def _archive_key(keystore: dict[str, Any], salt: bytes) -> bytes:
    active = next((k for k in keystore["keysets"] if k["state"] == KeySetState.ACTIVE), None)
    if active is None:
        raise BackupError("The keystore holds no active key set.")
    ref = {"keyset": active["id"], "wrapped": active["backup_key"],
           "aad": keys.backup_key_aad(active["id"])}
    return b64d(client.call("derive", key=ref, info="haven/backup/v1", salt=b64e(salt))["key"])


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), 0, 0o600
    tar.addfile(info, io.BytesIO(data))


def now_utc() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def stored_files() -> list[Path]:
    """The encrypted files to back up (already sealed under their owners' data keys)."""
    files_dir = Path(settings.FILES_DIR)
    return sorted(p for p in files_dir.glob("*.hvf")) if files_dir.exists() else []


def write_archive(path: Path, *, keystore: dict[str, Any], database: str, created_at: str,
                  members: Iterable[tuple[str, bytes]]) -> None:
    """Encrypt ``members`` into the archive at ``path``, as they come (written to
    ``path.part``, renamed when complete, removed if anything fails)."""
    salt = os.urandom(16)
    header = json.dumps({"format": FORMAT, "salt": b64e(salt), "created_at": created_at,
                         "database": database}, sort_keys=True).encode()
    key = _archive_key(keystore, salt)
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    try:
        with part.open("wb") as out:
            out.write(MAGIC + _LEN.pack(len(header)) + header)
            sealer = crypto.StreamSealer(key, header)
            out.write(sealer.header)
            writer = _SealingWriter(out, sealer)
            with tarfile.open(fileobj=writer, mode="w|") as tar:
                for name, data in members:
                    _add_bytes(tar, name, data)
            writer.finish()
            out.flush()
            os.fsync(out.fileno())
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise


# --- read, verify, restore ------------------------------------------------------------------------


def _read_header(source: BinaryIO) -> tuple[bytes, dict[str, Any]]:
    if source.read(len(MAGIC)) != MAGIC:
        raise BackupError("This is not a Haven backup archive.")
    try:
        (size,) = _LEN.unpack(source.read(_LEN.size))
        header_bytes = source.read(size)
        header: dict[str, Any] = json.loads(header_bytes)
        b64d(header["salt"])
    except (ValueError, KeyError, TypeError, struct.error) as exc:
        raise BackupError(f"The archive header is damaged: {exc}") from None
    if header.get("format") != FORMAT:
        raise BackupError(f"Unknown archive format {header.get('format')!r}.")
    return header_bytes, header


def archive_database(path: Path) -> str:
    """Which database an archive holds (``sqlite`` or ``postgresql``), from its header.

    The header is read without the key here; it is authenticated when the archive is opened,
    so a changed header fails there."""
    with path.open("rb") as source:
        return str(_read_header(source)[1].get("database", "sqlite"))


def _open(path: Path, keystore: dict[str, Any]) -> tuple[BinaryIO, _OpeningReader]:
    source = path.open("rb")
    try:
        header_bytes, header = _read_header(source)
        key = _archive_key(keystore, b64d(header["salt"]))
        return source, _OpeningReader(crypto.open_stream(key, source, header_bytes))
    except BaseException:
        source.close()
        raise


def members(path: Path, keystore: dict[str, Any]) -> Iterator[tuple[str, bytes]]:
    source, reader = _open(path, keystore)
    try:
        with tarfile.open(fileobj=reader, mode="r|") as tar:
            for info in tar:
                if not info.isfile():
                    raise BackupError(f"Unexpected archive member {info.name!r}.")
                handle = tar.extractfile(info)
                assert handle is not None  # noqa: S101 - regular files always have one
                yield info.name, handle.read()
        reader.drain()  # reach the FINAL tag: a truncated archive fails here
    except crypto.DecryptionFailed as exc:
        raise BackupError(f"The archive failed its integrity check ({exc}).") from None
    except tarfile.TarError as exc:
        raise BackupError(f"The archive's contents are damaged: {exc}") from None
    finally:
        source.close()


def checked(path: Path, keystore: dict[str, Any]) -> Iterator[tuple[str, bytes, Manifest]]:
    manifest: Manifest | None = None
    seen: set[str] = set()
    for name, data in members(path, keystore):
        if manifest is None:
            if name != "manifest.json":
                raise BackupError("The archive does not start with its manifest.")
            manifest = Manifest(**json.loads(data))
            continue
        expected = manifest.members.get(name)
        if expected is None or hashlib.sha256(data).hexdigest() != expected:
            raise BackupError(f"Archive member {name!r} does not match the manifest.")
        seen.add(name)
        yield name, data, manifest
    if manifest is None or seen != set(manifest.members):
        raise BackupError("The archive is missing members listed in its manifest.")


def check_files_dir_empty(files_dir: Path) -> None:
    if files_dir.exists() and any(files_dir.iterdir()):
        raise BackupError(f"{files_dir} is not empty: restore only into an empty data folder.")


def write_restored_file(files_dir: Path, name: str, data: bytes) -> None:
    """Write one ``files/…`` member into ``files_dir`` (never over an existing file)."""
    out = files_dir / Path(name).name
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def load_keystore(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(f"Cannot read the keystore {path}: {exc}") from None
    if data.get("format") != "haven-keystore-1":
        raise BackupError(f"{path} is not a Haven keystore.")
    return data
