from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest
from django.core.management import CommandError, call_command

RUNNER = Path(__file__).resolve().parents[2] / "bench" / "run.py"


def _runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_run", RUNNER)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_unknown_benchmark_is_refused_with_the_list(capfd: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(CommandError, match="exit 2"):
        call_command("bench", "no-such-benchmark")
    assert "there are: " in capfd.readouterr().err


def test_summary_shows_headlines_and_the_machine(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    run = _runner()
    monkeypatch.setattr(run, "RESULTS", tmp_path)
    (tmp_path / "a.json").write_text(json.dumps({"headline": [
        {"figure": "acknowledged per second", "value": 212.3, "unit": "req/s",
         "target": ">= 200"}]}))
    (tmp_path / "b.json").write_text("{}")
    text = run.summary(["a", "b", "c"], {"a": {"exit": 0, "seconds": 1.0}})
    assert "| a | acknowledged per second | 212 | req/s | >= 200 |" in text
    assert "| b | see `bench/results/b.json` |" in text
    assert "| c | (no results: exit None) |" in text
    assert "| cpus |" in text
