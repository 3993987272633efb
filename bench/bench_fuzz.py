"""API fuzzing, the long budget: tests/test_api.py with many examples per operation and role.

    .venv/bin/python bench/bench_fuzz.py [--examples 200] [--database-url URL]

Schemathesis generates requests from /api/v1/openapi.json for every operation with a token
of every role; the run fails on any 5xx, any response outside the documented schema, and any
write (row or audit event) made by a rejected request. `make test` runs the same test with
15 examples each. Writes bench/results/fuzz.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--database-url", default="",
                        help="run on PostgreSQL (pytest-django makes its own test database)")
    args = parser.parse_args()
    env = {**os.environ, "HAVEN_FUZZ_EXAMPLES": str(args.examples)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    else:
        env.pop("DATABASE_URL", None)
    with tempfile.TemporaryDirectory() as tmp:
        junit = Path(tmp) / "fuzz.xml"
        start = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "tests/test_api.py", "-q", "-p", "no:cacheprovider",
             f"--junitxml={junit}", "-k", "hold_their_contract"],
            cwd=REPO, env=env, check=False)
        seconds = round(time.monotonic() - start, 1)
        suite = ET.parse(junit).getroot()  # noqa: S314 - the junit file our pytest just wrote
        suite = suite.find("testsuite") if suite.tag == "testsuites" else suite
        assert suite is not None
        counts = {k: int(suite.get(k, "0")) for k in ("tests", "failures", "errors", "skipped")}
    result = {
        "benchmark": "fuzz",
        "what": "schemathesis over every API operation x every role; fails on 5xx, schema "
                "violations and writes on rejected requests",
        "examples_per_operation_and_role": args.examples,
        "backend": "postgresql" if args.database_url else "sqlite",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "seconds": seconds, "exit": done.returncode, **counts,
        "headline": [{"figure": "API fuzz: operation x role cases failed",
                      "value": counts["failures"] + counts["errors"], "unit":
                      f"of {counts['tests']} ({args.examples} examples each)", "target": "0"}],
    }
    (REPO / "bench" / "results").mkdir(exist_ok=True)
    (REPO / "bench" / "results" / "fuzz.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result))
    return done.returncode


if __name__ == "__main__":
    raise SystemExit(main())
