"""Encrypted backups: one archive of the database and the files, and a separate keystore.

Archive: ``HAVENBK1 | header length | header JSON | secretstream of a tar``; the header is
authenticated as the stream's associated data and names the database (``sqlite`` or
``postgresql``). The tar holds ``manifest.json`` (SHA-256 of every member and a content hash
of the database), the database — ``db.sqlite3``, or ``db.pgdump/NNNNNN``, pg_dump's custom
format cut into parts (``backup_pg``) — and ``files/…``. A SQLite archive's manifest comes
first; a PostgreSQL archive's comes last, because a streamed dump's hash is known only at
its end.

The database copy is taken with SQLite's online backup API (consistent while the server
runs) into memory, and its key tables are emptied and vacuumed there before it is
serialized: **a data archive carries no key material**. Keys travel in the keystore file
(``keyring.services.keystore_export``), which is replaced — never versioned — after every
erase and rotation. A restore takes the data from an archive of any age and the keys from
the current keystore, so people erased since the archive was made have no key anywhere and
stay noise; everyone else opens.

The archive key is derived from the backup root key (held wrapped in the keystore, opened
only inside the key agent) and a random salt per archive. PostgreSQL archives follow the same
rules with ``pg_dump`` / ``pg_restore`` (``haven.keyring.backup_pg``).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import struct
import tarfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.db import connection

from haven.core.errors import HavenError
from haven.keyring import client, crypto, keys
from haven.keyring.agent import b64d, b64e
from haven.keyring.models import KEY_MATERIAL_TABLES, KeySetState

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


# --- content hash ---------------------------------------------------------------------------------


def _tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type='table' "
                        "AND name NOT LIKE 'sqlite_%' ORDER BY name").fetchall()
    return [str(r[0]) for r in rows]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def db_content_hash(conn: sqlite3.Connection, *, include_keys: bool = True) -> str:
    """SHA-256 over every table's name, columns and rows in a fixed order.

    Independent of page layout, free space and row ids, so a restored database that holds
    the same data hashes the same as the original.
    """
    digest = hashlib.sha256()
    for table in _tables(conn):
        if not include_keys and table in KEY_MATERIAL_TABLES:
            continue
        columns = [str(r[1]) for r in conn.execute(f"PRAGMA table_info({_quote(table)})")]
        order = ", ".join(str(i + 1) for i in range(len(columns)))
        digest.update(json.dumps([table, columns]).encode())
        for row in conn.execute(f"SELECT * FROM {_quote(table)} ORDER BY {order}"):  # noqa: S608 - names come from sqlite_master
            digest.update(repr([v.hex() if isinstance(v, bytes) else v for v in row]).encode())
    return digest.hexdigest()


def files_hash(files_dir: Path) -> str:
    digest = hashlib.sha256()
    if files_dir.exists():
        for path in sorted(p for p in files_dir.rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(files_dir)).encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _raw_connection() -> sqlite3.Connection:
    if connection.vendor != "sqlite":
        raise BackupError("This is the SQLite path; the database is not SQLite.")
    if connection.in_atomic_block:
        raise BackupError("A backup cannot be taken inside a transaction.")
    connection.ensure_connection()
    raw = connection.connection
    assert isinstance(raw, sqlite3.Connection)  # noqa: S101 - guaranteed by the vendor check
    return raw


def live_content_hash(*, include_keys: bool = True) -> str:
    """Content hash of the running database and files (what a restore must reproduce).

    Hashed from a plain copy: Django's own connection converts column types on reading.
    """
    if connection.vendor == "postgresql":
        from haven.keyring import backup_pg

        return (backup_pg.live_content_hash(connection.settings_dict, include_keys=include_keys)
                + ":" + files_hash(Path(settings.FILES_DIR)))
    memory = sqlite3.connect(":memory:")
    try:
        _raw_connection().backup(memory)
        digest = db_content_hash(memory, include_keys=include_keys)
    finally:
        memory.close()
    return digest + ":" + files_hash(Path(settings.FILES_DIR))


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


# --- create ---------------------------------------------------------------------------------------


def snapshot_without_keys() -> bytes:
    """A consistent in-memory copy of the database with the key tables emptied and vacuumed."""
    memory = sqlite3.connect(":memory:")
    try:
        _raw_connection().backup(memory)
        memory.execute("PRAGMA secure_delete=ON")
        for table in KEY_MATERIAL_TABLES:
            memory.execute(f"DELETE FROM {_quote(table)}")  # noqa: S608 - fixed table names
        memory.commit()
        memory.execute("VACUUM")
        return memory.serialize()
    finally:
        memory.close()


def create(path: Path, *, keystore: dict[str, Any]) -> Manifest:
    """Write an encrypted archive of the database (without keys) and the stored files."""
    if connection.vendor == "postgresql":
        from haven.keyring import backup_pg

        return backup_pg.create(path, keystore=keystore, database=connection.settings_dict)
    db_bytes = snapshot_without_keys()
    check = sqlite3.connect(":memory:")
    try:
        check.deserialize(db_bytes)
        content = db_content_hash(check)
    finally:
        check.close()
    file_paths = stored_files()
    members = {"db.sqlite3": hashlib.sha256(db_bytes).hexdigest()}
    for p in file_paths:
        members[f"files/{p.name}"] = hashlib.sha256(p.read_bytes()).hexdigest()
    manifest = Manifest(now_utc(), members, content, len(file_paths))

    def contents() -> Iterator[tuple[str, bytes]]:
        yield "manifest.json", json.dumps(manifest.__dict__, sort_keys=True).encode()
        yield "db.sqlite3", db_bytes
        for p in file_paths:
            yield f"files/{p.name}", p.read_bytes()

    write_archive(path, keystore=keystore, database="sqlite", created_at=manifest.created_at,
                  members=contents())
    return manifest


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


def _checked(path: Path, keystore: dict[str, Any]) -> Iterator[tuple[str, bytes, Manifest]]:
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


def verify(path: Path, *, keystore: dict[str, Any]) -> Manifest:
    """Decrypt and check every member against the manifest, writing nothing."""
    if archive_database(path) == "postgresql":
        from haven.keyring import backup_pg

        return backup_pg.verify(path, keystore=keystore)
    manifest: Manifest | None = None
    for name, data, manifest in _checked(path, keystore):
        if name == "db.sqlite3":
            check = sqlite3.connect(":memory:")
            try:
                check.deserialize(data)
                if check.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                    raise BackupError("The database in the archive is damaged.")
                if db_content_hash(check) != manifest.content_hash:
                    raise BackupError("The database content does not match the manifest.")
            finally:
                check.close()
    if manifest is None:
        raise BackupError("The archive is empty.")
    return manifest


def _insert_keys(conn: sqlite3.Connection, keystore: dict[str, Any]) -> None:
    def b(v: str) -> bytes:
        return b64d(v)

    def uid(v: str) -> str:
        return v.replace("-", "")  # Django stores UUIDs on SQLite as 32 hex digits

    conn.executemany(
        "INSERT INTO keyring_keyset (id, created_at, updated_at, state, identifier, threshold,"
        " shares, verifier, index_key, backup_key) VALUES (?,?,?,?,?,?,?,?,?,?)",
        [(uid(k["id"]), _dt(k["created_at"]), _dt(k["updated_at"]), k["state"], k["identifier"],
          k["threshold"], k["shares"], b(k["verifier"]), b(k["index_key"]), b(k["backup_key"]))
         for k in keystore["keysets"]])
    conn.executemany(
        "INSERT INTO keyring_kek (id, created_at, updated_at, keyset_id, wrapped, active)"
        " VALUES (?,?,?,?,?,?)",
        [(uid(k["id"]), _dt(k["created_at"]), _dt(k["updated_at"]), uid(k["keyset"]),
          b(k["wrapped"]), k["active"]) for k in keystore["keks"]])
    conn.executemany(
        "INSERT INTO keyring_datakey (id, created_at, updated_at, owner_type, owner_id, kek_id,"
        " wrapped) VALUES (?,?,?,?,?,?,?)",
        [(uid(d["id"]), _dt(d["created_at"]), _dt(d["updated_at"]), d["owner_type"],
          uid(d["owner_id"]), uid(d["kek"]), b(d["wrapped"])) for d in keystore["data_keys"]])


def _dt(iso: str) -> str:
    # Django's SQLite backend stores aware datetimes as naive UTC "YYYY-MM-DD HH:MM:SS.ffffff".
    from datetime import UTC, datetime

    return datetime.fromisoformat(iso).astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


def restore(path: Path, *, keystore: dict[str, Any], database: dict[str, Any],
            files_dir: Path) -> Manifest:
    """Restore an archive into an empty database and files folder, with keys from the
    current keystore. ``database`` is a Django ``DATABASES`` entry: a SQLite file that does
    not exist yet, or an empty PostgreSQL database, matching the archive's kind."""
    kind = archive_database(path)
    engine = str(database.get("ENGINE", ""))
    if kind == "postgresql":
        if "postgresql" not in engine:
            raise BackupError("This archive holds a PostgreSQL database: restore it with "
                              "DATABASE_URL pointing at an empty PostgreSQL database.")
        from haven.keyring import backup_pg

        return backup_pg.restore(path, keystore=keystore, database=database, files_dir=files_dir)
    if "sqlite" not in engine:
        raise BackupError("This archive holds a SQLite database: restore it without DATABASE_URL "
                          "(into an empty data folder).")
    return restore_sqlite(path, keystore=keystore, db_path=Path(database["NAME"]),
                          files_dir=files_dir)


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


def restore_sqlite(path: Path, *, keystore: dict[str, Any], db_path: Path,
                   files_dir: Path) -> Manifest:
    """Restore a SQLite archive into an empty data folder, with keys from the keystore.

    Refuses to overwrite: the database file must not exist and the files folder must be
    empty. Writes the database only after every member has been checked.
    """
    if db_path.exists() and db_path.stat().st_size > 0:
        raise BackupError(f"{db_path} already exists: restore only into an empty data folder.")
    check_files_dir_empty(files_dir)
    manifest = verify(path, keystore=keystore)
    files_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    for name, data, _ in _checked(path, keystore):
        if name == "db.sqlite3":
            memory = sqlite3.connect(":memory:")
            try:
                memory.deserialize(data)
                _insert_keys(memory, keystore)
                memory.commit()
                db_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                target = sqlite3.connect(db_path)
                try:
                    memory.backup(target)
                finally:
                    target.close()
            finally:
                memory.close()
        else:
            write_restored_file(files_dir, name, data)
    return manifest


def load_keystore(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(f"Cannot read the keystore {path}: {exc}") from None
    if data.get("format") != "haven-keystore-1":
        raise BackupError(f"{path} is not a Haven keystore.")
    return data
