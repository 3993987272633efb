"""Staff accounts: login with lockout, the second factor, sessions, re-authentication, tokens.

Every function here that changes state records an audit event in the same transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import login as django_login
from django.contrib.auth import logout as django_logout
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp import login as otp_login
from django_otp import user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from haven.access import policy
from haven.access.permissions import Perm
from haven.access.roles import Role
from haven.accounts.models import ApiToken, Organization, User, UserSession
from haven.audit.services import record
from haven.core.errors import Conflict, HavenError, NotFound, ValidationFailed

RECOVERY_CODE_COUNT = 10
TOKEN_PREFIX = "hvn_"  # noqa: S105 - a public marker that makes leaked tokens greppable
SESSION_AUTH_AT = "haven_auth_at"
SESSION_SEEN_AT = "haven_seen_at"
SESSION_REAUTH_AT = "haven_reauth_at"
SEEN_WRITE_INTERVAL = 30  # seconds: how stale "last seen" may get before it is written again


class LoginFailed(HavenError):
    """Wrong username, password or code. Deliberately says nothing about which."""


class AccountLocked(HavenError):
    """Too many failures: refused even with the right password until the lock ends."""

    status = 423
    code = "locked"


def _now() -> datetime:
    return timezone.now()


def _lock_message(user: User) -> str:
    assert user.locked_until is not None  # noqa: S101 - only called for a locked account
    minutes = max(1, int((user.locked_until - _now()).total_seconds() // 60) + 1)
    return _(
        "This account is locked after too many failed attempts. Try again in %(minutes)d "
        "minutes, or ask a coordinator to unlock it."
    ) % {"minutes": minutes}


def _register_failure(user: User, *, stage: str) -> None:
    """Count a failed password or code; lock the account at the threshold.

    Runs in its own transaction so the count survives the refusal that follows.
    """
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        locked.failed_logins += 1
        data: dict[str, Any] = {"stage": stage, "failures": locked.failed_logins}
        record(actor=None, action="auth.login_failed", object_type="user", object_id=locked.pk,
               organization_id=locked.organization_id, data=data)
        if locked.failed_logins >= settings.HAVEN_LOCKOUT_THRESHOLD:
            locked.locked_until = _now() + timedelta(minutes=settings.HAVEN_LOCKOUT_MINUTES)
            locked.failed_logins = 0
            record(actor=None, action="auth.locked_out", object_type="user", object_id=locked.pk,
                   organization_id=locked.organization_id,
                   data={"minutes": settings.HAVEN_LOCKOUT_MINUTES})
        locked.save(update_fields=["failed_logins", "locked_until"])
    user.failed_logins = locked.failed_logins
    user.locked_until = locked.locked_until


def password_check(*, username: str, password: str) -> User:
    """First login step: the account exists, is active, is not locked, and the password fits.

    A locked account is refused even with the right password. Unknown usernames and wrong
    passwords get the same message, and both cost an Argon2 hash, so neither reveals which
    accounts exist.
    """
    user = User.objects.filter(username=username).first()
    if user is None or not user.is_active:
        User().set_password(password)  # equal work for unknown accounts
        record(actor=None, action="auth.login_failed", object_type="user",
               object_id=user.pk if user else "", data={"stage": "password"})
        raise LoginFailed(_("Wrong username or password."))
    if user.is_locked():
        record(actor=None, action="auth.login_refused_locked", object_type="user",
               object_id=user.pk, organization_id=user.organization_id)
        raise AccountLocked(_lock_message(user))
    if not user.check_password(password):
        _register_failure(user, stage="password")
        if user.is_locked():
            raise AccountLocked(_lock_message(user))
        raise LoginFailed(_("Wrong username or password."))
    return user


def second_factor_passed(user: Any) -> bool:
    """Has this session's user passed the second factor (django-otp marks it per request)?"""
    check = getattr(user, "is_verified", None)
    return bool(user.is_authenticated and callable(check) and check())


def has_confirmed_device(user: Any) -> bool:
    return bool(user_has_device(user, confirmed=True))


def _verify_code(user: User, code: str) -> Any:
    """The device that accepts ``code`` (a TOTP code or a single-use recovery code), or None."""
    code = "".join(code.split())
    if not code or len(code) > 32:
        return None
    for device in TOTPDevice.objects.devices_for_user(user, confirmed=True):
        if code.isdigit() and device.verify_token(code):
            return device
    for device in StaticDevice.objects.devices_for_user(user, confirmed=True):
        if device.verify_token(code.lower()):
            record(actor=user, action="auth.recovery_code_used", object_type="user",
                   object_id=user.pk)
            return device
    return None


def _session_begin(request: HttpRequest, user: User) -> None:
    now = _now().timestamp()
    request.session[SESSION_AUTH_AT] = now
    request.session[SESSION_SEEN_AT] = now
    request.session[SESSION_REAUTH_AT] = now
    request.session.save()
    key = request.session.session_key
    assert key is not None  # noqa: S101 - saved just above
    UserSession.objects.update_or_create(
        session_key=key,
        defaults={"user": user, "user_agent": request.headers.get("User-Agent", "")[:200]},
    )


def login_password(*, request: HttpRequest, username: str, password: str) -> User:
    """Log in by password; the second factor is still owed (the middleware enforces it)."""
    user = password_check(username=username, password=password)
    with transaction.atomic():
        django_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        _session_begin(request, user)
        record(actor=user, action="auth.password_ok", object_type="user", object_id=user.pk)
    return user


def login_second_factor(*, request: HttpRequest, user: User, code: str) -> None:
    """Finish login with a TOTP or recovery code; failures count toward the lockout."""
    if user.is_locked():
        raise AccountLocked(_lock_message(user))
    device = _verify_code(user, code)
    if device is None:
        _register_failure(user, stage="second_factor")
        if user.is_locked():
            logout(request=request, reason="locked")
            raise AccountLocked(_lock_message(user))
        raise LoginFailed(_("That code is not valid. Check your authenticator's clock."))
    with transaction.atomic():
        otp_login(request, device)
        User.objects.filter(pk=user.pk).update(failed_logins=0, last_login=_now())
        request.session[SESSION_REAUTH_AT] = _now().timestamp()
        record(actor=user, action="auth.logged_in", object_type="user", object_id=user.pk)


def logout(*, request: HttpRequest, reason: str = "user") -> None:
    """Destroy the session server-side (not just the cookie)."""
    user = request.user if request.user.is_authenticated else None
    key = request.session.session_key
    with transaction.atomic():
        if key:
            UserSession.objects.filter(session_key=key).delete()
        if user is not None:
            record(actor=user, action="auth.logged_out", object_type="user", object_id=user.pk,
                   data={"reason": reason})
    django_logout(request)  # flushes: deletes the server-side session row


def session_touch(request: HttpRequest) -> str | None:
    """Enforce idle and absolute session limits; return why a session ended, or None."""
    now = _now().timestamp()
    auth_at = float(request.session.get(SESSION_AUTH_AT, 0))
    seen_at = float(request.session.get(SESSION_SEEN_AT, 0))
    if now - auth_at > settings.HAVEN_SESSION_MAX_HOURS * 3600:
        logout(request=request, reason="absolute_timeout")
        return _("Your session reached its maximum length. Please log in again.")
    if now - seen_at > settings.HAVEN_SESSION_IDLE_MINUTES * 60:
        logout(request=request, reason="idle_timeout")
        return _("Your session ended after a period of inactivity. Please log in again.")
    if now - seen_at > SEEN_WRITE_INTERVAL:
        request.session[SESSION_SEEN_AT] = now
        if request.session.session_key:
            UserSession.objects.filter(session_key=request.session.session_key).update(
                last_seen_at=_now()
            )
    return None


def _end_sessions(keys: list[str]) -> int:
    Session.objects.filter(session_key__in=keys).delete()
    count, _ = UserSession.objects.filter(session_key__in=keys).delete()
    return count


def sessions_end_others(*, actor: User, keep_key: str | None) -> int:
    """End every session of ``actor`` but the current one; returns how many ended."""
    with transaction.atomic():
        keys = list(
            UserSession.objects.filter(user=actor).exclude(session_key=keep_key or "")
            .values_list("session_key", flat=True)
        )
        count = _end_sessions(keys)
        record(actor=actor, action="auth.sessions_ended", object_type="user", object_id=actor.pk,
               data={"count": count})
    return count


def recent_auth_ok(request: HttpRequest) -> bool:
    """Was the password and a code checked within the re-authentication window?"""
    at = float(request.session.get(SESSION_REAUTH_AT, 0))
    return _now().timestamp() - at <= settings.HAVEN_REAUTH_MINUTES * 60


def reauthenticate(*, request: HttpRequest, user: User, password: str, code: str) -> None:
    """Check the password and a fresh code again before a sensitive action."""
    if user.is_locked():
        raise AccountLocked(_lock_message(user))
    if not user.check_password(password) or _verify_code(user, code) is None:
        _register_failure(user, stage="reauth")
        if user.is_locked():
            # Guessing from inside a session is still guessing: the lock ends the session too.
            logout(request=request, reason="locked")
            raise AccountLocked(_lock_message(user))
        raise LoginFailed(_("Wrong password or code."))
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(failed_logins=0)
        request.session[SESSION_REAUTH_AT] = _now().timestamp()
        record(actor=user, action="auth.reauthenticated", object_type="user", object_id=user.pk)


# --- second factor enrolment ---------------------------------------------------------------------


def totp_device_pending(*, user: User) -> TOTPDevice:
    """The unconfirmed TOTP device being enrolled (created on first call)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    return device


def totp_enrol_confirm(*, request: HttpRequest, user: User, code: str) -> list[str]:
    """Confirm the pending TOTP device with a code from it; return new recovery codes.

    Confirming logs the second factor in for this session too.
    """
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        raise Conflict(_("There is no enrolment in progress. Start again."))
    code = "".join(code.split())
    if not code.isdigit() or not device.verify_token(code):
        raise ValidationFailed(
            _("That code does not match. Scan the code again and enter the six digits shown."),
            fields={"code": [_("Wrong code.")]},
        )
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=True).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _recovery_codes_replace(user)
        otp_login(request, device)
        request.session[SESSION_REAUTH_AT] = _now().timestamp()
        record(actor=user, action="auth.second_factor_enrolled", object_type="user",
               object_id=user.pk, data={"kind": "totp"})
    return codes


def _recovery_codes_replace(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="recovery", confirmed=True)
    # django-otp stores a static token in 16 characters at most (PostgreSQL enforces it): 15 here,
    # 56 random bits, single-use and behind the account lockout.
    codes = [f"{secrets.token_hex(4)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=c) for c in codes])
    return codes


def recovery_codes_regenerate(*, actor: User) -> list[str]:
    """Replace the user's recovery codes; the old ones stop working."""
    with transaction.atomic():
        codes = _recovery_codes_replace(actor)
        record(actor=actor, action="auth.recovery_codes_replaced", object_type="user",
               object_id=actor.pk)
    return codes


# --- password -----------------------------------------------------------------------------------


def password_change(*, actor: User, old: str, new: str) -> None:
    """Change one's own password; the policy is length-based and rejects common passwords."""
    if not actor.check_password(old):
        raise ValidationFailed(_("Your current password is wrong."),
                               fields={"old_password": [_("Wrong password.")]})
    try:
        validate_password(new, actor)
    except ValidationError as exc:
        raise ValidationFailed(" ".join(exc.messages),
                               fields={"new_password": list(exc.messages)}) from exc
    with transaction.atomic():
        actor.set_password(new)
        actor.save(update_fields=["password"])
        record(actor=actor, action="user.password_changed", object_type="user", object_id=actor.pk)


# --- managing accounts (coordinators) -----------------------------------------------------------


def user_create(
    *, actor: User | None, organization: Organization, username: str, role: str, password: str,
    language: str = "en",
) -> User:
    """Create a staff account. ``actor`` None means the command line (an operator)."""
    if actor is not None:
        policy.require(actor, Perm.ACCOUNT_MANAGE, organization)
    errors: dict[str, list[str]] = {}
    username = username.strip()
    if not username or len(username) > 64 or not all(c.isalnum() or c in "._-" for c in username):
        errors["username"] = [_("Use 1–64 letters, digits, dots, dashes or underscores.")]
    elif User.objects.filter(username=username).exists():
        errors["username"] = [_("That username is taken.")]
    if role not in Role.values:
        errors["role"] = [_("Choose one of: %(roles)s.") % {"roles": ", ".join(Role.values)}]
    if language not in {"en", "ru"}:
        errors["language"] = [_("Choose en or ru.")]
    try:
        validate_password(password, User(username=username))
    except ValidationError as exc:
        errors["password"] = list(exc.messages)
    if errors:
        raise ValidationFailed(_("The account was not created. Fix the fields below."),
                               fields=errors)
    with transaction.atomic():
        user = User.objects.create_user(username=username, password=password,
                                        organization=organization, role=role, language=language)
        record(actor=actor, action="user.created", object_type="user", object_id=user.pk,
               organization_id=organization.pk, data={"role": role})
    return user


def _managed(actor: User, user_id: Any) -> User:
    qs = policy.users_visible_to(actor, User.objects.all())
    policy.require(actor, Perm.ACCOUNT_MANAGE)
    found = qs.filter(pk=user_id).first()
    if found is None:
        raise NotFound(_("No such user."))
    return found


def user_set_active(*, actor: User, user_id: Any, active: bool) -> User:
    """Disable (or re-enable) an account. Disabling ends all its sessions and tokens at once."""
    user = _managed(actor, user_id)
    if user.pk == actor.pk and not active:
        raise Conflict(_("You cannot disable your own account."))
    with transaction.atomic():
        user.is_active = active
        user.save(update_fields=["is_active"])
        ended = 0
        if not active:
            keys = list(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
            ended = _end_sessions(keys)
        record(actor=actor, action="user.enabled" if active else "user.disabled",
               object_type="user", object_id=user.pk, data={"sessions_ended": ended})
    return user


def user_unlock(*, actor: User, user_id: Any) -> User:
    """Lift a lockout before it ends by itself."""
    user = _managed(actor, user_id)
    with transaction.atomic():
        user.locked_until = None
        user.failed_logins = 0
        user.save(update_fields=["locked_until", "failed_logins"])
        record(actor=actor, action="user.unlocked", object_type="user", object_id=user.pk)
    return user


def user_reset_second_factor(*, actor: User, user_id: Any) -> User:
    """Remove a user's devices (lost phone): they must enrol again at next login."""
    user = _managed(actor, user_id)
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        keys = list(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
        _end_sessions(keys)
        record(actor=actor, action="user.second_factor_reset", object_type="user",
               object_id=user.pk)
    return user


# --- API tokens ---------------------------------------------------------------------------------


def _token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def token_create(*, actor: User | None, user: User, name: str) -> tuple[str, ApiToken]:
    """Make a bearer token for ``user``; the secret is returned once and only its hash kept."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationFailed(_("Give the token a name of 1–100 characters."),
                               fields={"name": [_("Required, at most 100 characters.")]})
    if actor is not None and actor.pk != user.pk:
        policy.require(actor, Perm.TOKEN_MANAGE, user)
    if not user.is_active:
        raise Conflict(_("That account is disabled."))
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(user=user, name=name, prefix=raw[:12],
                                        key_hash=_token_hash(raw))
        record(actor=actor or user, action="token.created", object_type="api_token",
               object_id=token.pk, organization_id=user.organization_id,
               data={"user": str(user.pk)})
    return raw, token


def token_revoke(*, actor: User | None, token_id: Any) -> ApiToken:
    """Revoke a token at once. Users revoke their own; token managers any in their organization."""
    token = ApiToken.objects.select_related("user").filter(pk=token_id).first()
    if token is None:
        raise NotFound(_("No such token."))
    if (actor is not None and token.user_id != actor.pk
            and not policy.has_perm(actor, Perm.TOKEN_MANAGE, token.user)):
        raise NotFound(_("No such token."))  # never confirm that another's token exists
    if token.revoked_at is not None:
        raise Conflict(_("That token is already revoked."))
    with transaction.atomic():
        token.revoked_at = _now()
        token.save(update_fields=["revoked_at"])
        record(actor=actor or token.user, action="token.revoked", object_type="api_token",
               object_id=token.pk, organization_id=token.user.organization_id)
    return token


def token_authenticate(raw: str) -> User | None:
    """The active user behind a bearer token, or None for unknown, revoked or disabled."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=_token_hash(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = _now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


# --- organizations (operators, at the command line) ---------------------------------------------


def organization_create(*, slug: str, name: str, is_demo: bool = False) -> Organization:
    """Create an organization. Only operators do this, at the command line (`haven org create`).

    A demo organization lets `haven demo-code` print its users' current codes, so a real
    organization must never be one: that flag is set only by `haven demo`.
    """
    slug, name = slug.strip(), name.strip()
    errors: dict[str, list[str]] = {}
    if not 1 <= len(slug) <= 64 or not all(c.islower() or c.isdigit() or c == "-" for c in slug):
        errors["slug"] = [_("Use 1–64 lower-case letters, digits or dashes.")]
    elif Organization.objects.filter(slug=slug).exists():
        errors["slug"] = [_("That slug is taken.")]
    if not 1 <= len(name) <= 200:
        errors["name"] = [_("Give a name of 1–200 characters.")]
    if errors:
        raise ValidationFailed(_("The organization was not created. Fix the fields below."),
                               fields=errors)
    with transaction.atomic():
        org = Organization.objects.create(slug=slug, name=name, is_demo=is_demo)
        record(actor=None, action="organization.created", object_type="organization",
               object_id=org.pk, organization_id=org.pk, data={"demo": is_demo})
    return org
