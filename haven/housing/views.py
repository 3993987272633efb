"""Staff pages for safe houses: the board, one shelter, and placements from the case page."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from haven.access import policy
from haven.access.decorators import requires
from haven.access.permissions import Perm
from haven.accounts.decorators import reauth_required
from haven.cases import selectors as case_selectors
from haven.cases.forms import set_choices
from haven.cases.views import case_or_404, render_detail, to_case
from haven.core.errors import HavenError, NotFound
from haven.core.forms import apply_error
from haven.housing import selectors, services
from haven.housing.forms import (
    PlacementForm,
    ShelterForm,
    ShelterTransitionForm,
)
from haven.housing.models import SHELTER_TRANSITIONS, Shelter, ShelterStatus


def _shelter(request: HttpRequest, pk: UUID) -> Shelter:
    try:
        return selectors.shelter_get(actor=request.user, pk=pk)
    except NotFound:
        raise Http404 from None


@requires(Perm.SHELTER_READ)
@require_GET
def board(request: HttpRequest) -> HttpResponse:
    shelters = list(selectors.shelter_board(actor=request.user))
    return render(request, "housing/board.html", {
        "shelters": shelters,
        "may_manage": policy.has_perm(request.user, Perm.SHELTER_MANAGE),
        "totals": {"capacity": sum(s.capacity for s in shelters if s.status == "active"),
                   "occupied": sum(s.occupied for s in shelters)},  # type: ignore[attr-defined]
    })


@requires(Perm.SHELTER_MANAGE)
@require_http_methods(["GET", "POST"])
def shelter_new(request: HttpRequest) -> HttpResponse:
    form = ShelterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            shelter = services.shelter_create(actor=request.user, **form.cleaned_data)
        except HavenError as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("Shelter %(code)s added.") % {"code": shelter.code_name})
            return HttpResponseRedirect(reverse("shelters:detail", args=[shelter.pk]))
    return render(request, "housing/new.html", {"form": form},
                  status=400 if form.errors else 200)


def _detail(request: HttpRequest, shelter: Shelter, address: str | None = None,
            status: int = 200) -> HttpResponse:
    targets = SHELTER_TRANSITIONS[ShelterStatus(shelter.status)]
    form = ShelterTransitionForm()
    set_choices(form, "to", [(t.value, t.label) for t in targets])
    return render(request, "housing/detail.html", {
        "shelter": shelter, "address": address,
        "residents": selectors.shelter_residents(actor=request.user, shelter=shelter),
        "may_manage": policy.has_perm(request.user, Perm.SHELTER_MANAGE, shelter),
        "may_address": policy.has_perm(request.user, Perm.SHELTER_ADDRESS, shelter),
        "transition_form": form,
    }, status=status)


@requires(Perm.SHELTER_READ)
@require_GET
def shelter_detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    return _detail(request, _shelter(request, pk))


@requires(Perm.SHELTER_MANAGE)
@require_POST
def shelter_transition(request: HttpRequest, pk: UUID) -> HttpResponse:
    shelter = _shelter(request, pk)
    try:
        services.shelter_transition(actor=request.user, shelter=shelter,
                                    to=request.POST.get("to", ""))
    except HavenError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Shelter status changed."))
    return HttpResponseRedirect(reverse("shelters:detail", args=[pk]))


@requires(Perm.SHELTER_ADDRESS)
@require_POST
@reauth_required
def shelter_reveal(request: HttpRequest, pk: UUID) -> HttpResponse:
    shelter = _shelter(request, pk)
    address = services.shelter_address_reveal(actor=request.user, shelter=shelter)
    if request.headers.get("HX-Request"):
        return render(request, "cases/_revealed.html", {"value": address})
    return _detail(request, _shelter(request, pk), address=address)


@requires(Perm.PLACEMENT_MANAGE)
@require_POST
def placement_add(request: HttpRequest, pk: UUID) -> HttpResponse:
    case = case_or_404(request, pk)
    members = [(str(m.person_id), m) for m in case_selectors.case_members(actor=request.user,
                                                                          case=case)]
    shelters = selectors.placeable_shelters(actor=request.user)
    form = PlacementForm(request.POST, members=members, shelters=shelters)
    if form.is_valid():
        try:
            persons = [case_selectors.member_get(actor=request.user, case=case,
                                                     person_id=pid).person
                       for pid in form.cleaned_data["person"]]
            shelter = selectors.shelter_get(actor=request.user, pk=form.cleaned_data["shelter"])
            placed = services.placements_create(actor=request.user, case=case, persons=persons,
                                                shelter=shelter,
                                                planned_in=form.cleaned_data["planned_in"])
        except HavenError as exc:
            apply_error(form, exc)
        else:
            messages.success(request, ngettext("%(n)d placement planned.", "%(n)d placements planned.",
                                               len(placed)) % {"n": len(placed)})
            return to_case(case.pk, "housing")
    return render_detail(request, case, status=400, placement_form=form)


@requires(Perm.PLACEMENT_MANAGE)
@require_POST
def placement_transition(request: HttpRequest, pk: UUID, placement_id: UUID) -> HttpResponse:
    case = case_or_404(request, pk)
    try:
        placement = selectors.placement_get(actor=request.user, case=case,
                                            placement_id=placement_id)
    except NotFound:
        raise Http404 from None
    try:
        services.placement_transition(actor=request.user, placement=placement,
                                      to=request.POST.get("to", ""),
                                      end_reason=request.POST.get("end_reason", ""))
    except HavenError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Placement updated."))
    return to_case(case.pk, "housing")
