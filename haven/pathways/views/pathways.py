"""Pathways pages: the reference data, where a case may apply, and the case page's panel."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from haven.access import policy
from haven.access.decorators import requires
from haven.access.permissions import Perm
from haven.accounts.decorators import reauth_required
from haven.cases.models import Case, member_labels
from haven.cases.views import case_or_404, rebound_on_stale
from haven.core.errors import HavenError, NotFound, Stale, ValidationFailed
from haven.core.forms import apply_error
from haven.pathways import forms as pw_forms
from haven.pathways import selectors, services
from haven.pathways.models import Pathway
from haven.pathways.views.common import case_members, countries, pathway_or_404, uuid_or_none

# --- reference data ------------------------------------------------------------------------------


@requires(Perm.PATHWAY_READ)
@require_GET
def pathway_list(request: HttpRequest) -> HttpResponse:
    form = pw_forms.PathwayFilterForm(request.GET or None, countries=countries())
    filters = form.cleaned_data if form.is_valid() else {}
    pathways = selectors.pathway_list(actor=request.user, **{
        k: filters.get(k, "") for k in ("country", "status", "kind")})
    return render(request, "pathways/list.html", {
        "form": form, "pathways": pathways,
        "may_outcomes": policy.has_perm(request.user, Perm.OUTCOMES_READ),
        "may_dossiers": policy.has_perm(request.user, Perm.DOSSIER_APPROVE),
        "may_applications": policy.has_perm(request.user, Perm.APPLICATION_READ)})


@requires(Perm.PATHWAY_READ)
@require_GET
def pathway_detail(request: HttpRequest, slug: str) -> HttpResponse:
    pathway = pathway_or_404(request, slug)
    outcome = selectors.pathway_outcomes(actor=request.user, pathways=[pathway]).get(pathway.pk)
    return render(request, "pathways/detail.html", {
        "pathway": pathway, "outcome": outcome,
        "may_update": policy.has_perm(request.user, Perm.PATHWAY_UPDATE)})


@requires(Perm.PATHWAY_UPDATE)
@require_http_methods(["GET", "POST"])
def pathway_edit(request: HttpRequest, slug: str) -> HttpResponse:
    pathway = pathway_or_404(request, slug)
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
    members = case_members(case)
    travelling = [str(m.pk) for m in members if m.travels_with] or [str(m.pk) for m in members]
    follows_id = (bound.data.get("follows") if bound is not None
                  else request.GET.get("follows", ""))
    follows = None
    follows_pk = uuid_or_none(follows_id) if follows_id else None
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


@requires(Perm.APPLICATION_READ)
@require_GET
@reauth_required  # its reasons tell each member's nationality fit (profile data)
def where_to_apply(request: HttpRequest, case_id: UUID) -> HttpResponse:
    case = case_or_404(request, case_id)
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
    case = case_or_404(request, case_id)
    form = pw_forms.ApplicationStartForm(request.POST, members=case_members(case))
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
    case = case_or_404(request, case_id)
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
