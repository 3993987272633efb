"""The public intake on the production server, on loopback, bounded in count and time.

    .venv/bin/python bench/bench_intake.py [--mode both|flood|throughput] [--seconds 20]
        [--flood-seconds 60] [--connections 16] [--flooders 8] [--evaders 32]
        [--genuine-every 3] [--workers N] [--server-threads N] [--kdf-log2-n N]
        [--out FILE] [--env NAME=VALUE ...]

Two runs, each on a scratch data folder (keys, unseal, intake key) and `haven serve`
(gunicorn) with its defaults unless told otherwise; the load comes from this second process.

- **Flood** (issue 13, finding 3), with the production budgets: one client floods at full
  speed with **one cookie** over ``--flooders`` connections — it opens the form now and then
  and sends it as fast as it can, over and over; a second flooder takes a **new browser
  session for every request** (``--evaders`` connections), waits each form's minimum age and
  sends numbered copies of one text; meanwhile a genuine person opens the form every
  ``--genuine-every`` seconds, writes for a few seconds, sends a different story each time
  and follows the redirect to the codename. Reported: every genuine request accepted (and
  found by its codename afterwards), their p50/p99 from sending to seeing the codename, what
  each flooder got in, and the **staff time to clear the flood**: the inbox's grouping is run
  as an operator (timed), then each group of junk is closed with one decision (timed), and
  every junk request left ungrouped counts as one more decision; no genuine request may end
  up in a group of junk or be closed.
- **Throughput**: every connection opens the form, sends it and follows the redirect to its
  codename, as fast as it can (the wait and the session budget lifted, so this measures the
  server), for ``--seconds``. Then, with the server stopped, it logs in with **every
  acknowledged codename** and checks the request it opens decrypts to what was sent; counts
  rows stored but never acknowledged; and verifies the audit chain holds one
  ``request.received`` per stored request. Also reported: the CPU the server and the load
  generator spent per acknowledged request, and the load average before and after.

Writes bench/results/intake.json. Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.browser.support import free_port, haven_command, haven_env, run_haven, wait_for  # noqa: E402

TARGET_PER_SECOND = 200
FORM = {"contact": "Signal @bench_person", "region": "Bench region",
        "story": "A benchmark request. " * 20, "urgency": "days"}
CSRF_RE = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
CODENAME_RE = re.compile(rb'data-testid="codename"[^>]*>(.*?)</ol>', re.S)
WORD_RE = re.compile(rb"<span>([^<]+)</span>")
TOKEN_RE = re.compile(rb'name="form_token" value="([^"]*)"')
JUNK = "Win a prize now! Click the link and send your bank details to claim the reward. "
GENUINE = ["My family found out about my partner and threatens to take me to the village.",
           "Police came to my work and asked about our group chat; I am staying with a friend.",
           "I was detained for a day and they took my phone. I need to leave the country.",
           "My brother says relatives are looking for me. I have a passport but no money.",
           "I lost my job after they found out. My landlord wants me out by Friday."]
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


CHECK_FLOOD = r"""
import json, sys, time
import django
django.setup()
from django.utils import timezone
from haven.accounts.models import User
from haven.audit.services import verify
from haven.intake import selectors, services
from haven.intake.models import Request, Status
from haven.keyring import intake_crypto

data = json.loads(sys.stdin.read())
key = selectors.intake_key_current()
private = intake_crypto.org_private_key(key)
genuine = set()
for item in data["genuine"]:
    try:
        req, _reply = services.requester_login(intake_key=key, codename=item["codename"])
    except services.WrongCodename:
        continue
    body = json.loads(intake_crypto.open_sealed(private, bytes(req.payload)))
    if body["story"] == item["story"]:
        genuine.add(req.pk)
junk = set()
for req in Request.objects.all():
    body = json.loads(intake_crypto.open_sealed(private, bytes(req.payload)))
    if body["story"].startswith(data["junk"]):
        junk.add(req.pk)
operator = User.objects.create_user(username="bench-operator", password=None,
                                    organization=key.organization, role="operator")
start = time.perf_counter()
screens = 0
while services.requests_screen(actor=operator).screened:
    screens += 1
screen_seconds = time.perf_counter() - start
group_of = dict(Request.objects.values_list("pk", "group_id"))
junk_groups = {group_of[pk] for pk in junk} - {None}
alone = [pk for pk in junk if group_of[pk] is None]
genuine_grouped_with_junk = sum(1 for pk in genuine if group_of.get(pk) in junk_groups)
start = time.perf_counter()
closed = 0
for group in junk_groups:
    found = Request.objects.get(pk=next(pk for pk in junk if group_of[pk] == group)).group
    closed += services.request_group_close(actor=operator, group=found, to=Status.SPAM,
                                           seen_until=timezone.now())
for pk in alone:
    services.request_transition(actor=operator, request=Request.objects.get(pk=pk),
                                to=Status.SPAM)
    closed += 1
close_seconds = time.perf_counter() - start
chain = verify()
print(json.dumps({
    "genuine_sent_acknowledged": len(data["genuine"]), "genuine_found_by_codename": len(genuine),
    "junk_stored": len(junk), "stored": Request.objects.count(),
    "screen_runs": screens, "screen_seconds": round(screen_seconds, 2),
    "junk_groups": len(junk_groups), "junk_left_alone": len(alone),
    "staff_decisions_to_clear_the_flood": len(junk_groups) + len(alone),
    "close_seconds": round(close_seconds, 2), "junk_closed": closed,
    "junk_still_open": Request.objects.filter(pk__in=junk).exclude(status=Status.SPAM).count(),
    "genuine_grouped_with_junk": genuine_grouped_with_junk,
    "genuine_still_new": Request.objects.filter(pk__in=genuine, status=Status.NEW).count(),
    "audit_chain_ok": chain.ok, "audit_events": chain.checked,
}))
"""


class Browser(Client):
    """A client that keeps cookies, as a browser does (one browser session per instance)."""

    def __init__(self, port: int, cookies: dict[bytes, bytes] | None = None) -> None:
        super().__init__(port)
        self.host = f"127.0.0.1:{port}".encode()
        self.cookies = dict(cookies or {})

    def send(self, method: bytes, path: bytes, fields: dict[str, str] | None = None
             ) -> tuple[int, dict[bytes, list[bytes]], bytes]:
        head = [method + b" " + path + b" HTTP/1.1", b"Host: " + self.host]
        if self.cookies:
            head.append(b"Cookie: " + b"; ".join(k + b"=" + v for k, v in self.cookies.items()))
        body = b""
        if fields is not None:
            body = urllib.parse.urlencode(fields).encode()
            head += [b"Content-Type: application/x-www-form-urlencoded",
                     b"Content-Length: " + str(len(body)).encode(),
                     b"Referer: http://" + self.host + path]
        try:
            status, headers, page = self.request(b"\r\n".join(head) + b"\r\n\r\n" + body)
        except (OSError, ValueError, KeyError, IndexError):
            self.close()
            return 0, {}, b""
        for cookie in headers.get(b"set-cookie", []):
            name, _, value = cookie.split(b";")[0].partition(b"=")
            if value and b"expires=thu, 01 jan 1970" not in cookie.lower():
                self.cookies[name] = value
            else:
                self.cookies.pop(name, None)
        return status, headers, page

    def open_form(self) -> dict[str, str] | None:
        """GET the form: the hidden fields to send with it, or None if it was refused."""
        status, _headers, html = self.send(b"GET", b"/intake/ask/")
        csrf, token = CSRF_RE.search(html), TOKEN_RE.search(html)
        if status != 200 or not csrf or not token:
            return None
        return {"csrfmiddlewaretoken": csrf.group(1).decode(), "form_token": token.group(1).decode()}

    def send_form(self, hidden: dict[str, str], fields: dict[str, str]
                  ) -> tuple[int, bytes]:
        """POST the form and follow the redirect to the codename: (status, codename)."""
        status, headers, page = self.send(b"POST", b"/intake/ask/", {**fields, **hidden})
        if status == 303:
            status, _headers, page = self.send(b"GET", headers[b"location"][0])
        found = CODENAME_RE.search(page) if status == 200 else None
        return status, b" ".join(WORD_RE.findall(found.group(1))) if found else b""


def worker(port: int, deadline: float, out: list[tuple[float, int, bytes]],
           lock: threading.Lock) -> None:
    """Throughput: open the form, send it, follow the redirect; as fast as possible."""
    browser = Browser(port)
    local: list[tuple[float, int, bytes]] = []
    while time.monotonic() < deadline:
        hidden = browser.open_form()
        if hidden is None:
            local.append((0.0, 0, b""))
            continue
        start = time.perf_counter()
        status, codename = browser.send_form(hidden, FORM)
        local.append((time.perf_counter() - start, 201 if codename else status, codename))
    browser.close()
    with lock:
        out.extend(local)


@dataclass
class Flood:
    """What each party of the flood run saw."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    flooder: dict[str, int] = field(default_factory=dict)  # status -> count
    evader: dict[str, int] = field(default_factory=dict)
    genuine: list[dict[str, Any]] = field(default_factory=list)

    def count(self, which: dict[str, int], status: int) -> None:
        with self.lock:
            which[str(status)] = which.get(str(status), 0) + 1


def flooder(port: int, cookies: dict[bytes, bytes], deadline: float, seen: Flood) -> None:
    """Finding 3: one client, one cookie, full speed. It keeps every form it opened (a fresh
    one every 25 sends) and always sends the oldest one not yet spent, so each of its tokens
    gets in as soon as its wait allows."""
    browser = Browser(port, cookies)
    forms: list[dict[str, str]] = []
    sent = 0
    while time.monotonic() < deadline:
        if not forms or sent % 25 == 0:
            fresh = browser.open_form()
            if fresh is not None:
                forms.append(fresh)
        sent += 1
        if not forms:
            seen.count(seen.flooder, 0)
            continue
        status, _headers, _page = browser.send(b"POST", b"/intake/ask/",
                                               {**FORM, "story": JUNK + "flood", **forms[0]})
        seen.count(seen.flooder, status)
        if status in (303, 409):  # stored, or spent by the session's last request
            forms.pop(0)
    browser.close()


def evader(port: int, deadline: float, wait: float, seen: Flood, n: int) -> None:
    """A new browser session for every request, each form sent once its wait is over."""
    copy = 0
    while time.monotonic() < deadline:
        browser = Browser(port)
        hidden = browser.open_form()
        if hidden is None:
            seen.count(seen.evader, 0)
            browser.close()
            time.sleep(0.5)
            continue
        time.sleep(wait)
        copy += 1
        status, codename = browser.send_form(
            hidden, {**FORM, "contact": f"bot{n}-{copy}@example.org",
                     "story": f"{JUNK}copy {n}-{copy}"})
        seen.count(seen.evader, 201 if codename else status)
        browser.close()


def person(port: int, n: int, writing: float, seen: Flood) -> None:
    """A genuine request: open the form, write for a while, send, read the codename."""
    browser = Browser(port)
    hidden = browser.open_form()
    story = f"{GENUINE[n % len(GENUINE)]} (request {n})"
    time.sleep(writing)
    start = time.perf_counter()
    status, codename = browser.send_form(hidden or {}, {**FORM, "story": story,
                                                        "contact": f"person{n}@example.org"})
    elapsed = time.perf_counter() - start
    browser.close()
    with seen.lock:
        seen.genuine.append({"n": n, "status": status, "seconds": elapsed,
                             "codename": codename.decode(), "story": story,
                             "form_opened": hidden is not None})


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
    parser.add_argument("--mode", choices=["both", "flood", "throughput"], default="both")
    parser.add_argument("--seconds", type=float, default=20, help="throughput run")
    parser.add_argument("--flood-seconds", type=float, default=60)
    parser.add_argument("--connections", "--threads", type=int, default=16,
                        help="throughput: concurrent connections (one thread each)")
    parser.add_argument("--flooders", type=int, default=8,
                        help="flood: connections of the one-cookie flooder")
    parser.add_argument("--evaders", type=int, default=32,
                        help="flood: connections of the new-session-per-request flooder")
    parser.add_argument("--genuine-every", type=float, default=3.0,
                        help="flood: seconds between two genuine people opening the form")
    parser.add_argument("--workers", type=int, default=None, help="default: haven serve's")
    parser.add_argument("--server-threads", type=int, default=None,
                        help="HAVEN_WORKER_THREADS (default: haven serve's)")
    parser.add_argument("--kdf-log2-n", type=int, default=None,
                        help="HAVEN_INTAKE_KDF_LOG2_N (default: the setting's default)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for the server (repeatable), for experiments")
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "intake.json"))
    return parser.parse_args()


def _env(args: argparse.Namespace, data: Path, *, budgets: bool) -> dict[str, str]:
    """The server's environment. Without ``budgets`` the per-session wait and budget and the
    global rate are lifted (throughput)."""
    env = haven_env(data)
    if not budgets:
        env["HAVEN_INTAKE_RATE_PER_MINUTE"] = "1000000"
        env["HAVEN_INTAKE_MIN_FILL_SECONDS"] = "0"
        env["HAVEN_INTAKE_SESSION_BUDGET"] = "100000"
    if args.kdf_log2_n:
        env["HAVEN_INTAKE_KDF_LOG2_N"] = str(args.kdf_log2_n)
    if args.server_threads:
        env["HAVEN_WORKER_THREADS"] = str(args.server_threads)
    if args.workers:
        env["HAVEN_WORKERS"] = str(args.workers)
    for item in args.env:
        name, _, value = item.partition("=")
        env[name] = value.replace("{data}", str(data))
    return env


def _instance(args: argparse.Namespace, data: Path, *, budgets: bool) -> dict[str, str]:
    """A scratch instance in ``data``: migrated, keys made, unsealed, intake open."""
    env = _env(args, data, budgets=budgets)
    run_haven(["migrate", "--noinput", "-v0"], env)
    run_haven(["org", "create", "bench", "--name", "Bench"], env, check=False)
    shares = [s.split(":", 1)[1].strip()
              for s in run_haven(["keys", "init", "--shares", "2", "--threshold", "2"],
                                 env).stdout.splitlines() if s.startswith("share ")]
    run_haven(["unseal"], env, stdin="\n".join(shares[:2]) + "\n")
    run_haven(["intake", "init"], env)
    return env


@contextlib.contextmanager
def _serving(env: dict[str, str], data: Path) -> Iterator[tuple[int, list[int]]]:
    port = free_port()
    log = (data / "server.log").open("wb")
    server = subprocess.Popen([*haven_command(), "serve", "--port", str(port)],
                              env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", process=server)
        time.sleep(1)  # let every worker finish booting before the clock starts
        yield port, [server.pid, *_children(server.pid)]
    finally:
        server.terminate()
        server.wait(timeout=60)


def _drive(env: dict[str, str], data: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Start `haven serve`, submit for ``args.seconds`` from ``args.connections`` threads, stop."""
    results: list[tuple[float, int, bytes]] = []
    with _serving(env, data) as (port, server_pids):
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
    return {"results": results, "wall": wall, "server_cpu": server_cpu,
            "client_cpu": client_cpu, "load_before": load_before, "load_after": load_after}


def _percentile(values: list[float], q: float) -> float | None:
    ordered = sorted(values)
    return round(ordered[int(q * (len(ordered) - 1))] * 1000, 1) if ordered else None


def _flood(args: argparse.Namespace) -> dict[str, Any]:
    """The flood run: one-cookie flooder, new-session flooder, genuine people; then staff."""
    data = Path(tempfile.mkdtemp(prefix="hvflood"))
    env = _instance(args, data, budgets=True)
    wait = float(env.get("HAVEN_INTAKE_MIN_FILL_SECONDS", "5"))
    seen = Flood()
    with _serving(env, data) as (port, server_pids):
        first = Browser(port)
        first.open_form()  # the flooder's one cookie
        cookies = dict(first.cookies)
        first.close()
        load_before = os.getloadavg()
        server_cpu = _cpu_seconds(server_pids)
        start = time.monotonic()
        deadline = start + args.flood_seconds
        threads = [threading.Thread(target=flooder, args=(port, cookies, deadline, seen))
                   for _ in range(args.flooders)]
        threads += [threading.Thread(target=evader, args=(port, deadline, wait + 0.2, seen, n))
                    for n in range(args.evaders)]
        for t in threads:
            t.start()
        people: list[threading.Thread] = []
        n = 0
        while time.monotonic() < deadline - (wait + 1):
            people.append(threading.Thread(target=person, args=(port, n, wait + 1.0, seen)))
            people[-1].start()
            n += 1
            time.sleep(args.genuine_every)
        for t in threads + people:
            t.join()
        wall = time.monotonic() - start
        server_cpu = _cpu_seconds(server_pids) - server_cpu
        load_after = os.getloadavg()
    acknowledged = [g for g in seen.genuine if g["codename"]]
    staff = subprocess.run(
        [sys.executable, "-c", CHECK_FLOOD],
        input=json.dumps({"junk": JUNK, "genuine": [{"codename": g["codename"],
                                                    "story": g["story"]} for g in acknowledged]}),
        env={**env, "DJANGO_SETTINGS_MODULE": "haven.settings"}, cwd=REPO,
        capture_output=True, text=True, check=False, timeout=3600)
    run_haven(["seal"], env, check=False)
    staff_report: dict[str, Any] = (json.loads(staff.stdout.strip().splitlines()[-1])
                                    if staff.returncode == 0 else {"error": staff.stderr[-2000:]})
    flood_sent = sum(seen.flooder.values())
    latencies = [g["seconds"] for g in acknowledged]
    return {
        "seconds": round(wall, 2), "server_cpu_seconds": round(server_cpu, 1),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "settings": {"min_fill_seconds": wait, "flooder_connections": args.flooders,
                     "evader_connections": args.evaders, "genuine_every_s": args.genuine_every},
        "one_cookie_flooder": {"posts": flood_sent,
                               "posts_per_second": round(flood_sent / wall, 1),
                               "statuses": seen.flooder,
                               "stored": seen.flooder.get("303", 0)},
        "new_session_flooder": {"statuses": seen.evader, "stored": seen.evader.get("201", 0)},
        "genuine": {"sent": len(seen.genuine), "accepted": len(acknowledged),
                    "statuses": {str(s): sum(1 for g in seen.genuine if g["status"] == s)
                                 for s in {g["status"] for g in seen.genuine}},
                    "p50_ms": _percentile(latencies, 0.5), "p99_ms": _percentile(latencies, 0.99),
                    "max_ms": _percentile(latencies, 1.0)},
        "staff": staff_report,
    }


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


def _throughput(args: argparse.Namespace) -> dict[str, Any]:
    data = Path(tempfile.mkdtemp(prefix="hvbench"))
    env = _instance(args, data, budgets=False)
    run = _drive(env, data, args)
    results: list[tuple[float, int, bytes]] = run["results"]
    acked = [r for r in results if r[1] == 201]
    verify = _verify(env, acked)
    latencies = [r[0] for r in acked]
    statuses: dict[str, int] = {}
    for r in results:
        statuses[str(r[1])] = statuses.get(str(r[1]), 0) + 1
    # Lost = acknowledged but not found by its codename, or found but not decrypting to what
    # was sent. Stored but never acknowledged (a client cut off mid-response) is reported too.
    lost = (verify["missing"] + verify["undecryptable"]) if "missing" in verify else None
    return {
        "what": "open the form, POST it, follow the redirect to the codename; budgets lifted",
        "load_average_before": [round(x, 2) for x in run["load_before"]],
        "load_average_after": [round(x, 2) for x in run["load_after"]],
        "seconds": round(run["wall"], 2), "connections": args.connections,
        "submissions": len(results), "statuses": statuses,
        "acknowledged": len(acked),
        "acknowledged_per_second": round(len(acked) / run["wall"], 1),
        "http_requests_per_acknowledged": 3,
        "p50_ms": _percentile(latencies, 0.5), "p99_ms": _percentile(latencies, 0.99),
        "max_ms": _percentile(latencies, 1.0),
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
    }


def main() -> None:
    args = _arguments()
    report: dict[str, Any] = {
        "what": "the public intake on `haven serve` (gunicorn), load from a second process on "
                "loopback",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "kdf_log2_n": args.kdf_log2_n or "default", "extra_env": args.env,
    }
    headline: list[dict[str, Any]] = []
    if args.mode in ("both", "flood"):
        flood = report["flood"] = _flood(args)
        genuine, staff = flood["genuine"], flood["staff"]
        headline += [
            {"figure": "flood: genuine requests accepted", "unit": "",
             "value": f"{genuine['accepted']} of {genuine['sent']}", "target": "all"},
            {"figure": "flood: genuine p99, sending to codename", "value": genuine["p99_ms"],
             "unit": "ms", "target": ""},
            {"figure": "flood: one-cookie flooder's requests stored",
             "value": f"{flood['one_cookie_flooder']['stored']} of "
                      f"{flood['one_cookie_flooder']['posts']}", "unit": "", "target": ""},
            {"figure": "flood: staff decisions to clear it",
             "value": staff.get("staff_decisions_to_clear_the_flood"),
             "unit": f"for {staff.get('junk_stored')} junk requests", "target": ""},
        ]
    if args.mode in ("both", "throughput"):
        report["server"] = _server_config(_env(args, Path(tempfile.mkdtemp()), budgets=False))
        throughput = report["throughput"] = _throughput(args)
        headline += [
            {"figure": "acknowledged intake requests per second (form, send, codename)",
             "value": throughput["acknowledged_per_second"], "unit": "req/s",
             "target": f">= {TARGET_PER_SECOND}"},
            {"figure": "p99 response time (send to codename)", "value": throughput["p99_ms"],
             "unit": "ms", "target": ""},
            {"figure": "acknowledged requests lost", "value": throughput["lost"], "unit": "",
             "target": "0"},
        ]
    report["headline"] = headline
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
