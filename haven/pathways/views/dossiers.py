"""Dossier export pages: asking for one, the coordinators' queue and decision, the download."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from haven.access import policy
from haven.access.decorators import requires
from haven.access.permissions import Perm
from haven.accounts.decorators import reauth_required
from haven.accounts.services import SESSION_REAUTH_AT
from haven.core.errors import HavenError
from haven.core.forms import apply_error
from haven.pathways import forms as pw_forms
from haven.pathways import selectors, services
from haven.pathways.models import DossierState
from haven.pathways.views.applications import render_application, to_application
from haven.pathways.views.common import application_or_404

# --- dossiers ------------------------------------------------------------------------------------


@requires(Perm.DOSSIER_REQUEST)
@require_POST
def dossier_request(request: HttpRequest, pk: UUID) -> HttpResponse:
    application = application_or_404(request, pk)
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
            return to_application(application, "dossier")
    return render_application(request, application, status=400, dossier_form=form)


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
        return to_application(export.application, "dossier")
    return HttpResponseRedirect(reverse("pathways:dossiers"))


@reauth_required
def _download(request: HttpRequest, pk: UUID) -> HttpResponse:
    export = _export(request, pk)
    application = application_or_404(request, export.application_id)
    try:
        dossier = services.dossier_export(
            actor=request.user, application=application, export=export,
            reauthenticated_at=request.session.get(SESSION_REAUTH_AT))
    except services.ReauthenticationRequired:
        target = reverse("pathways:dossier_download", args=[pk])
        return HttpResponseRedirect(f"{reverse('accounts:reauth')}?{urlencode({'next': target})}")
    except HavenError as exc:
        messages.error(request, exc.message)
        return to_application(application, "dossier")
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
