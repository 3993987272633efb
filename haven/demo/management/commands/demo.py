"""`haven demo`: a demo organization with one user per role, for trying Haven out.

Idempotent: run it again and the same users exist, with the passwords printed, unlocked and
enrolled. It refuses to touch an organization named "demo" that is not a demo organization,
and a username that belongs to a real organization.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from haven.access.roles import Role
from haven.accounts import services
from haven.accounts.models import Organization, User
from haven.audit.services import record
from haven.core.errors import HavenError
from haven.keyring import services as keyring_services
from haven.keyring import state
from haven.keyring.models import KeySet
from haven.pathways import loader

DEMO_SLUG = "demo"
DEMO_NAME = "Haven demo"


def demo_password(role: str) -> str:
    """Known, printed passwords: fine for a demo organization, which holds no real person."""
    return f"demo-{role}-haven"


class Command(BaseCommand):
    help = "Create (or refresh) the demo organization and one demo user per role."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--quiet", action="store_true", help="print nothing on success")
        parser.add_argument("--no-keys", action="store_true",
                            help="only the organization and its users: no keys, no demo data")
        parser.add_argument("--people", type=int, default=60,
                            help="how many invented people to seed with new keys (default 60)")

    def handle(self, *args: Any, **options: Any) -> None:
        org = Organization.objects.filter(slug=DEMO_SLUG).first()
        if org is not None and not org.is_demo:
            raise CommandError(
                f"An organization with slug {DEMO_SLUG!r} exists and is not a demo organization; "
                "`haven demo` will not touch it.",
                returncode=2,
            )
        clashes = User.objects.filter(username__in=Role.values).exclude(organization__is_demo=True)
        if clashes.exists():
            names = ", ".join(sorted(u.username for u in clashes))
            raise CommandError(
                f"These usernames belong to a real organization: {names}. "
                "`haven demo` will not touch them.",
                returncode=2,
            )
        try:
            with transaction.atomic():
                if org is None:
                    org = services.organization_create(slug=DEMO_SLUG, name=DEMO_NAME, is_demo=True)
                for role in Role:
                    self._ensure_user(org, role)
        except HavenError as exc:
            raise CommandError(f"{exc.message} {exc.fields or ''}".strip(), returncode=2) from exc
        _load_reference_data()
        if not options["quiet"]:
            self._print_logins()
        if not options["no_keys"]:
            self._keys_and_data(people=options["people"], quiet=options["quiet"])

    def _keys_and_data(self, *, people: int, quiet: bool) -> None:
        """First run: make keys (3 shares, any 2 unseal), unseal, open the intake and seed
        invented people. Later runs cannot unseal for you: the shares are never stored."""

        if KeySet.objects.exists():
            if state.is_sealed() and not quiet:
                self.stdout.write(
                    "The server is sealed. Unseal it with the key shares printed when the demo "
                    "keys were made:\n\n  .venv/bin/haven unseal\n\n(Lost them? Demo data "
                    "only: stop Haven, delete the data folder and run `make run` again.)\n")
            return
        try:
            shares = keyring_services.keys_init(actor=None, shares=3, threshold=2)
            for share in shares[:2]:
                keyring_services.unseal_submit_share(actor=None, share=share)
        except HavenError as exc:
            raise CommandError(exc.message, returncode=2) from exc
        call_command("intake", "init", "--org", DEMO_SLUG, verbosity=0)
        if people > 0:
            call_command("seed", "--people", str(people), "--org", DEMO_SLUG, verbosity=0)
        if not quiet:
            lines = ["Demo keys made and the server unsealed. Any 2 of these 3 shares unseal it",
                     "again after `haven seal` (coordinators write real shares down; these are",
                     "demo shares, shown once):", ""]
            lines += [f"  share {n}: {share}" for n, share in enumerate(shares, 1)]
            self.stdout.write("\n".join([*lines, ""]))

    def _ensure_user(self, org: Organization, role: Role) -> None:
        password = demo_password(role.value)
        user = User.objects.filter(username=role.value).first()
        if user is None:
            user = services.user_create(
                actor=None,
                organization=org,
                username=role.value,
                role=role.value,
                password=password,
            )
        else:
            # A demo user someone changed, locked out, disabled or reset: back to the printed state.
            user.set_password(password)
            user.role = role.value
            user.is_active = True
            user.failed_logins = 0
            user.throttled_until = None
            user.locked_at = None
            user.save(update_fields=["password", "role", "is_active", "failed_logins",
                                     "throttled_until", "locked_at"])
            record(
                actor=None,
                action="user.demo_reset",
                object_type="user",
                object_id=user.pk,
                organization_id=org.pk,
            )
        if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
            # Enrolment normally proves possession of the authenticator with a code; a demo user
            # has no authenticator: `haven demo-code` reads the secret on this machine instead.
            services.totp_enrol_demo(user=user)
            services.recovery_codes_regenerate(actor=user)
            record(
                actor=None,
                action="auth.second_factor_enrolled",
                object_type="user",
                object_id=user.pk,
                organization_id=org.pk,
                data={"kind": "totp", "demo": True},
            )

    def _print_logins(self) -> None:
        data_dir = os.environ.get("HAVEN_DATA_DIR")
        prefix = f"HAVEN_DATA_DIR={data_dir} " if data_dir and data_dir != "var" else ""
        width = max(len(r.value) for r in Role)
        lines = [
            "",
            "Demo organization ready. Log in at /accounts/login/ as:",
            "",
            f"  {'username':<{width}}  {'password':<24}  role",
            f"  {'-' * width}  {'-' * 24}  {'-' * 16}",
        ]
        lines += [f"  {r.value:<{width}}  {demo_password(r.value):<24}  {r.label}" for r in Role]
        lines += [
            "",
            "Second factor: every demo user has an authenticator enrolled on this machine.",
            "Print a user's current six-digit code with:",
            "",
            f"  {prefix}.venv/bin/haven demo-code coordinator",
            "",
        ]
        self.stdout.write("\n".join(lines))


def _load_reference_data() -> None:
    """Destinations and pathways (haven/pathways/data/pathways.yaml), brought up to date;
    pathways a coordinator edited in the app are kept (see docs/pathways.md)."""
    try:
        loader.load_reference_data(actor=None)
    except HavenError as exc:
        raise CommandError(exc.message, returncode=2) from exc
