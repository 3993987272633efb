"""API tokens: short-lived, optionally read-only, bound to the account, re-authenticated.

A token is what a script holds instead of a session, so it obeys the session's rules:

- it expires (30 days unless told otherwise, never more than 90);
- a password change, disabling the account or a second-factor reset kills every token of the
  account for good (the user's ``auth_epoch`` moves on; re-enabling does not bring one back);
- a read-only token is refused on every operation but reading (``GET``);
- operations that show sensitive fields or files want a token that proved the password and a
  current code within the last minutes (``token_reauthenticate``), as a session does.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from haven.access import policy
from haven.access.permissions import Perm
from haven.accounts.models import ApiToken, RevokedReason, User
from haven.accounts.services._common import (
    LoginFailed,
    failures_clear,
    gate,
    now,
    register_failure,
)
from haven.accounts.services.factors import key_required_message, keys_required, verify_code
from haven.audit.services import record
from haven.core.errors import Conflict, Forbidden, HavenError, NotFound, ValidationFailed
from haven.keyring.local import secret_digest

TOKEN_PREFIX = "hvn_"  # noqa: S105 - a public marker that makes leaked tokens greppable
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class TokenRejected(HavenError):
    """A token that exists but no longer works: expired, revoked or orphaned. 401."""

    status = 401
    code = "token_invalid"


class TokenReadOnly(Forbidden):
    code = "token_read_only"


class ReauthRequired(Forbidden):
    """The operation shows sensitive fields; the token has not re-authenticated recently."""

    code = "reauth_required"


def token_hash(raw: str) -> str:
    return secret_digest(raw)


def _expiry_days(days: Any) -> int:
    if days is None or days == "":
        return int(settings.HAVEN_TOKEN_DEFAULT_DAYS)
    if isinstance(days, str) and days.strip().isdigit():
        days = int(days)
    value = days if isinstance(days, int) and not isinstance(days, bool) else 0
    if not 1 <= value <= settings.HAVEN_TOKEN_MAX_DAYS:
        message = _("A token lives 1 to %(max)d days.") % {"max": settings.HAVEN_TOKEN_MAX_DAYS}
        raise ValidationFailed(message, fields={"expires_days": [message]})
    return value


def token_create(
    *, actor: User | None, user: User, name: str, expires_days: Any = None,
    read_only: bool = False,
) -> tuple[str, ApiToken]:
    """Make a bearer token for ``user``; the secret is returned once and only its hash kept.

    ``actor`` None means the command line (an operator). It lives ``expires_days`` days
    (default ``HAVEN_TOKEN_DEFAULT_DAYS``, at most ``HAVEN_TOKEN_MAX_DAYS``).
    """
    name = name.strip()
    errors: dict[str, list[str]] = {}
    if not name or len(name) > 100:
        errors["name"] = [_("Required, at most 100 characters.")]
    try:
        days = _expiry_days(expires_days)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationFailed(_("The token was not created. Fix the fields below."),
                               fields=errors)
    if actor is not None and actor.pk != user.pk:
        policy.require(actor, Perm.TOKEN_MANAGE, user)
    if not user.is_active:
        raise Conflict(_("That account is disabled."))
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=name, prefix=raw[:12], key_hash=token_hash(raw),
            expires_at=now() + timedelta(days=days), read_only=bool(read_only),
            # the epoch as stored now, not as the caller's copy of the user remembers it
            auth_epoch=User.objects.values_list("auth_epoch", flat=True).get(pk=user.pk))
        record(actor=actor or user, action="token.created", object_type="api_token",
               object_id=token.pk, organization_id=user.organization_id,
               data={"user": str(user.pk), "days": days, "read_only": bool(read_only)})
    return raw, token


def _own_token(actor: User | None, token_id: Any) -> ApiToken:
    token = ApiToken.objects.select_related("user").filter(pk=token_id).first()
    if token is None:
        raise NotFound(_("No such token."))
    if (actor is not None and token.user_id != actor.pk
            and not policy.has_perm(actor, Perm.TOKEN_MANAGE, token.user)):
        raise NotFound(_("No such token."))  # never confirm that another's token exists
    return token


def token_revoke(*, actor: User | None, token_id: Any) -> ApiToken:
    """Revoke a token at once. Users revoke their own; token managers any in their organization."""
    token = _own_token(actor, token_id)
    if token.revoked_at is not None:
        raise Conflict(_("That token is already revoked."))
    with transaction.atomic():
        token.revoked_at = now()
        token.revoked_reason = RevokedReason.USER
        token.save(update_fields=["revoked_at", "revoked_reason"])
        record(actor=actor or token.user, action="token.revoked", object_type="api_token",
               object_id=token.pk, organization_id=token.user.organization_id)
    return token


def tokens_kill(user: User, *, reason: RevokedReason) -> int:
    """End every token of ``user`` for good (inside the caller's transaction): the account's
    epoch moves on, so no token made before can ever be valid again, and each is marked."""
    User.objects.filter(pk=user.pk).update(auth_epoch=F("auth_epoch") + 1)
    user.refresh_from_db(fields=["auth_epoch"])
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=now(), revoked_reason=reason)


def token_authenticate(raw: str, *, method: str = "GET") -> ApiToken | None:
    """The token behind a bearer secret, or None for one Haven never issued.

    A token that exists but cannot act raises ``TokenRejected`` (401) saying why (expired,
    revoked, account disabled); a read-only token on anything but a read raises
    ``TokenReadOnly`` (403).
    """
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        return None
    token = ApiToken.objects.select_related("user").filter(key_hash=token_hash(raw)).first()
    if token is None:
        return None
    user = token.user
    if token.revoked_at is not None:
        reason = RevokedReason(token.revoked_reason or RevokedReason.USER).label
        raise TokenRejected(_("This token was revoked (%(reason)s) on %(when)s UTC. Create a new "
                              "one.") % {"reason": reason, "when": f"{token.revoked_at:%Y-%m-%d}"},
                            )
    if not user.is_active or token.auth_epoch != user.auth_epoch:
        raise TokenRejected(_("This token no longer works: its account was disabled, changed "
                              "its password or had its second factor reset. Create a new one."))
    at = now()
    if token.expires_at <= at:
        raise TokenRejected(_("This token expired on %(when)s UTC. Create a new one.")
                            % {"when": f"{token.expires_at:%Y-%m-%d %H:%M}"})
    if token.read_only and method.upper() not in SAFE_METHODS:
        raise TokenReadOnly(_("This token is read-only: it may only read (GET). Use a token "
                              "made without --read-only for changes."))
    if token.last_used_at is None or (at - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=at)
    return token


def token_reauth_ok(token: ApiToken) -> bool:
    """Did the token prove the password and a second factor within the window?"""
    return token.reauth_at is not None and (
        now() - token.reauth_at).total_seconds() <= settings.HAVEN_REAUTH_MINUTES * 60


def token_require_reauth(token: ApiToken | None) -> None:
    """Refuse an operation that shows sensitive fields unless the token re-authenticated."""
    if token is None or not token_reauth_ok(token):
        raise ReauthRequired(_(
            "This operation shows sensitive data: first send your password and a current code "
            "to POST /api/v1/reauth (valid %(minutes)d minutes), or approve the token on your "
            "account page.") % {"minutes": settings.HAVEN_REAUTH_MINUTES})


def _reauthenticated(token: ApiToken, *, actor: User, kind: str) -> ApiToken:
    with transaction.atomic():
        token.reauth_at = now()
        token.save(update_fields=["reauth_at"])
        record(actor=actor, action="token.reauthenticated", object_type="api_token",
               object_id=token.pk, organization_id=actor.organization_id, data={"kind": kind})
    return token


def token_reauthenticate(*, token: ApiToken, password: str, code: str) -> ApiToken:
    """Step a token up with the password and a current authenticator code, for
    ``HAVEN_REAUTH_MINUTES``. Failures count against the account like any sign-in failure.

    Coordinators who sign in with a security key cannot do this with a code: they approve the
    token from their account page after re-authenticating with the key (``token_approve``).
    Recovery codes are refused here: they are for getting back in, not for scripts.
    """
    user = token.user
    gate(user)
    if keys_required(user):
        raise Forbidden(key_required_message() + " " + _(
            "Approve the token on your account page instead."))
    if not user.check_password(password) or verify_code(user, code, allow_recovery=False) is None:
        register_failure(user, stage="token_reauth")
        raise LoginFailed(_("Wrong password or code."))
    failures_clear(user)
    return _reauthenticated(token, actor=user, kind="code")


def token_approve(*, actor: User, token_id: Any) -> ApiToken:
    """Step one's own token up from a session that re-authenticated moments ago (the view
    demands it): how a coordinator with a security key lets a script reveal for a while."""
    token = _own_token(actor, token_id)
    if token.user_id != actor.pk:
        raise NotFound(_("No such token."))
    if not token.is_active or token.auth_epoch != actor.auth_epoch:
        raise Conflict(_("That token is revoked or expired."))
    if token.read_only:
        raise Conflict(_("A read-only token never shows sensitive data."))
    return _reauthenticated(token, actor=actor, kind="session")
