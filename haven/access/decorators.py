"""Every view and API operation declares its access; undeclared routes are refused.

``public``: no login (login page, health check). ``enrolment``: logged in by password but
perhaps not yet past the second factor (enrolment, code entry, logout). ``staff``: any
fully logged-in staff member. ``requires(perm)``: staff whose role grants ``perm``.
The second-factor middleware and the route-matrix test read the declaration.

API operations add ``reauth``: the token must have re-authenticated (password and a current
code) within the last minutes, as a session must before a reveal. Every operation needing a
permission in ``REAUTH_PERMS`` gets it from ``api_requires``; ``api_reauth`` adds it to others.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, cast

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from haven.access import policy
from haven.access.permissions import Perm
from haven.accounts.models import User
from haven.accounts.services import token_require_reauth
from haven.core.errors import Forbidden

Kind = Literal["public", "enrolment", "staff", "perm"]
View = Callable[..., HttpResponse]
AnyFunc = Callable[..., Any]
T = TypeVar("T", bound=AnyFunc)


@dataclass(frozen=True)
class Access:
    kind: Kind
    perm: Perm | None = None
    reauth: bool = False


# Permissions whose operations show sensitive fields or hand out files: a person's masked
# fields and files, safe-house addresses, case documents, dossiers.
REAUTH_PERMS = frozenset({Perm.PERSON_REVEAL, Perm.SHELTER_ADDRESS, Perm.DOCUMENT_READ,
                          Perm.DOSSIER_EXPORT})


ATTR = "haven_access"


def access_of(view: Any) -> Access | None:
    """The declaration on a view function (or on what it wraps), or None."""
    seen = 0
    while view is not None and seen < 10:
        found = getattr(view, ATTR, None)
        if isinstance(found, Access):
            return found
        view = getattr(view, "__wrapped__", None) or getattr(view, "view_class", None)
        seen += 1
    return None


def _declare(view: T, access: Access) -> T:
    setattr(view, ATTR, access)
    return view


def public(view: T) -> T:
    return _declare(view, Access("public"))


def enrolment(view: View) -> View:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return _declare(wrapper, Access("enrolment"))


def staff(view: View) -> View:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return _declare(wrapper, Access("staff"))


def requires(perm: Perm) -> Callable[[View], View]:
    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            try:
                policy.require(request.user, perm)
            except Forbidden as exc:
                raise PermissionDenied(exc.message) from exc
            return view(request, *args, **kwargs)

        return _declare(wrapper, Access("perm", perm))

    return decorate


# --- API operations -----------------------------------------------------------------------------


def api_staff(func: T) -> T:
    """Any authenticated staff token may call this operation."""
    return _declare(func, Access("staff"))


def _require_token_reauth(request: HttpRequest) -> None:
    token_require_reauth(getattr(request, "api_token", None))


def api_requires(perm: Perm) -> Callable[[T], T]:
    """The token's user must hold ``perm``; else 403 with a JSON error (via HavenError).

    A permission in ``REAUTH_PERMS`` also wants a recently re-authenticated token (403
    ``reauth_required`` otherwise), checked after the permission so that a role without it is
    told so first.
    """
    reauth = perm in REAUTH_PERMS

    def decorate(func: T) -> T:
        @functools.wraps(func)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            policy.require(getattr(request, "auth", None), perm)
            if reauth:
                _require_token_reauth(request)
            return func(request, *args, **kwargs)

        return _declare(cast("T", wrapper), Access("perm", perm, reauth=reauth))

    return decorate


def api_reauth(func: T) -> T:
    """Also want a recently re-authenticated token, on top of the operation's declaration."""
    inner = access_of(func)
    if inner is None:
        raise TypeError(f"{func!r}: declare its access (api_staff / api_requires) below "
                        "api_reauth")

    @functools.wraps(func)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if inner.perm is not None:
            policy.require(getattr(request, "auth", None), inner.perm)
        _require_token_reauth(request)
        return func(request, *args, **kwargs)

    return _declare(cast("T", wrapper), Access(inner.kind, inner.perm, reauth=True))


def api_actor(request: HttpRequest) -> User:
    """The user an API operation acts as: the token's user, set by ``haven.api.TokenAuth``
    before any operation runs (an operation without a valid token never gets here)."""
    user = getattr(request, "auth", None)
    if not isinstance(user, User):
        raise Forbidden("This operation needs a valid API token.")
    return user
