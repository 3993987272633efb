"""How workers reach the agent: kept connections for read-only calls, and the generation page."""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from haven.core.errors import Sealed
from haven.keyring import agent, client

Behaviour = Callable[[dict[str, Any]], dict[str, Any] | str]


class FakeAgent:
    """A socket that answers like the agent, or hangs up / stays silent when told to."""

    def __init__(self, path: Path, behaviour: Behaviour) -> None:
        self.path, self.behaviour = path, behaviour
        self.connections = 0
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(path))
        self.server.listen()
        self.open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            self.open.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError, ConnectionError):
            while True:
                answer = self.behaviour(agent.recv_message(conn))
                if answer == "close":
                    conn.close()
                    return
                if answer == "half":
                    conn.sendall(b"\x00\x00\x01\x00{")
                    conn.close()
                    return
                if answer == "silent":
                    continue
                assert isinstance(answer, dict)
                agent.send_message(conn, answer)

    def close(self) -> None:
        self.server.close()
        for conn in self.open:
            conn.close()


@pytest.fixture
def run_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="hvc") as folder:
        yield Path(folder)
    client.drop_connection()


@contextlib.contextmanager
def _fake(run_dir: Path, behaviour: Behaviour) -> Iterator[FakeAgent]:
    fake = FakeAgent(run_dir / "keyring.sock", behaviour)
    try:
        yield fake
    finally:
        fake.close()


def ok(req: dict[str, Any]) -> dict[str, Any]:
    return {"ok": True, "op": req["op"]}


def test_read_only_calls_share_one_connection(run_dir: Path) -> None:
    with _fake(run_dir, ok) as fake:
        transport = client.SocketTransport(fake.path)
        for _ in range(3):
            assert transport.call({"op": "status"})["op"] == "status"
        assert fake.connections == 1
        transport.call({"op": "submit_share"})  # never on the kept connection
        assert fake.connections == 2


def test_kept_connection_closed_by_the_agent_is_replaced(run_dir: Path) -> None:
    calls = {"n": 0}

    def close_second(req: dict[str, Any]) -> dict[str, Any] | str:
        calls["n"] += 1
        return "close" if calls["n"] == 2 else ok(req)

    with _fake(run_dir, close_second) as fake:
        transport = client.SocketTransport(fake.path)
        transport.call({"op": "status"})
        assert transport.call({"op": "unwrap_dks"})["op"] == "unwrap_dks"  # asked again
        assert fake.connections == 2


def test_kept_connection_not_used_after_fork_or_for_another_socket(run_dir: Path) -> None:
    with _fake(run_dir, ok) as fake:
        transport = client.SocketTransport(fake.path)
        transport.call({"op": "status"})
        kept = client._kept.conn
        assert kept is not None
        client._kept.conn = (kept[0] + 1, kept[1], kept[2])  # as a forked child sees it
        transport.call({"op": "status"})
        assert fake.connections == 2
        assert kept[2].fileno() == -1  # closed
        with pytest.raises(client.AgentUnavailable):
            client.SocketTransport(fake.path.with_name("other.sock")).call({"op": "status"})
        assert client._kept.conn is None


def test_silent_agent_times_out_as_sealed(run_dir: Path) -> None:
    replies = iter([True, False, False])

    def answer_once(req: dict[str, Any]) -> dict[str, Any] | str:
        return ok(req) if next(replies) else "silent"

    with _fake(run_dir, answer_once) as fake, \
            client.using(client.SocketTransport(fake.path, timeout=0.2)):
        assert client.status() is not None
        assert client.status() is None  # the kept connection timed out: no retry
        assert client._kept.conn is None
        with pytest.raises(Sealed, match="did not answer in time"):
            client.call("status")  # a fresh connection, also silent
        assert client._kept.conn is None


def test_agent_hanging_up_mid_answer_is_sealed(run_dir: Path) -> None:
    with _fake(run_dir, lambda _req: "half") as fake, \
            client.using(client.SocketTransport(fake.path)):
        with pytest.raises(Sealed):
            client.call("status")
        with pytest.raises(Sealed):
            client.call("seal")
        assert client._kept.conn is None


# --- the generation page -------------------------------------------------------------------------


def test_generation_page_is_read_and_followed_to_a_new_agent(run_dir: Path) -> None:
    transport = client.SocketTransport(run_dir / "keyring.sock")
    assert transport.generation() is None  # no agent
    page = agent.GenerationPage(run_dir / agent.GENERATION_FILE)
    assert transport.generation() == 0
    page.write(12345)
    assert transport.generation() == 12345
    replacement = agent.GenerationPage(run_dir / agent.GENERATION_FILE)  # a new inode
    replacement.write(777)
    page.write(99)  # the old agent's page, no longer at the path
    assert transport.generation() == 777
    replacement.close()
    assert transport.generation() is None


def test_generation_page_being_made_or_removed_reads_as_unusable(run_dir: Path,
                                                                 monkeypatch: Any) -> None:
    path = run_dir / agent.GENERATION_FILE
    path.write_bytes(b"")  # created, not yet sized
    reader = client._Page()
    assert reader.read(str(path)) == 0
    path.unlink()
    agent.GenerationPage(path).write(5)
    monkeypatch.setattr(os, "open", lambda *_a, **_k: (_ for _ in ()).throw(FileNotFoundError()))
    assert reader.read(str(path)) is None  # removed between stat and open


def test_in_process_agent_publishes_its_generation() -> None:
    local = client.LocalTransport()
    assert local.generation() == 0
    local.agent.handle({"op": "seal"})
    assert local.generation() is None
