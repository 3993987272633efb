"""The public intake site: no JavaScript, nothing from another host, small pages.

Every view is ``public``: requesters have no account. The person's conversation is reached
with a codename; the session cookie holds a random id and key, never the codename.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render as django_render
from django.urls import reverse
from django.utils.translation import get_language
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from haven.access.decorators import public
from haven.core import faults
from haven.core.errors import Conflict, ValidationFailed
from haven.core.forms import apply_error
from haven.intake import flood, selectors, services
from haven.intake.forms import CodenameForm, MessageForm, RequestForm
from haven.keyring import files, intake_crypto

COOKIE = "haven_intake"


def render(request: HttpRequest, template: str, context: dict[str, Any] | None = None,
           status: int = 200) -> HttpResponse:
    """Render a public page with the "leave quickly" address (a plain link: nothing is loaded)."""
    return django_render(request, template, {"exit_url": settings.HAVEN_INTAKE_EXIT_URL,
                                             **(context or {})}, status=status)
MULTIPART = "multipart/form-data"
FORM_TYPES = ("application/x-www-form-urlencoded", MULTIPART)


def _closed(request: HttpRequest) -> HttpResponse:
    return render(request, "intake/closed.html", status=503)


def _busy(request: HttpRequest) -> HttpResponse:
    response = render(request, "intake/busy.html", status=503)
    response["Retry-After"] = str(max(60, flood.seconds_to_next_window()))
    return response


def _refuse_body(request: HttpRequest) -> HttpResponse | None:
    """Check size and type before the body is read, so a huge upload is never parsed or
    spooled to a temporary file."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = settings.HAVEN_INTAKE_MAX_BODY + 1
    if length > settings.HAVEN_INTAKE_MAX_BODY:
        return render(request, "intake/refused.html", {"reason": "too_large",
                      "limit_kb": settings.HAVEN_INTAKE_MAX_BODY // 1024}, status=413)
    if request.content_type not in FORM_TYPES or (request.content_type == MULTIPART and (
            request.FILES or files.upload_refused(request))):
        return render(request, "intake/refused.html", {"reason": "type"}, status=415)
    if request.content_type != MULTIPART and not _utf8(request.body):
        return render(request, "intake/refused.html", {"reason": "encoding"}, status=400)
    return None


def _utf8(body: bytes) -> bool:
    """Is every field of a url-encoded body UTF-8? (Django would quietly decode it as Latin-1.)"""
    try:
        urllib.parse.unquote_to_bytes(body.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@public
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "intake/home.html", {"open": selectors.intake_key_current() is not None})


@public
@require_http_methods(["GET", "POST"])
def ask(request: HttpRequest) -> HttpResponse:
    key = selectors.intake_key_current()
    if key is None:
        return _closed(request)
    if request.method != "POST":
        return render(request, "intake/ask.html", {"form": RequestForm()})
    refused = _refuse_body(request)
    if refused is not None:
        return refused
    if not flood.allow("submit"):
        return _busy(request)
    form = RequestForm(request.POST)
    if form.is_valid():
        try:
            submitted = services.request_submit(intake_key=key, language=get_language() or "en",
                                                **form.cleaned_data)
        except services.IntakeFull:
            return _busy(request)
        except ValidationFailed as exc:
            apply_error(form, exc)
        else:
            return render(request, "intake/codename.html",
                          {"codename": submitted.codename.split(" ")}, status=201)
    return render(request, "intake/ask.html", {"form": form}, status=400)


@public
@require_http_methods(["GET", "POST"])
def come_back(request: HttpRequest) -> HttpResponse:
    key = selectors.intake_key_current()
    if key is None:
        return _closed(request)
    if request.method != "POST":
        return render(request, "intake/come_back.html", {"form": CodenameForm()})
    refused = _refuse_body(request)
    if refused is not None:
        return refused
    # Each try costs a slow hash: log-ins share a tenth of the submission budget.
    if not flood.allow("login", limit=max(1, settings.HAVEN_INTAKE_RATE_PER_MINUTE // 10)):
        return _busy(request)
    form = CodenameForm(request.POST)
    if form.is_valid():
        try:
            req, reply_key = services.requester_login(intake_key=key,
                                                      codename=form.cleaned_data["codename"])
        except services.WrongCodename as exc:
            form.add_error("codename", exc.message)
        else:
            cookie = services.requester_session_open(request=req, reply_key=reply_key)
            response = HttpResponseRedirect(reverse("intake:conversation"))
            response.set_cookie(COOKIE, cookie, path="/intake/", httponly=True,
                                samesite="Strict", secure=settings.SESSION_COOKIE_SECURE)
            return response
    return render(request, "intake/come_back.html", {"form": form}, status=400)


@public
@require_http_methods(["GET", "POST"])
def conversation(request: HttpRequest) -> HttpResponse:
    found = services.requester_session_get(request.COOKIES.get(COOKIE, ""))
    if found is None:
        return HttpResponseRedirect(reverse("intake:come_back"))
    req, reply_key = found
    form = MessageForm()
    status = 200
    if request.method == "POST":
        refused = _refuse_body(request)
        if refused is not None:
            return refused
        form = MessageForm(request.POST)
        if form.is_valid():
            try:
                services.requester_message_send(request=req, body=form.cleaned_data["body"])
            except (ValidationFailed, Conflict) as exc:
                apply_error(form, exc)
            else:
                return HttpResponseRedirect(reverse("intake:conversation") + "?sent=1")
        status = 400
    try:
        entries = selectors.conversation_for_requester(request=req, reply_key=reply_key)
    except intake_crypto.IntakeDecryptionFailed:
        entries = []
    return render(request, "intake/conversation.html",
                  {"entries": entries, "form": form, "sent": request.GET.get("sent") == "1"},
                  status=status)


@public
@require_POST
def leave(request: HttpRequest) -> HttpResponse:
    services.requester_session_close(request.COOKIES.get(COOKIE, ""))
    response = HttpResponseRedirect(reverse("intake:home"))
    response.delete_cookie(COOKIE, path="/intake/", samesite="Strict")
    return response



# --- error pages of the intake-only server (its ROOT_URLCONF names these) -----------------------


def _error(request: HttpRequest, status: int) -> HttpResponse:
    return render(request, "intake/error.html", {"status": status}, status=status)


def error_400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 400)


def error_403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 403)


def error_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 404)


def error_500(request: HttpRequest) -> HttpResponse:
    fault = faults.current()
    if fault is not None:
        return faults.response(request, fault, public=True)
    return _error(request, 500)
