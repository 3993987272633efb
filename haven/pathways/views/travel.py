"""Travel pages: planning a journey, its page, moves and bookings with their tickets."""

from __future__ import annotations

from typing import Any
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
from haven.cases import selectors as case_selectors
from haven.cases import services as case_services
from haven.cases.models import Case, DocType
from haven.cases.services.common import KEEP
from haven.cases.views import case_or_404
from haven.core.csrf import csrf_first_unless, csrf_protect, csrf_refusal
from haven.core.errors import HavenError, NotFound, ValidationFailed
from haven.core.forms import apply_error, own_ids
from haven.keyring import files, keys
from haven.pathways import forms as pw_forms
from haven.pathways import selectors, services
from haven.pathways.models import GRANTED, TRAVEL_TRANSITIONS, Travel, TravelStatus
from haven.pathways.views.common import case_members, countries, travel_or_404, uuid_or_none

TS = TravelStatus


# --- travel --------------------------------------------------------------------------------------


def _plan_form(request: HttpRequest, case: Case, data: Any = None, **kwargs: Any
               ) -> pw_forms.TravelPlanForm:
    applications = [a for a in selectors.application_list(actor=request.user, case=case)
                    if a.status in GRANTED]
    return pw_forms.TravelPlanForm(data, members=case_members(case), applications=applications,
                                   **kwargs)


@requires(Perm.TRAVEL_MANAGE)
@require_http_methods(["GET", "POST"])
def travel_new(request: HttpRequest, case_id: UUID) -> HttpResponse:
    case = case_or_404(request, case_id)
    if not policy.has_perm(request.user, Perm.TRAVEL_MANAGE, case):
        raise Http404
    if request.method == "GET":
        approved = [str(a.member_id) for a in _approved_applicants(request, case)]
        members = approved or [str(m.pk) for m in case_members(case) if m.travels_with]
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
    pk = uuid_or_none(request.GET.get("application", ""))
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
    return own_ids({
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
            countries=countries(), initial={
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
    })


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


@reauth_required
def _travel_with_route(request: HttpRequest, travel: Travel) -> HttpResponse:
    return _render_travel(request, travel)


@requires(Perm.TRAVEL_READ)
@require_GET
def travel_detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    """A journey; its route, transit points, escort and bookings (``?show=route``, for those
    who may see them) only after a recent re-authentication (issue 13, item 5)."""
    travel = travel_or_404(request, pk)
    if request.GET.get("show") == "route" and policy.may_see_route(request.user, travel):
        return _travel_with_route(request, travel)
    return _render_travel(request, travel)


@requires(Perm.TRAVEL_MANAGE)
@require_POST
@reauth_required  # changes the route (and shows it again on an error)
def travel_update(request: HttpRequest, pk: UUID) -> HttpResponse:
    travel = travel_or_404(request, pk)
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
    travel = travel_or_404(request, pk)
    to = request.POST.get("to", "")
    if to == TS.ARRIVED:
        form = pw_forms.ArrivalForm(request.POST, countries=countries())
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
    travel = travel_or_404(request, pk)
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
@reauth_required  # bookings are as sensitive as the route
def booking_add(request: HttpRequest, pk: UUID) -> HttpResponse:
    travel = travel_or_404(request, pk)
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
@reauth_required
def booking_edit(request: HttpRequest, pk: UUID, booking_id: UUID) -> HttpResponse:
    """Change a booking (its own form, prefixed with its id), or remove it (``remove``)."""
    travel = travel_or_404(request, pk)
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
