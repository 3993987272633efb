"""`haven org create SLUG --name NAME` and `haven org list`."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand

from haven.accounts import services
from haven.accounts.management.commands.token import command_error
from haven.accounts.models import Organization
from haven.core.errors import HavenError


class Command(BaseCommand):
    help = "Create or list organizations."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create an organization")
        create.add_argument("slug", help="short id: lower-case letters, digits, dashes")
        create.add_argument("--name", required=True, help="the name people see")
        sub.add_parser("list", help="list organizations")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "list":
            for org in Organization.objects.order_by("slug"):
                demo = "  (demo)" if org.is_demo else ""
                self.stdout.write(f"{org.slug:<24} {org.name}{demo}")
            return
        try:
            org = services.organization_create(slug=options["slug"], name=options["name"])
        except HavenError as exc:
            raise command_error(exc) from exc
        self.stdout.write(
            f"Created organization {org.slug}. Next: `haven user create NAME --role coordinator "
            f"--org {org.slug}`."
        )
