"""Crash safety, the long variant: many SIGKILLs of the production server under write load.

    .venv/bin/python bench/bench_crash.py [--rounds 25] [--seed S] [--postgres URL]

The same load and check as tests/system/test_crash.py (see tests/system/crash.py), with many
more kill points. Writes bench/results/crash.json. Exits non-zero if any acknowledged write
was lost, unreadable or unaudited, or the audit chain failed to verify.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import random
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.browser.support import scratch_postgres_database  # noqa: E402
from tests.system import crash  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="a database to create a scratch database next to; '' skips")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(10**6)
    runs = []
    with tempfile.TemporaryDirectory(prefix="hvcrash") as tmp:
        report = crash.run(Path(tmp) / "sqlite", rounds=args.rounds, seed=seed)
        runs.append({"backend": "sqlite", **dataclasses.asdict(report)})
        print(json.dumps(runs[-1]))
        if args.postgres:
            try:
                with scratch_postgres_database(args.postgres) as url:
                    report = crash.run(Path(tmp) / "pg", rounds=args.rounds, seed=seed,
                                       database_url=url)
                runs.append({"backend": "postgresql", **dataclasses.asdict(report)})
                print(json.dumps(runs[-1]))
            except Exception as exc:  # noqa: BLE001 - no server: say so in the results
                runs.append({"backend": "postgresql", "skipped": str(exc)[:200]})
    out = {"benchmark": "crash", "seed": seed,
           "what": "SIGKILL of the gunicorn process group at random moments under writes; "
                   "every acknowledged write checked after restart",
           "machine": {"python": platform.python_version(), "platform": platform.platform()},
           "runs": runs,
           "headline": [{"figure": f"crash ({r['backend']}): acknowledged writes lost after "
                                   f"{r.get('rounds', 0)} SIGKILLs",
                         "value": len(r.get("problems", [])),
                         "unit": f"problems; {r.get('acked_notes', 0)} notes, "
                                 f"{r.get('acked_requests', 0)} requests, "
                                 f"{r.get('acked_transitions', 0)} transitions acknowledged",
                         "target": "0"} for r in runs if "skipped" not in r]}
    results = REPO / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "crash.json").write_text(json.dumps(out, indent=1) + "\n")
    return 1 if any(r.get("problems") for r in runs) else 0


if __name__ == "__main__":
    raise SystemExit(main())
