"""Sustained intake submissions on the production server, on loopback, for a bounded time.

    .venv/bin/python bench/bench_intake.py [--seconds 20] [--threads 16] [--workers 2]

Sets up a scratch data folder (keys, unseal, intake key), starts `haven serve` (gunicorn),
drives POST /intake/ask/ from this second process with a bounded thread pool over
http.client keep-alive connections, then stops the server, unseals a fresh agent and checks
that every acknowledged request (HTTP 201) is in the database and decrypts. Writes
bench/results/intake.json. Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.browser.support import free_port, haven_command, haven_env, run_haven, wait_for  # noqa: E402

FORM = {"contact": "Signal @bench_person", "region": "Bench region",
        "story": "A benchmark request. " * 20, "urgency": "days"}
CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
CHECK = r"""
import json
import django
django.setup()
from haven.intake.models import Request
from haven.keyring import intake_crypto
rows = list(Request.objects.select_related("intake_key"))
key = intake_crypto.org_private_key(rows[0].intake_key) if rows else None
bad = 0
for r in rows:
    try:
        json.loads(intake_crypto.open_sealed(key, bytes(r.payload)))
    except Exception:
        bad += 1
print(json.dumps({"stored": len(rows), "decrypted": len(rows) - bad, "undecryptable": bad}))
"""


def worker(port: int, deadline: float, out: list[tuple[float, int, str]], lock: threading.Lock
           ) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/intake/ask/")
    resp = conn.getresponse()
    html = resp.read().decode()
    cookie = "; ".join(c.split(";")[0] for c in resp.headers.get_all("Set-Cookie") or [])
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the form"
    body = urllib.parse.urlencode({**FORM, "csrfmiddlewaretoken": match.group(1)})
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie,
               "Referer": f"http://127.0.0.1:{port}/intake/ask/"}
    local: list[tuple[float, int, str]] = []
    while time.monotonic() < deadline:
        start = time.perf_counter()
        try:
            conn.request("POST", "/intake/ask/", body=body, headers=headers)
            resp = conn.getresponse()
            page = resp.read()
            status = resp.status
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            status, page = 0, b""
        elapsed = time.perf_counter() - start
        local.append((elapsed, status, page.decode(errors="replace") if status == 201 else ""))
    conn.close()
    with lock:
        out.extend(local)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kdf-log2-n", type=int, default=None)
    args = parser.parse_args()

    data = Path(tempfile.mkdtemp(prefix="hvbench"))
    env = haven_env(data)
    env["HAVEN_INTAKE_RATE_PER_MINUTE"] = "1000000"
    env["HAVEN_INTAKE_MAX_PENDING"] = "1000000"
    if args.kdf_log2_n:
        env["HAVEN_INTAKE_KDF_LOG2_N"] = str(args.kdf_log2_n)
    run_haven(["migrate", "--noinput", "-v0"], env)
    run_haven(["org", "create", "bench", "--name", "Bench"], env, check=False)
    shares = [s.split(":", 1)[1].strip()
              for s in run_haven(["keys", "init", "--shares", "2", "--threshold", "2"],
                                 env).stdout.splitlines() if s.startswith("share ")]
    run_haven(["unseal"], env, stdin="\n".join(shares[:2]) + "\n")
    run_haven(["intake", "init"], env)
    port = free_port()
    log = (data / "server.log").open("wb")
    server = subprocess.Popen([*haven_command(), "serve", "--port", str(port),
                               "--workers", str(args.workers)],
                              env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    results: list[tuple[float, int, str]] = []
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", process=server)
        lock = threading.Lock()
        start = time.monotonic()
        deadline = start + args.seconds
        threads = [threading.Thread(target=worker, args=(port, deadline, results, lock))
                   for _ in range(args.threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.monotonic() - start
    finally:
        server.terminate()
        server.wait(timeout=60)
    acked = [r for r in results if r[1] == 201]
    # The acknowledgement carries no request id (it must not), so the check is by count: every
    # stored row must decrypt, and stored == acknowledged (nothing lost, nothing half-done).
    counted = subprocess.run([sys.executable, "-c", CHECK],
                             env={**env, "DJANGO_SETTINGS_MODULE": "haven.settings"}, cwd=REPO,
                             capture_output=True, text=True, check=False, timeout=600)
    run_haven(["seal"], env, check=False)
    latencies = sorted(r[0] for r in results)
    statuses: dict[str, int] = {}
    for r in results:
        statuses[str(r[1])] = statuses.get(str(r[1]), 0) + 1
    p99 = latencies[int(0.99 * (len(latencies) - 1))] if latencies else None
    verify = json.loads(counted.stdout.strip().splitlines()[-1]) if counted.returncode == 0 \
        else {"error": counted.stderr[-2000:]}
    report = {
        "what": "POST /intake/ask/ on `haven serve` (gunicorn, sync workers), loopback",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "seconds": round(wall, 2), "threads": args.threads, "workers": args.workers,
        "kdf_log2_n": int(env.get("HAVEN_INTAKE_KDF_LOG2_N", "0") or 0) or "default",
        "requests": len(results), "statuses": statuses,
        "acknowledged": len(acked),
        "acknowledged_per_second": round(len(acked) / wall, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "p99_ms": round(p99 * 1000, 1) if p99 is not None else None,
        "verification": verify,
        "lost": (len(acked) - verify.get("stored", 0)) if "stored" in verify else None,
    }
    print(json.dumps(report, indent=2))
    out = REPO / "bench" / "results" / "intake.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
