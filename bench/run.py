"""Run every benchmark in bench/ and write bench/results/SUMMARY.md.

    .venv/bin/python bench/run.py [NAME ...]        (or `make bench`, or `haven bench`)

Each ``bench/bench_NAME.py`` runs as its own process and writes ``bench/results/NAME.json``.
A benchmark may put a ``headline`` list in its JSON — ``{"figure", "value", "unit",
"target"}`` items — and the summary shows those lines; otherwise it points to the file.
The summary opens with a description of the machine and its load, because every figure
depends on it.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = ""
    with open("/proc/cpuinfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with open("/proc/meminfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    return {
        "cpu": cpu, "cpus": os.cpu_count(), "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "platform": platform.platform(), "python": platform.python_version(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    return str(value)


def summary(names: list[str], runs: dict[str, dict[str, Any]]) -> str:
    lines = ["# Benchmark results", "",
             f"Written {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} by `bench/run.py`.", ""]
    desc = machine()
    lines += ["## Machine", "", "| | |", "|---|---|"]
    lines += [f"| {k.replace('_', ' ')} | {v} |" for k, v in desc.items()]
    lines += ["", "## Figures", "", "| benchmark | figure | value | unit | target |",
              "|---|---|---|---|---|"]
    for name in names:
        path = RESULTS / f"{name}.json"
        run = runs.get(name, {})
        if not path.exists():
            lines.append(f"| {name} | (no results: exit {run.get('exit')}) | | | |")
            continue
        data = json.loads(path.read_text())
        headline = data.get("headline") or []
        if not headline:
            lines.append(f"| {name} | see `bench/results/{name}.json` | | | |")
        for item in headline:
            lines.append(f"| {name} | {item.get('figure', '')} | {_cell(item.get('value', ''))} | "
                         f"{item.get('unit', '')} | {item.get('target', '')} |")
    lines += ["", "## Runs", "", "| benchmark | exit | seconds |", "|---|---|---|"]
    lines += [f"| {n} | {r['exit']} | {r['seconds']} |" for n, r in runs.items()]
    lines += ["", "Reproduce: `make bench` on a fresh clone (or `.venv/bin/python bench/run.py "
              "NAME` for one). Each figure's JSON holds its medians, spreads and yardsticks.", ""]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    available = sorted(p.stem.removeprefix("bench_") for p in BENCH.glob("bench_*.py"))
    names = argv or available
    unknown = [n for n in names if n not in available]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; there are: {', '.join(available)}",
              file=sys.stderr)
        return 2
    runs: dict[str, dict[str, Any]] = {}
    for name in names:
        print(f"==> bench {name}", flush=True)
        start = time.monotonic()
        done = subprocess.run([sys.executable, str(BENCH / f"bench_{name}.py")], check=False)
        runs[name] = {"exit": done.returncode, "seconds": round(time.monotonic() - start, 1)}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "SUMMARY.md").write_text(summary(available, runs))
    print(f"==> wrote {RESULTS / 'SUMMARY.md'}")
    return 1 if any(r["exit"] for r in runs.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
