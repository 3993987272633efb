from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from haven.keyring import backup, crypto, keys, services
from haven.keyring.agent import b64e
from haven.keyring.fields import field_aad
from haven.people import services as people

# Built-in backup archives cover the SQLite default (the sqlite3 backup API gives a consistent
# copy while serving). PostgreSQL backups through pg_dump are documented, not built yet: on a
# PostgreSQL run `haven backup create` refuses with a clear error, tested below.
sqlite_only = pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3",
    reason="built-in backups cover SQLite; PostgreSQL backups are not built yet",
)


def _person_name(db: Path, person_id: Any) -> str:
    """Decrypt a person's legal name from a restored database file, using only its rows."""
    conn = sqlite3.connect(db)
    try:
        owner = str(person_id)
        row = conn.execute(
            "SELECT d.wrapped, k.wrapped, k.keyset_id, k.id FROM keyring_datakey d "
            "JOIN keyring_kek k ON k.id = d.kek_id WHERE d.owner_id = ?",
            (owner.replace("-", ""),)).fetchone()
        if row is None:
            raise keys.KeyDestroyed("no key")
        (blob,) = conn.execute("SELECT legal_name FROM people_person WHERE id = ?",
                               (owner.replace("-", ""),)).fetchone()
    finally:
        conn.close()
    from uuid import UUID

    from haven.keyring import client

    kek = {"keyset": str(UUID(row[2])), "wrapped": b64e(row[1]), "aad": keys.kek_aad(UUID(row[3]))}
    (dk,) = client.call("unwrap_dks", keks=[kek],
                        items=[[0, b64e(row[0]), keys.dk_aad(("people.person", owner))]])["keys"]
    from haven.keyring.agent import b64d
    from haven.people.models import Person

    stub = Person(pk=person_id)
    return crypto.aead_open(b64d(dk), blob, field_aad(stub, "legal_name")).decode()


@pytest.fixture
def target(tmp_path: Path) -> tuple[Path, Path]:
    fresh = tmp_path / "restored"
    return fresh / "haven.sqlite3", fresh / "files"


@sqlite_only
def test_round_trip_is_identical(transactional_db: None, unsealed: list[str], coordinator: Any, data_dir: Path,
                                 target: tuple[Path, Path]) -> None:
    a = people.person_create(actor=coordinator, legal_name="Магомед", phone="+79280001122")
    (data_dir / "files").mkdir()
    (data_dir / "files" / "x.hvf").write_bytes(b"\x00sealed bytes")
    archive = data_dir / "backups" / "one.hvb"
    keystore = services.keystore_snapshot()
    manifest = backup.create(archive, keystore=keystore)
    assert manifest.files == 1
    assert backup.verify(archive, keystore=keystore).content_hash == manifest.content_hash
    backup.restore(archive, keystore=keystore, db_path=target[0], files_dir=target[1])
    conn = sqlite3.connect(target[0])
    try:
        restored = backup.db_content_hash(conn) + ":" + backup.files_hash(target[1])
    finally:
        conn.close()
    assert restored == backup.live_content_hash()
    assert _person_name(target[0], a.pk) == "Магомед"


@sqlite_only
def test_archive_holds_no_keys_and_no_plaintext(transactional_db: None, unsealed: list[str], coordinator: Any,
                                                data_dir: Path) -> None:
    people.person_create(actor=coordinator, legal_name="Zelimkhan-MARKER")
    snapshot = backup.snapshot_without_keys()
    conn = sqlite3.connect(":memory:")
    conn.deserialize(snapshot)
    assert conn.execute("SELECT count(*) FROM keyring_datakey").fetchone() == (0,)
    assert conn.execute("SELECT count(*) FROM keyring_kek").fetchone() == (0,)
    assert conn.execute("SELECT count(*) FROM people_person").fetchone() == (1,)
    conn.close()
    archive = data_dir / "a.hvb"
    backup.create(archive, keystore=services.keystore_snapshot())
    assert b"MARKER" not in archive.read_bytes()
    assert b"SQLite format" not in archive.read_bytes()


@sqlite_only
def test_verify_detects_damage_and_truncation(transactional_db: None, unsealed: list[str], coordinator: Any,
                                              data_dir: Path) -> None:
    people.person_create(actor=coordinator, legal_name="Anzor")
    archive = data_dir / "a.hvb"
    keystore = services.keystore_snapshot()
    backup.create(archive, keystore=keystore)
    blob = archive.read_bytes()
    damaged = data_dir / "damaged.hvb"
    flipped = bytearray(blob)
    flipped[len(blob) // 2] ^= 1
    damaged.write_bytes(bytes(flipped))
    with pytest.raises(backup.BackupError, match="integrity"):
        backup.verify(damaged, keystore=keystore)
    truncated = data_dir / "truncated.hvb"
    truncated.write_bytes(blob[: len(blob) - 200])
    with pytest.raises(backup.BackupError):
        backup.verify(truncated, keystore=keystore)


@sqlite_only
def test_restore_refuses_non_empty_folder(transactional_db: None, unsealed: list[str], data_dir: Path,
                                          target: tuple[Path, Path]) -> None:
    archive = data_dir / "a.hvb"
    keystore = services.keystore_snapshot()
    backup.create(archive, keystore=keystore)
    target[0].parent.mkdir(parents=True)
    target[0].write_bytes(b"something")
    with pytest.raises(backup.BackupError, match="empty data folder"):
        backup.restore(archive, keystore=keystore, db_path=target[0], files_dir=target[1])


@sqlite_only
def test_shredded_person_unreadable_after_restoring_older_backup(
        *, transactional_db: None, unsealed: list[str], coordinator: Any, data_dir: Path, target: tuple[Path, Path],
        django_capture_on_commit_callbacks: Any) -> None:
    erased = people.person_create(actor=coordinator, legal_name="Anzor Erased")
    kept = people.person_create(actor=coordinator, legal_name="Bislan Kept")
    old_archive = data_dir / "backups" / "before-erase.hvb"
    backup.create(old_archive, keystore=services.keystore_snapshot())
    services.keystore_export()
    old_keystore = services.keystore_path().read_bytes()
    assert str(erased.pk).encode() in old_keystore

    with django_capture_on_commit_callbacks(execute=True):
        people.person_erase(actor=coordinator, person=erased)
    current = backup.load_keystore(services.keystore_path())
    assert str(erased.pk) not in services.keystore_path().read_text()  # replaced, not versioned
    assert not list(services.keystore_path().parent.glob("*.tmp"))

    backup.restore(old_archive, keystore=current, db_path=target[0], files_dir=target[1])
    # The old archive still holds the erased person's ciphertext …
    conn = sqlite3.connect(target[0])
    (blob,) = conn.execute("SELECT legal_name FROM people_person WHERE id = ?",
                           (str(erased.pk).replace("-", ""),)).fetchone()
    rows = conn.execute("SELECT owner_id FROM keyring_datakey").fetchall()
    conn.close()
    assert blob
    # … but no key for it exists in the restored folder: no data key opens it.
    assert rows == [(str(kept.pk).replace("-", ""),)]
    with pytest.raises(keys.KeyDestroyed):
        _person_name(target[0], erased.pk)
    assert _person_name(target[0], kept.pk) == "Bislan Kept"


@pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3",
    reason="the refusal is for PostgreSQL runs",
)
def test_backup_on_postgresql_refuses_with_a_clear_error(db: None, tmp_path: Path) -> None:
    with pytest.raises(backup.BackupError, match="pg_dump"):
        backup.create(tmp_path / "backup.hvb", keystore={})
