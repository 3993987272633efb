"""Staff pages for cases: dashboard, list, case page and its forms. Thin: parse, call a service,
render. A refused service call shows its message on the form that caused it."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from django import forms
from django.contrib import messages
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponsePermanentRedirect,
    HttpResponseRedirect,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from haven.access import policy
from haven.access.decorators import requires, staff
from haven.access.permissions import Perm
from haven.access.roles import Role
from haven.accounts import services as account_services
from haven.accounts.decorators import reauth_required
from haven.auditlog import display
from haven.cases import forms as case_forms
from haven.cases import selectors, services
from haven.cases.models import (
    PERSON_FIELDS,
    Case,
    ClosureReason,
    SharedField,
    Status,
    TaskStatus,
    allowed_targets,
    member_labels,
)
from haven.core.errors import HavenError, NotFound, Stale
from haven.core.forms import apply_error, own_ids
from haven.core.pagination import PER_PAGE, CappedPaginator
from haven.housing import selectors as housing_selectors
from haven.housing.forms import PlacementForm
from haven.pathways.selectors import application_list

MASK = "••••••"


def case_or_404(request: HttpRequest, pk: UUID) -> Case:
    try:
        return selectors.case_get(actor=request.user, pk=pk)
    except NotFound:
        raise Http404 from None


def to_case(pk: UUID, anchor: str = "") -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("cases:detail", args=[pk]) + (f"#{anchor}" if anchor
                                                                       else ""))


@staff
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    """The old address of the start page ("My work" is the start page now)."""
    return HttpResponsePermanentRedirect(reverse("core:dashboard"))


def case_filters(request: HttpRequest) -> tuple[case_forms.CaseFilterForm, dict[str, Any]]:
    """The case list's filter form for the user (only filters on fields they see) and the
    valid filters it holds; the list and its CSV export read the same ones."""
    user = request.user
    fields = policy.case_filterable(user)
    staff = selectors.assignable_staff(actor=user) if "assigned_to" in fields else ()
    form = case_forms.CaseFilterForm(request.GET or None, staff=staff, fields=fields,
                                     search_people=policy.has_perm(user, Perm.PERSON_READ))
    filters = form.cleaned_data if form.is_valid() else {}
    return form, {k: filters.get(k, "") for k in ("q", "status", "priority", "risk",
                                                  "assignee")}


@requires(Perm.CASE_READ)
@require_GET
def case_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    fields = policy.case_filterable(user)
    form, filters = case_filters(request)
    found = selectors.case_search(actor=user, **filters)
    paginator = CappedPaginator(found.cases, PER_PAGE, known=found.count, cap=found.limit)
    page = paginator.get_page(request.GET.get("page"))
    cases = list(page.object_list)
    shared = selectors.referral_shared(actor=user, cases=cases)
    sizes = selectors.household_sizes(cases) if policy.case_view_of(user) in (
        policy.CaseView.FULL, policy.CaseView.OPENER) else {}
    rows = [(policy.project_case(user, case, shared=list(shared.get(case.pk, {}))),
             sizes.get(case.pk, 0),
             [(str(SharedField(n).label), selectors.shared_display(n, v))
              for n, v in shared.get(case.pk, {}).items()]) for case in cases]
    query = urlencode({k: v for k, v in filters.items() if v})
    partial = bool(request.headers.get("HX-Request"))
    template = "cases/_rows.html" if partial else "cases/list.html"
    return render(request, template, {
        "partial": partial, "form": form, "page": page, "rows": rows, "query": query, "fields": fields,
        "referred": policy.case_view_of(user) == policy.CaseView.REFERRAL,
        "capped": paginator.count > found.limit, "cap": found.limit,
        "many_people": found.many_people,
        "may_create": policy.has_perm(request.user, Perm.CASE_CREATE)})


@requires(Perm.CASE_CREATE)
@require_http_methods(["GET", "POST"])
def case_new(request: HttpRequest) -> HttpResponse:
    form = case_forms.CaseOpenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            case = services.case_open(actor=request.user, **form.cleaned_data)
        except HavenError as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("Case %(number)s opened.") % {"number": case.number})
            return to_case(case.pk)
    return render(request, "cases/new.html", {"form": form},
                  status=400 if form.errors else 200)


def _member_rows(request: HttpRequest, case: Case, view: selectors.CaseView,
                 revealed: dict[tuple[str, str], str]) -> list[dict[str, Any]]:
    may_reveal = policy.has_perm(request.user, Perm.PERSON_REVEAL, case)
    rows = []
    for mv in view.members:
        pid = str(mv.member.person_id)
        rows.append({"mv": mv, "fields": [
            {"name": name, "label": label, "value": revealed.get((pid, name))}
            for name, label in PERSON_FIELDS.items()], "may_reveal": may_reveal})
    return rows


# What each move of a case is called on its button; a paused case's way back is "Resume".
MOVES: dict[str, Any] = {
    Status.INTAKE: gettext_lazy("Back to intake"),
    Status.VERIFICATION: gettext_lazy("Move to verification"),
    Status.ACTIVE: gettext_lazy("Mark active"),
    Status.READY: gettext_lazy("Mark ready to travel"),
    Status.DEPARTED: gettext_lazy("Mark departed"),
    Status.ARRIVED: gettext_lazy("Mark arrived"),
    Status.ON_HOLD: gettext_lazy("Put on hold"),
    Status.SUSPENDED: gettext_lazy("Suspend (security)"),
    Status.WITHDRAWN: gettext_lazy("Withdraw"),
    Status.CLOSED: gettext_lazy("Close the case"),
}
# The moves that ask why: closing needs a reason, withdrawing may give one.
NEEDS_REASON = (Status.CLOSED, Status.WITHDRAWN)


def _moves(case: Case, targets: list[Status]) -> list[dict[str, Any]]:
    moves = []
    for target in targets:
        label = MOVES[target]
        if case.status in (Status.ON_HOLD, Status.SUSPENDED) and target == case.paused_from:
            label = _("Resume (back to “%(status)s”)") % {"status": target.label}
        moves.append({"to": target.value, "label": label, "reason": target in NEEDS_REASON,
                      "reason_required": target == Status.CLOSED})
    return moves


def _display_context(request: HttpRequest, context: dict[str, Any]) -> dict[str, Any]:
    """What the case page shows in words instead of codes: members by their place in the
    household, the history by who did what, the status moves by what they do."""
    view = context["view"]
    people = {str(mv.member.person_id): label for mv, label in zip(
        view.members, member_labels(mv.member for mv in view.members).values(), strict=True)}
    for row in context["member_rows"]:
        row["label"] = people.get(str(row["mv"].member.person_id), "")
    return {"member_labels": people,
            "history": display.rows(view.history, viewer=request.user, perm=Perm.CASE_READ),
            "moves": _moves(context["case"], context["targets"]),
            "closure_reasons": ClosureReason.choices}


def _detail_context(request: HttpRequest, case: Case, **bound: Any) -> dict[str, Any]:
    user = request.user
    view = selectors.case_view(actor=user, case=case)
    shown = view.case  # the case as the user's projection shows it (policy.project_case)
    revealed: dict[tuple[str, str], str] = bound.pop("revealed", {})
    targets = [t for t in allowed_targets(case.status, case.paused_from)
               if policy.may_transition_case(user, case, t)]
    may = {perm.name.lower(): policy.has_perm(user, perm, case) for perm in Perm}
    staff_qs = selectors.assignable_staff(actor=user)
    verifiers = selectors.staff_with_role(actor=user, roles=(Role.VERIFIER, Role.COORDINATOR)
                                          ).exclude(pk=case.opened_by_id)
    # The placement form lists every shelter with its occupancy: built only when a refused
    # placement is shown again; otherwise the page links to it (cases:placement_new).
    placement_form = bound.pop("placement_form", None)
    pending = selectors.pending_verification(case=case)
    people = {str(mv.member.person_id): label for mv, label in zip(
        view.members, member_labels(mv.member for mv in view.members).values(), strict=True)}
    for doc in view.documents:
        doc.owner_label = people.get(str(doc.person_id), "—")  # type: ignore[attr-defined]
    return own_ids({
        "case": shown, "view": view, "may": may,
        "member_rows": _member_rows(request, case, view, revealed),
        "pending": pending,
        "may_submit": bool(pending and pending.verifier_id == user.pk
                           and pending.state == "requested" and may["verification_submit"]),
        "may_approve": bool(pending and pending.state == "awaiting_approval"
                            and policy.may_approve_verification(user, pending)),
        "transition_form": bound.pop("transition_form", None) or case_forms.TransitionForm(
            targets=targets),
        "has_targets": bool(targets),
        "targets": targets,
        "assign_form": bound.pop("assign_form", None) or case_forms.AssignForm(
            staff=staff_qs, required=False, initial={"assignee": case.assigned_to_id}),
        "update_form": bound.pop("update_form", None) or case_forms.CaseUpdateForm(
            initial={"priority": case.priority, "case_type": case.case_type,
                     "version": case.version}),
        "verifier_form": bound.pop("verifier_form", None) or case_forms.VerifierForm(
            staff=verifiers),
        "submit_form": bound.pop("submit_form", None) or case_forms.VerificationSubmitForm(),
        "approval_form": case_forms.ApprovalForm(),
        "risk_form": bound.pop("risk_form", None) or case_forms.RiskForm(),
        "member_form": bound.pop("member_form", None) or case_forms.MemberForm(),
        "note_form": bound.pop("note_form", None) or case_forms.NoteForm(
            visibilities=view.note_visibilities),
        "task_form": bound.pop("task_form", None) or case_forms.TaskForm(
            staff=selectors.task_assignees(case=case)),
        "placement_form": placement_form,
        "document_form": document_form(request, case),
        "referral_form": bound.pop("referral_form", None) or case_forms.ReferralForm(
            staff=selectors.staff_with_role(actor=user, roles=(Role.LIAISON,))),
        "task_statuses": task_statuses(),
        "mask": MASK,
    })


def document_form(request: HttpRequest, case: Case, data: Any = None
                   ) -> case_forms.DocumentForm:
    """The upload form: whose document (the case's members) and, for those who read
    applications, the application it was made for."""
    applications = (list(application_list(actor=request.user, case=case))
                    if policy.has_perm(request.user, Perm.APPLICATION_READ, case) else [])
    return case_forms.DocumentForm(data, members=case.members.all(), applications=applications)


def task_statuses() -> list[tuple[str, str]]:
    return [(TaskStatus.DONE, _("Done")), (TaskStatus.CANCELLED, _("Cancel")),
            (TaskStatus.OPEN, _("Reopen"))]


def _placement_form(request: HttpRequest, members: list[tuple[str, Any]],
                    data: Any = None) -> forms.Form:
    shelters = housing_selectors.placeable_shelters(actor=request.user)
    return PlacementForm(data, members=members, shelters=shelters)


@requires(Perm.PLACEMENT_MANAGE)
@require_GET
def placement_new(request: HttpRequest, pk: UUID) -> HttpResponse:
    """The placement form, fetched when asked for (it lists every shelter with its
    occupancy, which the case page should not pay for on every visit)."""
    case = case_or_404(request, pk)
    if not policy.has_perm(request.user, Perm.PLACEMENT_MANAGE, case):
        raise Http404
    members = [(str(m.person_id), m) for m in selectors.case_members(actor=request.user,
                                                                     case=case)]
    template = ("cases/_placement_form.html" if request.headers.get("HX-Request")
                else "cases/placement_new.html")
    return render(request, template, {"case": case,
                                      "placement_form": _placement_form(request, members)})


def render_detail(request: HttpRequest, case: Case, status: int = 200, **bound: Any
                   ) -> HttpResponse:
    context = _detail_context(request, case, **bound)
    context.update(_display_context(request, context))
    return render(request, "cases/detail.html", context, status=status)


@requires(Perm.CASE_READ)
@require_GET
def case_detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    case = case_or_404(request, pk)
    if policy.case_view_of(request.user) == policy.CaseView.REFERRAL:
        view = selectors.case_view(actor=request.user, case=case)
        return render(request, "cases/referred.html", {"case": view.case, "view": view})
    return render_detail(request, case)


def rebound_on_stale(request: HttpRequest, form_cls: Any, exc: Stale, **form_kwargs: Any) -> Any:
    """The form as typed, with the record's newer version and the Stale message: saving again
    is then a deliberate choice, made after seeing the other person's change."""
    data = request.POST.copy()
    data["version"] = str(exc.current)
    form = form_cls(data, **form_kwargs)
    form.is_valid()
    form.add_error(None, exc.message)
    return form


def _post(request: HttpRequest, pk: UUID, form_cls: Any, key: str, call: Any, done: str,  # noqa: PLR0917 - one private helper, called positionally by every form view
          anchor: str, **form_kwargs: Any) -> HttpResponse:
    """Validate ``form_cls`` and call ``call(case, cleaned_data)``; on a refusal re-render the
    case page with the errors on that form (400)."""
    case = case_or_404(request, pk)
    form = form_cls(request.POST, **form_kwargs)
    if form.is_valid():
        try:
            call(case, form.cleaned_data)
        except Stale as exc:
            form = rebound_on_stale(request, form_cls, exc, **form_kwargs)
        except HavenError as exc:
            apply_error(form, exc)
        else:
            messages.success(request, done)
            return to_case(case.pk, anchor)
    case.refresh_from_db()
    return render_detail(request, case, status=400, **{key: form})


@requires(Perm.CASE_TRANSITION)
@require_POST
def case_transition(request: HttpRequest, pk: UUID) -> HttpResponse:
    return _post(request, pk, case_forms.TransitionForm, "transition_form",
                 lambda case, d: services.case_transition(
                     actor=request.user, case=case, to=d["to"],
                     closure_reason=d["closure_reason"]),
                 _("Status changed."), "status")


@requires(Perm.CASE_ASSIGN)
@require_POST
def case_assign(request: HttpRequest, pk: UUID) -> HttpResponse:
    return _post(request, pk, case_forms.AssignForm, "assign_form",
                 lambda case, d: services.case_assign(actor=request.user, case=case,
                                                      assignee=d["assignee"]),
                 _("Assignment saved."), "status",
                 staff=selectors.assignable_staff(actor=request.user), required=False)


@requires(Perm.CASE_UPDATE)
@require_POST
def case_update(request: HttpRequest, pk: UUID) -> HttpResponse:
    return _post(request, pk, case_forms.CaseUpdateForm, "update_form",
                 lambda case, d: services.case_update(actor=request.user, case=case, **d),
                 _("Case updated."), "status")


@requires(Perm.VERIFICATION_REQUEST)
@require_POST
def verification_request(request: HttpRequest, pk: UUID) -> HttpResponse:
    staff = selectors.staff_with_role(actor=request.user, roles=(Role.VERIFIER, Role.COORDINATOR))
    return _post(request, pk, case_forms.VerifierForm, "verifier_form",
                 lambda case, d: services.verification_request(actor=request.user, case=case,
                                                               verifier=d["verifier"]),
                 _("Sent to verification."), "verification", staff=staff)


@requires(Perm.VERIFICATION_SUBMIT)
@require_POST
def verification_submit(request: HttpRequest, pk: UUID, verification_id: UUID) -> HttpResponse:
    def call(case: Case, d: dict[str, Any]) -> Any:
        verification = selectors.verification_get(case=case, verification_id=verification_id)
        return services.verification_submit(actor=request.user, verification=verification, **d)

    return _post(request, pk, case_forms.VerificationSubmitForm, "submit_form", call,
                 _("Verification submitted."), "verification")


@requires(Perm.VERIFICATION_APPROVE)
@require_POST
def verification_approve(request: HttpRequest, pk: UUID, verification_id: UUID) -> HttpResponse:
    def call(case: Case, d: dict[str, Any]) -> Any:
        verification = selectors.verification_get(case=case, verification_id=verification_id)
        return services.verification_approve(actor=request.user, verification=verification,
                                             approve=d["decision"] == "approve")

    return _post(request, pk, case_forms.ApprovalForm, "approval_form", call,
                 _("Decision recorded."), "verification")


@requires(Perm.RISK_ASSESS)
@require_POST
def risk_assess(request: HttpRequest, pk: UUID) -> HttpResponse:
    return _post(request, pk, case_forms.RiskForm, "risk_form",
                 lambda case, d: services.risk_assess(actor=request.user, case=case, **d),
                 _("Risk assessment recorded."), "risk")


@requires(Perm.CASE_UPDATE)
@require_POST
def member_add(request: HttpRequest, pk: UUID) -> HttpResponse:
    return _post(request, pk, case_forms.MemberForm, "member_form",
                 lambda case, d: services.member_add(actor=request.user, case=case, **d),
                 _("Member added."), "people")


@reauth_required
def _profile_form(request: HttpRequest, case: Case, person_id: UUID) -> HttpResponse:
    """The edit form filled with the person's current names, phone and details: a reveal of
    every field, so it re-authenticates like the reveal button and is recorded like it —
    before the member is even looked up, so that someone who is not in the household gets
    the same answer."""
    try:
        member = selectors.member_get(actor=request.user, case=case, person_id=person_id)
    except NotFound:
        raise Http404 from None
    try:
        form = case_forms.ProfileForm(initial=selectors.profile_for_edit(
            actor=request.user, case=case, member=member))
    except HavenError as exc:
        raise Http404 from exc
    return _profile_page(request, case, member, form)


def _profile_page(request: HttpRequest, case: Case, member: Any, form: Any,
                  theirs: list[Any] | None = None, *, theirs_hidden: bool = False
                  ) -> HttpResponse:
    label = member_labels(case.members.all()).get(str(member.pk), "")
    reauth = f"{reverse('accounts:reauth')}?{urlencode({'next': request.path})}"
    return render(request, "cases/profile.html", {
        "case": case, "member": member, "form": form, "label": label, "theirs": theirs,
        "theirs_hidden": theirs_hidden, "reauth_url": reauth},
        status=409 if theirs is not None or theirs_hidden else 400 if form.errors else 200)


@requires(Perm.CASE_UPDATE)
@require_http_methods(["GET", "POST"])
def profile_edit(request: HttpRequest, pk: UUID, person_id: UUID) -> HttpResponse:
    """A member's names, phone and details. Showing them decrypted (the form, and another
    editor's version after a conflict) needs a recent re-authentication; saving what was typed
    does not, so a long story typed past the window is not lost on the way to the password
    page."""
    case = case_or_404(request, pk)
    if request.method == "GET":
        return _profile_form(request, case, person_id)
    try:
        member = selectors.member_get(actor=request.user, case=case, person_id=person_id)
    except NotFound:
        raise Http404 from None
    form = case_forms.ProfileForm(request.POST)
    theirs: dict[str, Any] | None = None
    hidden = False
    if form.is_valid():
        try:
            services.profile_update(actor=request.user, case=case, person=member.person,
                                    **form.cleaned_data)
        except Stale as exc:
            # Merge: show what the other saved next to what this person typed — decrypted,
            # so only within the re-authentication window; else say where to see it.
            form = rebound_on_stale(request, case_forms.ProfileForm, exc)
            if account_services.recent_auth_ok(request):
                theirs = selectors.profile_for_edit(actor=request.user, case=case,
                                                    member=member)
            else:
                hidden = True
        except HavenError as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("Details saved."))
            return to_case(case.pk, "people")
    changed = [(form.fields[name].label, theirs.get(name, ""), form.data.get(name, ""))
               for name in PERSON_FIELDS if theirs is not None
               and theirs.get(name, "") != form.data.get(name, "")]
    return _profile_page(request, case, member, form, changed if theirs else None,
                         theirs_hidden=hidden)


def _reveal(request: HttpRequest, pk: UUID, person_id: UUID) -> HttpResponse:
    case = case_or_404(request, pk)
    field = request.POST.get("field", "")
    try:
        person = selectors.member_get(actor=request.user, case=case,
                                      person_id=person_id).person
        if field == "all":
            values = services.person_reveal_all(actor=request.user, case=case, person=person)
        else:
            values = {field: services.person_reveal(actor=request.user, case=case,
                                                    person=person, field=field)}
    except NotFound:
        raise Http404 from None
    except HavenError as exc:
        messages.error(request, exc.message)
        return to_case(case.pk, "people")
    pid = str(person_id)
    revealed = {(pid, name): value for name, value in values.items()}
    if request.headers.get("HX-Request"):
        if field == "all":
            fields = [{"name": name, "label": label, "value": values.get(name)}
                      for name, label in PERSON_FIELDS.items()]
            return render(request, "cases/_member_fields.html",
                          {"mask": MASK, "person_id": pid, "fields": fields})
        return render(request, "cases/_revealed.html", {"value": values[field]})
    return render_detail(request, case, revealed=revealed)


_reveal_with_reauth = reauth_required(_reveal)


@requires(Perm.PERSON_REVEAL)
@require_POST
def person_reveal(request: HttpRequest, pk: UUID, person_id: UUID) -> HttpResponse:
    """Show a member's masked values: all of them (``field=all``, one audited reveal) or one.
    Re-authenticates when the last check is old; from htmx the browser is sent to the
    re-authentication page (a swapped-in login form would be useless)."""
    if request.headers.get("HX-Request") and not account_services.recent_auth_ok(request):
        target = reverse("cases:detail", args=[pk])
        url = f"{reverse('accounts:reauth')}?{urlencode({'next': target})}"
        return HttpResponse(status=204, headers={"HX-Redirect": url})
    return _reveal_with_reauth(request, pk, person_id)


@requires(Perm.CASE_UPDATE)
@require_POST
def member_travels(request: HttpRequest, pk: UUID, person_id: UUID) -> HttpResponse:
    """Mark a member as travelling with the household or staying behind (applications and
    journeys then start with those who travel)."""
    case = case_or_404(request, pk)
    try:
        member = selectors.member_get(actor=request.user, case=case, person_id=person_id)
    except NotFound:
        raise Http404 from None
    choice = request.POST.get("travels_with", "")
    if choice not in ("yes", "no"):
        messages.error(request, _("Nothing was changed: say whether they travel."))
        return to_case(case.pk, "people")
    try:
        services.member_update(actor=request.user, member=member, travels_with=choice == "yes",
                               confidential_fields=member.confidential)
    except HavenError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Marked as travelling with the household.")
                         if choice == "yes" else _("Marked as staying behind."))
    return to_case(case.pk, "people")


@requires(Perm.NOTE_CREATE)
@require_POST
def note_add(request: HttpRequest, pk: UUID) -> HttpResponse:
    case = case_or_404(request, pk)
    return _post(request, pk, case_forms.NoteForm, "note_form",
                 lambda case, d: services.note_add(actor=request.user, case=case, **d),
                 _("Note added."), "notes",
                 visibilities=policy.note_visibilities(request.user, case))


@requires(Perm.NOTE_REDACT)
@require_POST
def note_redact(request: HttpRequest, pk: UUID, note_id: UUID) -> HttpResponse:
    case = case_or_404(request, pk)
    try:
        note = selectors.note_get(actor=request.user, case=case, note_id=note_id)
        services.note_redact(actor=request.user, note=note)
    except NotFound:
        raise Http404 from None
    except HavenError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Note redacted."))
    return to_case(case.pk, "notes")


@requires(Perm.TASK_CREATE)
@require_POST
def task_add(request: HttpRequest, pk: UUID) -> HttpResponse:
    staff = selectors.task_assignees(case=case_or_404(request, pk))
    return _post(request, pk, case_forms.TaskForm, "task_form",
                 lambda case, d: services.task_create(actor=request.user, case=case, **d),
                 _("Task added."), "tasks", staff=staff)


@requires(Perm.REFERRAL_MANAGE)
@require_POST
def referral_add(request: HttpRequest, pk: UUID) -> HttpResponse:
    staff = selectors.staff_with_role(actor=request.user, roles=(Role.LIAISON,))
    return _post(request, pk, case_forms.ReferralForm, "referral_form",
                 lambda case, d: services.referral_create(actor=request.user, case=case, **d),
                 _("Case referred."), "referrals", staff=staff)


