"""`haven people reindex [--batch N]`, `haven people duplicates-sweep [--after ID]`."""

from __future__ import annotations

import argparse
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from haven.core.errors import HavenError
from haven.people import duplicate_selectors, duplicates, name_index, services


class Command(BaseCommand):
    help = ("Maintain people's records: rebuild the blind index that name search reads, "
            "sweep for likely duplicates.")

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        p = sub.add_parser("reindex", help="rebuild every person's blind-index rows (after an "
                           "upgrade that changed how names are normalized); needs unsealed keys")
        p.add_argument("--batch", type=int, default=services.REINDEX_BATCH,
                       help=f"people per transaction (default {services.REINDEX_BATCH})")
        p.add_argument("--names-only", action="store_true",
                       help="only the name tokens of fuzzy search (resumable), not the "
                       "exact-word index")
        p.add_argument("--rotate", action="store_true",
                       help="build the name tokens under a new epoch's key even if the "
                       "matching rules did not change (after `haven keys rotate`)")
        d = sub.add_parser("duplicates-sweep", help="weigh every person against the likely "
                           "candidates of their organization and queue likely duplicates for "
                           "review (resumable with --after); needs unsealed keys")
        d.add_argument("--batch", type=int, default=duplicates.SWEEP_BATCH,
                       help=f"people per step (default {duplicates.SWEEP_BATCH})")
        d.add_argument("--after", default="",
                       help="resume after this person id (the last one a run printed)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "duplicates-sweep":
            self.sweep(batch=options["batch"], after=options["after"])
            return
        started = time.monotonic()

        def progress(at: name_index.RebuildProgress) -> None:
            self.stdout.write(f"Name tokens: {at.done} of {at.total} people "
                              f"({time.monotonic() - started:.1f} s)")

        try:
            if not options["names_only"]:
                done = services.people_reindex(batch=options["batch"])
                self.stdout.write(f"Indexed {done} people again in "
                                  f"{time.monotonic() - started:.1f} s.")
            written, ran = services.names_reindex(rotate=options["rotate"],
                                                  batch=options["batch"], progress=progress)
        except HavenError as exc:
            raise CommandError(exc.message, returncode=2) from None
        if ran:
            self.stdout.write(f"Name tokens rebuilt for {written} people; search reads epoch "
                              f"{name_index.state().epoch}.")
        else:
            self.stdout.write("Name tokens are up to date (same rules, no rotation asked).")

    def sweep(self, *, batch: int, after: str) -> None:
        started = time.monotonic()

        def progress(done: int, total: int, last: str) -> None:
            self.stdout.write(f"Duplicates: {done} of {total} people weighed "
                              f"({time.monotonic() - started:.1f} s); to resume: "
                              f"--after {last}")

        try:
            done = duplicates.duplicates_sweep(batch=batch, after=after or None,
                                               progress=progress)
        except HavenError as exc:
            raise CommandError(exc.message, returncode=2) from None
        self.stdout.write(f"Swept {done} people; {duplicate_selectors.open_count()} pairs wait for "
                          "review.")
