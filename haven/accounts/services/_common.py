"""What the account services share: errors, the failure counter, and session bookkeeping."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import logout as django_logout
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from haven.accounts.models import KnownDevice, StoredSession, User, UserSession
from haven.accounts.sessions import key_hash
from haven.audit.services import record
from haven.core.errors import HavenError
from haven.keyring.local import secret_digest

SESSION_AUTH_AT = "haven_auth_at"
SESSION_SEEN_AT = "haven_seen_at"
SESSION_REAUTH_AT = "haven_reauth_at"
# Re-authenticating with a security key takes two requests: the password, then the key.
SESSION_REAUTH_PASSWORD_AT = "haven_reauth_password_at"  # noqa: S105 - a session key name
REAUTH_PASSWORD_SECONDS = 120
SESSION_DEVICE = "haven_device"  # the known browser this sign-in started from
DEVICE_COOKIE = "haven_device"
KNOWN_DEVICES_KEPT = 10


class LoginFailed(HavenError):
    """Wrong username, password or code. Deliberately says nothing about which."""


class AccountLocked(HavenError):
    """Locked after too many failures in a row: another coordinator must unlock it."""

    status = 423
    code = "locked"


class Throttled(HavenError):
    """The account waits out the delay after a failure; the attempt was not even checked."""

    status = 429
    code = "throttled"


def now() -> datetime:
    return timezone.now()


def sign_in_refused_message() -> str:
    """The one answer the password step gives for an unknown name, a wrong password, a
    disabled account and one that is waiting or locked: none of them may be told apart."""
    return _("Wrong username or password. After several failed attempts an account waits a "
             "little longer before each new try, so if you are sure of your password, wait a "
             "minute and try again.")


def locked_message() -> str:
    return _("This account is locked after too many failed attempts. Another coordinator "
             "must unlock it (Users → Unlock).")


def throttled_message(waiting: User | KnownDevice) -> str:
    assert waiting.throttled_until is not None  # noqa: S101 - only called when throttled
    seconds = max(1, int((waiting.throttled_until - now()).total_seconds() + 0.999))
    return ngettext("Too many failed attempts: wait %(seconds)d second and try again.",
                    "Too many failed attempts: wait %(seconds)d seconds and try again.",
                    seconds) % {"seconds": seconds}


def delay_after(failures: int) -> int:
    """Seconds an account takes no attempt after its ``failures``-th failure in a row: 2^n,
    capped, so guessing slows down exponentially while a typo costs two seconds."""
    return int(min(2 ** min(failures, 30), settings.HAVEN_LOGIN_MAX_DELAY_SECONDS))


def gate(user: User, device: KnownDevice | None = None) -> None:
    """Refuse an attempt on a locked or waiting account (or known browser) before checking
    anything.

    For steps taken by someone who already showed the password (the code, re-authentication,
    the password form, a token's re-authentication): saying why cannot reveal an account. From
    a known browser (``device``) only that browser's own delay applies.
    """
    if device is not None:
        if device.is_throttled():
            raise Throttled(throttled_message(device))
        return
    if user.is_locked():
        raise AccountLocked(locked_message())
    if user.is_throttled():
        raise Throttled(throttled_message(user))


def register_failure(user: User, *, stage: str, device: KnownDevice | None = None) -> bool:
    """Count a failed attempt: start a delay, lock at the limit. True if that locked.

    Counted against the *account* — never an address: Tor users share them — unless it came
    from a browser known to the account (``device``), which has a delay and a limit of its own
    (at the limit it is forgotten). So guessing from anywhere slows down exponentially, while
    nobody guessing from elsewhere can keep the owner out of their own browser. The user is
    told of every failure at their next sign-in. Runs in its own transaction so the count
    survives the refusal that follows.
    """
    with transaction.atomic():
        row = User.objects.select_for_update().get(pk=user.pk)
        at = now()
        row.failures_unseen += 1
        row.last_failed_at = at
        counter: User | KnownDevice = row
        if device is not None:
            known = KnownDevice.objects.select_for_update().filter(pk=device.pk).first()
            if known is not None:
                counter = known
        counter.failed_logins += 1
        delay = delay_after(counter.failed_logins)
        counter.throttled_until = at + timedelta(seconds=delay)
        record(actor=None, action="auth.login_failed", object_type="user", object_id=row.pk,
               organization_id=row.organization_id,
               data={"stage": stage, "failures": counter.failed_logins, "delay_seconds": delay,
                     "known_device": counter is not row})
        locked = counter.failed_logins >= settings.HAVEN_LOGIN_LOCK_AFTER
        if isinstance(counter, KnownDevice):
            if locked:
                counter.delete()
                record(actor=None, action="auth.device_forgotten", object_type="user",
                       object_id=row.pk, organization_id=row.organization_id,
                       data={"failures": counter.failed_logins})
            else:
                counter.save(update_fields=["failed_logins", "throttled_until"])
        elif locked and row.locked_at is None:
            row.locked_at = at
            record(actor=None, action="auth.locked_out", object_type="user", object_id=row.pk,
                   organization_id=row.organization_id, data={"failures": row.failed_logins})
        row.save(update_fields=["failed_logins", "failures_unseen", "last_failed_at",
                                "throttled_until", "locked_at"])
    for name in ("failed_logins", "failures_unseen", "last_failed_at", "throttled_until",
                 "locked_at"):
        setattr(user, name, getattr(row, name))
    if device is not None and isinstance(counter, KnownDevice):
        device.failed_logins, device.throttled_until = counter.failed_logins, counter.throttled_until
    return locked


def failures_clear(user: User, device: KnownDevice | None = None) -> None:
    """A successful step ends the run of failures it was counted in (the account's, or the
    known browser's: success there does not reset what others' guesses ran up)."""
    if device is not None:
        KnownDevice.objects.filter(pk=device.pk).update(failed_logins=0, throttled_until=None)
        device.failed_logins, device.throttled_until = 0, None
        return
    User.objects.filter(pk=user.pk).update(failed_logins=0, throttled_until=None)
    user.failed_logins, user.throttled_until = 0, None


# --- known browsers ---------------------------------------------------------------------------------


def device_known(user: User, cookie: str | None) -> KnownDevice | None:
    """The known browser of ``user`` this device cookie names, or None."""
    if not cookie or len(cookie) > 100:
        return None
    return KnownDevice.objects.filter(user=user, key_hash=secret_digest(cookie)).first()


def device_of_session(request: HttpRequest, user: User) -> KnownDevice | None:
    """The known browser the current sign-in started from (remembered at the password)."""
    pk = request.session.get(SESSION_DEVICE)
    return KnownDevice.objects.filter(pk=pk, user=user).first() if pk else None


def device_remember(request: HttpRequest, user: User) -> None:
    """After a full sign-in: this browser is known to the account from now on (a new cookie
    each time; the middleware sets it). Only the newest few are kept."""
    old = device_of_session(request, user)
    if old is not None:
        old.delete()
    raw = secrets.token_urlsafe(32)
    KnownDevice.objects.create(user=user, key_hash=secret_digest(raw))
    stale = list(KnownDevice.objects.filter(user=user).order_by("-last_used_at", "-created_at")
                 .values_list("pk", flat=True)[KNOWN_DEVICES_KEPT:])
    KnownDevice.objects.filter(pk__in=stale).delete()
    request.session.pop(SESSION_DEVICE, None)
    request.haven_device_cookie = raw  # type: ignore[attr-defined]


@dataclass(frozen=True)
class FailureNotice:
    """Failed attempts on the account since the user last signed in, told at sign-in."""

    count: int
    last_at: datetime | None

    def message(self) -> str:
        return ngettext(
            "%(count)d failed attempt to sign in to your account since you last signed in "
            "(the last at %(when)s UTC). If that was not you, tell a coordinator.",
            "%(count)d failed attempts to sign in to your account since you last signed in "
            "(the last at %(when)s UTC). If that was not you, tell a coordinator.",
            self.count) % {"count": self.count,
                           "when": f"{self.last_at:%Y-%m-%d %H:%M}" if self.last_at else "?"}


# --- sessions -------------------------------------------------------------------------------------


def session_track(request: HttpRequest, user: User) -> None:
    """Start tracking the current session as ``user``'s (after the password step)."""
    at = now().timestamp()
    request.session[SESSION_AUTH_AT] = at
    request.session[SESSION_SEEN_AT] = at
    request.session[SESSION_REAUTH_AT] = at
    request.session.save()
    key = request.session.session_key
    assert key is not None  # noqa: S101 - saved just above
    UserSession.objects.update_or_create(
        key_hash=key_hash(key),
        defaults={"user": user, "user_agent": request.headers.get("User-Agent", "")[:200]},
    )


def session_rotate(request: HttpRequest) -> None:
    """Give the session a new key at a step up (second factor, re-authentication).

    Whoever planted or learned the key before the step is left holding a dead one (session
    fixation). The data moves to the new key; the tracking row follows it.
    """
    old = request.session.session_key
    request.session.cycle_key()
    new = request.session.session_key
    assert new is not None  # noqa: S101 - cycle_key saves under a new key
    if old:
        UserSession.objects.filter(key_hash=key_hash(old)).update(key_hash=key_hash(new))


def sessions_end(hashes: list[str]) -> int:
    """End the sessions with these key hashes, server-side; how many were tracked."""
    StoredSession.objects.filter(key_hash__in=hashes).delete()
    count, _rows = UserSession.objects.filter(key_hash__in=hashes).delete()
    return count


def sessions_end_all(user: User) -> int:
    return sessions_end(list(UserSession.objects.filter(user=user)
                             .values_list("key_hash", flat=True)))


def logout(*, request: HttpRequest, reason: str = "user") -> None:
    """Destroy the session server-side (not just the cookie)."""
    user = request.user if request.user.is_authenticated else None
    key = request.session.session_key
    with transaction.atomic():
        if key:
            UserSession.objects.filter(key_hash=key_hash(key)).delete()
        if user is not None:
            record(actor=user, action="auth.logged_out", object_type="user", object_id=user.pk,
                   data={"reason": reason})
    django_logout(request)  # flushes: deletes the server-side session row


def as_user(value: Any) -> User:
    assert isinstance(value, User)  # noqa: S101 - callers pass request.user of a staff view
    return value
