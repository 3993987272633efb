"""Staff pages for pathways: reference data, where to apply, applications, dossiers, travel
and the outcomes board. Thin: parse, call a service or selector, render. A refused service
call shows its message on the form that caused it, and nothing changes."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from haven.access import policy
from haven.access.decorators import requires
from haven.access.permissions import Perm
from haven.accounts.decorators import reauth_required
from haven.accounts.services import SESSION_REAUTH_AT
from haven.cases import selectors as case_selectors
from haven.cases import services as case_services
from haven.cases.models import Case, DocType, Member, member_labels
from haven.cases.services.common import KEEP
from haven.cases.views import rebound_on_stale
from haven.core.csrf import csrf_first_unless, csrf_protect, csrf_refusal
from haven.core.errors import HavenError, NotFound, Stale, ValidationFailed
from haven.core.forms import apply_error
from haven.keyring import files, keys
from haven.pathways import charts, selectors, services
from haven.pathways import forms as pw_forms
from haven.pathways.models import (
    GRANTED,
    TRAVEL_TRANSITIONS,
    Application,
    ApplicationDate,
    ApplicationStatus,
    Country,
    DossierState,
    Pathway,
    Travel,
    TravelStatus,
    application_targets,
)
from haven.pathways.services.applications import DETAILS, FOLLOWABLE

AS = ApplicationStatus
TS = TravelStatus


# --- lookups: a record the user may not see is a 404, like a missing one ------------------------


def _case(request: HttpRequest, pk: UUID) -> Case:
    try:
        return case_selectors.case_get(actor=request.user, pk=pk)
    except NotFound:
        raise Http404 from None


def _application(request: HttpRequest, pk: UUID) -> Application:
    try:
        return selectors.application_get(actor=request.user, pk=pk)
    except NotFound:
        raise Http404 from None


def _travel(request: HttpRequest, pk: UUID) -> Travel:
    try:
        return selectors.travel_get(actor=request.user, pk=pk)
    except NotFound:
        raise Http404 from None


def _pathway(request: HttpRequest, slug: str) -> Pathway:
    try:
        return selectors.pathway_get(actor=request.user, slug=slug)
    except NotFound:
        raise Http404 from None


def _members(case: Case) -> list[Member]:
    return list(Member.objects.filter(case=case).order_by("-is_principal", "created_at"))


def _countries() -> list[Country]:
    return list(Country.objects.order_by("name"))


# --- reference data ------------------------------------------------------------------------------


@requires(Perm.PATHWAY_READ)
@require_GET
def pathway_list(request: HttpRequest) -> HttpResponse:
    form = pw_forms.PathwayFilterForm(request.GET or None, countries=_countries())
    filters = form.cleaned_data if form.is_valid() else {}
    pathways = selectors.pathway_list(actor=request.user, **{
        k: filters.get(k, "") for k in ("country", "status", "kind")})
    return render(request, "pathways/list.html", {
        "form": form, "pathways": pathways,
        "may_outcomes": policy.has_perm(request.user, Perm.OUTCOMES_READ),
        "may_dossiers": policy.has_perm(request.user, Perm.DOSSIER_APPROVE)})


@requires(Perm.PATHWAY_READ)
@require_GET
def pathway_detail(request: HttpRequest, slug: str) -> HttpResponse:
    pathway = _pathway(request, slug)
    outcome = selectors.pathway_outcomes(actor=request.user, pathways=[pathway]).get(pathway.pk)
    return render(request, "pathways/detail.html", {
        "pathway": pathway, "outcome": outcome,
        "may_update": policy.has_perm(request.user, Perm.PATHWAY_UPDATE)})


@requires(Perm.PATHWAY_UPDATE)
@require_http_methods(["GET", "POST"])
def pathway_edit(request: HttpRequest, slug: str) -> HttpResponse:
    pathway = _pathway(request, slug)
    initial = {name: getattr(pathway, name) for name in pw_forms.PathwayEditForm.EDITABLE}
    form = pw_forms.PathwayEditForm(request.POST or None,
                                    initial={**initial, "version": pathway.version})
    if request.method == "POST" and form.is_valid():
        try:
            services.pathway_update(actor=request.user, pathway=pathway,
                                    version=form.cleaned_data["version"],
                                    **form.changes(pathway))
        except Stale as exc:
            form = rebound_on_stale(request, pw_forms.PathwayEditForm, exc)
        except HavenError as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("Pathway saved."))
            return HttpResponseRedirect(reverse("pathways:detail", args=[pathway.slug]))
    return render(request, "pathways/edit.html", {"pathway": pathway, "form": form},
                  status=400 if form.errors else 200)


# --- where to apply ------------------------------------------------------------------------------


def _render_where(request: HttpRequest, case: Case, status: int = 200,
                  bound: pw_forms.ApplicationStartForm | None = None) -> HttpResponse:
    user = request.user
    include_closed = request.GET.get("closed") == "1"
    fits = selectors.pathway_ranking(actor=user, case=case, include_closed=include_closed)
    members = _members(case)
    travelling = [str(m.pk) for m in members if m.travels_with] or [str(m.pk) for m in members]
    follows_id = (bound.data.get("follows") if bound is not None
                  else request.GET.get("follows", ""))
    follows = None
    follows_pk = _uuid_or_none(follows_id) if follows_id else None
    if follows_pk is not None:
        follows = selectors.application_list(actor=user, case=case).filter(
            pk=follows_pk).first()
    return render(request, "pathways/where.html", {
        "case": case, "fits": fits, "travelling": travelling,
        "members": [(m, label) for m, label in zip(
            members, member_labels(members).values(), strict=True)],
        "follows": follows, "include_closed": include_closed, "bound": bound,
        "chosen": request.POST.getlist("members") if bound is not None else travelling,
        "may_create": policy.has_perm(user, Perm.APPLICATION_CREATE, case),
    }, status=status)


def _uuid_or_none(value: Any) -> UUID | None:
    try:
        return UUID(str(value))
    except ValueError:
        return None


@requires(Perm.APPLICATION_READ)
@require_GET
def where_to_apply(request: HttpRequest, case_id: UUID) -> HttpResponse:
    case = _case(request, case_id)
    if not policy.has_perm(request.user, Perm.APPLICATION_READ, case):
        raise Http404
    return _render_where(request, case)


def _chosen_pathway(request: HttpRequest, slug: str) -> Pathway:
    try:
        return selectors.pathway_get(actor=request.user, slug=slug)
    except NotFound:
        raise ValidationFailed(_("That pathway does not exist.")) from None


@requires(Perm.APPLICATION_CREATE)
@require_POST
def application_start(request: HttpRequest, case_id: UUID) -> HttpResponse:
    case = _case(request, case_id)
    form = pw_forms.ApplicationStartForm(request.POST, members=_members(case))
    if form.is_valid():
        data = form.cleaned_data
        try:
            pathway = _chosen_pathway(request, data["pathway"])
            follows = None
            if data["follows"]:
                follows = selectors.application_get(actor=request.user, pk=data["follows"])
            application = services.application_create(
                actor=request.user, case=case, pathway=pathway, members=data["members"],
                follows=follows)
        except HavenError as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("Application started on %(pathway)s.") % {
                "pathway": pathway.name})
            return HttpResponseRedirect(reverse("pathways:application", args=[application.pk]))
    return _render_where(request, case, status=400, bound=form)


# --- the case page's panel -----------------------------------------------------------------------


@requires(Perm.APPLICATION_READ)
@require_GET
def case_panel(request: HttpRequest, case_id: UUID) -> HttpResponse:
    """The case page's "Pathways" section, loaded on demand (htmx) or as a page of its own."""
    case = _case(request, case_id)
    user = request.user
    context = {
        "case": case,
        "applications": list(selectors.application_list(actor=user, case=case)),
        "travels": list(selectors.travel_list(actor=user, case=case).prefetch_related(
            "members")) if policy.has_perm(user, Perm.TRAVEL_READ, case) else [],
        "arrival_offer": selectors.case_arrival_offer(actor=user, case=case),
        "may_travel": policy.has_perm(user, Perm.TRAVEL_MANAGE, case),
    }
    template = ("pathways/_case_panel.html" if request.headers.get("HX-Request")
                else "pathways/case_panel.html")
    return render(request, template, context)


# --- applications --------------------------------------------------------------------------------


def _transition_initial(application: Application, target: ApplicationStatus,
                        dates: list[ApplicationDate]) -> dict[str, Any]:
    """What the record already holds for a move to ``target``: the form starts from it (a
    visa's validity saved earlier, the open interview date), so nothing is typed twice."""
    def open_date(kind: str) -> ApplicationDate | None:
        return next((d for d in dates if d.kind == kind and d.task is not None
                     and d.task.status == "open"), None)

    if target == AS.SUBMITTED:
        return {"submitted_to": str(application.submitted_to),
                "external_reference": str(application.external_reference)}
    if target in (AS.INTERVIEW_SCHEDULED, AS.INFORMATION_REQUESTED):
        kind, on, label = (("interview", "interview_on", "interview_label")
                           if target == AS.INTERVIEW_SCHEDULED
                           else ("deadline", "deadline", "deadline_label"))
        entry = open_date(kind)
        return {on: entry.on, label: str(entry.label)} if entry is not None else {}
    if target in (AS.APPROVED, AS.REFUSED):
        return {"refusal_reasons": str(application.refusal_reasons)}
    if target == AS.VISA_ISSUED:
        return {"valid_from": application.valid_from, "valid_until": application.valid_until}
    return {}


def _transition_form(application: Application, target: ApplicationStatus,
                     applicants: list[Any], dates: list[ApplicationDate],
                     data: Any = None) -> pw_forms.TransitionForm:
    return pw_forms.TransitionForm(
        data, prefix=target, to=target, details=DETAILS.get(target, frozenset()),
        applicants=applicants,
        initial=None if data is not None else _transition_initial(application, target, dates))


def _transition_forms(application: Application, applicants: list[Any],
                      dates: list[ApplicationDate], bound: dict[str, pw_forms.TransitionForm],
                      error: str = "") -> list[dict[str, Any]]:
    return [{"to": target.value, "label": target.label,
             "form": bound.get(target) or _transition_form(application, target, applicants,
                                                           dates),
             "open": target in bound, "error": error if target in bound else ""}
            for target in application_targets(application.status)]


def _application_context(request: HttpRequest, application: Application, **bound: Any
                         ) -> dict[str, Any]:
    user = request.user
    case = application.case
    applicants = list(application.applicants.select_related("member").order_by(
        "-member__is_principal", "created_at"))
    dates = list(ApplicationDate.objects.filter(application=application).select_related("task")
                 .order_by("on"))
    keys.prefetch([application, *dates])
    may = {p.name.lower(): policy.has_perm(user, p, application) for p in (
        Perm.APPLICATION_TRANSITION, Perm.APPLICATION_UPDATE, Perm.DOSSIER_REQUEST,
        Perm.DOSSIER_APPROVE, Perm.DOSSIER_EXPORT, Perm.TRAVEL_MANAGE, Perm.TRAVEL_READ)}
    travels = (list(selectors.travel_list(actor=user, case=case).prefetch_related("members"))
               if may["travel_read"] else [])
    exports = (list(selectors.dossier_exports(actor=user, state="", application=application))
               if may["dossier_request"] else [])
    error = bound.pop("transition_error", "")
    transitions = _transition_forms(application, applicants, dates,
                                    bound.pop("transition_forms", {}), error)
    return {
        "application": application, "case": case, "applicants": applicants, "dates": dates,
        "may": may, "checklist": selectors.application_checklist(application),
        "history": selectors.application_history(application),
        "transitions": transitions,
        # A refusal for a step that is not offered here (the page was out of date) is shown
        # above the steps.
        "transition_error": "" if any(t["error"] for t in transitions) else error,
        "update_form": bound.pop("update_form", None) or pw_forms.ApplicationUpdateForm(initial={
            "submitted_to": str(application.submitted_to),
            "external_reference": str(application.external_reference),
            "refusal_reasons": str(application.refusal_reasons),
            "valid_from": application.valid_from, "valid_until": application.valid_until,
            "version": getattr(application, "version", None)}),
        "date_form": bound.pop("date_form", None) or pw_forms.DateForm(),
        "dossier_form": bound.pop("dossier_form", None) or pw_forms.DossierRequestForm(
            initial={"language": "en"}),
        "exports": exports,
        "travels": travels,
        "followable": application.status in FOLLOWABLE,
        "followed_by": list(selectors.application_list(actor=user, case=case).filter(
            follows=application)),
        "plan_travel": application.status in GRANTED and may["travel_manage"],
        "language": request.LANGUAGE_CODE if hasattr(request, "LANGUAGE_CODE") else "en",
    }


def _render_application(request: HttpRequest, application: Application, status: int = 200,
                        **bound: Any) -> HttpResponse:
    return render(request, "pathways/application.html",
                  _application_context(request, application, **bound), status=status)


def _to_application(application: Application, anchor: str = "") -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("pathways:application", args=[application.pk])
                                + (f"#{anchor}" if anchor else ""))


@requires(Perm.APPLICATION_READ)
@require_GET
def application_detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    return _render_application(request, _application(request, pk))


@requires(Perm.APPLICATION_TRANSITION)
@require_POST
def application_transition(request: HttpRequest, pk: UUID) -> HttpResponse:
    """One move of the application. From htmx (the step's form posted in place), a refused
    move answers with that step alone, open, with its errors; a done one sends the browser
    to the application page."""
    application = _application(request, pk)
    to = request.POST.get("to", "")
    if to not in AS.values:
        messages.error(request, _("Unknown status."))
        return _to_application(application, "status")
    target = AS(to)
    applicants = list(application.applicants.select_related("member").order_by(
        "-member__is_principal", "created_at"))
    dates = list(ApplicationDate.objects.filter(application=application).select_related("task"))
    form = _transition_form(application, target, applicants, dates, request.POST)
    error, status = _("Check the details of this step."), 400
    if form.is_valid():
        try:
            services.application_transition(actor=request.user, application=application,
                                            to=target, on=form.cleaned_data.get("on"),
                                            **form.details())
        except HavenError as exc:
            apply_error(form, exc)
            error, status = exc.message, 409
        else:
            messages.success(request, _("Application moved to “%(status)s”.") % {
                "status": target.label})
            if request.headers.get("HX-Request"):
                return HttpResponse(status=204, headers={"HX-Redirect": reverse(
                    "pathways:application", args=[application.pk])})
            return _to_application(application, "status")
    application.refresh_from_db()
    if request.headers.get("HX-Request"):
        # htmx swaps only successful answers: the step comes back open with its errors.
        return render(request, "pathways/_transition.html", {
            "application": application, "t": {"to": target.value, "label": target.label,
                                              "form": form, "open": True, "error": error}})
    return _render_application(request, application, status=status,
                               transition_forms={target: form}, transition_error=error)


@requires(Perm.APPLICATION_UPDATE)
@require_POST
def checklist_tick(request: HttpRequest, pk: UUID) -> HttpResponse:
    """Tick or untick one checklist item for one applicant (who and when are kept)."""
    application = _application(request, pk)
    form = pw_forms.ChecklistTickForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose an applicant and an item of the checklist."))
        return _to_application(application, "checklist")
    data = form.cleaned_data
    try:
        services.checklist_tick(actor=request.user, application=application,
                                member=data["member"], doc_type=data["doc_type"],
                                done=data["done"])
    except HavenError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Checklist ticked.") if data["done"]
                         else _("Tick removed."))
    return _to_application(application, "checklist")


@requires(Perm.APPLICATION_UPDATE)
@require_POST
def application_update(request: HttpRequest, pk: UUID) -> HttpResponse:
    application = _application(request, pk)
    form = pw_forms.ApplicationUpdateForm(request.POST)
    if form.is_valid():
        try:
            services.application_update(actor=request.user, application=application,
                                        **form.cleaned_data)
        except Stale as exc:
            form = rebound_on_stale(request, pw_forms.ApplicationUpdateForm, exc)
        except HavenError as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("Details saved."))
            return _to_application(application, "details")
    return _render_application(request, application, status=400, update_form=form)


@requires(Perm.APPLICATION_UPDATE)
@require_POST
def application_date(request: HttpRequest, pk: UUID) -> HttpResponse:
    application = _application(request, pk)
    form = pw_forms.DateForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            entry = None
            if data["entry"]:
                entry = ApplicationDate.objects.filter(application=application,
                                                       pk=data["entry"]).first()
                if entry is None:
                    raise NotFound(_("Not found."))
            services.application_date_set(actor=request.user, application=application,
                                          kind=data["kind"], on=data["on"],
                                          label=data["label"] or None, entry=entry)
        except HavenError as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("Date saved; its task follows it."))
            return _to_application(application, "dates")
    return _render_application(request, application, status=400, date_form=form)


# --- dossiers ------------------------------------------------------------------------------------


@requires(Perm.DOSSIER_REQUEST)
@require_POST
def dossier_request(request: HttpRequest, pk: UUID) -> HttpResponse:
    application = _application(request, pk)
    form = pw_forms.DossierRequestForm(request.POST)
    if form.is_valid():
        try:
            services.dossier_request(actor=request.user, application=application,
                                     fields=form.cleaned_data["include"],
                                     language=form.cleaned_data["language"])
        except HavenError as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("Dossier requested: a coordinator will review it."))
            return _to_application(application, "dossier")
    return _render_application(request, application, status=400, dossier_form=form)


@requires(Perm.DOSSIER_APPROVE)
@require_GET
def dossier_queue(request: HttpRequest) -> HttpResponse:
    user = request.user
    return render(request, "pathways/dossiers.html", {
        "requested": list(selectors.dossier_exports(actor=user, state=DossierState.REQUESTED)),
        "approved": list(selectors.dossier_exports(actor=user, state=DossierState.APPROVED)),
        "downloaded": list(selectors.dossier_exports(
            actor=user, state=DossierState.DOWNLOADED).order_by("-downloaded_at")[:20]),
        "may_export": policy.has_perm(user, Perm.DOSSIER_EXPORT),
    })


def _export(request: HttpRequest, pk: UUID) -> Any:
    export = selectors.dossier_exports(actor=request.user, state="").filter(pk=pk).first()
    if export is None:
        raise Http404
    return export


@requires(Perm.DOSSIER_APPROVE)
@require_POST
def dossier_decide(request: HttpRequest, pk: UUID) -> HttpResponse:
    export = _export(request, pk)
    form = pw_forms.DossierDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose approve or decline."))
    else:
        try:
            if form.cleaned_data["decision"] == "approve":
                services.dossier_approve(actor=request.user, export=export)
                messages.success(request, _("Dossier request approved."))
            else:
                services.dossier_decline(actor=request.user, export=export)
                messages.success(request, _("Dossier request declined."))
        except HavenError as exc:
            messages.error(request, exc.message)
    if request.POST.get("next") == "application":
        return _to_application(export.application, "dossier")
    return HttpResponseRedirect(reverse("pathways:dossiers"))


@reauth_required
def _download(request: HttpRequest, pk: UUID) -> HttpResponse:
    export = _export(request, pk)
    application = _application(request, export.application_id)
    try:
        dossier = services.dossier_export(
            actor=request.user, application=application, export=export,
            reauthenticated_at=request.session.get(SESSION_REAUTH_AT))
    except services.ReauthenticationRequired:
        target = reverse("pathways:dossier_download", args=[pk])
        return HttpResponseRedirect(f"{reverse('accounts:reauth')}?{urlencode({'next': target})}")
    except HavenError as exc:
        messages.error(request, exc.message)
        return _to_application(application, "dossier")
    response = HttpResponse(dossier.content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{dossier.filename}"'
    response["Cache-Control"] = "no-store"
    return response


@requires(Perm.DOSSIER_EXPORT)
@require_GET
def dossier_download(request: HttpRequest, pk: UUID) -> HttpResponse:
    """The PDF of an approved request: only within minutes of re-authenticating (otherwise
    the re-authentication page, which brings the coordinator back here)."""
    return _download(request, pk)


# --- travel --------------------------------------------------------------------------------------


def _plan_form(request: HttpRequest, case: Case, data: Any = None, **kwargs: Any
               ) -> pw_forms.TravelPlanForm:
    applications = [a for a in selectors.application_list(actor=request.user, case=case)
                    if a.status in GRANTED]
    return pw_forms.TravelPlanForm(data, members=_members(case), applications=applications,
                                   **kwargs)


@requires(Perm.TRAVEL_MANAGE)
@require_http_methods(["GET", "POST"])
def travel_new(request: HttpRequest, case_id: UUID) -> HttpResponse:
    case = _case(request, case_id)
    if not policy.has_perm(request.user, Perm.TRAVEL_MANAGE, case):
        raise Http404
    if request.method == "GET":
        approved = [str(a.member_id) for a in _approved_applicants(request, case)]
        members = approved or [str(m.pk) for m in _members(case) if m.travels_with]
        form = _plan_form(request, case, initial={
            "members": members, "application": request.GET.get("application", "")})
    else:
        form = _plan_form(request, case, request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                application = (selectors.application_get(actor=request.user,
                                                         pk=data["application"])
                               if data["application"] else None)
                travel = services.travel_plan(
                    actor=request.user, case=case, members=data["members"],
                    application=application, depart_on=data["depart_on"], route=data["route"],
                    transit_points=data["transit_points"], escort=data["escort"])
            except HavenError as exc:
                apply_error(form, exc)
            else:
                messages.success(request, _("Journey planned."))
                return HttpResponseRedirect(reverse("pathways:travel", args=[travel.pk]))
    return render(request, "pathways/travel_new.html", {"case": case, "form": form},
                  status=400 if form.errors else 200)


def _approved_applicants(request: HttpRequest, case: Case) -> list[Any]:
    """Applicants approved on the application named in ``?application=`` (to preselect the
    travellers of a split decision)."""
    pk = _uuid_or_none(request.GET.get("application", ""))
    if pk is None:
        return []
    application = selectors.application_list(actor=request.user, case=case).filter(pk=pk).first()
    if application is None:
        return []
    return list(application.applicants.filter(outcome="approved"))


def _travel_context(request: HttpRequest, travel: Travel, **bound: Any) -> dict[str, Any]:
    user = request.user
    show_route = request.GET.get("show") == "route" or bool(bound.pop("show_route", False))
    route = selectors.travel_route(actor=user, travel=travel) if show_route else None
    may_manage = policy.has_perm(user, Perm.TRAVEL_MANAGE, travel)
    targets = [t for t in TRAVEL_TRANSITIONS[TS(travel.status)] if t != TS.ARRIVED]
    arrival = getattr(travel, "arrival", None) if travel.status == TS.ARRIVED else None
    if arrival is not None:
        keys.prefetch([arrival])
    members = list(travel.members.order_by("-is_principal", "created_at"))
    last_step = selectors.travel_last_step(actor=user, travel=travel)
    update_initial: dict[str, Any] = {"depart_on": travel.depart_on}
    if route is not None:
        update_initial.update(route=route.route, transit_points=route.transit_points,
                              escort=route.escort)
    return {
        "travel": travel, "case": travel.case, "route": route,
        "may_see_route": policy.may_see_route(user, travel), "may_manage": may_manage,
        "members": members,
        "targets": [(t.value, t.label) for t in targets],
        "may_arrive": TS.ARRIVED in TRAVEL_TRANSITIONS[TS(travel.status)],
        "may_detain": TS.DETAINED in targets,
        "arrival": arrival,
        "receiving_partner": str(arrival.receiving_partner) if arrival is not None else "",
        "ended": not TRAVEL_TRANSITIONS[TS(travel.status)],
        "update_form": bound.pop("update_form", None) or pw_forms.TravelUpdateForm(
            initial=update_initial, with_route=route is not None),
        "arrival_form": bound.pop("arrival_form", None) or pw_forms.ArrivalForm(
            countries=_countries(), initial={
                "country": travel.application.pathway.country.code
                if travel.application_id and travel.application else ""}),
        "transition_error": bound.pop("transition_error", ""),
        "last_step": last_step,
        "last_summary": selectors.step_summary(last_step) if last_step is not None else [],
        "booking_form": bound.pop("booking_form", None) or pw_forms.BookingForm(),
        "bookings": [(b, pw_forms.BookingForm(prefix=str(b.booking.pk),
                                              initial=_booking_initial(b)))
                     for b in (route.bookings if route is not None else [])],
        "ticket_form": pw_forms.TicketForm(members=members),
    }


def _booking_initial(view: selectors.BookingView) -> dict[str, Any]:
    return {name: getattr(view, name) for name in (
        "mode", "carrier", "number", "departs_from", "arrives_in", "departs_at", "arrives_at",
        "reference")}


def _render_travel(request: HttpRequest, travel: Travel, status: int = 200, **bound: Any
                   ) -> HttpResponse:
    return render(request, "pathways/travel.html", _travel_context(request, travel, **bound),
                  status=status)


def _to_travel(travel: Travel) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("pathways:travel", args=[travel.pk]))


@requires(Perm.TRAVEL_READ)
@require_GET
def travel_detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    return _render_travel(request, _travel(request, pk))


@requires(Perm.TRAVEL_MANAGE)
@require_POST
def travel_update(request: HttpRequest, pk: UUID) -> HttpResponse:
    travel = _travel(request, pk)
    with_route = request.POST.get("with_route") == "1" and policy.may_see_route(
        request.user, travel)
    form = pw_forms.TravelUpdateForm(request.POST, with_route=with_route)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.travel_update(
                actor=request.user, travel=travel, depart_on=data["depart_on"],
                route=data["route"] if with_route else KEEP,
                transit_points=data["transit_points"] if with_route else KEEP,
                escort=data["escort"] if with_route else KEEP)
        except HavenError as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("Journey saved."))
            return _to_travel(travel)
    return _render_travel(request, travel, status=400, update_form=form,
                          show_route=with_route)


@requires(Perm.TRAVEL_MANAGE)
@require_POST
def travel_transition(request: HttpRequest, pk: UUID) -> HttpResponse:
    travel = _travel(request, pk)
    to = request.POST.get("to", "")
    if to == TS.ARRIVED:
        form = pw_forms.ArrivalForm(request.POST, countries=_countries())
        if form.is_valid():
            try:
                step = services.travel_transition(actor=request.user, travel=travel, to=to,
                                                  **form.cleaned_data)
            except HavenError as exc:
                apply_error(form, exc)
            else:
                _moved(request, _("Arrival recorded."), step)
                return _to_travel(travel)
        travel.refresh_from_db()
        return _render_travel(request, travel, status=400, arrival_form=form)
    try:
        step = services.travel_transition(actor=request.user, travel=travel, to=to)
    except HavenError as exc:
        travel.refresh_from_db()
        return _render_travel(request, travel, status=409 if exc.status == 409 else 400,
                              transition_error=exc.message)
    _moved(request, _("Journey moved to “%(status)s”.") % {"status": TS(to).label}, step)
    return _to_travel(travel)


def _moved(request: HttpRequest, done: str, step: Any) -> None:
    """The move, and what it changed elsewhere: the person sees at once that the case, the
    beds and the tasks followed."""
    messages.success(request, " ".join([done, *selectors.step_summary(step)]))


@requires(Perm.TRAVEL_MANAGE)
@require_POST
def travel_undo(request: HttpRequest, pk: UUID) -> HttpResponse:
    """Take back the journey's latest move ("arrival recorded by mistake")."""
    travel = _travel(request, pk)
    try:
        step = services.travel_undo(actor=request.user, travel=travel)
    except HavenError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Undone: the journey is “%(status)s” again, and what the "
                                    "move changed is put back.") % {
            "status": TS(step.from_status).label})
    return _to_travel(travel)


def _to_bookings(travel: Travel) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("pathways:travel", args=[travel.pk])
                                + "?show=route#bookings")


@requires(Perm.TRAVEL_MANAGE)
@require_POST
def booking_add(request: HttpRequest, pk: UUID) -> HttpResponse:
    travel = _travel(request, pk)
    form = pw_forms.BookingForm(request.POST)
    if form.is_valid():
        try:
            services.booking_add(actor=request.user, travel=travel, **form.cleaned_data)
        except HavenError as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("Booking added."))
            return _to_bookings(travel)
    return _render_travel(request, travel, status=400, booking_form=form, show_route=True)


@requires(Perm.TRAVEL_MANAGE)
@require_POST
def booking_edit(request: HttpRequest, pk: UUID, booking_id: UUID) -> HttpResponse:
    """Change a booking (its own form, prefixed with its id), or remove it (``remove``)."""
    travel = _travel(request, pk)
    try:
        booking = selectors.booking_get(actor=request.user, travel=travel, pk=booking_id)
    except NotFound:
        raise Http404 from None
    if request.POST.get("remove"):
        try:
            services.booking_remove(actor=request.user, booking=booking)
        except HavenError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Booking removed."))
        return _to_bookings(travel)
    form = pw_forms.BookingForm(request.POST, prefix=str(booking.pk))
    if form.is_valid():
        try:
            services.booking_update(actor=request.user, booking=booking, **form.cleaned_data)
        except HavenError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Booking saved."))
    else:
        messages.error(request, _("The booking's details are not valid: see fields."))
    return _to_bookings(travel)


def _may_manage_travel(request: HttpRequest) -> bool:
    return bool(request.user.is_authenticated
                and policy.has_perm(request.user, Perm.TRAVEL_MANAGE))


@csrf_exempt  # CSRF is checked below, after the encrypting upload handler is installed (as
@csrf_first_unless(_may_manage_travel)  # for case documents), or first when it cannot go on
@requires(Perm.TRAVEL_MANAGE)
@require_POST
def booking_ticket(request: HttpRequest, pk: UUID, booking_id: UUID) -> HttpResponse:
    """Attach a traveller's ticket to a booking: the file is sealed under the case's key as
    it streams in and becomes that person's ticket document."""
    try:
        travel, booking = _managed_booking(request, pk, booking_id)
    except NotFound:
        refused = csrf_refusal(request)
        if refused is not None:
            return refused
        raise Http404 from None
    case = travel.case
    handler = files.EncryptingUploadHandler(request, data_key=keys.data_key_for(case),
                                            owner=case.keyring_owner())
    request.upload_handlers = [handler]
    return _ticket_store(request, travel, booking, handler)


def _managed_booking(request: HttpRequest, pk: UUID, booking_id: UUID) -> tuple[Travel, Any]:
    travel = selectors.travel_get(actor=request.user, pk=pk)
    booking = selectors.booking_get(actor=request.user, travel=travel, pk=booking_id)
    if not policy.has_perm(request.user, Perm.TRAVEL_MANAGE, travel):
        raise NotFound(_("Not found."))
    return travel, booking


@csrf_protect
def _ticket_store(request: HttpRequest, travel: Travel, booking: Any,
                  handler: files.EncryptingUploadHandler) -> HttpResponse:
    uploads = [u for u in request.FILES.getlist("file") if isinstance(u, files.EncryptedUpload)]
    form = pw_forms.TicketForm(request.POST, members=travel.members.all())
    try:
        if len(uploads) != 1:
            raise ValidationFailed(_("Choose exactly one file."))
        if not form.is_valid():
            raise ValidationFailed(_("Say whose ticket this is."))
        member = case_selectors.member_get(actor=request.user, case=travel.case,
                                             person_id=form.cleaned_data["person"])
        with transaction.atomic():
            document = case_services.document_attach(
                actor=request.user, case=travel.case, upload=uploads[0], person=member.person,
                doc_type=DocType.TICKET)
            services.booking_ticket_add(actor=request.user, booking=booking, document=document)
    except HavenError as exc:
        handler.abort()
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Ticket stored, encrypted."))
    return _to_bookings(travel)


# --- outcomes ------------------------------------------------------------------------------------


def _percent(rate: float | None) -> float:
    return round(100 * rate, 1) if rate is not None else 0.0


@requires(Perm.OUTCOMES_READ)
@require_GET
def outcomes(request: HttpRequest) -> HttpResponse:
    countries = list(Country.objects.filter(pathways__isnull=False).distinct().order_by("name"))
    form = pw_forms.OutcomesFilterForm(request.GET or None, countries=countries)
    country = form.cleaned_data.get("country", "") if form.is_valid() else ""
    board = selectors.outcomes_board(actor=request.user, country=country)
    stage_names = [_("Applied"), _("Submitted"), _("Approved"),
                   _("Visa issued"), _("Travelled"), _("Arrived")]
    funnels = [{
        "row": row,
        "chart": charts.funnel_chart(
            list(zip(stage_names, [row.funnel[k] for k in selectors.FUNNEL], strict=True)),
            title=_("%(country)s: from case to arrival") % {"country": row.country_name},
            empty_text=_("No data")),
        "pathways": board.pathways_of(row.country),
    } for row in board.countries]
    decided = [r for r in board.pathways if r.approval_rate is not None]
    approval_chart = charts.bar_chart(
        [(r.pathway_name, _percent(r.approval_rate)) for r in decided],
        title=_("Approval rate by pathway"), unit="%", max_value=100,
        empty_text=_("No decisions yet"))
    timed = [r for r in board.pathways if r.median_days_to_decision is not None]
    days_chart = charts.bar_chart(
        [(r.pathway_name, float(r.median_days_to_decision or 0)) for r in timed],
        title=_("Median days to a decision by pathway"), unit=_("days"),
        empty_text=_("No decisions yet"))
    stages = [(s.value, s.label) for s in selectors.STAGES]

    def cells(row: selectors.OutcomeRow) -> dict[str, Any]:
        return {"row": row, "funnel": [(k, row.funnel[k]) for k in selectors.FUNNEL],
                "rate": _percent(row.approval_rate) if row.approval_rate is not None else None,
                "days": [row.median_days.get(s) for s, _label in stages]}

    return render(request, "pathways/outcomes.html", {
        "form": form, "board": board, "funnels": funnels, "approval_chart": approval_chart,
        "days_chart": days_chart, "stages": stages, "stage_names": stage_names,
        "country_rows": [cells(r) for r in board.countries],
        "pathway_rows": [cells(r) for r in board.pathways],
        "stuck": [(s, AS(s.stage).label) for s in board.stuck], "country": country,
    })
