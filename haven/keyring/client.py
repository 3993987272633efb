"""How workers reach the key agent.

Normally over the agent's Unix socket under ``settings.RUN_DIR``. The frequent read-only
operations (``status``, ``unwrap_dks``, ``blind_index``) reuse one connection per thread:
connecting costs the agent a thread, ten times the cost of the question. A connection holds
no key; when the agent exits (seal), the next call finds it closed, tries one fresh
connection, finds no socket and answers ``Sealed``. Everything else (shares, seal, rotation)
gets a connection of its own, so a lost reply is never retried.

``generation()`` reads the agent's published cache generation from the page it shares next
to its socket (``agent.GenerationPage``, format in ``protocol``): a memory read, so a worker can check it before
every use of a cached data key without a round trip.

Tests may swap in ``LocalTransport``, which runs a ``KeyAgent`` in this process through
the same JSON request/response interface; the socket path has its own end-to-end tests.
"""

from __future__ import annotations

import contextlib
import json
import mmap
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from django.conf import settings

from haven.core.errors import HavenError, Sealed
from haven.keyring.protocol import GENERATION, GENERATION_FILE, recv_message, send_message

if TYPE_CHECKING:
    from haven.keyring.agent import KeyAgent

SEALED_MESSAGE = (
    "The server is sealed: no key is in memory. A coordinator must unseal it with the key "
    "shares before any personal data can be read or written."
)


class AgentUnavailable(Exception):
    """No agent answers on the socket: the server is sealed."""


class KeyringError(HavenError):
    """The key agent refused an operation; ``code`` says why (``stale_keyset``, ``tampered``…)."""

    status = 400

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Transport(Protocol):
    def call(self, request: dict[str, Any]) -> dict[str, Any]: ...

    def generation(self) -> int | None:
        """The agent's published cache generation (0: use no cached key); None: no agent."""


# Operations that change nothing in the agent: safe to send again on a fresh connection when
# a kept one turns out to have been closed (agent restarted, or its idle timeout).
REUSABLE_OPS = frozenset({"status", "unwrap_dks", "blind_index"})


def socket_path() -> Path:
    return Path(settings.RUN_DIR) / "keyring.sock"


class _Kept(threading.local):
    """This thread's open connection to the agent, if any: (pid, path, socket)."""

    conn: tuple[int, str, socket.socket] | None = None


_kept = _Kept()


def drop_connection() -> None:
    """Close this thread's kept connection (tests; after a seal nothing needs it)."""
    kept, _kept.conn = _kept.conn, None
    if kept is not None:
        kept[2].close()


class _Page:
    """This process's read-only mapping of the agent's generation page."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._id: tuple[int, int, str] | None = None
        self._map: mmap.mmap | None = None

    def read(self, path: str) -> int | None:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return None  # no agent (sealed, or never started)
        ident = (st.st_dev, st.st_ino, path)
        page = self._map
        if ident != self._id or page is None:
            # A new agent made a new page (or this is the first read): map that one. An old
            # mapping is left to the garbage collector, never closed under another thread.
            with self._lock:
                try:
                    fd = os.open(path, os.O_RDONLY)
                except FileNotFoundError:
                    return None
                try:
                    if os.fstat(fd).st_size < GENERATION.size:
                        return 0
                    page = mmap.mmap(fd, GENERATION.size, access=mmap.ACCESS_READ)
                finally:
                    os.close(fd)
                self._map, self._id = page, ident
        value: int = GENERATION.unpack(page[: GENERATION.size])[0]
        return value


_page = _Page()


class SocketTransport:
    """The real path: a Unix socket owned by the agent process."""

    def __init__(self, path: Path | None = None, timeout: float = 10.0) -> None:
        self.path = path
        self.timeout = timeout

    def _connect(self, path: Path) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            sock.close()
            raise AgentUnavailable(str(exc)) from None
        return sock

    def call(self, request: dict[str, Any]) -> dict[str, Any]:
        path = self.path or socket_path()
        if request.get("op") in REUSABLE_OPS:
            return self._call_kept(path, request)
        sock = self._connect(path)
        try:
            send_message(sock, request)
            try:
                return recv_message(sock)
            except ConnectionError as exc:
                raise AgentUnavailable(str(exc)) from None
        finally:
            sock.close()

    def _call_kept(self, path: Path, request: dict[str, Any]) -> dict[str, Any]:
        kept = _kept.conn
        if kept is not None and (kept[0] != os.getpid() or kept[1] != str(path)):
            # Made before a fork (the parent's), or to another socket: never ours to use.
            drop_connection()
            kept = None
        if kept is not None:
            try:
                return self._exchange(kept[2], request)
            except TimeoutError:
                drop_connection()
                raise
            except OSError:  # ConnectionError included: closed since (agent gone or idle)
                drop_connection()
        sock = self._connect(path)
        _kept.conn = (os.getpid(), str(path), sock)
        try:
            return self._exchange(sock, request)
        except ConnectionError as exc:
            drop_connection()
            raise AgentUnavailable(str(exc)) from None
        except OSError:
            drop_connection()
            raise

    def generation(self) -> int | None:
        folder = self.path.parent if self.path else settings.RUN_DIR
        return _page.read(os.path.join(folder, GENERATION_FILE))

    @staticmethod
    def _exchange(sock: socket.socket, request: dict[str, Any]) -> dict[str, Any]:
        send_message(sock, request)
        return recv_message(sock)


class LocalTransport:
    """An in-process agent, for unit tests and for short-lived commands (``keys init``)."""

    def __init__(self, agent: KeyAgent | None = None) -> None:
        if agent is None:
            # Only short-lived commands and tests hold an agent in their own process; a serving
            # worker never loads the module of the process that holds the master key.
            from haven.keyring.agent import KeyAgent  # noqa: PLC0415

            agent = KeyAgent()
        self.agent = agent

    def call(self, request: dict[str, Any]) -> dict[str, Any]:
        if self.agent.sealed_event.is_set():
            raise AgentUnavailable("in-process agent sealed")
        # A JSON round trip keeps the in-process path as strict as the socket path.
        response = self.agent.handle(json.loads(json.dumps(request)))
        return dict(json.loads(json.dumps(response)))

    def generation(self) -> int | None:
        if self.agent.sealed_event.is_set():
            return None
        with self.agent._lock:
            return self.agent.published()


_override: Transport | None = None


def transport() -> Transport:
    return _override if _override is not None else SocketTransport()


@contextlib.contextmanager
def using(t: Transport) -> Iterator[Transport]:
    """Route every keyring call of this process through ``t`` (tests, offline commands)."""
    global _override  # noqa: PLW0603 - a process-wide switch is the point
    previous, _override = _override, t
    try:
        yield t
    finally:
        _override = previous


def call(op: str, **fields: Any) -> dict[str, Any]:
    """Send one operation to the agent; raise ``Sealed`` if none answers, ``KeyringError`` if refused."""
    try:
        response = transport().call({"op": op, **fields})
    except AgentUnavailable:
        raise Sealed(SEALED_MESSAGE) from None
    except TimeoutError:
        raise Sealed("The key agent did not answer in time; treat the server as sealed.") from None
    if response.get("ok"):
        return response
    code = str(response.get("error", "error"))
    if code == "sealed":
        raise Sealed(SEALED_MESSAGE)
    raise KeyringError(code, str(response.get("message", "The key agent refused the operation.")))


def generation() -> int | None:
    """The agent's cache generation: nonzero = cached data keys of exactly this generation may
    be used; 0 = none may (sealed, or an erase in progress); None = no agent at all."""
    return transport().generation()


def status() -> dict[str, Any] | None:
    """The agent's status, or None when no agent is running."""
    try:
        response = transport().call({"op": "status"})
    except (AgentUnavailable, TimeoutError):
        return None
    return response if response.get("ok") else None


def ensure_agent(wait: float = 10.0) -> None:
    """Start the agent if none answers (it starts sealed and waits for shares).

    It runs in its own session, detached from this worker, so a worker restart does not
    seal the server; only ``seal`` (or killing the agent) does.
    """
    if status() is not None or not isinstance(transport(), SocketTransport):
        return
    path = socket_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HAVEN_SECRET", "DATABASE"))}
    launcher = subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
        [sys.executable, "-m", "haven.keyring.agent", "--socket", str(path), "--detach"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True, close_fds=True, env=env,
        cwd=Path(__file__).resolve().parent.parent.parent,
    )
    launcher.wait(wait)  # the launcher forks the agent and exits at once; reap it
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if status() is not None:
            return
        time.sleep(0.05)
    raise Sealed("The key agent could not be started; see the server's logs.")
