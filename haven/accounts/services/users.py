"""Managing accounts: one's own password, and coordinators managing their organization's staff.

A coordinator cannot unlock or reset their own account: that takes a *second* coordinator (or
an operator at the command line), so one stolen session cannot undo the protections.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from haven.access import policy
from haven.access.permissions import Perm
from haven.access.roles import Role
from haven.accounts.models import KnownDevice, Organization, RevokedReason, User, UserSession
from haven.accounts.services._common import (
    device_of_session,
    failures_clear,
    gate,
    logout,
    register_failure,
    sessions_end,
    sessions_end_all,
)
from haven.accounts.services.factors import devices_delete
from haven.accounts.services.tokens import tokens_kill
from haven.accounts.sessions import key_hash
from haven.audit.services import record
from haven.core.errors import Conflict, NotFound, ValidationFailed


def password_change(*, request: HttpRequest, actor: User, old: str, new: str) -> None:
    """Change one's own password. A wrong current password counts against the account like a
    failed sign-in (and is audited); the change ends every other session and every API token.
    """
    device = device_of_session(request, actor)
    gate(actor, device)
    if not actor.check_password(old):
        if register_failure(actor, stage="password_change", device=device):
            logout(request=request, reason="locked")
        raise ValidationFailed(_("Your current password is wrong."),
                               fields={"old_password": [_("Wrong password.")]})
    try:
        validate_password(new, actor)
    except ValidationError as exc:
        raise ValidationFailed(" ".join(exc.messages),
                               fields={"new_password": list(exc.messages)}) from exc
    with transaction.atomic():
        failures_clear(actor, device)
        KnownDevice.objects.filter(user=actor).delete()  # browsers prove themselves again
        actor.set_password(new)
        actor.save(update_fields=["password"])
        keep = request.session.session_key
        others = list(UserSession.objects.filter(user=actor)
                      .exclude(key_hash=key_hash(keep) if keep else "")
                      .values_list("key_hash", flat=True))
        ended = sessions_end(others)
        tokens = tokens_kill(actor, reason=RevokedReason.PASSWORD_CHANGED)
        # This session stays signed in (Django would end it with the old password's hash),
        # under a new key.
        update_session_auth_hash(request, actor)
        if keep:
            new_key = request.session.session_key
            UserSession.objects.filter(key_hash=key_hash(keep)).update(
                key_hash=key_hash(new_key or ""))
        record(actor=actor, action="user.password_changed", object_type="user",
               object_id=actor.pk, data={"sessions_ended": ended, "tokens_revoked": tokens})


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
    """Disable (or re-enable) an account. Disabling ends all its sessions and kills all its
    tokens for good: enabling the account again does not bring a token back."""
    user = _managed(actor, user_id)
    if user.pk == actor.pk and not active:
        raise Conflict(_("You cannot disable your own account."))
    with transaction.atomic():
        user.is_active = active
        user.save(update_fields=["is_active"])
        ended = tokens = 0
        if not active:
            ended = sessions_end_all(user)
            tokens = tokens_kill(user, reason=RevokedReason.ACCOUNT_DISABLED)
        record(actor=actor, action="user.enabled" if active else "user.disabled",
               object_type="user", object_id=user.pk,
               data={"sessions_ended": ended, "tokens_revoked": tokens})
    return user


def user_unlock(*, actor: User | None, user_id: Any) -> User:
    """Lift a lock or a delay. Never one's own: a *second* coordinator (or an operator at the
    command line, ``actor`` None) must do it, so whoever holds a locked coordinator's session
    or password cannot."""
    user = User.objects.get(pk=user_id) if actor is None else _managed(actor, user_id)
    if actor is not None and user.pk == actor.pk:
        raise Conflict(_("Another coordinator must unlock your account."))
    with transaction.atomic():
        user.locked_at = None
        user.throttled_until = None
        user.failed_logins = 0
        user.save(update_fields=["locked_at", "throttled_until", "failed_logins"])
        record(actor=actor, action="user.unlocked", object_type="user", object_id=user.pk,
               organization_id=user.organization_id)
    return user


def user_reset_second_factor(*, actor: User | None, user_id: Any) -> User:
    """Remove every second factor of a user who lost theirs: they enrol again at next sign-in.

    Never one's own (that would let a stolen session replace the factor): a second coordinator
    does it, or an operator at the command line (``actor`` None). Their sessions and tokens end.
    """
    user = User.objects.get(pk=user_id) if actor is None else _managed(actor, user_id)
    if actor is not None and user.pk == actor.pk:
        raise Conflict(_("Another coordinator must reset your second factor."))
    with transaction.atomic():
        devices_delete(user)
        KnownDevice.objects.filter(user=user).delete()
        ended = sessions_end_all(user)
        tokens = tokens_kill(user, reason=RevokedReason.SECOND_FACTOR_RESET)
        record(actor=actor, action="user.second_factor_reset", object_type="user",
               object_id=user.pk, organization_id=user.organization_id,
               data={"sessions_ended": ended, "tokens_revoked": tokens})
    return user


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
