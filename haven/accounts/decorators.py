"""Re-authentication before sensitive actions."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from haven.accounts import services

View = Callable[..., HttpResponse]


def reauth_required(view: View) -> View:
    """Ask for the password and a fresh code if the last check is older than the window.

    After re-authenticating the user lands back on the page (as a GET) and repeats the action.
    """

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not services.recent_auth_ok(request):
            target = request.get_full_path() if request.method == "GET" else (
                request.headers.get("Referer") or request.get_full_path()
            )
            if not target.startswith("/"):
                target = request.get_full_path()
            return redirect(f"{reverse('accounts:reauth')}?{urlencode({'next': target})}")
        return view(request, *args, **kwargs)

    return wrapper
