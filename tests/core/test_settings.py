"""Settings read from the environment: a bad value stops the process with a clear message."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

SHOW = ("import django; django.setup(); from django.conf import settings; "
        "print(settings.DATABASES['default'].get('OPTIONS', {}).get('options', ''))")


def _settings(**env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "DJANGO_SETTINGS_MODULE": "haven.settings", **env}
    return subprocess.run([sys.executable, "-c", SHOW], env=full, capture_output=True,
                          text=True, timeout=60, check=False)


@pytest.mark.parametrize(("value", "expected"), [
    (None, "-c max_parallel_workers_per_gather=0"),
    ("2", "-c max_parallel_workers_per_gather=2")])
def test_postgresql_connections_turn_parallel_query_off_unless_told(value: str | None,
                                                                      expected: str) -> None:
    env = {"DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/test"}
    if value is not None:
        env["HAVEN_DB_PARALLEL_WORKERS"] = value
    done = _settings(**env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == expected


def test_a_bad_parallel_worker_count_is_refused_clearly() -> None:
    done = _settings(DATABASE_URL="postgresql://postgres@127.0.0.1:5432/test",
                     HAVEN_DB_PARALLEL_WORKERS="many")
    assert done.returncode != 0
    assert "HAVEN_DB_PARALLEL_WORKERS must be a whole number of workers, not 'many'" in done.stderr
