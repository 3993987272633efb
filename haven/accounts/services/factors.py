"""Second factors: authenticator apps (TOTP), recovery codes, security keys and passkeys.

Authenticator secrets are sealed and recovery codes hashed under a key derived from the secret
key (``haven.keyring.local``), never stored in clear. Security keys (WebAuthn, through
django-otp-webauthn) keep only public keys. A coordinator with a security key signs in with it:
codes no longer do (a code can be phished, a key cannot).
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django_otp import login as otp_login
from django_otp import user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from haven.access.roles import Role
from haven.accounts import webauthn
from haven.accounts.models import HashedStaticDevice, SealedTOTPDevice, User
from haven.accounts.services._common import (
    SESSION_REAUTH_AT,
    device_remember,
    now,
    session_rotate,
)
from haven.audit.services import record
from haven.core.errors import Conflict, HavenError, ValidationFailed
from haven.keyring.crypto import DecryptionFailed

logger = logging.getLogger(__name__)

RECOVERY_CODE_COUNT = 10
# Coordinators are asked for a spare: one lost key must not leave them to another's reset.
KEYS_WANTED = 2


class SecondFactorUnreadable(HavenError):
    """The server cannot open authenticator secrets: its secret key is not the one they were
    sealed under (and the old one is not in HAVEN_SECRET_KEY_FALLBACKS). Not the user's fault:
    not counted as a failure."""

    status = 503
    code = "second_factor_unreadable"


class KeyRequired(HavenError):
    """A coordinator with a security key tried a code: only the key is accepted now."""

    status = 403
    code = "security_key_required"


def has_confirmed_device(user: Any) -> bool:
    return bool(user_has_device(user, confirmed=True))


def security_keys(user: User) -> Any:
    """The user's security keys and passkeys, newest first."""
    return WebAuthnCredential.objects.filter(user=user, confirmed=True).order_by("-created_at")


def keys_required(user: User) -> bool:
    """Must this user sign in (and re-authenticate) with a security key, codes refused?

    True for a coordinator who has enrolled one: coordinators hold unseal shares and manage
    every account, so once they can use a phishing-resistant factor they must.
    """
    return user.role == Role.COORDINATOR and security_keys(user).exists()


def needs_spare_key(user: User) -> bool:
    """A coordinator signing in with a single key: asked after each sign-in to add a spare."""
    return user.role == Role.COORDINATOR and 0 < security_keys(user).count() < KEYS_WANTED


def key_required_message() -> str:
    return _("Your account signs in with a security key: codes are not accepted. Use your "
             "key, or ask another coordinator to reset your second factor if you lost it.")


def verify_code(user: User, code: str, *, allow_recovery: bool = True) -> Any:
    """The device that accepts ``code`` (a TOTP code, or a single-use recovery code), or None.

    Raises ``KeyRequired`` for a coordinator who has a security key.
    """
    if keys_required(user):
        raise KeyRequired(key_required_message())
    code = "".join(code.split())
    if not code or len(code) > 32:
        return None
    if code.isdigit():
        for device in SealedTOTPDevice.objects.filter(user=user, confirmed=True):
            try:
                accepted = device.verify_token(code)
            except DecryptionFailed:
                logger.error(  # noqa: TRY400 - the traceback says nothing more
                    "authenticator secret of user %s opens under no configured secret "
                             "key (HAVEN_SECRET_KEY changed without HAVEN_SECRET_KEY_FALLBACKS?)",
                             user.pk)
                raise SecondFactorUnreadable(_(
                    "The server cannot check authenticator codes right now. Tell the people "
                    "who run it: its secret key changed.")) from None
            if accepted:
                if device.sealed_under_fallback():
                    device.reseal()
                return device
    if allow_recovery:
        for recovery in HashedStaticDevice.objects.filter(user=user, confirmed=True):
            if recovery.verify_token(code.lower()):
                record(actor=user, action="auth.recovery_code_used", object_type="user",
                       object_id=user.pk)
                return recovery
    return None


# --- authenticator app (TOTP) ----------------------------------------------------------------------


def totp_device_pending(*, user: User) -> SealedTOTPDevice:
    """The unconfirmed TOTP device being enrolled (created on first call)."""
    device = SealedTOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or SealedTOTPDevice.create_pending(user=user)


def totp_enrol_confirm(*, request: HttpRequest, user: User, code: str) -> list[str]:
    """Confirm the pending TOTP device with a code from it; return new recovery codes.

    Confirming passes the second factor for this session too, which therefore gets a new key.
    """
    device = SealedTOTPDevice.objects.filter(user=user, confirmed=False).first()
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
        codes = recovery_codes_replace(user)
        otp_login(request, device)
        request.session[SESSION_REAUTH_AT] = now().timestamp()
        session_rotate(request)
        device_remember(request, user)
        record(actor=user, action="auth.second_factor_enrolled", object_type="user",
               object_id=user.pk, data={"kind": "totp"})
    return codes


def totp_enrol_demo(*, user: User) -> SealedTOTPDevice:
    """A confirmed authenticator without proof of possession: for `haven demo` only, whose
    users have no phone (`haven demo-code` computes their codes on the server)."""
    device = totp_device_pending(user=user)
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return device


def totp_reseal_all() -> tuple[int, int]:
    """Seal every authenticator secret under the current secret key (after a rotation).

    Returns (resealed, already current). A secret that opens under no configured key raises.
    """
    resealed = current = 0
    for pk in list(SealedTOTPDevice.objects.values_list("pk", flat=True)):
        with transaction.atomic():
            device = SealedTOTPDevice.objects.select_for_update().filter(pk=pk).first()
            if device is None:
                continue
            if device.sealed_under_fallback():
                device.reseal()
                resealed += 1
            else:
                current += 1
    if resealed:
        with transaction.atomic():
            record(actor=None, action="auth.second_factor_resealed", object_type="system",
                   data={"resealed": resealed})
    return resealed, current


# --- recovery codes ----------------------------------------------------------------------------------


def recovery_codes_replace(user: User) -> list[str]:
    """New recovery codes for ``user`` (the old ones stop working); only hashes are kept."""
    StaticDevice.objects.filter(user=user).delete()
    device = HashedStaticDevice.objects.create(user=user, name="recovery", confirmed=True)
    # 56 random bits each, single-use, behind the account's failure delay and lock; stored as
    # a keyed hash that a copy of the database cannot search without the secret key.
    codes = [f"{secrets.token_hex(4)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODE_COUNT)]
    device.add_codes(codes)
    return codes


def has_recovery_codes(user: User) -> bool:
    return bool(StaticToken.objects.filter(device__user=user).exists())


def recovery_codes_regenerate(*, actor: User) -> list[str]:
    """Replace the user's recovery codes; the old ones stop working."""
    with transaction.atomic():
        codes = recovery_codes_replace(actor)
        record(actor=actor, action="auth.recovery_codes_replaced", object_type="user",
               object_id=actor.pk)
    return codes


# --- security keys ------------------------------------------------------------------------------------


def security_key_register(*, request: HttpRequest, user: User) -> Any:
    """Store the key the browser just created (django-otp-webauthn checks its attestation; only
    the public key is kept). As a first second factor it also completes this sign-in.

    The caller (the view) lets only a user without a second factor, or one who re-authenticated
    moments ago, get here: a stolen session cannot add its own key.
    """
    state = webauthn.take_state(request, webauthn.REGISTER_STATE)
    with transaction.atomic():
        device = webauthn.registration_finish(request, user, state)
        count = security_keys(user).count()
        device.name = _("Security key %(n)d") % {"n": count}
        device.save(update_fields=["name"])
        if not getattr(request.user, "is_verified", lambda: False)():
            otp_login(request, device)
            request.session[SESSION_REAUTH_AT] = now().timestamp()
            session_rotate(request)
            device_remember(request, user)
        record(actor=user, action="auth.second_factor_enrolled", object_type="user",
               object_id=user.pk, data={"kind": "webauthn", "keys": count})
    return device


def security_key_remove(*, actor: User, key_id: Any) -> None:
    """Remove one of one's own keys. A coordinator keeps at least one: going back to codes
    would undo the phishing resistance (another coordinator can reset a lost set)."""
    key = security_keys(actor).filter(pk=key_id).first()
    if key is None:
        raise Conflict(_("No such security key."))
    if actor.role == Role.COORDINATOR and security_keys(actor).count() <= 1:
        raise Conflict(_("A coordinator keeps at least one security key. Add another before "
                         "removing this one, or ask another coordinator to reset your second "
                         "factor."))
    with transaction.atomic():
        key.delete()
        record(actor=actor, action="auth.security_key_removed", object_type="user",
               object_id=actor.pk, data={"keys": security_keys(actor).count()})


def devices_delete(user: User) -> None:
    """Every second factor of ``user`` (a reset by another coordinator)."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    WebAuthnCredential.objects.filter(user=user).delete()
