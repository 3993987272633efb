"""Keyring fixtures shared by tests/keyring and tests/people.

``unsealed`` runs the key agent in-process (``LocalTransport``); tests marked as end to end
start the real agent process on a Unix socket instead (``agent_process``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from haven.keyring import client, keys, services

MIDDLEWARE_AFTER = "haven.accounts.middleware.SecondFactorMiddleware"
SEALED_MIDDLEWARE = "haven.keyring.middleware.SealedMiddleware"


@pytest.fixture
def data_dir(settings: Any, tmp_path: Path) -> Iterator[Path]:
    """A fresh data folder; the run folder is short-named because socket paths are limited."""
    run = Path(tempfile.mkdtemp(prefix="hvrun"))
    settings.DATA_DIR = tmp_path
    settings.FILES_DIR = tmp_path / "files"
    settings.BACKUP_DIR = tmp_path / "backups"
    settings.RUN_DIR = run
    settings.HAVEN_MAX_UPLOAD_MB = 1
    yield tmp_path
    shutil.rmtree(run, ignore_errors=True)


@pytest.fixture
def sealed_middleware(settings: Any) -> None:
    middleware = list(settings.MIDDLEWARE)
    middleware.insert(middleware.index(MIDDLEWARE_AFTER) + 1, SEALED_MIDDLEWARE)
    settings.MIDDLEWARE = middleware
    settings.ROOT_URLCONF = "tests.keyring.urls"


@pytest.fixture
def local_agent(data_dir: Path) -> Iterator[client.LocalTransport]:
    with client.using(client.LocalTransport()) as transport:
        assert isinstance(transport, client.LocalTransport)
        yield transport
    keys.cache.clear()  # this process's worker key cache: nothing carries into the next test


@pytest.fixture
def shares(db: None, local_agent: client.LocalTransport) -> list[str]:
    """Keys made with 3 shares, threshold 2; the server is still sealed."""
    return services.keys_init(actor=None, shares=3, threshold=2)


@pytest.fixture
def unsealed(shares: list[str], local_agent: client.LocalTransport) -> list[str]:
    services.unseal_submit_share(actor=None, share=shares[0])
    progress = services.unseal_submit_share(actor=None, share=shares[2])
    assert progress.unsealed
    return shares


def start_agent(run_dir: Path) -> subprocess.Popen[bytes]:
    """The real agent process on ``run_dir/keyring.sock``."""
    sock = run_dir / "keyring.sock"
    proc = subprocess.Popen(
        [sys.executable, "-m", "haven.keyring.agent", "--socket", str(sock)],
        cwd=Path(__file__).resolve().parents[2], stdin=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            client.SocketTransport(sock).call({"op": "status"})
            return proc
        except client.AgentUnavailable:
            pass
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("agent did not start")


@pytest.fixture
def agent_process(data_dir: Path, settings: Any) -> Iterator[subprocess.Popen[bytes]]:
    proc = start_agent(Path(settings.RUN_DIR))
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.wait(5)
    keys.cache.clear()
    watcher = keys.cache._watcher
    if watcher is not None:
        watcher.join(5)  # it ends at its next look at an empty cache
    client.drop_connection()


def pid_alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped counts as gone)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in text
