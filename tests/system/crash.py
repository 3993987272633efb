"""Kill the production server at random moments under a load of writes; count what survives.

Used by ``tests/system/test_crash.py`` (a few kill points, in `make test`) and by
``bench/bench_crash.py`` (many kill points, in `make bench`). Everything runs as separate
processes: the server (gunicorn, in its own process group so SIGKILL takes the master and
every worker at once, as a power cut or an OOM kill would), the writers (threads of this
process speaking HTTP on loopback) and the final check (a `python -c` in the instance's
environment, through Haven's own models and keyring).

The property: every write the server acknowledged is present after the restart, readable
(it decrypts) and in the audit chain, and `haven audit verify` passes.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.browser.support import REPO, free_port, haven_command, haven_env, run_haven, wait_for

CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
CODENAME_RE = re.compile(r'data-testid="codename"[^>]*>(.*?)</ol>', re.S)
FORM_TOKEN_RE = re.compile(r'name="form_token" value="([^"]*)"')
WORD_RE = re.compile(r"<span>([^<]+)</span>")
TOKEN_RE = re.compile(r"hvn_[A-Za-z0-9_\-]+")

CHECK = r"""
import json, sys
import django
django.setup()
from haven.audit.models import AuditEvent
from haven.cases.models import Case, Note
from haven.intake import services as intake_services
from haven.intake.models import IntakeKey

acked = json.load(sys.stdin)
out = {"notes_missing": [], "notes_unreadable": [], "notes_unaudited": [],
       "codenames_missing": [], "transitions": {}}
for note_id, body in acked["notes"]:
    note = Note.objects.filter(pk=note_id).first()
    if note is None:
        out["notes_missing"].append(note_id)
        continue
    try:
        if note.body != body:
            out["notes_unreadable"].append(note_id)
    except Exception:
        out["notes_unreadable"].append(note_id)
    if not AuditEvent.objects.filter(action="note.added", object_id=str(note_id)).exists():
        out["notes_unaudited"].append(note_id)
key = IntakeKey.objects.get()
for codename in acked["codenames"]:
    try:
        intake_services.requester_login(intake_key=key, codename=codename)
    except Exception:
        out["codenames_missing"].append(codename)
for case_id in acked["cases"]:
    case = Case.objects.get(pk=case_id)
    events = AuditEvent.objects.filter(action="case.transitioned", object_id=case_id).count()
    out["transitions"][case_id] = {"status": case.status, "events": events}
print(json.dumps(out))
"""


@dataclass
class Acked:
    """What the server acknowledged, across every round."""

    notes: list[tuple[str, str]] = field(default_factory=list)
    codenames: list[str] = field(default_factory=list)
    # per case: the status of every acknowledged transition, in order
    transitions: dict[str, list[str]] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Report:
    seed: int
    rounds: int
    acked_notes: int
    acked_requests: int
    acked_transitions: int
    seconds: float
    problems: list[str]
    kill_after_s: list[float]


class Instance:
    """One Haven data folder and its server, which can be killed and started again."""

    def __init__(self, data_dir: Path, database_url: str | None = None, *,
                 log: Path | None = None) -> None:
        self.env = haven_env(data_dir, database_url)
        self.env["HAVEN_INTAKE_RATE_PER_MINUTE"] = "1000000"
        # Each writer opens a fresh form (a new browser session) and sends it at once.
        self.env["HAVEN_INTAKE_MIN_FILL_SECONDS"] = "0"
        self.env["HAVEN_INTAKE_DISK_RESERVE_MB"] = "1"
        self.data_dir = data_dir
        self.log = log or data_dir / "logs" / "server.log"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        run_haven(["migrate", "--noinput", "-v0"], self.env)
        run_haven(["demo", "--quiet", "--no-keys"], self.env)
        made = run_haven(["keys", "init", "--shares", "2", "--threshold", "2"], self.env).stdout
        shares = [line.split(":", 1)[1].strip() for line in made.splitlines()
                  if line.startswith("share ")]
        run_haven(["unseal"], self.env, stdin="\n".join(shares) + "\n")
        run_haven(["intake", "init", "--org", "demo"], self.env)
        created = run_haven(["token", "create", "coordinator", "--name", "crash"], self.env)
        found = TOKEN_RE.search(created.stdout + created.stderr)
        assert found, created
        self.token = found.group(0)

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        log = self.log.open("ab")
        self.process = subprocess.Popen(
            [*haven_command(), "serve", "--port", str(self.port), "--workers", "2"],
            env=self.env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(f"http://127.0.0.1:{self.port}/healthz", process=self.process)

    def kill(self) -> None:
        """SIGKILL the master and every worker at once (its own process group)."""
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.kill()
        run_haven(["seal"], self.env, check=False)

    def api(self, conn: http.client.HTTPConnection, method: str, path: str,
            body: dict[str, Any] | None = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        conn.request(method, path, body=json.dumps(body) if body is not None else None,
                     headers=headers)
        response = conn.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None


def _connection(port: int) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", port, timeout=10)


def _cookies(headers: list[str] | None) -> dict[str, str]:
    return dict(c.split(";")[0].split("=", 1) for c in headers or [])


def submit_intake(conn: http.client.HTTPConnection, port: int) -> tuple[int, str]:
    """Fetch the public form, send one request for help and follow the redirect to the page
    that shows its codename: 200 and that page once acknowledged, else the status and page
    answered (the form's own answer when it could not be shown)."""
    conn.request("GET", "/intake/ask/")
    response = conn.getresponse()
    page = response.read().decode()
    if response.status != 200:
        return response.status, page
    cookies = _cookies(response.headers.get_all("Set-Cookie"))
    token = CSRF_RE.search(page)
    form_token = FORM_TOKEN_RE.search(page)
    assert token, page[:500]
    assert form_token, page[:500]
    body = urllib.parse.urlencode({
        "contact": "Signal @crash", "region": "Crash test", "urgency": "days",
        "story": "Crash test request.", "csrfmiddlewaretoken": token.group(1),
        "form_token": form_token.group(1)})
    conn.request("POST", "/intake/ask/", body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
        "Referer": f"http://127.0.0.1:{port}/intake/ask/"})
    response = conn.getresponse()
    page = response.read().decode()
    if response.status != 303:
        return response.status, page
    cookies.update(_cookies(response.headers.get_all("Set-Cookie")))
    conn.request("GET", response.headers["Location"], headers={
        "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())})
    response = conn.getresponse()
    return response.status, response.read().decode()


def _intake_writer(inst: Instance, stop: threading.Event, acked: Acked) -> None:
    while not stop.is_set():
        conn = _connection(inst.port)
        try:
            status, page = submit_intake(conn, inst.port)
            if status == 200:
                shown = CODENAME_RE.search(page)
                assert shown, "an acknowledged request without its codename"
                with acked.lock:
                    acked.codenames.append(" ".join(WORD_RE.findall(shown.group(1))))
        except (OSError, http.client.HTTPException):
            time.sleep(0.05)
        finally:
            conn.close()


def _api_writer(inst: Instance, stop: threading.Event, acked: Acked, case_id: str,
                serial: list[int]) -> None:
    """Append notes and move the case between intake and on hold, each acknowledged or not."""
    conn = _connection(inst.port)
    while not stop.is_set():
        try:
            serial[0] += 1
            marker = f"crash-note-{case_id[:8]}-{serial[0]}"
            status, body = inst.api(conn, "POST", f"/api/v1/cases/{case_id}/notes",
                                    {"body": marker})
            if status == 201:
                with acked.lock:
                    acked.notes.append((body["id"], marker))
            status, body = inst.api(conn, "GET", f"/api/v1/cases/{case_id}")
            if status != 200:
                continue
            to = "on_hold" if body["status"] == "intake" else "intake"
            with acked.lock:
                acked.attempts[case_id] = acked.attempts.get(case_id, 0) + 1
            status, body = inst.api(conn, "POST", f"/api/v1/cases/{case_id}/transition",
                                    {"to": to})
            if status == 200:
                with acked.lock:
                    acked.transitions.setdefault(case_id, []).append(to)
        except (OSError, http.client.HTTPException, ValueError):
            conn.close()
            conn = _connection(inst.port)
            time.sleep(0.05)
    conn.close()


def run(data_dir: Path, *, rounds: int, seed: int, database_url: str | None = None) -> Report:
    """``rounds`` times: start, write from three threads, SIGKILL after a random moment."""
    rng = random.Random(seed)
    inst = Instance(data_dir, database_url)
    acked = Acked()
    started = time.monotonic()
    kills: list[float] = []
    try:
        inst.start()
        conn = _connection(inst.port)
        case_ids = []
        for i in range(2):
            status, body = inst.api(conn, "POST", "/api/v1/cases", {"legal_name": f"Crash {i}"})
            assert status == 201, body
            case_ids.append(body["id"])
        conn.close()
        serials = {case_id: [0] for case_id in case_ids}
        for _ in range(rounds):
            if inst.process is None:
                inst.start()
            stop = threading.Event()
            threads = [threading.Thread(target=_intake_writer, args=(inst, stop, acked))]
            threads += [threading.Thread(target=_api_writer,
                                         args=(inst, stop, acked, c, serials[c]))
                        for c in case_ids]
            for thread in threads:
                thread.start()
            pause = rng.uniform(0.3, 2.0)
            kills.append(round(pause, 3))
            time.sleep(pause)
            inst.kill()
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
        inst.start()  # the restart after the last kill must come up too
        inst.kill()
        problems = check(inst, acked, case_ids)
    finally:
        inst.stop()
    return Report(seed=seed, rounds=rounds, acked_notes=len(acked.notes),
                  acked_requests=len(acked.codenames),
                  acked_transitions=sum(len(v) for v in acked.transitions.values()),
                  seconds=round(time.monotonic() - started, 1), problems=problems,
                  kill_after_s=kills)


def check(inst: Instance, acked: Acked, case_ids: list[str]) -> list[str]:
    """Every acknowledged write present, readable, audited; the audit chain verifies."""
    problems: list[str] = []
    payload = json.dumps({"notes": acked.notes, "codenames": acked.codenames,
                          "cases": case_ids})
    result = subprocess.run(
        [sys.executable, "-c", CHECK], input=payload, env={**inst.env,
                                                          "DJANGO_SETTINGS_MODULE": "haven.settings"},
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    if result.returncode != 0:
        return [f"the check could not run: {result.stderr[-2000:]}"]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    for key in ("notes_missing", "notes_unreadable", "notes_unaudited", "codenames_missing"):
        if found[key]:
            problems.append(f"{key}: {found[key][:5]} ({len(found[key])} in all)")
    for case_id in case_ids:
        done = acked.transitions.get(case_id, [])
        seen = found["transitions"][case_id]
        # +1: the case was opened in intake by one transition-free create; each acknowledged
        # transition is one event, and at most one more may have committed unacknowledged
        # per attempt that got no answer.
        unanswered = acked.attempts.get(case_id, 0) - len(done)
        if not len(done) <= seen["events"] <= len(done) + unanswered:
            problems.append(f"case {case_id}: {len(done)} transitions acknowledged, "
                            f"{seen['events']} audited, {unanswered} unanswered")
        if done and seen["status"] != done[-1] and seen["events"] == len(done):
            problems.append(f"case {case_id}: last acknowledged status {done[-1]}, "
                            f"stored {seen['status']}")
    verify = run_haven(["audit", "verify"], inst.env, check=False)
    if verify.returncode != 0:
        problems.append(f"haven audit verify failed: {verify.stdout}{verify.stderr}")
    return problems
