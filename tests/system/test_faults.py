"""Disk and service faults against the real production server.

A full disk (a small tmpfs data folder) and a lost PostgreSQL connection (a loopback proxy
that is cut) must give a clear 503 that says nothing was saved, corrupt nothing, and heal by
themselves once the fault is gone.
"""

from __future__ import annotations

import contextlib
import errno
import http.client
import os
import socket
import sqlite3
import subprocess
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.support import free_port, scratch_postgres_database
from tests.system import crash


def _post_intake(port: int) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        return crash.submit_intake(conn, port)
    finally:
        conn.close()


class _Writer:
    """Notes on one case through the API, remembering the acknowledged ones."""

    def __init__(self, inst: crash.Instance) -> None:
        self.inst = inst
        self.acked = crash.Acked()
        status, body = self.call("POST", "/api/v1/cases", {"legal_name": "Fault"})
        assert status == 201, body
        self.case_id = str(body["id"])

    def call(self, method: str, path: str, body: dict[str, Any] | None = None
             ) -> tuple[int, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self.inst.port, timeout=30)
        try:
            return self.inst.api(conn, method, path, body)
        finally:
            conn.close()

    def note(self, text: str) -> tuple[int, Any]:
        status, body = self.call("POST", f"/api/v1/cases/{self.case_id}/notes", {"body": text})
        if status == 201:
            self.acked.notes.append((body["id"], text))
        return status, body

    def problems(self) -> list[str]:
        return crash.check(self.inst, self.acked, [self.case_id])


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root; `make test` runs as root in CI")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(path: Path) -> None:
    """Write until the file system says no space is left."""
    with path.open("wb", buffering=0) as out:
        for size in (1 << 20, 1 << 12, 1):
            try:
                while True:
                    out.write(b"\0" * size)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise


def test_full_disk_refuses_writes_clearly_and_recovers(small_disk: Path, tmp_path: Path) -> None:
    inst = crash.Instance(small_disk / "data", log=tmp_path / "server.log")
    try:
        inst.start()
        writer = _Writer(inst)
        assert writer.note("before the disk filled")[0] == 201
        _fill(small_disk / "filler")

        for attempt in range(3):
            status, body = writer.note(f"while full {attempt}")
            assert status == 503, body
            # SQLite says SQLITE_FULL, or an I/O error when its WAL index cannot grow
            assert body["code"] in ("disk_full", "disk_error"), body
            assert "Nothing from your last action was saved" in body["detail"]
        status, page = _post_intake(inst.port)
        assert status == 503
        assert "Nothing from your last action was saved" in page
        assert 'data-fault="disk_' in page

        (small_disk / "filler").unlink()
        status, body = writer.note("after the disk was freed")
        assert status == 201, body
        assert _post_intake(inst.port)[0] == 200
        inst.kill()
        assert writer.problems() == []
        assert len(writer.acked.notes) == 2
        with contextlib.closing(sqlite3.connect(small_disk / "data" / "haven.sqlite3")) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        inst.stop()


class _CuttableProxy:
    """A loopback TCP proxy to PostgreSQL that can drop every connection and refuse new ones."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self.cut_off = threading.Event()
        self.lock = threading.Lock()
        self.sockets: list[socket.socket] = []
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.cut_off.is_set():
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.cut_off.set()
        with self.lock:
            for s in self.sockets:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            self.sockets.clear()

    def restore(self) -> None:
        self.cut_off.clear()

    def close(self) -> None:
        self.cut()
        self.listener.close()


def test_lost_database_connection_gives_503_and_heals(tmp_path: Path) -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        pytest.skip("runs in the PostgreSQL pass of make test (DATABASE_URL)")
    parts = urllib.parse.urlsplit(url)
    proxy = _CuttableProxy((parts.hostname or "127.0.0.1", parts.port or 5432))
    try:
        with scratch_postgres_database(url) as scratch:
            through = urllib.parse.urlsplit(scratch)._replace(
                netloc=f"{parts.username or 'postgres'}@127.0.0.1:{proxy.port}")
            inst = crash.Instance(tmp_path / "data", urllib.parse.urlunsplit(through))
            try:
                inst.start()
                writer = _Writer(inst)
                assert writer.note("before the cut")[0] == 201
                proxy.cut()
                for attempt in range(3):
                    status, body = writer.note(f"during the cut {attempt}")
                    assert status == 503, body
                    assert body["code"] == "database_unavailable"
                status, page = _post_intake(inst.port)
                assert status == 503
                assert "cannot reach its database" in page
                proxy.restore()
                status, body = writer.note("after the database came back")
                assert status == 201, body
                inst.kill()
                assert writer.problems() == []
                assert len(writer.acked.notes) == 2
            finally:
                inst.stop()
    finally:
        proxy.close()
