"""`haven pathways load [PATH] [--force]`."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from haven.core.errors import HavenError
from haven.pathways import loader


class Command(BaseCommand):
    help = "Load the reviewed reference data (countries and pathways)."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        p = sub.add_parser("load", help="validate a reference file and upsert it by slug")
        p.add_argument("path", nargs="?", default=str(loader.DEFAULT_PATH),
                       help="the YAML file (default: the shipped haven/pathways/data/pathways.yaml)")
        p.add_argument("--force", action="store_true",
                       help="also overwrite pathways edited in the app")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = loader.load_reference_data(options["path"], actor=None,
                                                force=options["force"])
        except HavenError as exc:
            raise CommandError(exc.message, returncode=2) from None
        self.stdout.write(
            f"Countries: {len(report.countries_created)} created, "
            f"{len(report.countries_updated)} updated. Pathways: {len(report.created)} created, "
            f"{len(report.updated)} updated, {len(report.unchanged)} unchanged, "
            f"{len(report.skipped)} skipped.")
        if report.skipped:
            self.stdout.write("Skipped (edited in the app; --force overwrites them): "
                              + ", ".join(report.skipped))
        if report.not_in_file:
            self.stdout.write("In the database but not in the file (left as they are): "
                              + ", ".join(report.not_in_file))
