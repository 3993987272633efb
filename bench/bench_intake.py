"""Sustained intake submissions on the production server, on loopback, for a bounded time.

    .venv/bin/python bench/bench_intake.py [--seconds 20] [--connections 16] [--workers N]
                                           [--server-threads N] [--kdf-log2-n N] [--out FILE]
                                           [--env NAME=VALUE ...]

Sets up a scratch data folder (keys, unseal, intake key), starts `haven serve` (gunicorn) with
its defaults unless told otherwise, and drives POST /intake/ask/ from this second process over
a bounded number of concurrent connections until the deadline. Then it stops the server,
unseals a fresh agent and checks, **for every acknowledged request** (HTTP 201), that the
codename it was given opens a stored request whose payload decrypts to what was sent; that
nothing was stored that was not acknowledged; and that the audit chain verifies with one
``request.received`` event per stored request. Writes bench/results/intake.json.

Also reported: the CPU time the server processes and the load generator each spent per
acknowledged request (a figure that, unlike requests per second, hardly depends on what
else the machine is doing), and the load average before and after.
Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.browser.support import free_port, haven_command, haven_env, run_haven, wait_for  # noqa: E402

TARGET_PER_SECOND = 200
FORM = {"contact": "Signal @bench_person", "region": "Bench region",
        "story": "A benchmark request. " * 20, "urgency": "days"}
CSRF_RE = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
CODENAME_RE = re.compile(rb'data-testid="codename">(.*?)</p>', re.S)
WORD_RE = re.compile(rb"<span>([a-z-]+)</span>")
CHECK = r"""
import json, sys
import django
django.setup()
from haven.audit.models import AuditEvent
from haven.audit.services import verify
from haven.intake import selectors, services
from haven.intake.models import Request
from haven.keyring import intake_crypto

form = json.loads(sys.argv[1])
codenames = [line for line in sys.stdin.read().splitlines() if line]
key = selectors.intake_key_current() if codenames else None
private = intake_crypto.org_private_key(key) if key else None
found = opened = 0
missing, bad = [], []
for codename in codenames:
    try:
        req, _reply = services.requester_login(intake_key=key, codename=codename)
    except services.WrongCodename:
        missing.append(codename)
        continue
    found += 1
    try:
        body = json.loads(intake_crypto.open_sealed(private, bytes(req.payload)))
    except Exception:
        bad.append(str(req.pk))
        continue
    if all(body.get(k) == v.strip() for k, v in form.items()):
        opened += 1
    else:
        bad.append(str(req.pk))
chain = verify()
print(json.dumps({
    "acknowledged_checked": len(codenames), "found_by_codename": found,
    "decrypted_and_equal": opened, "missing": len(missing), "undecryptable": len(bad),
    "stored": Request.objects.count(),
    "audit_received_events": AuditEvent.objects.filter(action="request.received").count(),
    "audit_chain_ok": chain.ok, "audit_events": chain.checked,
}))
"""


class Client:
    """A small HTTP/1.1 client on a raw socket (keep-alive when the server allows it).

    `http.client` parses every header through the `email` package, which costs the load
    generator more CPU than some server steps; on a 2-core machine that CPU is taken from
    the server being measured. Responses are read by Content-Length (Django always sets it
    on these pages).
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock: socket.socket | None = None
        self.buf = b""

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock = None
        self.buf = b""

    def request(self, raw: bytes) -> tuple[int, dict[bytes, list[bytes]], bytes]:
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=60)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.sendall(raw)
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        headers: dict[bytes, list[bytes]] = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers.setdefault(name.strip().lower(), []).append(value.strip())
        length = int(headers[b"content-length"][0])
        while len(self.buf) < length:
            self._fill()
        body, self.buf = self.buf[:length], self.buf[length:]
        if headers.get(b"connection", [b""])[0].lower() == b"close":
            self.close()
        return status, headers, body

    def _fill(self) -> None:
        assert self.sock is not None
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection mid-response")
        self.buf += chunk


def worker(port: int, deadline: float, out: list[tuple[float, int, bytes]],
           lock: threading.Lock) -> None:
    client = Client(port)
    host = f"127.0.0.1:{port}".encode()
    status, headers, html = client.request(b"GET /intake/ask/ HTTP/1.1\r\nHost: " + host +
                                           b"\r\n\r\n")
    cookie = b"; ".join(c.split(b";")[0] for c in headers.get(b"set-cookie", []))
    match = CSRF_RE.search(html)
    assert status == 200, f"the form answered {status}"
    assert match, "no CSRF token on the form"
    body = urllib.parse.urlencode({**FORM, "csrfmiddlewaretoken": match.group(1).decode()}
                                  ).encode()
    raw = (b"POST /intake/ask/ HTTP/1.1\r\nHost: " + host + b"\r\n"
           b"Content-Type: application/x-www-form-urlencoded\r\n"
           b"Content-Length: " + str(len(body)).encode() + b"\r\n"
           b"Cookie: " + cookie + b"\r\n"
           b"Referer: http://" + host + b"/intake/ask/\r\n\r\n" + body)
    local: list[tuple[float, int, bytes]] = []
    while time.monotonic() < deadline:
        start = time.perf_counter()
        try:
            status, _headers, page = client.request(raw)
        except (OSError, ValueError, KeyError, IndexError):
            client.close()
            status, page = 0, b""
        elapsed = time.perf_counter() - start
        codename = b""
        if status == 201:
            found = CODENAME_RE.search(page)
            codename = b" ".join(WORD_RE.findall(found.group(1))) if found else b"?"
        local.append((elapsed, status, codename))
    client.close()
    with lock:
        out.extend(local)


def _children(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry))
    return kids


def _cpu_seconds(pids: list[int]) -> float:
    """utime + stime of these processes (and of their children they already reaped)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return total / ticks


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--connections", "--threads", type=int, default=16,
                        help="concurrent connections of the load generator (one thread each)")
    parser.add_argument("--workers", type=int, default=None, help="default: haven serve's")
    parser.add_argument("--server-threads", type=int, default=None,
                        help="HAVEN_WORKER_THREADS (default: haven serve's)")
    parser.add_argument("--kdf-log2-n", type=int, default=None,
                        help="HAVEN_INTAKE_KDF_LOG2_N (default: the setting's default)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for the server (repeatable), for experiments")
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "intake.json"))
    return parser.parse_args()


def _instance(args: argparse.Namespace, data: Path) -> dict[str, str]:
    """A scratch instance in ``data``: migrated, keys made, unsealed, intake open."""
    env = haven_env(data)
    env["HAVEN_INTAKE_RATE_PER_MINUTE"] = "1000000"
    env["HAVEN_INTAKE_MAX_PENDING"] = "1000000"
    if args.kdf_log2_n:
        env["HAVEN_INTAKE_KDF_LOG2_N"] = str(args.kdf_log2_n)
    if args.server_threads:
        env["HAVEN_WORKER_THREADS"] = str(args.server_threads)
    if args.workers:
        env["HAVEN_WORKERS"] = str(args.workers)
    for item in args.env:
        name, _, value = item.partition("=")
        env[name] = value.replace("{data}", str(data))
    run_haven(["migrate", "--noinput", "-v0"], env)
    run_haven(["org", "create", "bench", "--name", "Bench"], env, check=False)
    shares = [s.split(":", 1)[1].strip()
              for s in run_haven(["keys", "init", "--shares", "2", "--threshold", "2"],
                                 env).stdout.splitlines() if s.startswith("share ")]
    run_haven(["unseal"], env, stdin="\n".join(shares[:2]) + "\n")
    run_haven(["intake", "init"], env)
    return env


def _drive(env: dict[str, str], data: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Start `haven serve`, post for ``args.seconds`` from ``args.connections`` threads, stop."""
    port = free_port()
    log = (data / "server.log").open("wb")
    server = subprocess.Popen([*haven_command(), "serve", "--port", str(port)],
                              env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    results: list[tuple[float, int, bytes]] = []
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", process=server)
        time.sleep(1)  # let every worker finish booting before the clock starts
        server_pids = [server.pid, *_children(server.pid)]
        lock = threading.Lock()
        load_before = os.getloadavg()
        server_cpu = _cpu_seconds(server_pids)
        client_cpu = time.process_time()
        start = time.monotonic()
        threads = [threading.Thread(target=worker,
                                    args=(port, start + args.seconds, results, lock))
                   for _ in range(args.connections)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.monotonic() - start
        server_cpu = _cpu_seconds(server_pids) - server_cpu
        client_cpu = time.process_time() - client_cpu
        load_after = os.getloadavg()
    finally:
        server.terminate()
        server.wait(timeout=60)
    return {"results": results, "wall": wall, "server_cpu": server_cpu,
            "client_cpu": client_cpu, "load_before": load_before, "load_after": load_after}


def _verify(env: dict[str, str], acked: list[tuple[float, int, bytes]]) -> dict[str, Any]:
    """Open every acknowledged request by its codename, in a fresh process, after the stop."""
    check = subprocess.run([sys.executable, "-c", CHECK, json.dumps(FORM)],
                           input="\n".join(r[2].decode() for r in acked),
                           env={**env, "DJANGO_SETTINGS_MODULE": "haven.settings"}, cwd=REPO,
                           capture_output=True, text=True, check=False, timeout=1800)
    run_haven(["seal"], env, check=False)
    if check.returncode != 0:
        return {"error": check.stderr[-2000:]}
    result: dict[str, Any] = json.loads(check.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    args = _arguments()
    data = Path(tempfile.mkdtemp(prefix="hvbench"))
    env = _instance(args, data)
    run = _drive(env, data, args)
    results: list[tuple[float, int, bytes]] = run["results"]
    acked = [r for r in results if r[1] == 201]
    verify = _verify(env, acked)
    latencies = sorted(r[0] for r in acked)
    statuses: dict[str, int] = {}
    for r in results:
        statuses[str(r[1])] = statuses.get(str(r[1]), 0) + 1
    p99 = round(latencies[int(0.99 * (len(latencies) - 1))] * 1000, 1) if latencies else None
    # Lost = acknowledged but not found by its codename, or found but not decrypting to what
    # was sent. Stored but never acknowledged (a client cut off mid-response) is reported too.
    lost = (verify["missing"] + verify["undecryptable"]) if "missing" in verify else None
    per_second = round(len(acked) / run["wall"], 1)
    report = {
        "what": "POST /intake/ask/ on `haven serve` (gunicorn), load generator in a second "
                "process on loopback",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "load_average_before": [round(x, 2) for x in run["load_before"]],
        "load_average_after": [round(x, 2) for x in run["load_after"]],
        "server": _server_config(env),
        "kdf_log2_n": int(env.get("HAVEN_INTAKE_KDF_LOG2_N", "0") or 0) or "default",
        "extra_env": args.env,
        "seconds": round(run["wall"], 2), "connections": args.connections,
        "requests": len(results), "statuses": statuses,
        "acknowledged": len(acked),
        "acknowledged_per_second": per_second,
        "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "p99_ms": p99,
        "max_ms": round(latencies[-1] * 1000, 1) if latencies else None,
        "cpu_ms_per_acknowledged": {
            "server": round(run["server_cpu"] * 1000 / max(1, len(acked)), 2),
            "load_generator": round(run["client_cpu"] * 1000 / max(1, len(acked)), 2),
        },
        "verification": verify,
        "lost": lost,
        "stored_unacknowledged": (verify["stored"] - verify["found_by_codename"])
        if "stored" in verify else None,
        "audited": (verify["audit_chain_ok"] and verify["audit_received_events"] ==
                    verify["stored"]) if "stored" in verify else None,
        "headline": [
            {"figure": "acknowledged intake requests per second", "value": per_second,
             "unit": "req/s", "target": f">= {TARGET_PER_SECOND}"},
            {"figure": "p99 response time", "value": p99, "unit": "ms", "target": ""},
            {"figure": "acknowledged requests lost", "value": lost, "unit": "", "target": "0"},
        ],
    }
    print(json.dumps(report, indent=2))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")


def _server_config(env: dict[str, str]) -> dict[str, Any]:
    """The worker settings `haven serve` used (read from its configuration, same env)."""
    probe = subprocess.run(
        [sys.executable, "-c", "import json; from haven import gunicorn_conf as c; "
         "print(json.dumps({'worker_class': c.worker_class, 'workers': c.workers, "
         "'threads': c.threads}))"],
        env=env, cwd=REPO, capture_output=True, text=True, check=True, timeout=60)
    result: dict[str, Any] = json.loads(probe.stdout)
    return result


if __name__ == "__main__":
    main()
