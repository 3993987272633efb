"""`haven seal`: wipe the master key from every worker now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from haven.keyring import services


class Command(BaseCommand):
    help = "Seal the server: the key agent overwrites its keys and exits."

    def handle(self, *args: Any, **options: Any) -> None:
        if services.seal(actor=None):
            self.stdout.write(self.style.SUCCESS("Sealed: no key is in memory."))
        else:
            self.stdout.write("Already sealed: no key agent was running.")
