"""While sealed, the staff app shows only the unseal page and the API answers 503."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect

from haven.access import policy
from haven.access.decorators import access_of
from haven.access.permissions import Perm
from haven.keyring import client, state

Handler = Callable[[HttpRequest], HttpResponse]
ALLOWED_WHILE_SEALED_ATTR = "haven_allowed_while_sealed"
API_PREFIX = "/api/"
API_SCHEMA_PATHS = frozenset({"/api/v1/openapi.json"})


def allowed_while_sealed(view: Any) -> Any:
    """Mark a view that must work while sealed (the unseal and sealed-notice pages)."""
    setattr(view, ALLOWED_WHILE_SEALED_ATTR, True)
    return view


def _allowed(view: Any) -> bool:
    seen = 0
    while view is not None and seen < 10:
        if getattr(view, ALLOWED_WHILE_SEALED_ATTR, False):
            return True
        view = getattr(view, "__wrapped__", None)
        seen += 1
    return False


class SealedMiddleware:
    """Put after authentication. Public and enrolment views (login, second factor) stay
    reachable so a coordinator can log in to unseal; every other staff page redirects to the
    unseal page (or, for roles that cannot unseal, to a notice); the API answers 503 JSON."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        api = request.path.startswith(API_PREFIX) and request.path not in API_SCHEMA_PATHS
        if api and state.is_sealed():
            return JsonResponse({"detail": client.SEALED_MESSAGE, "code": "sealed"},
                                status=503, headers={"Retry-After": "60"})
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func: Callable[..., Any], args: Any,
                     kwargs: Any) -> HttpResponse | None:
        if request.path.startswith(API_PREFIX) or _allowed(view_func):
            return None
        access = access_of(view_func)
        if access is not None and access.kind in ("public", "enrolment"):
            return None
        if not state.is_sealed():
            return None
        if policy.has_perm(request.user, Perm.KEYS_UNSEAL):
            return redirect("keyring:unseal")
        return redirect("keyring:sealed")
