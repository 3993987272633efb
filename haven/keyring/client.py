"""How workers reach the key agent.

Normally over the agent's Unix socket under ``settings.RUN_DIR``; one connection per call
(a few tens of microseconds on loopback), so a worker keeps no connection, no cache and no
key between requests, and a seal is seen by the very next call of every worker.

Tests may swap in ``LocalTransport``, which runs a ``KeyAgent`` in this process through
the same JSON request/response interface; the socket path has its own end-to-end tests.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings

from haven.core.errors import HavenError, Sealed
from haven.keyring.agent import KeyAgent, recv_message, send_message

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


def socket_path() -> Path:
    return Path(settings.RUN_DIR) / "keyring.sock"


class SocketTransport:
    """The real path: a Unix socket owned by the agent process."""

    def __init__(self, path: Path | None = None, timeout: float = 10.0) -> None:
        self.path = path
        self.timeout = timeout

    def call(self, request: dict[str, Any]) -> dict[str, Any]:
        path = self.path or socket_path()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            try:
                sock.connect(str(path))
            except (FileNotFoundError, ConnectionRefusedError) as exc:
                raise AgentUnavailable(str(exc)) from None
            send_message(sock, request)
            try:
                return recv_message(sock)
            except ConnectionError as exc:
                raise AgentUnavailable(str(exc)) from None
        finally:
            sock.close()


class LocalTransport:
    """An in-process agent, for unit tests and for short-lived commands (``keys init``)."""

    def __init__(self, agent: KeyAgent | None = None) -> None:
        self.agent = agent or KeyAgent()

    def call(self, request: dict[str, Any]) -> dict[str, Any]:
        if self.agent.sealed_event.is_set():
            raise AgentUnavailable("in-process agent sealed")
        # A JSON round trip keeps the in-process path as strict as the socket path.
        response = self.agent.handle(json.loads(json.dumps(request)))
        return dict(json.loads(json.dumps(response)))


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
