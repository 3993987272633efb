"""Crash safety: SIGKILL the production server under a load of writes, restart, count.

A few kill points here (``HAVEN_CRASH_ROUNDS``, default 3); `make bench` runs many more through
``bench/bench_crash.py``. See ``tests/system/crash.py`` for how the load and the check work.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from tests.browser.support import scratch_postgres_database
from tests.system import crash

ROUNDS = int(os.environ.get("HAVEN_CRASH_ROUNDS", "3"))


def _seed() -> int:
    """HAVEN_CRASH_SEED repeats a run's kill points; the report (in any failure) names it."""
    return int(os.environ.get("HAVEN_CRASH_SEED") or random.SystemRandom().randrange(10**6))


def _assert_nothing_lost(report: crash.Report) -> None:
    assert not report.problems, report
    # The load must have been real, or the property holds vacuously.
    assert report.acked_notes > 0, report
    assert report.acked_requests > 0, report
    assert report.acked_transitions > 0, report


def test_acknowledged_writes_survive_sigkill_on_sqlite(tmp_path: Path) -> None:
    _assert_nothing_lost(crash.run(tmp_path / "data", rounds=ROUNDS, seed=_seed()))


def test_acknowledged_writes_survive_sigkill_on_postgresql(tmp_path: Path) -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        pytest.skip("runs in the PostgreSQL pass of make test (DATABASE_URL)")
    with scratch_postgres_database(url) as scratch:
        _assert_nothing_lost(crash.run(tmp_path / "data", rounds=ROUNDS, seed=_seed(),
                                       database_url=scratch))
