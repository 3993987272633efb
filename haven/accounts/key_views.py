"""Security keys and passkeys: the page that lists them, and the JSON steps of the WebAuthn
ceremonies that django-otp-webauthn's script (served from this server) calls.

Registering a key needs either no second factor yet (first enrolment) or a sign-in completed
and re-authenticated within minutes, so a stolen session cannot add its own key. Answering a
challenge completes a sign-in or, after the password on the re-authentication page, a
re-authentication.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django.views.i18n import JavaScriptCatalog

from haven.access.decorators import enrolment, public, staff
from haven.accounts import services, webauthn
from haven.accounts.decorators import reauth_required
from haven.accounts.views import key_context, request_user, safe_next
from haven.core.errors import HavenError


def _error(message: str, status: int, code: str = "refused") -> JsonResponse:
    return JsonResponse({"detail": message, "code": code}, status=status)


def _registration_refusal(request: HttpRequest) -> JsonResponse | None:
    user = request_user(request)
    if not webauthn.available(request):
        return _error(_("Security keys work only when Haven is opened by its host name "
                        "(%(rp_id)s), not by an IP address.") % {"rp_id": webauthn.rp_id()}, 409)
    if not services.has_confirmed_device(user):
        return None
    if not services.second_factor_passed(user) or not services.recent_auth_ok(request):
        return _error(_("Confirm it is you first (password and second factor), then add the "
                        "key."), 403, "reauth_required")
    return None


@enrolment
@never_cache
@require_POST
def register_begin(request: HttpRequest) -> HttpResponse:
    refusal = _registration_refusal(request)
    if refusal is not None:
        return refusal
    return JsonResponse(webauthn.registration_options(request, request_user(request)))


@enrolment
@never_cache
@require_POST
def register_complete(request: HttpRequest) -> HttpResponse:
    refusal = _registration_refusal(request)
    if refusal is not None:
        return refusal
    try:
        device = services.security_key_register(request=request, user=request_user(request))
    except HavenError as exc:
        return _error(exc.message, 400 if exc.status < 500 else exc.status, exc.code)
    return JsonResponse({"id": device.pk})


@enrolment
@never_cache
@require_POST
def assert_begin(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not services.security_keys(user).exists():
        return _error(_("You have no security key yet."), 409)
    return JsonResponse(webauthn.assertion_options(request, user))


@enrolment
@never_cache
@require_POST
def assert_complete(request: HttpRequest) -> HttpResponse:
    """The key answered: finish signing in, or re-authenticating after the password."""
    user = request_user(request)
    try:
        if not services.second_factor_passed(user):
            notice = services.login_with_key(request=request, user=user)
            if notice is not None:
                messages.warning(request, notice.message())
            target = (reverse("accounts:keys") if services.needs_spare_key(user)
                      else safe_next(request))
        else:
            services.reauth_with_key(request=request, user=user)
            target = safe_next(request)
    except HavenError as exc:
        status = exc.status if exc.status in (403, 423, 429) else 400
        return _error(exc.message, status, exc.code)
    # django-otp-webauthn's script expects a truthy "id" and follows "redirect_url".
    return JsonResponse({"id": "verified", "redirect_url": target})


@staff
def keys(request: HttpRequest) -> HttpResponse:
    """My security keys: add one (after re-authenticating), remove one."""
    user = request_user(request)
    return render(request, "accounts/keys.html", {
        "keys": services.security_keys(user),
        "can_register": services.recent_auth_ok(request),
        "wanted": services.KEYS_WANTED,
        "has_recovery_codes": services.has_recovery_codes(user),
        **key_context(request, user),
    })


@staff
@reauth_required
@require_POST
def key_remove(request: HttpRequest, key_id: int) -> HttpResponse:
    try:
        services.security_key_remove(actor=request_user(request), key_id=key_id)
    except HavenError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The security key was removed."))
    return redirect("accounts:keys")


_catalog = JavaScriptCatalog.as_view(packages=["django_otp_webauthn"])


@public
def js_catalog(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """The translations of the key scripts' messages (English and Russian)."""
    response = _catalog(request, *args, **kwargs)
    assert isinstance(response, HttpResponse)  # noqa: S101 - JavaScriptCatalog renders text
    return response
