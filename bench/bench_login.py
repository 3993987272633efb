"""Sign-in refusals answer alike: an unknown name, a wrong password and a locked account.

Issue 13, finding 7: a locked account answered 423 in about 10 ms while an unknown name took
about 190 ms (an Argon2 hash), so names and locks could be told apart by the clock. This starts
the production server (gunicorn, production Argon2 cost) with the demo, locks one account, and
times the three refusals interleaved, through the real login form.

    .venv/bin/python bench/bench_login.py [ROUNDS]        -> bench/results/login.json
"""

from __future__ import annotations

import http.cookiejar
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.browser.support import (  # noqa: E402 - after the path is set
    free_port,
    haven_command,
    haven_env,
    run_haven,
    wait_for,
)

RESULTS = REPO / "bench" / "results" / "login.json"


def attempt(origin: str, username: str, password: str) -> tuple[int, float, str]:
    """One sign-in through the form, as a browser: (status, seconds for the POST, page)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{origin}/accounts/login/", timeout=30).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None
    body = urllib.parse.urlencode({"username": username, "password": password,
                                   "csrfmiddlewaretoken": token.group(1)}).encode()
    request = urllib.request.Request(f"{origin}/accounts/login/", data=body)  # noqa: S310
    start = time.perf_counter()
    try:
        with opener.open(request, timeout=30) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        status, text = exc.code, exc.read().decode()
    elapsed = time.perf_counter() - start
    main = re.sub(r'value="[^"]*"', "", text.split("<main", 1)[-1])
    return status, elapsed, main


def main(rounds: int = 30) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        env = haven_env(data)
        # A short delay and no lock from the bench's own wrong passwords; the verifier is
        # locked directly, as twenty failures in a row would.
        env.update(HAVEN_LOGIN_MAX_DELAY_SECONDS="1", HAVEN_LOGIN_LOCK_AFTER="1000",
                   HAVEN_SECURE_COOKIES="0")  # urllib sends no Secure cookie over http
        run_haven(["migrate", "--noinput", "-v0"], env)
        run_haven(["demo", "--quiet", "--no-keys"], env)
        run_haven(["shell", "-c", "from django.utils import timezone; "
                   "from haven.accounts.models import User; "
                   "User.objects.filter(username='verifier').update(locked_at=timezone.now())"],
                  env)
        port = free_port()
        origin = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([*haven_command(), "serve", "--port", str(port),
                                   "--workers", "2"], env=env, cwd=REPO,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for(f"{origin}/healthz", process=server)
            cases = {"unknown": ("nobody-by-that-name", "a wrong guess"),
                     "wrong": ("caseworker", "a wrong guess"),
                     "locked": ("verifier", "demo-verifier-haven")}
            seen: dict[str, list[float]] = {k: [] for k in cases}
            statuses: dict[str, set[int]] = {k: set() for k in cases}
            pages: dict[str, set[str]] = {k: set() for k in cases}
            for _ in range(rounds):
                for name, (user, password) in cases.items():
                    status, seconds, page = attempt(origin, user, password)
                    seen[name].append(seconds)
                    statuses[name].add(status)
                    pages[name].add(page)
                time.sleep(1.1)  # past the caseworker's delay, so "wrong" is really checked
        finally:
            server.terminate()
            server.wait(timeout=30)
    out: dict[str, Any] = {"rounds": rounds, "cases": {}}
    for name, times in seen.items():
        ms = sorted(t * 1000 for t in times)
        out["cases"][name] = {"status": sorted(statuses[name]),
                              "median_ms": round(statistics.median(ms), 1),
                              "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 1)}
    out["same_page"] = len(set().union(*pages.values())) == 1
    assert all(c["status"] == [400] for c in out["cases"].values()), out["cases"]
    medians = [c["median_ms"] for c in out["cases"].values()]
    out["headline"] = [
        {"figure": f"sign-in refusal, {name}: median", "value": c["median_ms"], "unit": "ms",
         "target": "alike"} for name, c in out["cases"].items()
    ] + [{"figure": "largest gap between refusal medians", "unit": "ms", "target": "machine noise",
          "value": round(max(medians) - min(medians), 1)}]
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    return out


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 30), indent=2))
