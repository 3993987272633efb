from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from haven.keyring import protocol

REPO = Path(__file__).resolve().parents[2]


def test_message_round_trip_and_limits() -> None:
    a, b = socket.socketpair()
    with a, b:
        protocol.send_message(a, {"op": "ping", "key": protocol.b64e(b"\x00\xff")})
        message = protocol.recv_message(b)
        assert message == {"op": "ping", "key": "AP8="}
        assert protocol.b64d(message["key"]) == b"\x00\xff"
        a.sendall(protocol.LENGTH.pack(protocol.MAX_MESSAGE + 1))
        with pytest.raises(ConnectionError, match="too large"):
            protocol.recv_message(b)
        body = json.dumps([1, 2]).encode()
        a.sendall(protocol.LENGTH.pack(len(body)) + body)
        with pytest.raises(ConnectionError, match="not an object"):
            protocol.recv_message(b)


def test_serving_worker_never_loads_the_agent_module() -> None:
    """A worker loads every URL, API operation and app, yet not the module of the process that
    holds the master key: it shares only ``keyring.protocol`` with it."""
    script = (
        "import sys, django; django.setup()\n"
        "from django.urls import get_resolver\n"
        "import haven.api, haven.keyring.client, haven.keyring.services, haven.keyring.keys\n"
        "get_resolver().url_patterns\n"
        "print('haven.keyring.agent' in sys.modules, 'haven.keyring.protocol' in sys.modules)\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "haven.settings",
           "HAVEN_SECRET_KEY": os.environ.get("HAVEN_SECRET_KEY",
                                              "test-secret-key-0123456789abcdefghijklmnop")}
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True"]
