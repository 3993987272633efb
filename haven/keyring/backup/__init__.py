"""Encrypted backups: one archive of the database and the files, and a separate keystore.

The archive format is the same for every database (``archive``); each engine has its own
module that fills and reads it: ``sqlite`` (SQLite's online backup API, the manifest first)
and ``postgresql`` (``pg_dump`` / ``pg_restore`` streamed, the manifest last, because a
streamed dump's hash is known only at its end). This package picks the engine: from the
running database when creating, from the archive's header when verifying or restoring.

**A data archive carries no key material**: keys travel in the keystore file
(``keyring.services.keystore_export``). A restore takes the data from an archive of any age
and the keys from the current keystore, so people erased since have no key anywhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

from haven.keyring.backup import postgresql, sqlite
from haven.keyring.backup.archive import (
    FORMAT,
    MAGIC,
    BackupError,
    Manifest,
    archive_database,
    files_hash,
    load_keystore,
    members,
    write_archive,
)
from haven.keyring.backup.sqlite import db_content_hash, snapshot_without_keys

__all__ = [
    "FORMAT", "MAGIC", "BackupError", "Manifest", "archive_database", "create",
    "db_content_hash", "files_hash", "live_content_hash", "load_keystore", "members",
    "restore", "snapshot_without_keys", "verify", "write_archive",
]


def live_content_hash(*, include_keys: bool = True) -> str:
    """Content hash of the running database and files (what a restore must reproduce)."""
    if connection.vendor == "postgresql":
        return (postgresql.live_content_hash(connection.settings_dict, include_keys=include_keys)
                + ":" + files_hash(Path(settings.FILES_DIR)))
    return sqlite.live_content_hash(include_keys=include_keys)


def create(path: Path, *, keystore: dict[str, Any]) -> Manifest:
    """Write an encrypted archive of the database (without keys) and the stored files."""
    if connection.vendor == "postgresql":
        return postgresql.create(path, keystore=keystore, database=connection.settings_dict)
    return sqlite.create(path, keystore=keystore)


def verify(path: Path, *, keystore: dict[str, Any]) -> Manifest:
    """Decrypt and check every member against the manifest, writing nothing."""
    if archive_database(path) == "postgresql":
        return postgresql.verify(path, keystore=keystore)
    return sqlite.verify(path, keystore=keystore)


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
        return postgresql.restore(path, keystore=keystore, database=database, files_dir=files_dir)
    if "sqlite" not in engine:
        raise BackupError("This archive holds a SQLite database: restore it without DATABASE_URL "
                          "(into an empty data folder).")
    return sqlite.restore(path, keystore=keystore, db_path=Path(database["NAME"]),
                          files_dir=files_dir)
