"""SQLite backups: the database copied with SQLite's online backup API.

The copy is taken into memory (consistent while the server runs) and its key tables are
emptied and vacuumed there before it is serialized: **a data archive carries no key
material**. Keys travel in the keystore file (``keyring.services.keystore_export``), which is
replaced — never versioned — after every erase and rotation. A restore takes the data from
an archive of any age and the keys from the current keystore, so people erased since the
archive was made have no key anywhere and stay noise; everyone else opens. In a SQLite
archive the manifest comes first.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

from haven.keyring.backup.archive import (
    BackupError,
    Manifest,
    check_files_dir_empty,
    checked,
    files_hash,
    now_utc,
    stored_files,
    write_archive,
    write_restored_file,
)
from haven.keyring.models import KEY_MATERIAL_TABLES
from haven.keyring.protocol import b64d

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
    memory = sqlite3.connect(":memory:")
    try:
        _raw_connection().backup(memory)
        digest = db_content_hash(memory, include_keys=include_keys)
    finally:
        memory.close()
    return digest + ":" + files_hash(Path(settings.FILES_DIR))


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


def verify(path: Path, *, keystore: dict[str, Any]) -> Manifest:
    """Decrypt and check every member against the manifest, writing nothing."""
    manifest: Manifest | None = None
    for name, data, manifest in checked(path, keystore):
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
    return datetime.fromisoformat(iso).astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


def restore(path: Path, *, keystore: dict[str, Any], db_path: Path,
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
    for name, data, _ in checked(path, keystore):
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


