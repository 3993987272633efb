"""Application pages: one application, its moves, checklist, details and dates."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from haven.access import policy
from haven.access.decorators import requires
from haven.access.permissions import Perm
from haven.cases.views import rebound_on_stale
from haven.core.errors import HavenError, NotFound, Stale
from haven.core.forms import apply_error, own_ids
from haven.keyring import keys
from haven.pathways import forms as pw_forms
from haven.pathways import selectors, services
from haven.pathways.models import (
    GRANTED,
    Application,
    ApplicationDate,
    ApplicationStatus,
    application_targets,
)
from haven.pathways.services.applications import DETAILS, FOLLOWABLE
from haven.pathways.views.common import application_or_404

AS = ApplicationStatus


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
    return own_ids({
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
    })


def render_application(request: HttpRequest, application: Application, status: int = 200,
                        **bound: Any) -> HttpResponse:
    return render(request, "pathways/application.html",
                  _application_context(request, application, **bound), status=status)


def to_application(application: Application, anchor: str = "") -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("pathways:application", args=[application.pk])
                                + (f"#{anchor}" if anchor else ""))


@requires(Perm.APPLICATION_READ)
@require_GET
def application_detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    return render_application(request, application_or_404(request, pk))


@requires(Perm.APPLICATION_TRANSITION)
@require_POST
def application_transition(request: HttpRequest, pk: UUID) -> HttpResponse:
    """One move of the application. From htmx (the step's form posted in place), a refused
    move answers with that step alone, open, with its errors; a done one sends the browser
    to the application page."""
    application = application_or_404(request, pk)
    to = request.POST.get("to", "")
    if to not in AS.values:
        messages.error(request, _("Unknown status."))
        return to_application(application, "status")
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
            return to_application(application, "status")
    application.refresh_from_db()
    if request.headers.get("HX-Request"):
        # htmx swaps only successful answers: the step comes back open with its errors.
        return render(request, "pathways/_transition.html", {
            "application": application, "t": {"to": target.value, "label": target.label,
                                              "form": form, "open": True, "error": error}})
    return render_application(request, application, status=status,
                               transition_forms={target: form}, transition_error=error)


@requires(Perm.APPLICATION_UPDATE)
@require_POST
def checklist_tick(request: HttpRequest, pk: UUID) -> HttpResponse:
    """Tick or untick one checklist item for one applicant (who and when are kept)."""
    application = application_or_404(request, pk)
    form = pw_forms.ChecklistTickForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose an applicant and an item of the checklist."))
        return to_application(application, "checklist")
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
    return to_application(application, "checklist")


@requires(Perm.APPLICATION_UPDATE)
@require_POST
def application_update(request: HttpRequest, pk: UUID) -> HttpResponse:
    application = application_or_404(request, pk)
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
            return to_application(application, "details")
    return render_application(request, application, status=400, update_form=form)


@requires(Perm.APPLICATION_UPDATE)
@require_POST
def application_date(request: HttpRequest, pk: UUID) -> HttpResponse:
    application = application_or_404(request, pk)
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
            return to_application(application, "dates")
    return render_application(request, application, status=400, date_form=form)
