"""`haven token create|list|revoke`: API tokens from the command line.

The operator at the command line acts as ``actor=None``; every change is audited by the
same services the web pages and the API call.
"""

from __future__ import annotations

import argparse
import uuid
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from haven.accounts import services
from haven.accounts.models import ApiToken, User
from haven.core.errors import HavenError


def command_error(exc: HavenError) -> CommandError:
    """A service's refusal as a command-line error: its message, the field errors, exit 2."""
    details = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.fields.items())
    return CommandError(f"{exc.message} {details}".strip(), returncode=2)


def _state(token: ApiToken) -> str:
    if token.revoked_at:
        return f"revoked ({token.revoked_reason or 'user'})"
    if token.auth_epoch != token.user.auth_epoch or not token.user.is_active:
        return "dead (account changed)"
    if token.is_expired:
        return "expired"
    return "active, read-only" if token.read_only else "active"


class Command(BaseCommand):
    help = "Create, list or revoke API bearer tokens."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="make a token for USERNAME; the secret prints once")
        create.add_argument("username")
        create.add_argument("--name", default="command line", help="what the token is for")
        create.add_argument("--expires-days", type=int, default=settings.HAVEN_TOKEN_DEFAULT_DAYS,
                            help=f"days until it expires (1-{settings.HAVEN_TOKEN_MAX_DAYS}, "
                            f"default {settings.HAVEN_TOKEN_DEFAULT_DAYS})")
        create.add_argument("--read-only", action="store_true",
                            help="refuse every API operation but reading (GET)")
        listing = sub.add_parser("list", help="list tokens (of USERNAME, or all)")
        listing.add_argument("username", nargs="?")
        revoke = sub.add_parser("revoke", help="revoke the token with this id")
        revoke.add_argument("token_id")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "create":
            self._create(options["username"], options["name"], options["expires_days"],
                         options["read_only"])
        elif action == "list":
            self._list(options["username"])
        else:
            self._revoke(options["token_id"])

    def _user(self, username: str) -> User:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}.", returncode=2)
        return user

    def _create(self, username: str, name: str, days: int, read_only: bool) -> None:
        user = self._user(username)
        try:
            raw, token = services.token_create(actor=None, user=user, name=name,
                                               expires_days=days, read_only=read_only)
        except HavenError as exc:
            raise command_error(exc) from exc
        scope = "read-only, " if token.read_only else ""
        self.stderr.write(
            f"Token {token.pk} ({token.name!r}) for {user.username}, {scope}expires "
            f"{token.expires_at:%Y-%m-%d %H:%M} UTC. "
            "The secret below is shown only now; store it like a password."
        )
        self.stdout.write(raw)

    def _list(self, username: str | None) -> None:
        tokens = ApiToken.objects.select_related("user").order_by("user__username", "-created_at")
        if username is not None:
            tokens = tokens.filter(user=self._user(username))
        rows = [
            (
                str(t.pk),
                t.user.username,
                f"{t.prefix}…",
                t.created_at.strftime("%Y-%m-%d %H:%M"),
                t.expires_at.strftime("%Y-%m-%d %H:%M"),
                t.last_used_at.strftime("%Y-%m-%d %H:%M") if t.last_used_at else "never",
                _state(t),
                t.name,
            )
            for t in tokens
        ]
        if not rows:
            self.stdout.write("No tokens.")
            return
        header = ("id", "user", "prefix", "created", "expires", "last used", "state", "name")
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
        for row in [header, *rows]:
            cells = [c.ljust(w) for c, w in zip(row, widths, strict=False)]
            self.stdout.write("  ".join([*cells, row[-1]]))

    def _revoke(self, token_id: str) -> None:
        try:
            parsed = uuid.UUID(token_id)
        except ValueError:
            raise CommandError(
                f"{token_id!r} is not a token id; `haven token list` shows them.", returncode=2
            ) from None
        try:
            token = services.token_revoke(actor=None, token_id=parsed)
        except HavenError as exc:
            raise command_error(exc) from exc
        self.stdout.write(f"Revoked token {token.pk} ({token.name!r}) of {token.user.username}.")
