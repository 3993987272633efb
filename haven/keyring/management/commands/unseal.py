"""`haven unseal`: give shares, one per line, typed (not echoed) or piped."""

from __future__ import annotations

import getpass
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from haven.core.errors import HavenError
from haven.keyring import services


class Command(BaseCommand):
    help = "Unseal the server: enter key shares one per line until enough are given."

    def _lines(self) -> Any:
        if sys.stdin.isatty():
            while True:
                try:
                    yield getpass.getpass("share (not shown): ")
                except EOFError:
                    return
        else:
            yield from sys.stdin

    def handle(self, *args: Any, **options: Any) -> None:
        for line in self._lines():
            if not line.strip():
                continue
            try:
                progress = services.unseal_submit_share(actor=None, share=line)
            except services.UnsealLocked as exc:
                raise CommandError(exc.message, returncode=2) from None
            except HavenError as exc:
                self.stderr.write(f"refused: {exc.message}")
                continue
            if progress.unsealed:
                self.stdout.write(self.style.SUCCESS("The server is unsealed."))
                return
            self.stdout.write(f"share accepted: {progress.received} of {progress.threshold}")
        raise CommandError("Not unsealed: not enough valid shares were given.", returncode=1)
