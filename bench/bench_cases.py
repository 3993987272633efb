"""Server time of the caseworker's pages with 100,000 seeded people, on SQLite and PostgreSQL.

    .venv/bin/python bench/bench_cases.py [--people 100000] [--requests 100]
                                          [--backends sqlite,postgres]
    .venv/bin/python bench/bench_cases.py --keep /tmp/cases-perf --people 20000 [--only dash]

For each backend a child process gets a scratch database (a SQLite file in a temporary data
folder; a fresh `haven_bench` database on 127.0.0.1:5432), migrates, initialises and unseals
the keyring in-process, seeds ``--people`` with `haven seed`, logs staff in through the real
login and second-factor pages, then times requests through Django's full handler and
middleware stack (``django.test.Client``: no network, so this is server time): a plain
"hello" view as the yardstick, the dashboard, the case list, a name search (Cyrillic and
Latin), case pages, and the pathways pages over the applications, travel and arrivals the
seed gives its cases: the outcomes board (all destinations, and one), "Where to apply" for a
case and an application page. Medians and 95th percentiles go to bench/results/cases.json.
Not a test: numbers depend on the machine (this one is shared with other work).

``--keep DIR`` is for iterating (with the first of ``--backends``): the first run seeds
into DIR (on PostgreSQL: into the `haven_bench_cases` database, left in place) and keeps the
key shares in DIR/bench-state.json; later runs unseal, migrate (so a new index lands on the
seeded data) and only time the requests (``--only`` picks endpoints by a word of their
label). Such runs print their numbers and never write bench/results.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "cases.json"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
PG_DB = "haven_bench_cases"


def stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"n": len(samples), "median_ms": round(statistics.median(samples) * 1000, 2),
            "p95_ms": round(p95 * 1000, 2), "max_ms": round(ordered[-1] * 1000, 2)}


STATE = "bench-state.json"
PASSWORD = "bench password that is long enough"  # noqa: S105 - a throwaway bench user


def child(backend: str, people: int, requests: int, keep: str = "", only: str = ""
          ) -> dict[str, Any]:
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        return _child(backend, people, requests, Path(keep), only)
    data = Path(tempfile.mkdtemp(prefix="haven-bench-"))
    try:
        return _child(backend, people, requests, data, only)
    finally:
        shutil.rmtree(data, ignore_errors=True)


def _child(backend: str, people: int, requests: int, data: Path, only: str = ""  # noqa: PLR0912, PLR0915 - one linear script
           ) -> dict[str, Any]:
    os.environ["HAVEN_DATA_DIR"] = str(data)
    os.environ.setdefault("HAVEN_SECRET_KEY", "bench-secret-key-0123456789abcdefghijklmnop")
    os.environ["DJANGO_SETTINGS_MODULE"] = "haven.settings_demo"  # production + `haven seed`
    if backend == "postgres":
        os.environ["DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:5432/{PG_DB}"
    else:
        os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(REPO))

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.http import HttpRequest, HttpResponse
    from django.test import Client
    from django.urls import clear_url_caches, path
    from django_otp.oath import totp

    from haven import urls as haven_urls
    from haven.access.decorators import public
    from haven.access.roles import Role
    from haven.accounts import services as account_services
    from haven.accounts.models import Organization, SealedTOTPDevice, User
    from haven.cases.models import Case, Status
    from haven.keyring import client, services
    from haven.pathways.models import Application
    from haven.people.models import Person

    @public
    def hello(request: HttpRequest) -> HttpResponse:
        return HttpResponse("hello")

    urlconf = types.ModuleType("bench_cases_urls")
    urlconf.urlpatterns = [path("bench/hello/", hello), *haven_urls.urlpatterns]  # type: ignore[attr-defined]
    sys.modules["bench_cases_urls"] = urlconf
    settings.ROOT_URLCONF = "bench_cases_urls"
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.DEBUG = False
    clear_url_caches()

    out: dict[str, Any] = {"backend": backend, "people": people}
    state_file = data / STATE
    state = json.loads(state_file.read_text()) if state_file.exists() else None
    t0 = time.monotonic()
    call_command("migrate", verbosity=0)
    out["migrate_s"] = round(time.monotonic() - t0, 1)
    password = PASSWORD
    with client.using(client.LocalTransport()):
        if state is None:
            shares = services.keys_init(actor=None, shares=3, threshold=2)
        else:
            shares = state["shares"]
        services.unseal_submit_share(actor=None, share=shares[0])
        services.unseal_submit_share(actor=None, share=shares[1])
        if state is None:
            org = Organization.objects.create(name="Bench", slug="bench", is_demo=True)
            for role in (Role.COORDINATOR, Role.CASEWORKER, Role.OPERATOR):
                for i in range(1 if role != Role.CASEWORKER else 40):
                    user = User.objects.create_user(f"{role}{i}", password, organization=org,
                                                    role=role)
                    account_services.totp_enrol_demo(user=user)
            t0 = time.monotonic()
            call_command("seed", "--people", str(people), "--seed", "1", "--org", "bench")
            out["seed_s"] = round(time.monotonic() - t0, 1)
            state_file.write_text(json.dumps({"shares": shares, "people": people}))
            if backend == "postgres":
                # A production server's autovacuum analyses new rows within a minute, and
                # vacuums tables that only grew (which marks their pages all-visible, so
                # the covering indexes are read without visiting the table); the shared
                # test server runs without it, and a planner without statistics guesses
                # that an organization holds four cases.
                with connection.cursor() as cursor:
                    cursor.execute("VACUUM ANALYZE")
        users = {role: User.objects.get(username=f"{role}0")
                 for role in (Role.COORDINATOR, Role.CASEWORKER, Role.OPERATOR)}
        out["people"] = Person.objects.count()
        out["cases"] = Case.objects.count()
        out["applications"] = Application.objects.count()

        def login(user: Any) -> Client:
            c = Client()
            assert c.post("/accounts/login/", {"username": user.username,
                                               "password": password}).status_code == 302
            device = SealedTOTPDevice.objects.get(user=user)
            code = str(totp(device.bin_key, step=device.step, t0=device.t0,
                            digits=device.digits)).zfill(device.digits)
            assert c.post("/accounts/verify/", {"code": code}).status_code == 302
            return c

        coord = login(users[Role.COORDINATOR])
        worker = login(users[Role.CASEWORKER])
        rng = random.Random(2)
        names = [p.legal_name.split()[0] for p in Person.objects.order_by("?")[:20]]
        latin = [p.other_names.split()[-1] for p in Person.objects.order_by("?")[:20]]
        coord_cases = list(Case.objects.values_list("pk", flat=True)[:2000])
        worker_cases = list(Case.objects.filter(assigned_to=users[Role.CASEWORKER]).exclude(
            status=Status.SUSPENDED).values_list("pk", flat=True)[:500])
        out["caseworker_cases"] = Case.objects.filter(assigned_to=users[Role.CASEWORKER]).count()

        def measure(c: Client, make_url: Any) -> dict[str, float]:
            for _ in range(5):  # warm-up: connections, template caches
                assert c.get(make_url()).status_code == 200
            samples = []
            for _ in range(requests):
                url = make_url()
                start = time.perf_counter()
                response = c.get(url)
                samples.append(time.perf_counter() - start)
                assert response.status_code == 200, (url, response.status_code)
            return stats(samples)

        anon = Client()
        endpoints = {
            "hello (plain Django view)": (anon, lambda: "/bench/hello/"),
            "dashboard, caseworker": (worker, lambda: "/"),
            "dashboard, coordinator": (coord, lambda: "/"),
            "case list, coordinator (all cases)": (coord, lambda: "/cases/"),
            "case list, coordinator, page 40, filtered": (
                coord, lambda: "/cases/?status=active&priority=urgent&page=40"),
            "case list, caseworker": (worker, lambda: "/cases/"),
            "name search, coordinator (Cyrillic)": (coord, lambda: f"/cases/?q={rng.choice(names)}"),
            "name search, coordinator (Latin)": (coord, lambda: f"/cases/?q={rng.choice(latin)}"),
            "name search, caseworker": (worker, lambda: f"/cases/?q={rng.choice(names)}"),
            "case page, coordinator": (coord, lambda: f"/cases/{rng.choice(coord_cases)}/"),
            "case page, caseworker": (worker, lambda: f"/cases/{rng.choice(worker_cases)}/"),
            "my tasks, caseworker": (worker, lambda: "/cases/tasks/"),
            "my tasks, coordinator": (coord, lambda: "/cases/tasks/"),
        }
        out["endpoints"] = {}
        for label, (c, make_url) in endpoints.items():
            if only and not any(word in label for word in only.split(",")):
                continue
            out["endpoints"][label] = measure(c, make_url)
            print(f"  {backend:8} {label:45} {out['endpoints'][label]}", file=sys.stderr)

        # The pathways pages, over the applications the seed made.
        busiest = Case.objects.filter(pk__in=worker_cases).order_by("-applications__created_at")
        ranked_case = busiest.first() or Case.objects.get(pk=worker_cases[0])
        application = Application.objects.filter(case__in=worker_cases).order_by("pk").first()
        pathway_pages = {
            "outcomes board, coordinator": (coord, "/pathways/outcomes/"),
            "outcomes board, coordinator, one country": (coord, "/pathways/outcomes/?country=DE"),
            "where to apply, caseworker": (worker, f"/pathways/cases/{ranked_case.pk}/"),
        }
        if application is not None:
            pathway_pages["application page, caseworker"] = (
                worker, f"/pathways/applications/{application.pk}/")
        for label, (c, url) in pathway_pages.items():
            if only and not any(word in label for word in only.split(",")):
                continue
            assert c.get(url).status_code == 200, (label, url)
            out["endpoints"][label] = measure(c, lambda url=url: url)
            print(f"  {backend:8} {label:45} {out['endpoints'][label]}", file=sys.stderr)
    return out


def reset_postgres() -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{PG_DB}"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--keep", default="", help="data folder to seed once and reuse "
                        "(results are printed, not written)")
    parser.add_argument("--only", default="", help="comma-separated words: time only the "
                        "endpoints whose label has one")
    parser.add_argument("--child", default="")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.people, args.requests, args.keep, args.only)))
        return
    if args.keep:
        backend = args.backends.split(",")[0]
        if backend == "postgres" and not (Path(args.keep) / STATE).exists():
            reset_postgres()
        print(json.dumps(child(backend, args.people, args.requests, args.keep, args.only),
                         indent=2))
        return
    runs = []
    for backend in args.backends.split(","):
        if backend == "postgres":
            reset_postgres()
        print(f"{backend}: seeding {args.people} people and measuring…", file=sys.stderr)
        done = subprocess.run(
            [sys.executable, __file__, "--child", backend, "--people", str(args.people),
             "--requests", str(args.requests)],
            check=True, capture_output=True, text=True, cwd=REPO, timeout=7200)
        sys.stderr.write(done.stderr)
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        if backend == "postgres":
            import psycopg

            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
    result = {
        "benchmark": "cases",
        "what": "server time (Django handler + middleware, in-process client) per request",
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count(), "note": "shared with other engineers' test runs"},
        "runs": runs,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {RESULTS}", file=sys.stderr)


if __name__ == "__main__":
    main()
