"""`haven audit verify` and `haven audit head`."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from haven.audit import services


class Command(BaseCommand):
    help = "Check the audit log's hash chain, or print its head for anchoring elsewhere."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser("verify", help="recompute the chain; exit 1 on the first bad event")
        verify.add_argument("--expect-head", metavar="SEQ:HASH",
                            help="also require the chain to contain this earlier head")
        sub.add_parser("head", help="print the last event's number and hash")

    def handle(self, *args: Any, **options: Any) -> None:
        result = services.verify()
        if options["action"] == "head":
            self.stdout.write(f"{result.head_seq}:{result.head_hash}")
            return
        if not result.ok:
            raise CommandError(
                f"audit chain BROKEN at event #{result.bad_seq}: {result.reason} "
                f"({result.checked} events before it are intact)",
                returncode=1,
            )
        expected = options.get("expect_head")
        if expected:
            try:
                seq_s, digest = expected.split(":", 1)
                seq = int(seq_s)
            except ValueError:
                raise CommandError("--expect-head takes SEQ:HASH, as `haven audit head` prints it",
                                   returncode=2) from None
            if not services.head_matches(seq=seq, digest=digest):
                raise CommandError(
                    f"audit chain does not contain the expected head #{seq}: the log was rewritten "
                    "or cut before that point", returncode=1)
        self.stdout.write(self.style.SUCCESS(
            f"audit chain OK: {result.checked} events, head #{result.head_seq} {result.head_hash}"
        ))
