"""Signing in (password, then a second factor), sessions and re-authentication.

The session key changes at every step up: the password (Django's login), the second factor,
and every re-authentication, so a key planted or seen before a step is worthless after it.
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.contrib.auth import login as django_login
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django_otp import login as otp_login

from haven.accounts import webauthn
from haven.accounts.models import KnownDevice, User, UserSession
from haven.accounts.services._common import (
    DEVICE_COOKIE,
    REAUTH_PASSWORD_SECONDS,
    SESSION_AUTH_AT,
    SESSION_DEVICE,
    SESSION_REAUTH_AT,
    SESSION_REAUTH_PASSWORD_AT,
    SESSION_SEEN_AT,
    AccountLocked,
    FailureNotice,
    LoginFailed,
    device_known,
    device_of_session,
    device_remember,
    failures_clear,
    gate,
    locked_message,
    logout,
    now,
    register_failure,
    session_rotate,
    session_track,
    sessions_end,
    sign_in_refused_message,
)
from haven.accounts.services.factors import verify_code
from haven.accounts.sessions import key_hash
from haven.audit.services import record

SEEN_WRITE_INTERVAL = 30  # seconds: how stale "last seen" may get before it is written again


def _password_check(username: str, password: str, device_cookie: str | None
                    ) -> tuple[User, KnownDevice | None]:
    user = User.objects.filter(username=username).first()
    device = device_known(user, device_cookie) if user is not None else None
    if user is None or not user.is_active:
        may_try = False
    elif device is not None:
        may_try = not device.is_throttled()
    else:
        may_try = not user.is_locked() and not user.is_throttled()
    if user is not None and may_try:
        if user.check_password(password):
            return user, device
        register_failure(user, stage="password", device=device)
    else:
        User().set_password(password)  # the same Argon2 work as checking a real password
        reason = ("unknown" if user is None else "disabled" if not user.is_active
                  else "waiting" if device is not None or not user.is_locked() else "locked")
        with transaction.atomic():
            record(actor=None, action="auth.login_refused", object_type="user",
                   object_id=user.pk if user else "",
                   organization_id=user.organization_id if user else "",
                   data={"stage": "password", "reason": reason})
    raise LoginFailed(sign_in_refused_message())


def password_check(*, username: str, password: str, device_cookie: str | None = None) -> User:
    """First sign-in step: the account exists, is active, may try now, and the password fits.

    An unknown name, a wrong password, a disabled account and one that is waiting out its delay
    or locked all get the same ``LoginFailed`` after the same work (one Argon2 hash and one
    audited write), so neither the answer nor its timing tells which accounts exist. Attempts
    on a waiting or locked account are not checked and do not count: guessing cannot go faster
    than the delay, and cannot push an account into the lock any faster either. From a browser
    that signed in to the account before (``device_cookie``) only that browser's own delay
    applies, so guessing from elsewhere cannot keep the owner out.
    """
    return _password_check(username, password, device_cookie)[0]


def login_password(*, request: HttpRequest, username: str, password: str) -> User:
    """Log in by password; the second factor is still owed (the middleware enforces it)."""
    user, device = _password_check(username, password, request.COOKIES.get(DEVICE_COOKIE))
    with transaction.atomic():
        django_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        session_track(request, user)
        if device is not None:
            request.session[SESSION_DEVICE] = str(device.pk)
            KnownDevice.objects.filter(pk=device.pk).update(last_used_at=now())
        record(actor=user, action="auth.password_ok", object_type="user", object_id=user.pk,
               data={"known_device": device is not None})
    return user


def second_factor_passed(user: Any) -> bool:
    """Has this session's user passed the second factor (django-otp marks it per request)?"""
    check = getattr(user, "is_verified", None)
    return bool(user.is_authenticated and callable(check) and check())


def _signed_in(request: HttpRequest, user: User, device: Any, kind: str) -> FailureNotice | None:
    """The second factor passed: mark the session, give it a new key, end the failure run, and
    hand back what failed in the meantime so the user is told (and can tell a coordinator)."""
    with transaction.atomic():
        row = User.objects.select_for_update().get(pk=user.pk)
        notice = (FailureNotice(row.failures_unseen, row.last_failed_at)
                  if row.failures_unseen else None)
        failures_clear(user, device_of_session(request, user))
        otp_login(request, device)
        request.session[SESSION_REAUTH_AT] = now().timestamp()
        session_rotate(request)
        device_remember(request, user)
        User.objects.filter(pk=user.pk).update(failures_unseen=0, last_login=now())
        record(actor=user, action="auth.logged_in", object_type="user", object_id=user.pk,
               data={"kind": kind, "failures_since_last": row.failures_unseen})
    return notice


def _refuse(request: HttpRequest, user: User, *, stage: str, message: str) -> NoReturn:
    """Count a failed step taken inside a session; at the lock the session ends too."""
    device = device_of_session(request, user)
    if register_failure(user, stage=stage, device=device):
        logout(request=request, reason="locked")
        if device is None:
            raise AccountLocked(locked_message())
        raise LoginFailed(_("Too many failed attempts from this browser. Sign in again."))
    raise LoginFailed(message)


def _gate(request: HttpRequest, user: User) -> None:
    gate(user, device_of_session(request, user))


def login_second_factor(*, request: HttpRequest, user: User, code: str) -> FailureNotice | None:
    """Finish signing in with a TOTP or recovery code; failures count against the account."""
    _gate(request, user)
    device = verify_code(user, code)
    if device is None:
        _refuse(request, user, stage="second_factor",
                message=_("That code is not valid. Check your authenticator's clock."))
    kind = "recovery_code" if device.persistent_id.startswith("accounts.hashedstatic") else "totp"
    return _signed_in(request, user, device, kind)


def _key_answer(request: HttpRequest, user: User, *, stage: str) -> Any:
    """The user's key that answered this session's challenge (django-otp-webauthn verifies the
    signature, origin and relying party). A wrong answer counts like a wrong code."""
    _gate(request, user)
    state = webauthn.take_state(request, webauthn.ASSERT_STATE)
    try:
        return webauthn.assertion_finish(request, user, state)
    except webauthn.KeyCeremonyFailed as exc:
        _refuse(request, user, stage=stage, message=exc.message)


def login_with_key(*, request: HttpRequest, user: User) -> FailureNotice | None:
    """Finish signing in with a security key or passkey."""
    device = _key_answer(request, user, stage="second_factor")
    return _signed_in(request, user, device, "webauthn")


def session_touch(request: HttpRequest) -> str | None:
    """Enforce idle and absolute session limits; return why a session ended, or None."""
    at = now().timestamp()
    auth_at = float(request.session.get(SESSION_AUTH_AT, 0))
    seen_at = float(request.session.get(SESSION_SEEN_AT, 0))
    if at - auth_at > settings.HAVEN_SESSION_MAX_HOURS * 3600:
        logout(request=request, reason="absolute_timeout")
        return _("Your session reached its maximum length. Please log in again.")
    if at - seen_at > settings.HAVEN_SESSION_IDLE_MINUTES * 60:
        logout(request=request, reason="idle_timeout")
        return _("Your session ended after a period of inactivity. Please log in again.")
    if at - seen_at > SEEN_WRITE_INTERVAL:
        request.session[SESSION_SEEN_AT] = at
        if request.session.session_key:
            UserSession.objects.filter(key_hash=key_hash(request.session.session_key)).update(
                last_seen_at=now())
    return None


def sessions_end_others(*, actor: User, keep_key: str | None) -> int:
    """End every session of ``actor`` but the current one; returns how many ended."""
    keep = key_hash(keep_key) if keep_key else ""
    with transaction.atomic():
        hashes = list(UserSession.objects.filter(user=actor).exclude(key_hash=keep)
                      .values_list("key_hash", flat=True))
        count = sessions_end(hashes)
        record(actor=actor, action="auth.sessions_ended", object_type="user", object_id=actor.pk,
               data={"count": count})
    return count


# --- re-authentication ---------------------------------------------------------------------------


def recent_auth_ok(request: HttpRequest) -> bool:
    """Were the password and a second factor checked within the re-authentication window?"""
    at = float(request.session.get(SESSION_REAUTH_AT, 0))
    return now().timestamp() - at <= settings.HAVEN_REAUTH_MINUTES * 60


def _reauthenticated(request: HttpRequest, user: User, kind: str) -> None:
    with transaction.atomic():
        failures_clear(user, device_of_session(request, user))
        request.session[SESSION_REAUTH_AT] = now().timestamp()
        request.session.pop(SESSION_REAUTH_PASSWORD_AT, None)
        session_rotate(request)
        record(actor=user, action="auth.reauthenticated", object_type="user", object_id=user.pk,
               data={"kind": kind})


def reauthenticate(*, request: HttpRequest, user: User, password: str, code: str) -> None:
    """Check the password and a fresh code again before a sensitive action."""
    _gate(request, user)
    if not user.check_password(password) or verify_code(user, code) is None:
        # Guessing from inside a session is still guessing: the lock ends the session too.
        _refuse(request, user, stage="reauth", message=_("Wrong password or code."))
    _reauthenticated(request, user, "code")


def reauth_password(*, request: HttpRequest, user: User, password: str) -> None:
    """First half of re-authenticating with a security key: the password. The key must follow
    within two minutes (``reauth_with_key``)."""
    _gate(request, user)
    if not user.check_password(password):
        _refuse(request, user, stage="reauth", message=_("Wrong password."))
    request.session[SESSION_REAUTH_PASSWORD_AT] = now().timestamp()


def reauth_password_pending(request: HttpRequest) -> bool:
    at = float(request.session.get(SESSION_REAUTH_PASSWORD_AT, 0))
    return now().timestamp() - at <= REAUTH_PASSWORD_SECONDS


def reauth_with_key(*, request: HttpRequest, user: User) -> None:
    """Second half: the security key answers this session's challenge."""
    if not reauth_password_pending(request):
        raise LoginFailed(_("Enter your password first, then use your key within two minutes."))
    _key_answer(request, user, stage="reauth")
    _reauthenticated(request, user, "webauthn")
