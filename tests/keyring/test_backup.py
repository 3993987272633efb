from __future__ import annotations

import io
import json
import secrets
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from haven.keyring import backup, client, crypto, keys, services
from haven.keyring.backup import postgresql as backup_pg
from haven.keyring.fields import field_aad
from haven.keyring.models import DataKey
from haven.keyring.protocol import b64d, b64e
from haven.people import services as people
from haven.people.models import Person

# Each run tests the backups of the database it runs on (`make test` runs both):
# SQLite archives through the sqlite3 backup API, PostgreSQL ones through pg_dump/pg_restore.
sqlite_only = pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3",
    reason="the SQLite path; PostgreSQL runs test theirs",
)
postgresql_only = pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
    reason="the PostgreSQL path (pg_dump, pg_restore): run with DATABASE_URL=postgresql://…",
)


def _sqlite(path: Path) -> dict[str, Any]:
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": path}


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
    return _decrypt_name(row, blob, person_id)


def _decrypt_name(row: Any, blob: bytes, person_id: Any) -> str:
    """``row``: (wrapped data key, wrapped KEK, key set id, KEK id) as a restored copy holds them."""
    owner = str(person_id)
    kek = {"keyset": str(UUID(str(row[2]))), "wrapped": b64e(bytes(row[1])),
           "aad": keys.kek_aad(UUID(str(row[3])))}
    (dk,) = client.call("unwrap_dks", keks=[kek],
                        items=[[0, b64e(bytes(row[0])), keys.dk_aad(("people.person", owner))]])["keys"]
    stub = Person(pk=person_id)
    return crypto.aead_open(b64d(dk), bytes(blob), field_aad(stub, "legal_name")).decode()


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
    backup.restore(archive, keystore=keystore, database=_sqlite(target[0]), files_dir=target[1])
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
        backup.restore(archive, keystore=keystore, database=_sqlite(target[0]), files_dir=target[1])


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

    backup.restore(old_archive, keystore=current, database=_sqlite(target[0]), files_dir=target[1])
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


@sqlite_only
def test_sqlite_archive_refuses_a_postgresql_target(transactional_db: None, unsealed: list[str],
                                                   data_dir: Path, target: tuple[Path, Path]
                                                   ) -> None:
    archive = data_dir / "a.hvb"
    keystore = services.keystore_snapshot()
    backup.create(archive, keystore=keystore)
    assert backup.archive_database(archive) == "sqlite"
    with pytest.raises(backup.BackupError, match="SQLite database"):
        backup.restore(archive, keystore=keystore, files_dir=target[1],
                       database={"ENGINE": "django.db.backends.postgresql", "NAME": "x"})


# --- PostgreSQL -----------------------------------------------------------------------------------


@pytest.fixture
def pg_target() -> Iterator[dict[str, Any]]:
    """A new, empty PostgreSQL database next to the test database, dropped afterwards."""
    from psycopg import sql

    base = dict(connection.settings_dict)
    name = f"{base['NAME']}_restore_{secrets.token_hex(3)}"
    admin = backup_pg.connect(base)
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield {**base, "NAME": name}
    finally:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))
        admin.close()


def _pg_person_name(database: dict[str, Any], person_id: Any) -> str:
    """Decrypt a person's legal name from a restored PostgreSQL database, using only its rows."""
    conn = backup_pg.connect(database)
    try:
        row = conn.execute(
            "SELECT d.wrapped, k.wrapped, k.keyset_id, k.id FROM keyring_datakey d "
            "JOIN keyring_kek k ON k.id = d.kek_id WHERE d.owner_id = %s", (person_id,)).fetchone()
        if row is None:
            raise keys.KeyDestroyed("no key")
        found = conn.execute("SELECT legal_name FROM people_person WHERE id = %s",
                             (person_id,)).fetchone()
        assert found is not None
    finally:
        conn.close()
    return _decrypt_name(row, found[0], person_id)


def _dump(archive: Path, keystore: dict[str, Any]) -> bytes:
    """The decrypted pg_dump output inside an archive (in memory; tests only)."""
    return b"".join(data for name, data in backup.members(archive, keystore)
                    if name.startswith(backup_pg.DUMP_PREFIX))


def pg_script(archive: Path, keystore: dict[str, Any]) -> bytes:
    """The SQL script of the dump inside an archive, uncompressed (in memory; tests only)."""
    done = subprocess.run([backup_pg.tool("pg_restore"), "--file=-"],
                          input=_dump(archive, keystore), capture_output=True, check=True)
    return done.stdout


@pytest.fixture
def empty_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """TMPDIR for this process and for pg_dump / pg_restore: must stay empty."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    return folder


@postgresql_only
def test_pg_round_trip_is_identical(*, transactional_db: None, unsealed: list[str],
                                    coordinator: Any, data_dir: Path, target: tuple[Path, Path],
                                    pg_target: dict[str, Any], empty_tmp: Path) -> None:
    a = people.person_create(actor=coordinator, legal_name="Магомед", phone="+79280001122")
    people.person_create(actor=coordinator, legal_name="Bislan", other_names="Бислан")
    (data_dir / "files").mkdir()
    (data_dir / "files" / "x.hvf").write_bytes(b"\x00sealed bytes")
    (data_dir / "files" / "y.hvf").write_bytes(b"\x00more sealed bytes")
    archive = data_dir / "backups" / "one.hvb"
    keystore = services.keystore_snapshot()
    manifest = backup.create(archive, keystore=keystore)
    assert manifest.database == "postgresql"
    assert manifest.files == 2
    assert not list(archive.parent.glob("*.part"))
    assert backup.archive_database(archive) == "postgresql"
    assert backup.verify(archive, keystore=keystore).content_hash == manifest.content_hash
    backup.restore(archive, keystore=keystore, database=pg_target, files_dir=target[1])
    restored = (backup_pg.live_content_hash(pg_target, include_keys=True) + ":"
                + backup.files_hash(target[1]))
    assert restored == backup.live_content_hash()
    assert _pg_person_name(pg_target, a.pk) == "Магомед"
    assert list(empty_tmp.iterdir()) == []  # no plaintext dump in a temporary file, ever
    with pytest.raises(backup.BackupError, match="not empty"):
        backup.restore(archive, keystore=keystore, database=pg_target, files_dir=target[1] / "x")


@postgresql_only
def test_pg_backup_is_consistent_while_writes_go_on(
        *, transactional_db: None, unsealed: list[str], coordinator: Any, data_dir: Path,
        target: tuple[Path, Path], pg_target: dict[str, Any],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backup_pg, "PART_BYTES", 4096)  # many parts
    for i in range(20):
        people.person_create(actor=coordinator, legal_name=f"Before {i}")
    stop = threading.Event()
    written = {"n": 0}

    def writer() -> None:
        try:
            while not stop.is_set():
                people.person_create(actor=coordinator, legal_name=f"During {written['n']}")
                written["n"] += 1
        finally:
            connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        archive = data_dir / "during.hvb"
        keystore = services.keystore_snapshot()
        manifest = backup.create(archive, keystore=keystore)
    finally:
        stop.set()
        thread.join(30)
    assert written["n"] > 0
    assert len([m for m in manifest.members if m.startswith(backup_pg.DUMP_PREFIX)]) > 1
    # The dump and the content hash come from one snapshot: they agree although rows were
    # being added throughout; and the restore reproduces that state exactly.
    keystore = services.keystore_snapshot()
    assert backup.verify(archive, keystore=keystore).content_hash == manifest.content_hash
    backup.restore(archive, keystore=keystore, database=pg_target, files_dir=target[1])


@postgresql_only
def test_pg_archive_holds_no_keys_and_no_plaintext(transactional_db: None, unsealed: list[str],
                                                   coordinator: Any, data_dir: Path) -> None:
    people.person_create(actor=coordinator, legal_name="Zelimkhan-MARKER", phone="+79991234567")
    archive = data_dir / "a.hvb"
    keystore = services.keystore_snapshot()
    backup.create(archive, keystore=keystore)
    blob = archive.read_bytes()
    assert b"MARKER" not in blob
    assert b"PGDMP" not in blob  # pg_dump's custom format, only inside the encryption
    assert _dump(archive, keystore).startswith(b"PGDMP")
    script = pg_script(archive, keystore)  # the dump uncompressed, as pg_restore reads it
    assert b"COPY public.people_person " in script
    assert b"MARKER" not in script  # fields are ciphertext in the dump too
    assert b"79991234567" not in script
    wrapped_keys = list(DataKey.objects.values_list("wrapped", flat=True))
    assert wrapped_keys
    for wrapped in wrapped_keys:
        assert bytes(wrapped).hex().encode() not in script  # COPY writes bytea as hex


@postgresql_only
def test_pg_verify_detects_damage_and_truncation(transactional_db: None, unsealed: list[str],
                                                 coordinator: Any, data_dir: Path) -> None:
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


@postgresql_only
def test_pg_restore_refuses_non_empty_database_and_folder(
        transactional_db: None, unsealed: list[str], data_dir: Path, target: tuple[Path, Path],
        pg_target: dict[str, Any]) -> None:
    archive = data_dir / "a.hvb"
    keystore = services.keystore_snapshot()
    backup.create(archive, keystore=keystore)
    target[1].mkdir(parents=True)
    (target[1] / "old.hvf").write_bytes(b"x")
    with pytest.raises(backup.BackupError, match="empty data folder"):
        backup.restore(archive, keystore=keystore, database=pg_target, files_dir=target[1])
    conn = backup_pg.connect(pg_target)
    conn.execute("CREATE TABLE unrelated (x int)")
    conn.close()
    with pytest.raises(backup.BackupError, match=r"is not empty \(1 tables"):
        backup.restore(archive, keystore=keystore, database=pg_target,
                       files_dir=target[1] / "fresh")
    assert not (target[1] / "fresh").exists()
    with pytest.raises(backup.BackupError, match="PostgreSQL database"):
        backup.restore(archive, keystore=keystore, database=_sqlite(target[0]),
                       files_dir=target[1] / "fresh")


@postgresql_only
def test_pg_shredded_person_unreadable_after_restoring_older_backup(
        *, transactional_db: None, unsealed: list[str], coordinator: Any, data_dir: Path,
        target: tuple[Path, Path], pg_target: dict[str, Any],
        django_capture_on_commit_callbacks: Any) -> None:
    erased = people.person_create(actor=coordinator, legal_name="Anzor Erased")
    kept = people.person_create(actor=coordinator, legal_name="Bislan Kept")
    old_archive = data_dir / "backups" / "before-erase.hvb"
    backup.create(old_archive, keystore=services.keystore_snapshot())
    services.keystore_export()
    with django_capture_on_commit_callbacks(execute=True):
        people.person_erase(actor=coordinator, person=erased)
    current = backup.load_keystore(services.keystore_path())
    assert str(erased.pk) not in services.keystore_path().read_text()

    backup.restore(old_archive, keystore=current, database=pg_target, files_dir=target[1])
    conn = backup_pg.connect(pg_target)
    try:
        found = conn.execute("SELECT legal_name FROM people_person WHERE id = %s",
                             (erased.pk,)).fetchone()
        owners = conn.execute("SELECT owner_id FROM keyring_datakey").fetchall()
    finally:
        conn.close()
    assert found is not None
    assert found[0]  # the old archive still holds the erased person's ciphertext …
    assert owners == [(kept.pk,)]  # … but no key for it exists in the restored database
    with pytest.raises(keys.KeyDestroyed):
        _pg_person_name(pg_target, erased.pk)
    assert _pg_person_name(pg_target, kept.pk) == "Bislan Kept"


@postgresql_only
def test_pg_backup_commands(transactional_db: None, unsealed: list[str], coordinator: Any,
                            data_dir: Path) -> None:
    people.person_create(actor=coordinator, legal_name="Anzor")
    archive = data_dir / "cmd.hvb"
    out = io.StringIO()
    call_command("backup", "create", str(archive), stdout=out)
    assert "backup written" in out.getvalue()
    out = io.StringIO()
    call_command("backup", "verify", str(archive), stdout=out)
    assert "backup OK" in out.getvalue()
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="not empty"):  # the test database itself
        call_command("backup", "restore", str(archive), stdout=io.StringIO())


def _fake_program(folder: Path, name: str, body: str) -> str:
    script = folder / name
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(0o700)
    return str(script)


@postgresql_only
def test_pg_dump_failure_leaves_no_archive(transactional_db: None, unsealed: list[str],
                                           data_dir: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    failing = _fake_program(tmp_path, "pg_dump", "echo 'pg_dump: error: no luck' >&2; exit 1")
    monkeypatch.setattr(backup_pg, "tool", lambda _name: failing)
    archive = data_dir / "a.hvb"
    with pytest.raises(backup.BackupError, match="pg_dump failed: pg_dump: error: no luck"):
        backup.create(archive, keystore=services.keystore_snapshot())
    assert not archive.exists()
    assert not list(data_dir.glob("*.part"))


@postgresql_only
def test_pg_verify_refuses_a_dump_with_key_rows_or_one_pg_restore_cannot_read(
        *, transactional_db: None, unsealed: list[str], coordinator: Any, data_dir: Path,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    people.person_create(actor=coordinator, legal_name="Anzor")
    keystore = services.keystore_snapshot()
    real = backup_pg.tool("pg_dump")
    # A pg_dump that ignores --exclude-table-data (as a hand-made dump would).
    keeping = _fake_program(tmp_path, "pg_dump_all", f"""
for a in "$@"; do case "$a" in --exclude-table-data=*) ;; *) set -- "$@" "$a";; esac; shift; done
exec {real} "$@" """)
    garbage = _fake_program(tmp_path, "pg_dump_garbage", "head -c 3000000 /dev/zero")
    for program, error in ((keeping, "rows of the key tables"), (garbage, "pg_restore failed")):
        archive = data_dir / f"{Path(program).name}.hvb"
        monkeypatch.setattr(backup_pg, "tool",
                            lambda name, p=program: p if name == "pg_dump" else real.replace(
                                "pg_dump", "pg_restore"))
        backup.create(archive, keystore=keystore)
        with pytest.raises(backup.BackupError, match=error):
            backup.verify(archive, keystore=keystore)


@postgresql_only
def test_pg_unreachable_database_or_missing_program_is_a_clear_error(
        transactional_db: None, unsealed: list[str], data_dir: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(backup.BackupError, match="Cannot connect"):
        backup_pg.create(data_dir / "a.hvb", keystore=services.keystore_snapshot(),
                         database={**connection.settings_dict, "NAME": "haven_no_such_db_x"})
    with pytest.raises(backup.BackupError, match="install the PostgreSQL client programs"):
        backup_pg.tool("pg_dump_no_such_program")


# --- the archive format and the script reader, on either database ---------------------------------


def test_content_hash_reads_pg_restore_scripts() -> None:
    script = (b"SET x = 1;\nCOPY public.people_person (id, legal_name) FROM stdin;\n"
              b"1\t\\\\x01\n2\t\\N\n\\.\nCOPY public.keyring_datakey (id) FROM stdin;\n7\n\\.\n"
              b"COPY public.empty (id) FROM stdin;\n\\.\n")
    reader = backup_pg.ScriptReader()
    reader.read(io.BytesIO(script))
    assert reader.key_rows == 1
    expected = backup_pg.ContentHash()
    for line in (b"2\t\\N", b"1\t\\\\x01"):  # any row order
        expected.add(expected.table("public.people_person (id, legal_name)"), line)
    expected.table("public.empty (id)")
    assert reader.hash.hexdigest() == expected.hexdigest()
    assert backup_pg._table_name('public."order" (id)') == "order"
    assert list(backup_pg._lines([b"a\nb", b"c\n", b"d"])) == [b"a", b"bc", b"d"]


def test_connection_details_never_put_the_password_on_the_command_line() -> None:
    database = {"NAME": "haven", "HOST": "db.internal", "PORT": 5433, "USER": "haven",
                "PASSWORD": "s3cret", "OPTIONS": {"sslmode": "verify-full", "other": "x"}}
    info = backup_pg.conninfo(database)
    assert "s3cret" not in info
    assert "sslmode=verify-full" in info
    assert "port=5433" in info
    env = backup_pg._env(database)
    assert env["PGPASSWORD"] == "s3cret"
    assert env["PGTZ"] == "UTC"
    assert "PGPASSWORD" not in backup_pg._env({"NAME": "haven"})


@pytest.mark.parametrize(("contents", "error"), [
    ([("manifest.json", "M"), ("db.pgdump/000000", b"x")], "after its manifest"),
    ([("db.pgdump/000001", b"x")], "out of order"),
    ([("files/a.hvf", b"x"), ("db.pgdump/000000", b"x")], "out of order"),
    ([("db.pgdump/000000", b"x"), ("other", b"x")], "Unexpected archive member"),
    ([("db.pgdump/000000", b"x")], "ends before its manifest"),
    ([("manifest.json", "M")], "not that of a PostgreSQL backup"),
    ([("db.pgdump/000000", b"x"), ("manifest.json", "M")], "do not match its manifest"),
])
def test_postgresql_archive_members_are_checked(transactional_db: None, unsealed: list[str],
                                                data_dir: Path, contents: list[Any],
                                                error: str) -> None:
    manifest = json.dumps(backup.Manifest("now", {"db.pgdump/000000": "0" * 64}, "h", 0,
                                          "postgresql").__dict__).encode()
    keystore = services.keystore_snapshot()
    archive = data_dir / "crafted.hvb"
    backup.write_archive(archive, keystore=keystore, database="postgresql", created_at="now",
                         members=[(n, manifest if d == "M" else d) for n, d in contents])
    with pytest.raises(backup.BackupError, match=error):
        list(backup_pg._DumpArchive(archive, keystore))


@postgresql_only
def test_pg_content_mismatch_is_refused_on_verify_and_restore(
        *, transactional_db: None, unsealed: list[str], coordinator: Any, data_dir: Path,
        target: tuple[Path, Path], pg_target: dict[str, Any],
        monkeypatch: pytest.MonkeyPatch) -> None:
    people.person_create(actor=coordinator, legal_name="Anzor")
    keystore = services.keystore_snapshot()
    honest = data_dir / "honest.hvb"
    backup.create(honest, keystore=keystore)
    real = backup_pg.content_hash
    monkeypatch.setattr(backup_pg, "content_hash", lambda *_a, **_k: "0" * 64)
    wrong = data_dir / "wrong.hvb"
    backup.create(wrong, keystore=keystore)
    with pytest.raises(backup.BackupError, match="content does not match the manifest"):
        backup.verify(wrong, keystore=keystore)
    # The restored database is checked too (here the check is made to disagree).
    with pytest.raises(backup.BackupError, match="restored database does not match"):
        backup.restore(honest, keystore=keystore, database=pg_target, files_dir=target[1])
    monkeypatch.setattr(backup_pg, "content_hash", real)


@postgresql_only
def test_pg_failures_while_streaming_stop_everything(
        *, transactional_db: None, unsealed: list[str], data_dir: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    archive = data_dir / "a.hvb"
    with pytest.raises(backup.BackupError, match="no active key set"):
        backup.create(archive, keystore={"keysets": []})  # pg_dump is stopped, nothing kept
    assert not archive.exists()
    assert not list(data_dir.glob("*.part"))
    keystore = services.keystore_snapshot()
    backup.create(archive, keystore=keystore)

    def broken(_self: Any, _stream: Any) -> None:
        raise RuntimeError("reader broke")

    monkeypatch.setattr(backup_pg.ScriptReader, "read", broken)
    with pytest.raises(RuntimeError, match="reader broke"):
        backup.verify(archive, keystore=keystore)


@pytest.mark.parametrize(("blob", "error"), [
    (b"NOTHAVEN", "not a Haven backup"),
    (backup.MAGIC + b"\x00\x00\x00\x02{]", "header is damaged"),
    (backup.MAGIC + b"\x00\x00\x00\x1b" + b'{"format": "x", "salt": ""}', "Unknown archive format"),
])
def test_not_an_archive_is_refused_before_any_key_is_used(tmp_path: Path, blob: bytes,
                                                          error: str) -> None:
    path = tmp_path / "x.hvb"
    path.write_bytes(blob)
    with pytest.raises(backup.BackupError, match=error):
        backup.verify(path, keystore={})
