"""CSRF protection that works with ``Referrer-Policy: no-referrer``.

Under ``no-referrer`` browsers send no Referer and serialize the Origin of a form POST as
``null``, so Django's origin check refuses every same-site form. Browsers also send Fetch
Metadata: ``Sec-Fetch-Site`` is set by the browser itself, cannot be forged by a page, and
says whether the request came from this very origin. An ``Origin: null`` request that the
browser marks ``same-origin`` is therefore treated as coming from this origin; everything
else — a real foreign Origin, ``null`` from a sandboxed frame or another site — is judged by
Django exactly as before, and the CSRF token is always checked.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, cast

from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.decorators import decorator_from_middleware

View = Callable[..., HttpResponse]


class NoReferrerCsrfViewMiddleware(CsrfViewMiddleware):
    def _origin_verified(self, request: HttpRequest) -> bool:
        if (
            request.META.get("HTTP_ORIGIN") == "null"
            and request.META.get("HTTP_SEC_FETCH_SITE") == "same-origin"
        ):
            return True
        # django-stubs do not declare this private hook, so it is looked up by name.
        return bool(vars(CsrfViewMiddleware)["_origin_verified"](self, request))


# ``django.views.decorators.csrf.csrf_protect`` runs Django's own middleware, which refuses the
# ``Origin: null`` that every same-origin form sends under ``no-referrer``: use this one.
_csrf_protect = decorator_from_middleware(NoReferrerCsrfViewMiddleware)


def csrf_protect(view: View) -> View:
    return cast(View, _csrf_protect(view))


def csrf_refusal(request: HttpRequest) -> HttpResponse | None:
    """Run the CSRF check now, on the request as it stands; the 403 response, or None.

    For views that must be ``csrf_exempt`` to choose their upload handler before the body is
    read: they call this on every path that will not reach their ``csrf_protect`` part, so a
    post without a token is refused with 403 before anything else is decided.
    """
    middleware = NoReferrerCsrfViewMiddleware(lambda _request: HttpResponse())
    response: HttpResponse | None = middleware.process_view(request, _no_view, (), {})
    return response


def _no_view(request: HttpRequest) -> HttpResponse:  # pragma: no cover - never called
    return HttpResponse()


def csrf_first_unless(allowed: Callable[[HttpRequest], bool]) -> Callable[[View], View]:
    """For a ``csrf_exempt`` upload view: when ``allowed(request)`` is false (anonymous, or a
    role that may not upload) check CSRF before the view's own refusal runs."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not allowed(request):
                refused = csrf_refusal(request)
                if refused is not None:
                    return refused
            return view(request, *args, **kwargs)

        return wrapper

    return decorate
