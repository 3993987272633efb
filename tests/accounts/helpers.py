"""Small helpers shared by the account tests."""

from __future__ import annotations

from typing import Any, cast

from django.http import HttpRequest
from django.test import RequestFactory
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from haven.accounts.models import ApiToken, SealedTOTPDevice, User
from haven.accounts.sessions import SessionStore
from haven.audit.models import AuditEvent
from tests.factories.accounts import UserFactory


def make_user(**fields: Any) -> User:
    """A user from the factory, typed as the model (factory_boy is untyped)."""
    return cast("User", UserFactory(**fields))  # type: ignore[no-untyped-call]


def session_request(user: Any = None, path: str = "/") -> HttpRequest:
    """A request with a real database session, as the middleware would hand a service."""
    request = RequestFactory().post(path)
    request.session = SessionStore()
    request.session.create()
    if user is not None:
        request.user = user
    else:
        from django.contrib.auth.models import AnonymousUser

        request.user = AnonymousUser()
    return request


def code_for(device: SealedTOTPDevice, *, offset_steps: int = 0) -> str:
    """The TOTP code ``device`` shows now (or ``offset_steps`` windows away)."""
    value = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits,
                 drift=offset_steps)
    return str(value).zfill(device.digits)


def wrong_code(device: SealedTOTPDevice) -> str:
    """A six-digit code that is not valid in any window the device accepts."""
    valid = {code_for(device, offset_steps=k) for k in range(-3, 4)}
    for candidate in ("000000", "111111", "123456", "999999"):
        if candidate not in valid:
            return candidate
    raise AssertionError("unreachable: four codes cannot all be valid")


def forget_used_code(user: User) -> None:
    """django-otp accepts each TOTP code once; act as if the next 30-second window began."""
    TOTPDevice.objects.filter(user=user).update(last_t=-1)


def events(action: str, **filters: Any) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, **filters).order_by("seq"))


def counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "tokens": ApiToken.objects.count(),
        "events": AuditEvent.objects.count(),
    }


def api_reauthenticate(client: Any, user: User) -> None:
    """Step the token a test client carries up, as a script would: POST /api/v1/reauth with the
    password and the current code (operations that show sensitive data want it)."""
    from tests.factories.accounts import PASSWORD

    forget_used_code(user)
    device = SealedTOTPDevice.objects.get(user=user, confirmed=True)
    response = client.post("/api/v1/reauth", {"password": PASSWORD, "code": code_for(device)},
                           content_type="application/json")
    assert response.status_code == 200, response.content
