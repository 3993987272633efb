"""Security keys and passkeys through django-otp-webauthn (which uses py_webauthn).

The library checks the cryptography of each ceremony; this module runs its helper with Haven's
relying party and origins and keeps each challenge in the session for exactly one answer.
The views (``haven.accounts.key_views``) and services decide who may register or answer and
what a verified answer means (sign-in, re-authentication).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django_otp_webauthn import exceptions as library_errors
from django_otp_webauthn.helpers import WebAuthnHelper
from django_otp_webauthn.utils import rewrite_exceptions

from haven.accounts.models import User
from haven.core.errors import HavenError

REGISTER_STATE = "haven_webauthn_register"
ASSERT_STATE = "haven_webauthn_assert"


class KeyCeremonyFailed(HavenError):
    """The browser's answer did not verify (or came without a challenge)."""

    code = "security_key_failed"


class HavenWebAuthnHelper(WebAuthnHelper):  # type: ignore[misc]  # the library has no type hints
    """The relying party is ``HAVEN_WEBAUTHN_RP_ID``. Expected origins are
    ``HAVEN_WEBAUTHN_ORIGINS`` when set, else the origin this request came to, when its host
    is the relying party or below it (browsers only run WebAuthn in a secure context: https,
    or http://localhost)."""

    def get_allowed_origins(self) -> list[str]:
        if settings.HAVEN_WEBAUTHN_ORIGINS:
            return list(settings.HAVEN_WEBAUTHN_ORIGINS)
        origin = f"{self.request.scheme}://{self.request.get_host()}"
        host = (urlsplit(origin).hostname or "").lower()
        rp_id = settings.HAVEN_WEBAUTHN_RP_ID
        if host == rp_id or host.endswith("." + rp_id):
            return [origin]
        return list(settings.OTP_WEBAUTHN_ALLOWED_ORIGINS)


def rp_id() -> str:
    return str(settings.HAVEN_WEBAUTHN_RP_ID)


def available(request: HttpRequest) -> bool:
    """Can a browser use keys on this address? Not on an IP address: the relying party is a
    host name, and a key answers only for its own."""
    host = (urlsplit(f"//{request.get_host()}").hostname or "").lower()
    rp_id = settings.HAVEN_WEBAUTHN_RP_ID
    return host == rp_id or host.endswith("." + rp_id)


def _helper(request: HttpRequest) -> HavenWebAuthnHelper:
    return HavenWebAuthnHelper(request=request)


def _answer(request: HttpRequest) -> dict[str, Any]:
    try:
        data = json.loads(request.body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise KeyCeremonyFailed(_("The security key's answer could not be read.")) from None
    if not isinstance(data, dict):
        raise KeyCeremonyFailed(_("The security key's answer could not be read."))
    return data


def take_state(request: HttpRequest, name: str) -> dict[str, Any]:
    """The challenge of this ceremony, removed (and the session saved, outside any transaction
    that could roll the removal back) before anything else, so it is answered only once."""
    state = request.session.pop(name, None)
    request.session.save()
    if not isinstance(state, dict):
        raise KeyCeremonyFailed(_("Start again: the key was not asked anything yet, or its "
                                  "answer was already used."))
    return state


def _verified(call: Any) -> Any:
    try:
        with rewrite_exceptions():
            return call()
    except library_errors.OTPWebAuthnApiError as exc:
        raise KeyCeremonyFailed(str(exc.detail)) from None


def registration_options(request: HttpRequest, user: User) -> dict[str, Any]:
    """What the browser needs to create a new key for ``user`` (its challenge is kept)."""
    options, state = _helper(request).register_begin(user=user)
    request.session[REGISTER_STATE] = state
    return dict(options)


def registration_finish(request: HttpRequest, user: User, state: dict[str, Any]) -> Any:
    """Verify the browser's new key and store it (public key only), in the caller's
    transaction; the caller records it."""
    data = _answer(request)
    return _verified(lambda: _helper(request).register_complete(user=user, state=state,
                                                                data=data))


def assertion_options(request: HttpRequest, user: User) -> dict[str, Any]:
    """A challenge for one of ``user``'s keys to sign (its challenge is kept)."""
    options, state = _helper(request).authenticate_begin(user=user,
                                                         require_user_verification=False)
    request.session[ASSERT_STATE] = state
    return dict(options)


def assertion_finish(request: HttpRequest, user: User, state: dict[str, Any]) -> Any:
    """The key of ``user`` that signed the challenge, or ``KeyCeremonyFailed``."""
    data = _answer(request)
    with transaction.atomic():
        device = _verified(lambda: _helper(request).authenticate_complete(
            user=user, state=state, data=data))
    if not device.confirmed or device.user_id != user.pk:
        raise KeyCeremonyFailed(_("That security key is not one of yours."))
    return device
