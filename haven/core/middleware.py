"""Request id and the security headers every response carries."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from haven.core import request_context

Handler = Callable[[HttpRequest], HttpResponse]


class RequestIdMiddleware:
    """Give every request a random id, echoed in ``X-Request-ID`` and written to audit events."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        rid = secrets.token_hex(8)
        token = request_context.request_id.set(rid)
        try:
            response = self.get_response(request)
        finally:
            request_context.request_id.reset(token)
        response["X-Request-ID"] = rid
        return response


class SecurityHeadersMiddleware:
    """Headers Django does not set itself.

    ``Cache-Control: no-store`` keeps pages about people out of a seized laptop's browser
    cache; static assets (served by WhiteNoise before this runs) are cached normally.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response["Permissions-Policy"] = settings.HAVEN_PERMISSIONS_POLICY
        response["Cross-Origin-Resource-Policy"] = "same-origin"
        response.setdefault("Cache-Control", "no-store")
        if "no-store" not in response["Cache-Control"] and not request.path.startswith(
            settings.STATIC_URL
        ):
            response["Cache-Control"] = "no-store"
        return response
