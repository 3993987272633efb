"""PostgreSQL backups: ``pg_dump --format=custom`` streamed through the archive encryption.

**Create.** One ``REPEATABLE READ, READ ONLY`` transaction exports its snapshot; the content
hash is computed inside it and ``pg_dump --snapshot`` dumps exactly the same state while the
server keeps serving. The rows of the key tables are left out (``--exclude-table-data``):
an archive carries no key material, keys travel in the keystore file as for SQLite. The
dump's standard output is read into memory in parts of ``PART_BYTES``, each part becomes a
member ``db.pgdump/NNNNNN`` of the encrypted tar, and the manifest follows the last member.
No byte of the dump is written to a disk or a temporary file: pipe → memory → encryption.

**Verify** decrypts the archive and pipes the dump into ``pg_restore --file=-``, reading the
SQL script it prints as it streams (into memory, never to a file): pg_restore so parses every
block of the dump, the content hash is recomputed from its ``COPY`` rows and compared with
the manifest, and a key table with rows would be refused. Nothing is written.

**Restore** refuses a database that holds any table, then verifies, then pipes the dump
into ``pg_restore --single-transaction --exit-on-error --no-owner --no-privileges`` (all or
nothing), inserts the keys from the keystore, and checks the restored database's content
hash against the manifest.

**Content hash**: per table, its ``COPY`` header (qualified name and columns, quoted as
pg_dump quotes them), its row count, and the sum modulo 2^256 of the SHA-256 of each row's
``COPY`` text line; then SHA-256 over the tables in name order. Order-independent, so it
needs no sorting and no memory, and the same whether read from a live database
(``COPY … TO STDOUT`` in pg_dump's session settings) or from pg_restore's script. It is
there to catch an accidental difference; deliberate changes are already caught by the
archive's authenticated encryption.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import psycopg
from psycopg import conninfo as pg_conninfo
from psycopg import sql

from haven.keyring.backup.archive import (
    BackupError,
    Manifest,
    check_files_dir_empty,
    members,
    now_utc,
    stored_files,
    write_archive,
    write_restored_file,
)
from haven.keyring.models import KEY_MATERIAL_TABLES
from haven.keyring.protocol import b64d

PART_BYTES = 8 * 1024 * 1024
DUMP_PREFIX = "db.pgdump/"
READ_BYTES = 64 * 1024
# pg_dump's own session settings that shape COPY text, plus the time zone it is given (PGTZ).
SESSION = (
    "SET LOCAL TimeZone = 'UTC'",
    "SET LOCAL DateStyle = 'ISO'",
    "SET LOCAL IntervalStyle = 'postgres'",
    "SET LOCAL extra_float_digits = 3",
    "SET LOCAL bytea_output = 'hex'",
)
_MOD = 1 << 256
_USER_SCHEMAS = """
    n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
"""
_TABLES = f"""
    SELECT c.relname,
           quote_ident(n.nspname) || '.' || quote_ident(c.relname) || ' ('
             || string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) || ')'
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                         AND a.attgenerated = ''
     WHERE c.relkind = 'r' AND {_USER_SCHEMAS}
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
     GROUP BY n.nspname, c.relname
     ORDER BY 2
"""  # noqa: S608 - constant text, no input
_OBJECTS = f"""
    SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND {_USER_SCHEMAS}
"""  # noqa: S608 - constant text, no input


# --- connecting -----------------------------------------------------------------------------------


def _params(database: dict[str, Any]) -> dict[str, str]:
    """libpq connection parameters of a Django ``DATABASES`` entry, without the password."""
    params = {"dbname": database.get("NAME"), "host": database.get("HOST"),
              "port": database.get("PORT"), "user": database.get("USER")}
    options = database.get("OPTIONS") or {}
    for name in ("sslmode", "sslrootcert", "sslcert", "sslkey", "passfile", "service"):
        params[name] = options.get(name)
    return {k: str(v) for k, v in params.items() if v not in (None, "")}


def conninfo(database: dict[str, Any]) -> str:
    """For ``--dbname``: names the database but carries no password (argv is visible)."""
    return pg_conninfo.make_conninfo(**_params(database))


def _env(database: dict[str, Any]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HAVEN_SECRET", "DATABASE_URL", "PGPASSWORD"))}
    env.update(PGTZ="UTC", PGCLIENTENCODING="UTF8")
    if database.get("PASSWORD"):
        env["PGPASSWORD"] = str(database["PASSWORD"])
    return env


def connect(database: dict[str, Any]) -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(conninfo(database), password=database.get("PASSWORD") or None,
                               autocommit=True)
    except psycopg.Error as exc:
        raise BackupError(f"Cannot connect to the database {database.get('NAME')!r}: "
                          f"{str(exc).strip()}") from None


def tool(name: str) -> str:
    """The path of a PostgreSQL client program (``pg_dump``, ``pg_restore``)."""
    found = shutil.which(name) or shutil.which(name, path="/usr/bin")
    if found is None:
        raise BackupError(f"{name} was not found: install the PostgreSQL client programs "
                          "(the server's major version or newer).")
    return found


# --- content hash ---------------------------------------------------------------------------------


def _table_name(header: str) -> str:
    return header.split(" (", 1)[0].rsplit(".", 1)[-1].strip('"')


class ContentHash:
    """The order-independent content hash described in the module docstring."""

    def __init__(self) -> None:
        self.tables: dict[str, list[int]] = {}

    def table(self, header: str) -> list[int]:
        return self.tables.setdefault(header, [0, 0])

    @staticmethod
    def add(table: list[int], line: bytes) -> None:
        table[0] += 1
        table[1] = (table[1] + int.from_bytes(hashlib.sha256(line).digest())) % _MOD

    def hexdigest(self) -> str:
        digest = hashlib.sha256()
        for header in sorted(self.tables):
            count, total = self.tables[header]
            digest.update(json.dumps([header, count, f"{total:064x}"]).encode() + b"\n")
        return digest.hexdigest()


def _lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    rest = b""
    for chunk in chunks:
        rest += chunk
        *lines, rest = rest.split(b"\n")
        yield from lines
    if rest:
        yield rest


def content_hash(conn: psycopg.Connection[Any], *, include_keys: bool) -> str:
    """Content hash of the database behind ``conn``; call inside a transaction."""
    for statement in SESSION:
        conn.execute(statement)
    found = ContentHash()
    with conn.cursor() as cur:
        for name, header in conn.execute(_TABLES).fetchall():
            if not include_keys and name in KEY_MATERIAL_TABLES:
                continue
            table = found.table(header)
            with cur.copy(sql.SQL("COPY {} TO STDOUT").format(sql.SQL(header))) as copy:
                for line in _lines(bytes(data) for data in copy):
                    found.add(table, line)
    return found.hexdigest()


def live_content_hash(database: dict[str, Any], *, include_keys: bool) -> str:
    """Content hash of a database now (tests compare it with a restored copy)."""
    conn = connect(database)
    try:
        with conn.transaction():
            return content_hash(conn, include_keys=include_keys)
    finally:
        conn.close()


class ScriptReader:
    """Reads pg_restore's SQL script as it streams: content hash and key-table rows."""

    def __init__(self) -> None:
        self.hash = ContentHash()
        self.key_rows = 0

    def read(self, stream: IO[bytes]) -> None:
        table: list[int] | None = None
        key_table = False
        for line in _lines(iter(lambda: stream.read(READ_BYTES), b"")):
            if table is None:
                if line.startswith(b"COPY ") and line.endswith(b" FROM stdin;"):
                    header = line[5:-12].decode()
                    key_table = _table_name(header) in KEY_MATERIAL_TABLES
                    table = [0, 0] if key_table else self.hash.table(header)
            elif line == b"\\.":
                if key_table:
                    self.key_rows += table[0]
                table = None
            else:
                ContentHash.add(table, line)


# --- processes ------------------------------------------------------------------------------------


class _Output(threading.Thread):
    """Drains one output stream of a child so that it never blocks on a full pipe. If
    ``consume`` fails, the child is stopped (nothing would read its output any more)."""

    def __init__(self, proc: subprocess.Popen[bytes], stream: IO[bytes],
                 consume: Callable[[IO[bytes]], None] | None) -> None:
        super().__init__(daemon=True)
        self.proc, self.stream, self.consume = proc, stream, consume
        self.text = b""
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            if self.consume is None:
                self.text = self.stream.read()[-4000:]
            else:
                self.consume(self.stream)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            self.error = exc
            self.proc.kill()


def _failed(program: str, stderr: bytes) -> BackupError:
    detail = stderr.decode(errors="replace").strip() or "no message"
    return BackupError(f"{program} failed: {detail}")


class _DumpArchive:
    """The members of a PostgreSQL archive, checked against its trailing manifest."""

    def __init__(self, path: Path, keystore: dict[str, Any]) -> None:
        self.path, self.keystore = path, keystore
        self.manifest: Manifest | None = None

    def __iter__(self) -> Iterator[tuple[str, bytes]]:
        seen: dict[str, str] = {}
        parts = 0
        for name, data in members(self.path, self.keystore):
            if self.manifest is not None:
                raise BackupError("The archive has members after its manifest.")
            if name == "manifest.json":
                self.manifest = Manifest(**json.loads(data))
                continue
            if name.startswith(DUMP_PREFIX):
                if name != f"{DUMP_PREFIX}{parts:06d}" or any(n.startswith("files/") for n in seen):
                    raise BackupError(f"Archive member {name!r} is out of order.")
                parts += 1
            elif not name.startswith("files/") or name in seen:
                raise BackupError(f"Unexpected archive member {name!r}.")
            seen[name] = hashlib.sha256(data).hexdigest()
            yield name, data
        if self.manifest is None:
            raise BackupError("The archive ends before its manifest (truncated?).")
        if self.manifest.database != "postgresql" or not parts:
            raise BackupError("The archive's manifest is not that of a PostgreSQL backup.")
        if seen != self.manifest.members:
            raise BackupError("The archive's members do not match its manifest.")


def _feed(proc: subprocess.Popen[bytes], archive: _DumpArchive,
          on_file: Callable[[str, bytes], None]) -> None:
    """Write the dump parts into ``proc``'s standard input, then pass on the files."""
    stdin = proc.stdin
    assert stdin is not None  # noqa: S101 - started with stdin=PIPE
    try:
        for name, data in archive:
            if name.startswith(DUMP_PREFIX):
                stdin.write(data)
            else:
                if not stdin.closed:
                    stdin.close()
                on_file(name, data)
    except BrokenPipeError:
        pass  # the program stopped reading: its exit status and message say why
    except BaseException:
        proc.kill()
        raise
    finally:
        if not stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                stdin.close()


def _run_restore(argv: list[str], env: dict[str, str], archive: _DumpArchive,
                 on_file: Callable[[str, bytes], None],
                 script: Callable[[IO[bytes]], None] | None) -> None:
    """Run pg_restore on the archive's dump, fed from a pipe; raise on any failure."""
    proc = subprocess.Popen(  # noqa: S603 - PostgreSQL's own program, no shell
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE if script else subprocess.DEVNULL,
        stderr=subprocess.PIPE, env=env)
    assert proc.stderr is not None  # noqa: S101 - started with stderr=PIPE
    errors = _Output(proc, proc.stderr, None)
    errors.start()
    output = None
    if script is not None:
        assert proc.stdout is not None  # noqa: S101 - started with stdout=PIPE
        output = _Output(proc, proc.stdout, script)
        output.start()
    try:
        _feed(proc, archive, on_file)
    finally:
        if output is not None:
            output.join()
        errors.join()
        code = proc.wait()
    if output is not None and output.error is not None:
        raise output.error
    if code != 0:
        raise _failed("pg_restore", errors.text)


# --- create, verify, restore ----------------------------------------------------------------------


def create(path: Path, *, keystore: dict[str, Any], database: dict[str, Any]) -> Manifest:
    """Write an encrypted archive of the PostgreSQL database (without key rows) and files."""
    pg_dump = tool("pg_dump")
    file_paths = stored_files()
    created_at = now_utc()
    conn = connect(database)
    try:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.transaction():
            row = conn.execute("SELECT pg_export_snapshot()").fetchone()
            assert row is not None  # noqa: S101 - the function always returns a row
            snapshot = str(row[0])
            content = content_hash(conn, include_keys=False)
            argv = [pg_dump, "--format=custom", "--no-password", f"--snapshot={snapshot}",
                    *(f"--exclude-table-data={t}" for t in KEY_MATERIAL_TABLES),
                    f"--dbname={conninfo(database)}"]
            proc = subprocess.Popen(  # noqa: S603 - PostgreSQL's own program, no shell
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                env=_env(database))
            assert proc.stdout is not None  # noqa: S101 - started with stdout=PIPE
            assert proc.stderr is not None  # noqa: S101 - started with stderr=PIPE
            errors = _Output(proc, proc.stderr, None)
            errors.start()
            hashes: dict[str, str] = {}
            made: list[Manifest] = []

            def contents() -> Iterator[tuple[str, bytes]]:
                assert proc.stdout is not None  # noqa: S101 - see above
                parts = 0
                while data := proc.stdout.read(PART_BYTES):
                    name = f"{DUMP_PREFIX}{parts:06d}"
                    hashes[name] = hashlib.sha256(data).hexdigest()
                    parts += 1
                    yield name, data
                errors.join()
                if proc.wait() != 0 or not parts:
                    raise _failed("pg_dump", errors.text)
                for p in file_paths:
                    data = p.read_bytes()
                    hashes[f"files/{p.name}"] = hashlib.sha256(data).hexdigest()
                    yield f"files/{p.name}", data
                made.append(Manifest(created_at, dict(hashes), content, len(file_paths),
                                     "postgresql"))
                yield "manifest.json", json.dumps(made[0].__dict__, sort_keys=True).encode()

            try:
                write_archive(path, keystore=keystore, database="postgresql",
                              created_at=created_at, members=contents())
            finally:
                if proc.poll() is None:
                    proc.kill()
                proc.wait()
    finally:
        conn.close()
    return made[0]


def verify(path: Path, *, keystore: dict[str, Any]) -> Manifest:
    """Decrypt the archive, have pg_restore read the whole dump, and check the manifest and
    the content hash. Writes nothing: pg_restore's script is read from its pipe."""
    archive = _DumpArchive(path, keystore)
    reader = ScriptReader()
    _run_restore([tool("pg_restore"), "--file=-"], _env({}), archive,
                 lambda _name, _data: None, reader.read)
    manifest = archive.manifest
    assert manifest is not None  # noqa: S101 - the archive raises when it has none
    if reader.key_rows:
        raise BackupError("The archive holds rows of the key tables; archives must not carry "
                          "key material. Refusing it.")
    if reader.hash.hexdigest() != manifest.content_hash:
        raise BackupError("The database content does not match the manifest.")
    return manifest


def _insert_keys(conn: psycopg.Connection[Any], keystore: dict[str, Any]) -> None:
    def dt(iso: str) -> datetime:
        return datetime.fromisoformat(iso)

    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO keyring_keyset (id, created_at, updated_at, state, identifier, threshold,"
            " shares, verifier, index_key, backup_key) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
            [(k["id"], dt(k["created_at"]), dt(k["updated_at"]), k["state"], k["identifier"],
              k["threshold"], k["shares"], b64d(k["verifier"]), b64d(k["index_key"]),
              b64d(k["backup_key"])) for k in keystore["keysets"]])
        cur.executemany(
            "INSERT INTO keyring_kek (id, created_at, updated_at, keyset_id, wrapped, active)"
            " VALUES (%s,%s,%s,%s,%s,%s)",
            [(k["id"], dt(k["created_at"]), dt(k["updated_at"]), k["keyset"], b64d(k["wrapped"]),
              k["active"]) for k in keystore["keks"]])
        cur.executemany(
            "INSERT INTO keyring_datakey (id, created_at, updated_at, owner_type, owner_id,"
            " kek_id, wrapped) VALUES (%s,%s,%s,%s,%s,%s,%s)",
            [(d["id"], dt(d["created_at"]), dt(d["updated_at"]), d["owner_type"], d["owner_id"],
              d["kek"], b64d(d["wrapped"])) for d in keystore["data_keys"]])


def restore(path: Path, *, keystore: dict[str, Any], database: dict[str, Any],
            files_dir: Path) -> Manifest:
    """Restore a PostgreSQL archive into an empty database and files folder, with the keys
    of the current keystore (people erased since the archive was made stay noise)."""
    check_files_dir_empty(files_dir)
    conn = connect(database)
    try:
        row = conn.execute(_OBJECTS).fetchone()
        if row is not None and row[0]:
            raise BackupError(
                f"The database {database.get('NAME')!r} is not empty ({row[0]} tables, views or "
                "sequences): restore only into an empty database. Create a new one (createdb) "
                "and point DATABASE_URL at it.")
        manifest = verify(path, keystore=keystore)
        files_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        argv = [tool("pg_restore"), "--no-password", "--no-owner", "--no-privileges",
                "--single-transaction", "--exit-on-error", f"--dbname={conninfo(database)}"]
        _run_restore(argv, _env(database), _DumpArchive(path, keystore),
                     lambda name, data: write_restored_file(files_dir, name, data), None)
        with conn.transaction():
            _insert_keys(conn, keystore)
        with conn.transaction():
            restored = content_hash(conn, include_keys=False)
    finally:
        conn.close()
    if restored != manifest.content_hash:
        raise BackupError("The restored database does not match the archive's content hash.")
    return manifest
