"""`haven people reindex [--batch N]`."""

from __future__ import annotations

import argparse
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from haven.core.errors import HavenError
from haven.people import services


class Command(BaseCommand):
    help = "Maintain people's records: rebuild the blind index that name search reads."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        p = sub.add_parser("reindex", help="rebuild every person's blind-index rows (after an "
                           "upgrade that changed how names are normalized); needs unsealed keys")
        p.add_argument("--batch", type=int, default=services.REINDEX_BATCH,
                       help=f"people per transaction (default {services.REINDEX_BATCH})")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        try:
            done = services.people_reindex(batch=options["batch"])
        except HavenError as exc:
            raise CommandError(exc.message, returncode=2) from None
        self.stdout.write(f"Indexed {done} people again in {time.monotonic() - started:.1f} s.")
