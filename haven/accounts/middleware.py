"""Session lifetime and the mandatory second factor, enforced for every staff request."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.messages.storage import default_storage
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from haven.access.decorators import access_of
from haven.accounts import services

Handler = Callable[[HttpRequest], HttpResponse]
DEVICE_COOKIE_AGE = 180 * 24 * 3600


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


class SessionPolicyMiddleware:
    """End a session that has been idle too long or has lived past its absolute limit."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated and not _is_api(request):
            reason = services.session_touch(request)
            if reason is not None:
                ended: HttpResponse = redirect(settings.LOGIN_URL)
                _tell(request, ended, reason)
                return ended
        response = self.get_response(request)
        raw = getattr(request, "haven_device_cookie", None)
        if raw:
            # The browser just completed a sign-in: from now on it is known to the account
            # (services.signin), so guessing from elsewhere cannot keep its owner out.
            response.set_cookie(services.DEVICE_COOKIE, raw, max_age=DEVICE_COOKIE_AGE,
                                path="/accounts/", secure=settings.SESSION_COOKIE_SECURE,
                                httponly=True, samesite="Strict")
        return response


def _tell(request: HttpRequest, response: HttpResponse, message: str) -> None:
    """Leave ``message`` for the login page. This middleware runs before Django's message
    middleware has given the request a store, so it opens and saves one itself."""
    if hasattr(request, "_messages"):
        messages.info(request, message)
        return
    store = default_storage(request)
    store.add(messages.INFO, message)
    store.update(response)


class SecondFactorMiddleware:
    """No page but enrolment and code entry is reachable before the second factor is passed.

    Also the choke point that refuses any view that did not declare its access (fail closed).
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        if _is_api(request):
            return None
        access = access_of(view_func)
        if access is None:
            return HttpResponseForbidden(_("This page has no access rule and is refused."))
        if access.kind == "public" or not request.user.is_authenticated:
            return None
        if services.second_factor_passed(request.user):
            return None
        if access.kind == "enrolment":
            return None
        if services.has_confirmed_device(request.user):
            return redirect("accounts:verify")
        return redirect("accounts:enrol")
