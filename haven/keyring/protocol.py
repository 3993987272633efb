"""The key agent's wire protocol, shared by the agent (``keyring/agent.py``) and the Django
workers (``keyring/client.py``), so that no worker imports the module of the process that
holds the master key.

A message is a JSON object, framed by its length (4 bytes, big-endian), at most
``MAX_MESSAGE`` bytes. Keys and other bytes travel base64-encoded (``b64e`` / ``b64d``). The
agent publishes its generation in the file ``GENERATION_FILE`` next to its socket, one
aligned 8-byte word (``GENERATION``) that workers map read-only.

Imports nothing from Django or from the rest of Haven.
"""

from __future__ import annotations

import base64
import json
import socket
import struct
from typing import Any

MAX_MESSAGE = 64 * 1024 * 1024
GENERATION_FILE = "keyring.gen"  # next to the socket
GENERATION = struct.Struct("<Q")  # one aligned 8-byte word: written and read in one piece
LENGTH = struct.Struct(">I")


def b64e(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64d(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def send_message(sock: socket.socket, payload: dict[str, Any]) -> None:
    body = json.dumps(payload, separators=(",", ":")).encode()
    sock.sendall(LENGTH.pack(len(body)) + body)


def recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("connection closed mid-message")
        chunks += chunk
    return bytes(chunks)


def recv_message(sock: socket.socket) -> dict[str, Any]:
    (size,) = LENGTH.unpack(recv_exact(sock, LENGTH.size))
    if size > MAX_MESSAGE:
        raise ConnectionError("message too large")
    value = json.loads(recv_exact(sock, size))
    if not isinstance(value, dict):
        raise ConnectionError("message is not an object")
    return value
