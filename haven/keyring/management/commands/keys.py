"""`haven keys init|rotate|status`."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from haven.core.errors import HavenError
from haven.keyring import client, services
from haven.keyring.models import DataKey, Kek, KeySet


class Command(BaseCommand):
    help = "Create, rotate or inspect the master key and its SLIP-39 shares."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        for name, text in (("init", "create the master key and print its shares"),
                           ("rotate", "replace the master key while serving; print new shares")):
            p = sub.add_parser(name, help=text)
            p.add_argument("--shares", type=int, default=5, help="how many shares (N)")
            p.add_argument("--threshold", type=int, default=3, help="shares needed to unseal (K)")
        sub.add_parser("status", help="sealed or not, and how many keys are stored")

    def _print_shares(self, mnemonics: list[str], threshold: int) -> None:
        self.stdout.write(
            f"Write each share down and give it to a different coordinator. Any {threshold} "
            f"of these {len(mnemonics)} shares unseal the server; they are shown only now.\n")
        for i, words in enumerate(mnemonics, 1):
            self.stdout.write(f"share {i}: {words}")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            if action == "init":
                mnemonics = services.keys_init(actor=None, shares=options["shares"],
                                               threshold=options["threshold"])
                self._print_shares(mnemonics, options["threshold"])
                self.stdout.write("The server is sealed: run `haven unseal` with the shares.")
            elif action == "rotate":
                count = services.keys_rotate(
                    actor=None, shares=options["shares"], threshold=options["threshold"],
                    on_shares=lambda m: self._print_shares(m, options["threshold"]))
                self.stdout.write(f"Rotation done: {count} data keys re-wrapped; the old "
                                  "shares no longer unseal this server.")
            else:
                status = client.status()
                unsealed = bool(status and status.get("unsealed"))
                self.stdout.write(f"sealed: {'no' if unsealed else 'yes'}")
                if status and status.get("pending"):
                    p = status["pending"]
                    self.stdout.write(f"unseal in progress: {p['received']} of {p['threshold']}")
                for ks in KeySet.objects.order_by("created_at"):
                    self.stdout.write(f"key set {ks.pk}: {ks.state}, {ks.threshold} of "
                                      f"{ks.shares} shares")
                self.stdout.write(f"KEKs: {Kek.objects.count()}, data keys: "
                                  f"{DataKey.objects.count()}")
        except HavenError as exc:
            raise CommandError(exc.message, returncode=2) from None
