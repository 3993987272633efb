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
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from haven.access.decorators import public
from haven.core import faults
from haven.core.errors import Conflict, ValidationFailed
from haven.core.forms import apply_error
from haven.intake import budget, flood, selectors, services
from haven.intake.forms import CodenameForm, MessageForm, RequestForm
from haven.keyring import files, intake_crypto

COOKIE = "haven_intake"
RECEIVED_COOKIE = "haven_received"


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


def _set_cookie(response: HttpResponse, name: str, value: str, *,
                max_age: int | None = None) -> None:
    response.set_cookie(name, value, path="/intake/", httponly=True, samesite="Strict",
                        secure=settings.SESSION_COOKIE_SECURE, max_age=max_age)


def _duration(seconds: int) -> str:
    if seconds < 120:
        return ngettext("%(n)d second", "%(n)d seconds", seconds) % {"n": seconds}
    minutes = (seconds + 59) // 60
    return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}


def _form_page(request: HttpRequest, form: RequestForm, issued: budget.Issued | None, *,
               token: str = "", notice: str = "", status: int = 200) -> HttpResponse:
    """The form, with its token (a new one from ``issued``, or the one the person sent)."""
    earlier = ""
    if issued is not None and issued.seq:
        earlier = ngettext(
            "You have already sent %(n)d request from this browser today. This form can be "
            "sent %(wait)s after it was opened: so that nobody can flood it, each further "
            "request from one browser waits longer.",
            "You have already sent %(n)d requests from this browser today. This form can be "
            "sent %(wait)s after it was opened: so that nobody can flood it, each further "
            "request from one browser waits longer.", issued.seq) % {
            "n": issued.seq, "wait": _duration(budget.wait_seconds(issued.seq))}
    response = render(request, "intake/ask.html", {
        "form": form, "form_token": issued.token if issued is not None else token,
        "notice": notice, "earlier": earlier}, status=status)
    if issued is not None and issued.new_visit:
        _set_cookie(response, budget.VISIT_COOKIE, issued.visit)
    return response


def _spent(request: HttpRequest, refusal: budget.Refusal) -> HttpResponse:
    """The form was already sent (409), or this browser sent its day's budget (429)."""
    if refusal == budget.Refusal.USED:
        return render(request, "intake/already_sent.html", status=409)
    response = render(request, "intake/budget_spent.html",
                      {"budget": settings.HAVEN_INTAKE_SESSION_BUDGET}, status=429)
    response["Retry-After"] = str(int(budget.WINDOW.total_seconds()))
    return response


def _refused_token(request: HttpRequest, form: RequestForm, token: str, checked: budget.Checked,
                   visit: str | None) -> HttpResponse:
    """The answer to a form token that may not be sent now: too early (the same form and
    token, with how long to wait), expired (the form and a new token), or spent."""
    if checked.refusal == budget.Refusal.TOO_EARLY:
        response = _form_page(request, form, None, token=token, status=429, notice=_(
            "Please read your request through once more, then press “Send my request” "
            "again in %(left)s. So that nobody can flood this form, it can be sent only a "
            "short while after it was opened. Nothing was stored yet.") % {
                "left": _duration(checked.wait)})
        response["Retry-After"] = str(checked.wait)
        return response
    if checked.refusal == budget.Refusal.EXPIRED:
        return _form_page(request, form, budget.issue(visit), status=400, notice=_(
            "This form had expired or was opened in another window. Your text is kept below: "
            "please check it and press “Send my request” again. Nothing was stored yet."))
    return _spent(request, checked.refusal or budget.Refusal.USED)


@public
@require_http_methods(["GET", "POST"])
def ask(request: HttpRequest) -> HttpResponse:
    key = selectors.intake_key_current()
    if key is None:
        return _closed(request)
    visit = budget.visit_of(request.COOKIES)
    if request.method != "POST":
        issued = budget.issue(visit)
        if issued.over_budget:
            return _spent(request, budget.Refusal.OVER_BUDGET)
        return _form_page(request, RequestForm(), issued)
    refused = _refuse_body(request)
    if refused is not None:
        return refused
    form = RequestForm(request.POST)
    token = request.POST.get("form_token", "")
    checked = budget.check(token, visit)
    if checked.refusal is not None:
        return _refused_token(request, form, token, checked, visit)
    if not flood.allow("submit"):
        return _busy(request)
    if form.is_valid():
        language = get_language() or "en"
        try:
            submitted = services.request_submit(intake_key=key, language=language,
                                                ticket=checked.ticket, for_page=True,
                                                **form.cleaned_data)
        except services.IntakeFull:
            return faults.response(request, faults.Fault.DISK_FULL, public=True)
        except services.NotAccepted as exc:
            return _spent(request, exc.refusal)
        except ValidationFailed as exc:
            apply_error(form, exc)
        else:
            response = HttpResponseRedirect(reverse("intake:received"), status=303)
            _set_cookie(response, RECEIVED_COOKIE, submitted.handoff_cookie,
                        max_age=int(services.HANDOFF_LIFETIME.total_seconds()))
            return response
    return _form_page(request, form, None, token=token, status=400)


@public
@require_GET
def received(request: HttpRequest) -> HttpResponse:
    """The page after sending (post/redirect/get): the codename, shown exactly once. A reload
    finds it gone and says so; it never sends the request again."""
    codename = services.codename_handoff_take(request.COOKIES.get(RECEIVED_COOKIE, ""))
    if codename is None:
        response = render(request, "intake/received_gone.html", status=410)
    else:
        words = codename.split(" ")
        cyrillic = any("\u0400" <= c <= "\u04ff" for c in codename)
        response = render(request, "intake/codename.html", {
            "codename": words, "codename_lang": "ru" if cyrillic else "en"})
    if RECEIVED_COOKIE in request.COOKIES:
        _set_cookie(response, RECEIVED_COOKIE, "", max_age=0)  # gone, with the same flags
    return response


def _wrong_codename_form() -> CodenameForm:
    """The come-back form after a wrong codename (post/redirect/get): empty, with the error on
    its one field, so it is shown, linked and announced like every other field error."""
    form = CodenameForm(data={})
    form.errors.clear()
    form.add_error("codename", str(services.WRONG_CODENAME))
    return form


@public
@require_http_methods(["GET", "POST"])
def come_back(request: HttpRequest) -> HttpResponse:
    key = selectors.intake_key_current()
    if key is None:
        return _closed(request)
    if request.method != "POST":
        form = CodenameForm()
        if request.GET.get("failed") == "1":
            form = _wrong_codename_form()
        return render(request, "intake/come_back.html", {"form": form})
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
        except services.WrongCodename:
            # Post/redirect/get: a reload asks nothing again; the codename is not in the URL.
            return HttpResponseRedirect(reverse("intake:come_back") + "?failed=1", status=303)
        cookie = services.requester_session_open(request=req, reply_key=reply_key)
        response = HttpResponseRedirect(reverse("intake:conversation"), status=303)
        _set_cookie(response, COOKIE, cookie)
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
                return HttpResponseRedirect(reverse("intake:conversation") + "?sent=1",
                                            status=303)
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
