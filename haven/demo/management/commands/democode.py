"""`haven demo-code USERNAME`: the current TOTP code of a demo user.

Refused for anyone outside a demo organization: for a real account this would be a way
around the second factor for whoever can run commands on the server.
"""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import totp

from haven.accounts.models import SealedTOTPDevice, User
from haven.keyring.crypto import DecryptionFailed


class Command(BaseCommand):
    help = "Print the current second-factor code of a demo user (demo organizations only)."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        user = (
            User.objects.select_related("organization").filter(username=options["username"]).first()
        )
        if user is None:
            raise CommandError(f"No user {options['username']!r}.", returncode=2)
        if not user.organization.is_demo:
            raise CommandError(
                f"{user.username!r} is not in a demo organization: demo-code only prints codes "
                "of demo users. Real users read the code from their authenticator app.",
                returncode=2,
            )
        device = SealedTOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            raise CommandError(
                f"{user.username!r} has no second factor enrolled; run `haven demo` again.",
                returncode=2,
            )
        try:
            secret = device.bin_key
        except DecryptionFailed:
            raise CommandError(
                f"{user.username!r}'s authenticator secret was sealed under another secret key: "
                "set HAVEN_SECRET_KEY to the one in use (or add the old one to "
                "HAVEN_SECRET_KEY_FALLBACKS), or run `haven demo` again.", returncode=2) from None
        code = totp(secret, step=device.step, t0=device.t0, digits=device.digits)
        self.stdout.write(str(code).zfill(device.digits))
