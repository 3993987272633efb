"""What the account services share: errors, the failure counter, and session bookkeeping."""

from __future__ import annotations

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

from haven.accounts.models import StoredSession, User, UserSession
from haven.accounts.sessions import key_hash
from haven.audit.services import record
from haven.core.errors import HavenError

SESSION_AUTH_AT = "haven_auth_at"
SESSION_SEEN_AT = "haven_seen_at"
SESSION_REAUTH_AT = "haven_reauth_at"
# Re-authenticating with a security key takes two requests: the password, then the key.
SESSION_REAUTH_PASSWORD_AT = "haven_reauth_password_at"  # noqa: S105 - a session key name
REAUTH_PASSWORD_SECONDS = 120


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


def throttled_message(user: User) -> str:
    assert user.throttled_until is not None  # noqa: S101 - only called for a throttled account
    seconds = max(1, int((user.throttled_until - now()).total_seconds() + 0.999))
    return ngettext("Too many failed attempts: wait %(seconds)d second and try again.",
                    "Too many failed attempts: wait %(seconds)d seconds and try again.",
                    seconds) % {"seconds": seconds}


def delay_after(failures: int) -> int:
    """Seconds an account takes no attempt after its ``failures``-th failure in a row: 2^n,
    capped, so guessing slows down exponentially while a typo costs two seconds."""
    return int(min(2 ** min(failures, 30), settings.HAVEN_LOGIN_MAX_DELAY_SECONDS))


def gate(user: User) -> None:
    """Refuse an attempt on a locked or waiting account before checking anything.

    For steps taken by someone who already showed the password (the code, re-authentication,
    the password form, a token's re-authentication): saying why cannot reveal an account.
    """
    if user.is_locked():
        raise AccountLocked(locked_message())
    if user.is_throttled():
        raise Throttled(throttled_message(user))


def register_failure(user: User, *, stage: str) -> None:
    """Count a failed attempt against the *account*: start its delay, lock it at the limit.

    Runs in its own transaction so the count survives the refusal that follows. Never keyed on
    an address (Tor users share them); the delay keeps guessing slow without locking anyone
    out, and only a long run of failures locks.
    """
    with transaction.atomic():
        row = User.objects.select_for_update().get(pk=user.pk)
        at = now()
        row.failed_logins += 1
        row.failures_unseen += 1
        row.last_failed_at = at
        delay = delay_after(row.failed_logins)
        row.throttled_until = at + timedelta(seconds=delay)
        record(actor=None, action="auth.login_failed", object_type="user", object_id=row.pk,
               organization_id=row.organization_id,
               data={"stage": stage, "failures": row.failed_logins, "delay_seconds": delay})
        if row.failed_logins >= settings.HAVEN_LOGIN_LOCK_AFTER and row.locked_at is None:
            row.locked_at = at
            record(actor=None, action="auth.locked_out", object_type="user", object_id=row.pk,
                   organization_id=row.organization_id, data={"failures": row.failed_logins})
        row.save(update_fields=["failed_logins", "failures_unseen", "last_failed_at",
                                "throttled_until", "locked_at"])
    for name in ("failed_logins", "failures_unseen", "last_failed_at", "throttled_until",
                 "locked_at"):
        setattr(user, name, getattr(row, name))


def failures_clear(user: User) -> None:
    """A successful step ends the run of failures (the unseen count stays for the notice)."""
    User.objects.filter(pk=user.pk).update(failed_logins=0, throttled_until=None)
    user.failed_logins, user.throttled_until = 0, None


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
