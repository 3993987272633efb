"""The operators' inbox (staff): list and groups, read, reply, triage, accept as a case, close
a group of alike requests; and a case's conversation for the caseworker who runs the case."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from haven.access import policy
from haven.access.decorators import requires
from haven.access.permissions import Perm
from haven.accounts.decorators import reauth_required
from haven.cases.models import Case
from haven.core.errors import HavenError, NotFound, Sealed
from haven.core.pagination import paginate
from haven.intake import selectors, services
from haven.intake.forms import ConvertForm, GroupCloseForm, ReplyForm
from haven.intake.models import TRANSITIONS, Request, RequestGroup, Status


def _get(request: HttpRequest, pk: UUID) -> Request:
    try:
        return selectors.request_get(user=request.user, pk=pk)
    except NotFound:
        raise Http404 from None


def _group(request: HttpRequest, pk: UUID) -> RequestGroup:
    try:
        return selectors.group_get(user=request.user, pk=pk)
    except NotFound:
        raise Http404 from None


def _detail(request: HttpRequest, pk: UUID) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("inbox:detail", args=[pk]))


@requires(Perm.REQUEST_READ)
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    sealed = False
    try:
        services.requests_screen(actor=request.user)
    except Sealed:
        sealed = True
    page = paginate(request, selectors.request_list(user=request.user, status=status))
    groups = (Paginator(selectors.group_list(user=request.user), 20)
              .get_page(request.GET.get("groups_page")) if not status else None)
    return render(request, "intake/inbox.html", {
        "page": page, "status": status, "statuses": Status.choices, "groups": groups,
        "sealed": sealed,
    })


def _accept_context(request: HttpRequest, req: Request, form: ConvertForm,
                    matches: list[selectors.Match]) -> dict[str, Any]:
    return {"convert_form": form, "matches": matches,
            "can_convert": Status.ACCEPTED in TRANSITIONS[req.status]
            and policy.has_perm(request.user, Perm.REQUEST_TRIAGE, req)}


def _render_detail(request: HttpRequest, req: Request, *, form: ConvertForm | None = None,
                   matches: list[selectors.Match] | None = None, status: int = 200,
                   reply_url: str = "") -> HttpResponse:
    opened = None
    sealed = False
    try:
        opened = selectors.request_open(actor=request.user, request=req)
    except Sealed:
        sealed = True
    if form is None:
        phone = selectors.phone_in(opened.payload.contact) if opened else ""
        form = ConvertForm(initial={"phone": phone})
        if phone and Status.ACCEPTED in TRANSITIONS[req.status]:
            matches = selectors.likely_existing(actor=request.user, phone=phone)
    may_triage = policy.has_perm(request.user, Perm.REQUEST_TRIAGE, req)
    return render(request, "intake/detail.html", {
        "req": req, "opened": opened, "sealed": sealed, "reply_form": ReplyForm(),
        "reply_url": reply_url or reverse("inbox:reply", args=[req.pk]),
        "waiting": selectors.waiting_messages(request=req),
        "next_statuses": [(s, Status(s).label) for s in TRANSITIONS[req.status]
                          if s != Status.ACCEPTED] if may_triage else [],
        "may_inbox": policy.has_perm(request.user, Perm.REQUEST_READ),
        **_accept_context(request, req, form, matches or []),
    }, status=status)


# Every page that shows a request decrypted (its contact, region and story, the messages) and
# accepting one (which carries them into a case, and shows them again on a refusal) asks for
# a recent re-authentication, like a reveal on the case page (issue 13, item 5).


@requires(Perm.REQUEST_READ)
@require_GET
@reauth_required
def detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    return _render_detail(request, _get(request, pk))


def _done(request: HttpRequest, pk: UUID, text: str) -> HttpResponseRedirect:
    messages.success(request, text)
    return _detail(request, pk)


def _refused(request: HttpRequest, pk: UUID, exc: HavenError) -> HttpResponseRedirect:
    messages.error(request, exc.message)
    return _detail(request, pk)


def _reply(request: HttpRequest, req: Request, back: str) -> HttpResponse:
    form = ReplyForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The reply was not sent: write 1–%(n)d characters.") % {
            "n": services.MAX_MESSAGE})
    else:
        try:
            services.request_reply(actor=request.user, request=req,
                                   body=form.cleaned_data["body"],
                                   ask_for_info=form.cleaned_data["ask_for_info"])
        except HavenError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Reply sent."))
    return HttpResponseRedirect(back)


@requires(Perm.REQUEST_REPLY)
@require_POST
def reply(request: HttpRequest, pk: UUID) -> HttpResponse:
    return _reply(request, _get(request, pk), reverse("inbox:detail", args=[pk]))


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
@reauth_required
def convert(request: HttpRequest, pk: UUID) -> HttpResponse:
    """Accept: propose a likely existing case first (exact name or phone), else open one."""
    req = _get(request, pk)
    form = ConvertForm(request.POST)
    if not form.is_valid():
        if form.has_error("legal_name"):
            form.add_error(None, _("The case was not opened: a legal name is required."))
        return _render_detail(request, req, form=form, status=400)
    data = form.cleaned_data
    link = None
    if data["link_case"]:
        link = selectors.visible_case(actor=request.user, pk=data["link_case"])
        if link is None:
            raise Http404
    elif not data["create_anyway"]:
        matches = selectors.likely_existing(actor=request.user, legal_name=data["legal_name"],
                                            phone=data["phone"])
        if matches:
            return _render_detail(request, req, form=form, matches=matches, status=409)
    try:
        accepted = services.request_accept(
            actor=request.user, request=req, legal_name=data["legal_name"],
            other_names=data["other_names"], phone=data["phone"], link_case=link)
    except HavenError as exc:
        apply = ConvertForm(request.POST)
        apply.is_valid()
        apply.add_error(None, exc.message)
        return _render_detail(request, req, form=apply, status=400)
    messages.success(request, _("Accepted: the case was opened with what the request said, and "
                                "the conversation is linked to it.") if accepted.created else
                     _("Accepted: linked to this case; the request's words were added as a "
                       "note."))
    return HttpResponseRedirect(reverse("cases:detail", args=[accepted.case.pk]))


# --- groups of alike requests ------------------------------------------------------------------


@requires(Perm.REQUEST_READ)
@require_GET
@reauth_required
def group(request: HttpRequest, pk: UUID) -> HttpResponse:
    found = _group(request, pk)
    members = selectors.group_members(user=request.user, group=found)
    page = paginate(request, members)
    sample = None
    last = members.order_by("-created_at").values_list("created_at", flat=True).first()
    first = page.object_list[0] if len(page.object_list) else None
    if first is not None:
        try:
            sample = selectors.request_open(actor=request.user, request=first).payload
        except Sealed:
            sample = None
    return render(request, "intake/group.html", {
        "group": found, "page": page, "sample": sample, "sample_request": first,
        "last": last, "count": members.count(),
        "decisions": [(s, Status(s).label) for s in services.GROUP_DECISIONS],
        "may_triage": policy.has_perm(request.user, Perm.REQUEST_TRIAGE, found),
    })


@requires(Perm.REQUEST_TRIAGE)
@require_POST
def group_close(request: HttpRequest, pk: UUID) -> HttpResponse:
    found = _group(request, pk)
    form = GroupCloseForm(request.POST)
    back = HttpResponseRedirect(reverse("inbox:group", args=[pk]))
    if not form.is_valid():
        messages.error(request, _("Nothing was changed: choose spam, duplicate or declined."))
        return back
    try:
        closed = services.request_group_close(actor=request.user, group=found,
                                              to=form.cleaned_data["to"],
                                              seen_until=form.cleaned_data["seen_until"])
    except HavenError as exc:
        messages.error(request, exc.message)
        return back
    messages.success(request, ngettext("%(n)d request closed as “%(to)s”.",
                                       "%(n)d requests closed as “%(to)s”.", closed) % {
        "n": closed, "to": Status(form.cleaned_data["to"]).label})
    return HttpResponseRedirect(reverse("inbox:list"))


@requires(Perm.REQUEST_TRIAGE)
@require_POST
def ungroup(request: HttpRequest, pk: UUID) -> HttpResponse:
    req = _get(request, pk)
    try:
        services.request_ungroup(actor=request.user, request=req)
    except HavenError as exc:
        return _refused(request, pk, exc)
    return _done(request, pk, _("Taken out of the group."))


# --- a case's conversation, for those who run the case -----------------------------------------


def _case_request(request: HttpRequest, case_id: UUID) -> Request:
    case = policy.cases_visible_to(request.user, Case.objects.all()).filter(pk=case_id).first()
    req = selectors.case_request(actor=request.user, case=case) if case is not None else None
    if req is None:
        raise Http404
    return req


@requires(Perm.CASE_UPDATE)
@require_GET
@reauth_required
def case_conversation(request: HttpRequest, case_id: UUID) -> HttpResponse:
    return _render_detail(request, _case_request(request, case_id),
                          reply_url=reverse("inbox:case_reply", args=[case_id]))


@requires(Perm.CASE_UPDATE)
@require_POST
def case_reply(request: HttpRequest, case_id: UUID) -> HttpResponse:
    req = _case_request(request, case_id)
    return _reply(request, req, reverse("inbox:case_conversation", args=[case_id]))
