"""The key agent: the one small process that holds master keys.

Run as ``python -m haven.keyring.agent --socket PATH``. It listens on a Unix socket
(mode 0600, peers must run as the same user: checked with ``SO_PEERCRED``), collects
unseal shares, and once K valid shares open the stored verifier, keeps the master key in
memory and answers key operations for the workers. Sealing makes it overwrite its keys and
exit: in Python, ending the process is the only sure way to take a key out of memory.

What leaves the agent: data keys (one per record, unwrapped for the request that needs
them) and per-archive backup keys. What never leaves it: master keys, key-encrypting keys,
and the blind-index root key (the agent computes the blind indexes itself).

Workers may keep unwrapped data keys for a short while (``keys.KeyCache``), but only under
the agent's current **generation**: a random 64-bit number that changes whenever cached keys
must stop being used — unseal, the end of a rotation, and both ends of a crypto-shred
(``shred_begin`` / ``shred_end``). The agent publishes it in a tiny shared file next to its
socket (``GenerationPage``) which workers map read-only and read before every use of a
cached key: a memory read instead of a round trip. The page holds 0 — "use no cached key"
— while sealed and while an erase is in progress; the agent rewrites it before it answers
the operation that changed it, and zeroes and removes it when it exits.

This module imports nothing from Django, and no Django worker imports it: workers talk to it
through ``haven.keyring.client``, and the two share only ``haven.keyring.protocol``. Tests may run a ``KeyAgent`` in-process through the same
request/response interface (``LocalTransport``); the socket path is tested end to end too.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import ctypes.util
import fcntl
import mmap
import os
import resource
import secrets
import signal
import socket
import socketserver
import struct
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shamir_mnemonic
from shamir_mnemonic.share import Share
from shamir_mnemonic.utils import MnemonicError

from haven.keyring import crypto
from haven.keyring.protocol import (
    GENERATION,
    GENERATION_FILE,
    b64d,
    b64e,
    recv_message,
    send_message,
)

VERIFIER_PLAINTEXT = b"haven keyring verifier v1"
PENDING_SHARES_TTL = 15 * 60  # seconds a half-finished unseal is kept before it is forgotten
SEALED_IDLE_EXIT = 30 * 60  # a sealed agent with no shares pending exits after this long
# An erase whose transaction never reported back (rolled back, or its worker died) stops
# blocking worker caches after this long. Longer than any erase transaction should take.
SHRED_PENDING_TTL = 10 * 60


class AgentError(Exception):
    """A refused operation, with a code the client maps to a message for a person."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def verifier_aad(keyset_id: str) -> bytes:
    return f"haven/verifier/v1|{keyset_id}".encode()


def make_verifier(master: bytes, keyset_id: str) -> bytes:
    """An AEAD-sealed known value under the master key: proves a recombined key is the right one."""
    key = crypto.hkdf(master, info=b"haven/verifier/v1")
    return crypto.aead_seal(key, VERIFIER_PLAINTEXT, verifier_aad(keyset_id))


def check_verifier(master: bytes, keyset_id: str, verifier: bytes) -> bool:
    key = crypto.hkdf(master, info=b"haven/verifier/v1")
    try:
        return crypto.aead_open(key, verifier, verifier_aad(keyset_id)) == VERIFIER_PLAINTEXT
    except crypto.DecryptionFailed:
        return False


def normalize_share(text: str) -> str:
    """Shares are written by hand: fold case and whitespace before parsing."""
    return " ".join(text.lower().split())


@dataclass
class _Pending:
    keyset_id: str
    identifier: int
    threshold: int
    verifier: bytes
    shares: dict[int, str] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)


def _wipe(buf: bytearray) -> None:
    for i in range(len(buf)):
        buf[i] = 0


def new_generation() -> int:
    """A random, never-zero generation (zero means "no cached key may be used")."""
    return secrets.randbits(64) or 1


class GenerationPage:
    """The agent's published generation: an 8-byte shared file that workers map read-only.

    Created fresh (a new inode, mode 0600, in the agent's 0700 run folder) by each agent, so
    a worker that still maps an earlier agent's page notices the change by its inode. A torn
    read cannot harm: a worker uses its cache only when the word equals the generation the
    cache was filled under; any other value wipes it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.ftruncate(fd, GENERATION.size)
            self._map = mmap.mmap(fd, GENERATION.size)
        finally:
            os.close(fd)
        self.write(0)

    def write(self, value: int) -> None:
        self._map[0 : GENERATION.size] = GENERATION.pack(value)

    def close(self) -> None:
        self.write(0)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


class KeyAgent:
    """The agent's state and operations, independent of how requests arrive."""

    def __init__(self) -> None:
        self._masters: dict[str, bytearray] = {}
        self._pending: _Pending | None = None
        self._generation = new_generation()
        self._shreds: dict[str, float] = {}  # token -> monotonic deadline
        self.page: GenerationPage | None = None
        self._lock = threading.RLock()
        self.sealed_event = threading.Event()
        self.last_activity = time.monotonic()

    # -- dispatch --------------------------------------------------------------------------

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        """Answer one request; never raises (errors come back as ``{"ok": False, ...}``)."""
        op = request.get("op")
        handler: Callable[[dict[str, Any]], dict[str, Any]] | None = getattr(
            self, f"op_{op}", None
        ) if isinstance(op, str) and op.isidentifier() else None
        if handler is None:
            return {"ok": False, "error": "bad_request", "message": f"unknown operation {op!r}"}
        with self._lock:
            self.last_activity = time.monotonic()
            try:
                return {"ok": True, **handler(request)}
            except AgentError as exc:
                return {"ok": False, "error": exc.code, "message": exc.message}
            except (KeyError, TypeError, ValueError) as exc:
                return {"ok": False, "error": "bad_request", "message": f"malformed request: {exc}"}

    # -- helpers ---------------------------------------------------------------------------

    def _master(self, keyset_id: str) -> bytes:
        master = self._masters.get(keyset_id)
        if master is None:
            if not self._masters:
                raise AgentError("sealed", "The key agent is sealed.")
            raise AgentError("stale_keyset", "This key set is not loaded (rotated or not unsealed).")
        return bytes(master)

    def _unwrap_master_wrapped(self, ref: dict[str, Any]) -> bytes:
        """Open a key wrapped under a master key: ``{"keyset": id, "wrapped": b64, "aad": str}``."""
        master = self._master(str(ref["keyset"]))
        try:
            return crypto.aead_open(master, b64d(ref["wrapped"]), str(ref["aad"]).encode())
        except crypto.DecryptionFailed:
            raise AgentError("tampered", "A wrapped key failed authentication.") from None

    def _open_dk(self, kek: bytes, wrapped: str, aad: str) -> bytes:
        try:
            return crypto.aead_open(kek, b64d(wrapped), aad.encode())
        except crypto.DecryptionFailed:
            raise AgentError("tampered", f"The data key for {aad} failed authentication.") from None

    def _expire_pending(self) -> None:
        if self._pending and time.monotonic() - self._pending.started > PENDING_SHARES_TTL:
            self._pending = None

    def _new_generation(self) -> None:
        """Invalidate every data key that workers hold in their caches."""
        self._generation = new_generation()
        self.publish()

    def published(self) -> int:
        """What workers may cache under now: the generation, or 0 (sealed, erase running)."""
        return self._generation if self._masters and not self._shreds else 0

    def publish(self) -> None:
        if self.page is not None:
            self.page.write(self.published())

    def _expire_shreds(self) -> None:
        now = time.monotonic()
        expired = [token for token, deadline in self._shreds.items() if deadline <= now]
        for token in expired:
            del self._shreds[token]
        if expired:
            self._new_generation()

    # -- status, unseal, seal --------------------------------------------------------------

    def op_status(self, _req: dict[str, Any]) -> dict[str, Any]:
        self._expire_pending()
        pending = None
        if self._pending:
            pending = {
                "keyset": self._pending.keyset_id,
                "received": len(self._pending.shares),
                "threshold": self._pending.threshold,
            }
        self._expire_shreds()
        return {"unsealed": bool(self._masters), "keysets": sorted(self._masters),
                "pending": pending, "pid": os.getpid(), "generation": self.published()}

    def op_submit_share(self, req: dict[str, Any]) -> dict[str, Any]:
        """Take one share for key set ``keyset``; combine and check the verifier at K shares."""
        keyset_id = str(req["keyset"])
        identifier, threshold = int(req["identifier"]), int(req["threshold"])
        if keyset_id in self._masters:
            raise AgentError("already_unsealed", "The server is already unsealed.")
        self._expire_pending()
        try:
            share = Share.from_mnemonic(normalize_share(str(req["share"])))
        except MnemonicError:
            raise AgentError(
                "invalid_share",
                "That is not a valid share: a word is misspelt, missing or out of order "
                "(its checksum does not match).",
            ) from None
        if share.identifier != identifier or share.group_count != 1:
            raise AgentError(
                "foreign_share",
                "That share belongs to a different key set (perhaps one replaced by a rotation "
                "or another Haven server); it cannot unseal this one.",
            )
        pending = self._pending
        if pending is None or pending.keyset_id != keyset_id:
            pending = self._pending = _Pending(keyset_id, identifier, threshold, b64d(req["verifier"]))
        if share.index in pending.shares:
            raise AgentError(
                "duplicate_share",
                f"Share #{share.index + 1} was already given; another coordinator's share is needed.",
            )
        pending.shares[share.index] = normalize_share(str(req["share"]))
        if len(pending.shares) < threshold:
            return {"result": "accepted", "received": len(pending.shares), "threshold": threshold}
        mnemonics = list(pending.shares.values())
        self._pending = None
        try:
            master = bytearray(shamir_mnemonic.combine_mnemonics(mnemonics))
        except MnemonicError:
            raise AgentError(
                "wrong_shares",
                "These shares do not fit together; all shares given so far were discarded. "
                "Start again with shares of the current key set.",
            ) from None
        if not check_verifier(bytes(master), keyset_id, pending.verifier):
            _wipe(master)
            raise AgentError(
                "wrong_shares",
                "The shares combine to a key that does not open this server's verifier; all "
                "shares given so far were discarded.",
            )
        self._masters[keyset_id] = master
        self._new_generation()
        return {"result": "unsealed", "received": threshold, "threshold": threshold}

    def op_seal(self, _req: dict[str, Any]) -> dict[str, Any]:
        """Overwrite every key held and signal the process to exit."""
        for master in self._masters.values():
            _wipe(master)
        self._masters.clear()
        self._pending = None
        self.publish()
        self.sealed_event.set()
        return {"sealed": True}

    def op_forget(self, req: dict[str, Any]) -> dict[str, Any]:
        """Drop one master key (the old one, when a rotation completes)."""
        master = self._masters.pop(str(req["keyset"]), None)
        if master is not None:
            _wipe(master)
        self._new_generation()
        return {"keysets": sorted(self._masters)}

    # -- worker caches ---------------------------------------------------------------------

    def op_shred_begin(self, req: dict[str, Any]) -> dict[str, Any]:
        """An erase is starting (or, with its ``token``, still running): new generation, and
        no worker may cache a data key until ``shred_end``.

        Without this, a worker could unwrap the erased person's key from rows it read before
        the erase committed and keep it, under the new generation, after the commit.
        """
        token = str(req.get("token") or secrets.token_hex(16))
        self._shreds[token] = time.monotonic() + SHRED_PENDING_TTL
        self._new_generation()
        return {"token": token}

    def op_shred_end(self, req: dict[str, Any]) -> dict[str, Any]:
        """The erase committed: new generation, so nothing cached before the commit is used."""
        self._shreds.pop(str(req["token"]), None)
        self._new_generation()
        return {}

    # -- key sets (init and rotation) ------------------------------------------------------

    def op_init(self, req: dict[str, Any]) -> dict[str, Any]:
        """Make a new master key for key set ``keyset``, split into SLIP-39 shares, and load it.

        Used by ``keys init`` (in a short-lived process) and ``keys rotate`` (in the running
        agent, which then holds the old and the new master key until the rotation ends).
        """
        keyset_id = str(req["keyset"])
        shares, threshold = int(req["shares"]), int(req["threshold"])
        if not 1 <= threshold <= shares <= 16:
            raise AgentError("bad_request", "Need 1 <= threshold <= shares <= 16.")
        if keyset_id in self._masters:
            raise AgentError("bad_request", "That key set already exists.")
        master = bytearray(crypto.random_key())
        groups = shamir_mnemonic.generate_mnemonics(
            group_threshold=1, groups=[(threshold, shares)], master_secret=bytes(master),
            extendable=False,
        )
        mnemonics = groups[0]
        identifier = Share.from_mnemonic(mnemonics[0]).identifier
        self._masters[keyset_id] = master
        self._new_generation()
        return {"mnemonics": mnemonics, "identifier": identifier,
                "verifier": b64e(make_verifier(bytes(master), keyset_id))}

    def op_wrap_new(self, req: dict[str, Any]) -> dict[str, Any]:
        """A fresh random key (a KEK, the index key, the backup key) wrapped under a master key."""
        master = self._master(str(req["keyset"]))
        return {"wrapped": b64e(crypto.aead_seal(master, crypto.random_key(),
                                                 str(req["aad"]).encode()))}

    def op_rewrap_master(self, req: dict[str, Any]) -> dict[str, Any]:
        """Move a master-wrapped key to another master key (rotation)."""
        key = self._unwrap_master_wrapped(req["from"])
        to = self._master(str(req["to_keyset"]))
        return {"wrapped": b64e(crypto.aead_seal(to, key, str(req["to_aad"]).encode()))}

    # -- data keys -------------------------------------------------------------------------

    def op_new_dks(self, req: dict[str, Any]) -> dict[str, Any]:
        """Fresh data keys wrapped under the given KEK; the keys are returned for first use."""
        kek = self._unwrap_master_wrapped(req["kek"])
        out = []
        for aad in req["aads"]:
            dk = crypto.random_key()
            out.append({"key": b64e(dk), "wrapped": b64e(crypto.aead_seal(kek, dk, str(aad).encode()))})
        return {"keys": out}

    def op_unwrap_dks(self, req: dict[str, Any]) -> dict[str, Any]:
        """Unwrap many data keys in one round trip: ``items`` are ``[kek_index, wrapped, aad]``."""
        keks = [self._unwrap_master_wrapped(ref) for ref in req["keks"]]
        return {"keys": [b64e(self._open_dk(keks[int(i)], str(w), str(a)))
                         for i, w, a in req["items"]]}

    def op_rewrap_dks(self, req: dict[str, Any]) -> dict[str, Any]:
        """Re-wrap data keys under another KEK without letting them leave the agent."""
        keks = [self._unwrap_master_wrapped(ref) for ref in req["keks"]]
        target = self._unwrap_master_wrapped(req["to"])
        out = []
        for i, w, a in req["items"]:
            dk = self._open_dk(keks[int(i)], str(w), str(a))
            out.append(b64e(crypto.aead_seal(target, dk, str(a).encode())))
        return {"wrapped": out}

    def op_derive(self, req: dict[str, Any]) -> dict[str, Any]:
        """A subkey of a master-wrapped key for one purpose and salt (a backup archive's key)."""
        root = self._unwrap_master_wrapped(req["key"])
        return {"key": b64e(crypto.hkdf(root, info=str(req["info"]).encode(),
                                        salt=b64d(req["salt"])))}

    def op_blind_index(self, req: dict[str, Any]) -> dict[str, Any]:
        """HMAC-SHA256 of each value under a per-context key derived from the index root key."""
        root = self._unwrap_master_wrapped(req["key"])
        key = crypto.hkdf(root, info=b"haven/blind-index/v1|" + str(req["context"]).encode())
        return {"digests": [crypto.hmac_sha256(key, str(v).encode()).hex() for v in req["values"]]}


# --- the socket server ----------------------------------------------------------------------


def peer_uid(sock: socket.socket) -> int:
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return int(uid)


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        sock: socket.socket = self.request
        if peer_uid(sock) != os.getuid():
            return  # another user: close without a word
        sock.settimeout(30)
        try:
            while True:
                try:
                    request = recv_message(sock)
                except (ConnectionError, OSError, ValueError):
                    return
                send_message(sock, self.server.agent.handle(request))
                if self.server.agent.sealed_event.is_set():
                    return
        finally:
            if self.server.agent.sealed_event.is_set():
                self.server.stop()


class _Server(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True

    def __init__(self, path: str, agent: KeyAgent) -> None:
        self.agent = agent
        self.path = path
        super().__init__(path, _Handler)

    def stop(self) -> None:
        if self.agent.page is not None:
            with contextlib.suppress(OSError, ValueError):
                self.agent.page.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        # Nothing else to save: the keys die with the process.
        os._exit(0)


def _harden() -> None:
    """No core dumps, no ptrace by same-user processes, no swapping of key pages (best effort)."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return
    libc = ctypes.CDLL(libc_name, use_errno=True)
    with contextlib.suppress(AttributeError, OSError):
        libc.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 0
    with contextlib.suppress(AttributeError, OSError):
        libc.mlockall(1 | 2)  # MCL_CURRENT | MCL_FUTURE; fails quietly without the privilege


def serve(path: Path) -> None:
    """Run the agent on ``path`` until sealed (or idle while sealed)."""
    os.umask(0o077)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    lock = open(path.with_suffix(".lock"), "a+")  # noqa: SIM115 - held for the process lifetime
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit(0)  # another agent owns this socket
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    # Small thread stacks: with mlockall(MCL_FUTURE) every new stack is locked and faulted
    # in at once, and a thread is started per connection.
    threading.stack_size(256 * 1024)
    _harden()
    agent = KeyAgent()
    agent.page = GenerationPage(path.with_name(GENERATION_FILE))
    server = _Server(str(path), agent)
    os.chmod(path, 0o600)
    signal.signal(signal.SIGTERM, lambda *_: server.stop())
    signal.signal(signal.SIGINT, lambda *_: server.stop())

    def idle_watch() -> None:
        while True:
            time.sleep(5)
            with agent._lock:
                agent._expire_shreds()  # an erase that never reported back stops blocking caches
                idle = time.monotonic() - agent.last_activity
                if not agent._masters and agent._pending is None and idle > SEALED_IDLE_EXIT:
                    server.stop()
            if not path.exists():  # the data folder was removed under us: nothing to serve
                server.stop()

    threading.Thread(target=idle_watch, daemon=True).start()
    server.serve_forever(poll_interval=0.2)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Haven key agent")
    parser.add_argument("--socket", required=True, type=Path)
    parser.add_argument("--detach", action="store_true",
                        help="fork and let the parent exit, so the agent outlives its starter")
    args = parser.parse_args(argv)
    if args.detach and os.fork() > 0:
        os._exit(0)
    serve(args.socket)


if __name__ == "__main__":
    main()
