"""Re-authentication before sensitive actions."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from haven.accounts import services

View = Callable[..., HttpResponse]


def reauth_required(view: View) -> View:
    """Ask for the password and a fresh code if the last check is older than the window.

    After re-authenticating the user lands back on the page (as a GET) and repeats the action.
    A POST-only action cannot be landed on, so its form names its page in a ``next`` field
    (a Referer is not sent under Haven's referrer policy in every browser, so it is not used);
    without one the user lands on the dashboard.
    """

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not services.recent_auth_ok(request):
            if request.method == "GET":
                target = request.get_full_path()
            else:
                target = request.POST.get("next", "")
                if not (target.startswith("/") and url_has_allowed_host_and_scheme(
                        target, allowed_hosts={request.get_host()})):
                    target = resolve_url(settings.LOGIN_REDIRECT_URL)
            return redirect(f"{reverse('accounts:reauth')}?{urlencode({'next': target})}")
        return view(request, *args, **kwargs)

    return wrapper
