"""`haven user create|list`: staff accounts from the command line.

Its main use is bootstrapping: the first coordinator of a new organization is created here;
they enrol their second factor at first login and create everyone else in the web app.
The password is read from standard input (or asked twice on a terminal), never from the
command line, where it would land in shell history and the process list.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from haven.access.roles import Role
from haven.accounts import services
from haven.accounts.management.commands.token import command_error
from haven.accounts.models import Organization, User
from haven.core.errors import HavenError


def read_password() -> str:
    """The new password: asked twice on a terminal, else the first line of standard input."""
    if sys.stdin.isatty():
        first = getpass.getpass("Password for the new account: ")
        if getpass.getpass("Same password again: ") != first:
            raise CommandError("The two passwords differ; nothing was created.", returncode=2)
        return first
    line = sys.stdin.readline()
    return line.removesuffix("\n").removesuffix("\r")


class Command(BaseCommand):
    help = "Create or list staff accounts (the password of a new account is read from stdin)."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser(
            "create",
            help="create USERNAME; password from stdin, or asked twice on a terminal",
        )
        create.add_argument("username")
        create.add_argument("--role", required=True, help=f"one of: {', '.join(Role.values)}")
        create.add_argument("--org", required=True, metavar="SLUG", help="the organization")
        create.add_argument("--language", default="en", help="en or ru (default en)")
        listing = sub.add_parser("list", help="list accounts (of one organization, or all)")
        listing.add_argument("--org", metavar="SLUG")
        unlock = sub.add_parser("unlock", help="lift USERNAME's lock after failed sign-ins "
                                "(when no other coordinator can)")
        unlock.add_argument("username")
        reset = sub.add_parser("reset-second-factor", help="remove USERNAME's second factors "
                               "(authenticator, recovery codes, security keys), ending their "
                               "sessions and tokens: they enrol again at next sign-in")
        reset.add_argument("username")
        sub.add_parser("rekey", help="seal every authenticator secret under the current secret "
                       "key (after moving the old one to HAVEN_SECRET_KEY_FALLBACKS)")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "create":
            self._create(options)
        elif action == "list":
            self._list(options.get("org"))
        elif action == "rekey":
            resealed, current = services.totp_reseal_all()
            self.stdout.write(f"Authenticator secrets sealed again: {resealed}; already under "
                              f"the current key: {current}.")
        else:
            user = User.objects.filter(username=options["username"]).first()
            if user is None:
                raise CommandError(f"No user {options['username']!r}.", returncode=2)
            if action == "unlock":
                services.user_unlock(actor=None, user_id=user.pk)
                self.stdout.write(f"Unlocked {user.username}.")
            else:
                services.user_reset_second_factor(actor=None, user_id=user.pk)
                self.stdout.write(f"Removed every second factor of {user.username}; they enrol "
                                  "again at their next sign-in.")

    def _organization(self, slug: str) -> Organization:
        org = Organization.objects.filter(slug=slug).first()
        if org is None:
            raise CommandError(
                f"No organization {slug!r}; create it with `haven org create {slug} --name …`.",
                returncode=2,
            )
        return org

    def _create(self, options: dict[str, Any]) -> None:
        org = self._organization(options["org"])
        if options["role"] not in Role.values:
            raise CommandError(
                f"--role {options['role']!r} is not a role; use one of: {', '.join(Role.values)}.",
                returncode=2,
            )
        password = read_password()
        if not password:
            raise CommandError("No password was given on standard input.", returncode=2)
        try:
            user = services.user_create(
                actor=None,
                organization=org,
                username=options["username"],
                role=options["role"],
                password=password,
                language=options["language"],
            )
        except HavenError as exc:
            raise command_error(exc) from exc
        self.stdout.write(
            f"Created {user.username} ({user.get_role_display()}) in {org.slug}. "
            "They enrol their second factor at first login."
        )

    def _list(self, slug: str | None) -> None:
        users = User.objects.select_related("organization").order_by(
            "organization__slug", "username"
        )
        if slug is not None:
            users = users.filter(organization=self._organization(slug))
        for u in users:
            state = "active" if u.is_active else "disabled"
            if u.is_active and u.is_locked():
                state = "locked"
            elif u.is_active and u.is_throttled():
                state = "waiting"
            self.stdout.write(f"{u.organization.slug:<16} {u.username:<24} {u.role:<12} {state}")
