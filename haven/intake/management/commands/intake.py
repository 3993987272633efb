"""`haven intake init [--org SLUG]`: open an organization's intake (needs an unsealed server).

`haven intake status` says whether the intake is open, without needing any key.
"""

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from haven.accounts.models import Organization
from haven.core.errors import HavenError
from haven.intake import selectors, services
from haven.intake.models import IntakeKey


class Command(BaseCommand):
    help = "Manage the public intake: `init` creates the intake key pair, `status` reports."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("action", choices=["init", "status"])
        parser.add_argument("--org", default="", help="organization slug (default: the only one)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "status":
            key = selectors.intake_key_current()
            self.stdout.write("open" if key else "closed")
            return
        orgs = Organization.objects.all()
        if options["org"]:
            orgs = orgs.filter(slug=options["org"])
        found = list(orgs[:2])
        if len(found) != 1:
            raise CommandError("Name the organization with --org SLUG.", returncode=2)
        try:
            key = services.intake_key_create(actor=None, organization=found[0])
        except HavenError as exc:
            raise CommandError(exc.message, returncode=2) from exc
        assert isinstance(key, IntakeKey)  # noqa: S101 - narrowing for the type checker
        self.stdout.write(f"intake open for {found[0].slug}: key {key.pk}")
