"""Reading accounts, sessions and tokens."""

from __future__ import annotations

import base64

from django.core.paginator import Page
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django_otp.plugins.otp_totp.models import TOTPDevice

from haven.access import policy
from haven.access.permissions import Perm
from haven.accounts.models import ApiToken, User, UserSession
from haven.core.pagination import paginate


def session_list(*, user: User) -> QuerySet[UserSession]:
    """The user's own open sessions, newest activity first."""
    return UserSession.objects.filter(user=user)


def token_list(*, user: User) -> QuerySet[ApiToken]:
    """The user's own API tokens (hashes only; the secret is shown once at creation)."""
    return ApiToken.objects.filter(user=user)


def user_page(request: HttpRequest, *, actor: User, q: str = "") -> Page[User]:
    """Accounts the actor may manage, searchable by username or role."""
    qs = policy.users_visible_to(actor, User.objects.all())
    if q:
        qs = qs.filter(Q(username__icontains=q) | Q(role__iexact=q))
    return paginate(request, qs.order_by("username"))


def totp_secret_b32(device: TOTPDevice) -> str:
    """The device's secret in the base32 form authenticator apps accept for manual entry."""
    return base64.b32encode(device.bin_key).decode("ascii").rstrip("=")


def staff_directory(request: HttpRequest, *, actor: User, q: str = "") -> Page[User]:
    """The organization's staff as an auditor may read them: usernames, roles and whether
    the account is active; the template shows nothing else (no lockouts, devices, sessions
    or tokens). Searchable by username."""
    qs = policy.org_scoped(actor, Perm.STAFF_LIST, User.objects.all())
    if q:
        qs = qs.filter(username__icontains=q.strip())
    return paginate(request, qs.only("username", "role", "is_active").order_by("username"))
