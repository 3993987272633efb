"""`haven bench [NAME ...]`: run the benchmarks of a source checkout (bench/run.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

RUNNER = Path(__file__).resolve().parents[4] / "bench" / "run.py"


class Command(BaseCommand):
    help = ("Run every benchmark (or those named) against a production server on loopback; "
            "results go to bench/results/ with a SUMMARY.md. Needs a source checkout.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")

    def handle(self, *args: Any, **options: Any) -> None:
        if not RUNNER.exists():
            raise CommandError(f"{RUNNER} is missing: benchmarks run from a source checkout.")
        code = subprocess.run(  # noqa: S603 - our interpreter and script; names are checked
            [sys.executable, str(RUNNER), *options["names"]],
            check=False).returncode
        if code:
            raise CommandError(f"a benchmark failed (exit {code}); see bench/results/SUMMARY.md")
