"""The operators' inbox (staff): list, read, reply, triage, convert."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from haven.access.decorators import requires
from haven.access.permissions import Perm
from haven.core.errors import HavenError, NotFound, Sealed
from haven.core.pagination import paginate
from haven.intake import selectors, services
from haven.intake.forms import ConvertForm, ReplyForm, TransitionForm
from haven.intake.models import TRANSITIONS, Request, Status


def _get(request: HttpRequest, pk: UUID) -> Request:
    try:
        return selectors.request_get(user=request.user, pk=pk)
    except NotFound:
        from django.http import Http404

        raise Http404 from None


def _detail(request: HttpRequest, pk: UUID) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("inbox:detail", args=[pk]))


@requires(Perm.REQUEST_READ)
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    page = paginate(request, selectors.request_list(user=request.user, status=status))
    return render(request, "intake/inbox.html", {
        "page": page, "status": status, "statuses": Status.choices,
    })


@requires(Perm.REQUEST_READ)
@require_GET
def detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    req = _get(request, pk)
    opened = None
    sealed = False
    try:
        opened = selectors.request_open(actor=request.user, request=req)
    except Sealed:
        sealed = True
    return render(request, "intake/detail.html", {
        "req": req, "opened": opened, "sealed": sealed, "reply_form": ReplyForm(),
        "transition_form": TransitionForm(), "convert_form": ConvertForm(),
        "next_statuses": [(s, Status(s).label) for s in TRANSITIONS[req.status]
                          if s != Status.ACCEPTED],
        "can_convert": Status.ACCEPTED in TRANSITIONS[req.status],
    })


def _done(request: HttpRequest, pk: UUID, text: str) -> HttpResponseRedirect:
    messages.success(request, text)
    return _detail(request, pk)


def _refused(request: HttpRequest, pk: UUID, exc: HavenError) -> HttpResponseRedirect:
    messages.error(request, exc.message)
    return _detail(request, pk)


@requires(Perm.REQUEST_REPLY)
@require_POST
def reply(request: HttpRequest, pk: UUID) -> HttpResponse:
    req = _get(request, pk)
    form = ReplyForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The reply was not sent: write 1–%(n)d characters.") % {
            "n": services.MAX_MESSAGE})
        return _detail(request, pk)
    try:
        services.request_reply(actor=request.user, request=req, body=form.cleaned_data["body"],
                               ask_for_info=form.cleaned_data["ask_for_info"])
    except HavenError as exc:
        return _refused(request, pk, exc)
    return _done(request, pk, _("Reply sent."))


@requires(Perm.REQUEST_TRIAGE)
@require_POST
def transition(request: HttpRequest, pk: UUID) -> HttpResponse:
    req = _get(request, pk)
    to = request.POST.get("to", "")
    try:
        services.request_transition(actor=request.user, request=req, to=to)
    except HavenError as exc:
        return _refused(request, pk, exc)
    return _done(request, pk, _("Status changed."))


@requires(Perm.REQUEST_TRIAGE)
@require_POST
def convert(request: HttpRequest, pk: UUID) -> HttpResponse:
    req = _get(request, pk)
    form = ConvertForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The case was not opened: a legal name is required."))
        return _detail(request, pk)
    try:
        services.request_convert(actor=request.user, request=req, **form.cleaned_data)
    except HavenError as exc:
        return _refused(request, pk, exc)
    return _done(request, pk, _("Accepted: the person was created and the conversation linked."))
