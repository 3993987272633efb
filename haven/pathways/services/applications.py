"""Applications: opening one on a pathway, moving it through its lifecycle, its dates."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from django.db import transaction
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from haven.access import policy
from haven.access.permissions import Perm
from haven.audit.services import record
from haven.cases.models import Case, Priority, Task, TaskOrigin, TaskStatus
from haven.cases.services import task_create, task_transition, task_update
from haven.cases.services.common import KEEP, Keep, check_version, share_key, text
from haven.core.errors import Conflict, NotFound, ValidationFailed
from haven.pathways.models import (
    FINAL,
    ApplicantOutcome,
    Application,
    ApplicationApplicant,
    ApplicationDate,
    ApplicationEvent,
    ApplicationStatus,
    DateKind,
    Decision,
    Pathway,
    PathwayStatus,
    application_targets,
)
from haven.pathways.services._common import members_of, not_future

AS = ApplicationStatus
MAX_SHORT = 300
MAX_REASONS = 5000

# Which details each target status takes (besides ``on``, the day it happened). A detail
# given for another target is refused, so a form can never set a field that is then ignored.
DETAILS: dict[ApplicationStatus, frozenset[str]] = {
    AS.SUBMITTED: frozenset({"submitted_to", "external_reference"}),
    AS.INTERVIEW_SCHEDULED: frozenset({"interview_on", "interview_label"}),
    AS.INFORMATION_REQUESTED: frozenset({"deadline", "deadline_label"}),
    AS.APPROVED: frozenset({"outcomes", "refusal_reasons"}),
    AS.REFUSED: frozenset({"outcomes", "refusal_reasons"}),
    AS.VISA_ISSUED: frozenset({"valid_from", "valid_until"}),
}
# A follow-up application may follow one that ended without a usable visa.
FOLLOWABLE: tuple[ApplicationStatus, ...] = (AS.REFUSED, AS.WITHDRAWN, AS.EXPIRED)


def _label(status: str) -> str:
    return str(ApplicationStatus(status).label)


def transition_refusal(current: str, to: str) -> str:
    """The message for a move the table does not allow: from, to, and what is allowed."""
    targets = application_targets(current)
    if not targets:
        return _("An application that is “%(from)s” cannot move to “%(to)s”: “%(from)s” is "
                 "final.") % {"from": _label(current), "to": _label(to)}
    return _("An application cannot move from “%(from)s” to “%(to)s”. From “%(from)s” it can "
             "move to: %(allowed)s.") % {
        "from": _label(current), "to": _label(to),
        "allowed": ", ".join(f"“{_label(t)}”" for t in targets)}


# --- creating ------------------------------------------------------------------------------------


def application_create(*, actor: Any, case: Case, pathway: Pathway,
                       members: Iterable[Any] | None = None,
                       follows: Application | None = None, on: date | None = None
                       ) -> Application:
    """Open a draft application of ``case`` on ``pathway`` for ``members`` (default: every
    member who travels with the household).

    A closed pathway takes no applications; a paused one may still be prepared (a draft), since
    programmes reopen. ``follows`` links a new attempt to an earlier one of the same case that
    ended without a usable visa (refused, withdrawn, expired), so the history of a household's
    attempts reads as one chain. ``on`` is the day the work began (default today; a file
    started before it was entered in Haven may be dated back, never forward).
    """
    policy.require(actor, Perm.APPLICATION_CREATE, case)
    if not policy.has_perm(actor, Perm.PATHWAY_READ):
        raise NotFound(_("Not found."))
    if pathway.status == PathwayStatus.CLOSED:
        raise Conflict(_("%(pathway)s is closed: it takes no applications.") % {
            "pathway": pathway.name})
    if not case.is_open:
        raise Conflict(_("This case is not open."))
    chosen = members_of(case, members)
    if follows is not None:
        if follows.case_id != case.pk:
            raise ValidationFailed(_("A follow-up application must be of the same case."),
                                   fields={"follows": [_("Choose an application of this case.")]})
        if follows.status not in FOLLOWABLE:
            raise ValidationFailed(
                _("Only a refused, withdrawn or expired application can be followed by a new "
                  "one."), fields={"follows": [_("That application is still %(status)s.") % {
                      "status": _label(follows.status).lower()}]})
    today = not_future(on, "on")
    with transaction.atomic():
        application = Application.objects.create(
            organization_id=case.organization_id, case=case, pathway=pathway, follows=follows,
            status=AS.DRAFT, stage_since=today, created_by=actor)
        ApplicationApplicant.objects.bulk_create(
            [ApplicationApplicant(application=application, member=m) for m in chosen])
        ApplicationEvent.objects.create(
            application=application, organization_id=case.organization_id, pathway=pathway,
            from_status="", to_status=AS.DRAFT, on=today, actor=actor)
        record(actor=actor, action="application.created", object_type="application",
               object_id=application.pk,
               data={"case": str(case.pk), "pathway": pathway.slug, "applicants": len(chosen),
                     "follows": str(follows.pk) if follows else ""})
    return application


# --- moving --------------------------------------------------------------------------------------


def _check_details(to: ApplicationStatus, given: dict[str, Any]) -> None:
    allowed = DETAILS.get(to, frozenset())
    extra = sorted(name for name, value in given.items()
                   if value is not None and name not in allowed)
    if extra:
        raise ValidationFailed(
            _("These details do not belong to a move to “%(to)s”: %(fields)s.") % {
                "to": _label(to), "fields": ", ".join(extra)},
            fields={name: [_("Not used for this step.")] for name in extra})


def _apply_outcomes(application: Application, to: ApplicationStatus,
                    outcomes: Mapping[Any, str] | None) -> dict[str, int]:
    """Per-applicant outcomes of a decision (the rule of a split decision).

    ``outcomes`` maps a member (or its id) to approved, refused or withdrawn; every applicant
    still pending then takes the decision's own outcome (approved → approved, refused →
    refused, withdrawn → withdrawn). An application is *approved* when at least one applicant
    is approved, and *refused* when none is.
    """
    rows = list(application.applicants.select_for_update())
    by_member = {str(row.member_id): row for row in rows}
    given = {str(getattr(key, "pk", key)): value for key, value in (outcomes or {}).items()}
    unknown = sorted(set(given) - set(by_member))
    if unknown:
        raise ValidationFailed(_("That person is not an applicant."),
                               fields={"outcomes": [_("Choose applicants of this application.")]})
    decided = (ApplicantOutcome.APPROVED, ApplicantOutcome.REFUSED, ApplicantOutcome.WITHDRAWN)
    if any(value not in decided for value in given.values()):
        raise ValidationFailed(_("Not a valid choice."), fields={"outcomes": [
            _("Choose one of: %(options)s.") % {"options": ", ".join(decided)}]})
    default = {AS.APPROVED: ApplicantOutcome.APPROVED, AS.REFUSED: ApplicantOutcome.REFUSED,
               AS.WITHDRAWN: ApplicantOutcome.WITHDRAWN}[to]
    final: dict[str, str] = {}
    for key, row in by_member.items():
        if key in given:
            final[key] = given[key]
        elif row.outcome == ApplicantOutcome.PENDING:
            final[key] = default
        else:
            final[key] = row.outcome
    approved = sum(1 for v in final.values() if v == ApplicantOutcome.APPROVED)
    if to == AS.APPROVED and not approved:
        raise Conflict(_("An application is approved when at least one applicant is approved: "
                         "record it as refused instead."))
    if to == AS.REFUSED and approved:
        raise Conflict(_("An applicant was approved, so the application is approved (a split "
                         "decision), not refused."))
    for key, row in by_member.items():
        if row.outcome != final[key]:
            row.outcome = final[key]
            row.save(update_fields=["outcome", "updated_at"])
    return {outcome: sum(1 for v in final.values() if v == outcome)
            for outcome in ApplicantOutcome.values}


def _submitted(application: Application, current: str, day: date, submitted_to: str | None,
               external_reference: str | None) -> list[str]:
    fields = []
    if current == AS.READY_FOR_REVIEW:
        application.submitted_on = day
        fields.append("submitted_on")
    if submitted_to is not None:
        application.submitted_to = text(submitted_to, "submitted_to", maximum=MAX_SHORT)
        fields.append("submitted_to")
    if external_reference is not None:
        application.external_reference = text(external_reference, "external_reference",
                                              maximum=MAX_SHORT)
        fields.append("external_reference")
    return fields


def _decided(application: Application, target: str, day: date, refusal_reasons: str | None
             ) -> list[str]:
    """Approved or refused: the decision, its day and the days it took since submission."""
    fields = []
    if target != AS.WITHDRAWN:
        application.decision = (Decision.APPROVED if target == AS.APPROVED
                                else Decision.REFUSED)
        application.decided_on = day
        application.decision_days = ((day - application.submitted_on).days
                                     if application.submitted_on else None)
        fields += ["decision", "decided_on", "decision_days"]
    if refusal_reasons is not None:
        application.refusal_reasons = text(refusal_reasons, "refusal_reasons",
                                           maximum=MAX_REASONS)
        fields.append("refusal_reasons")
    return fields


def _visa(application: Application, valid_from: date | None, valid_until: date | None
          ) -> list[str]:
    """The visa's validity: what the move gives, else what was saved on the application
    (a caseworker who entered the dates under "Correct the details" is not asked again)."""
    valid_from = valid_from or application.valid_from
    valid_until = valid_until or application.valid_until
    if valid_from is None or valid_until is None:
        raise ValidationFailed(_("Give the visa's validity."), fields={
            name: [_("This field is required.")]
            for name, value in (("valid_from", valid_from), ("valid_until", valid_until))
            if value is None})
    if valid_until < valid_from:
        raise ValidationFailed(_("A visa cannot end before it begins."),
                               fields={"valid_until": [_("Choose a later date.")]})
    application.valid_from, application.valid_until = valid_from, valid_until
    return ["valid_from", "valid_until"]


def application_transition(
    *, actor: Any, application: Application, to: str, on: date | None = None,
    submitted_to: str | None = None, external_reference: str | None = None,
    interview_on: date | None = None, interview_label: str | None = None,
    deadline: date | None = None, deadline_label: str | None = None,
    outcomes: Mapping[Any, str] | None = None, refusal_reasons: str | None = None,
    valid_from: date | None = None, valid_until: date | None = None,
) -> Application:
    """Move an application one step along ``APPLICATION_TRANSITIONS``.

    ``on`` is the day it happened (default today; never in the future, never before the day
    the current stage began). Each target takes its own details (``DETAILS``): where and
    under which reference it was submitted, the interview date (which makes or moves the
    interview task), the deadline of an information request (a deadline task), per-applicant
    outcomes and refusal reasons of a decision (see ``_apply_outcomes``), the visa's validity.

    A move the table does not allow is refused with a message naming from, to and what is
    allowed, and nothing changes. Every move writes an ``ApplicationEvent`` (the stage history
    behind the outcome figures) and ``application.transitioned`` in the same transaction; a
    final status cancels the application's open date tasks.
    """
    policy.require(actor, Perm.APPLICATION_TRANSITION, application)
    if to not in AS.values:
        raise ValidationFailed(_("Unknown status."), fields={"to": [_("Unknown status.")]})
    target = AS(to)
    _check_details(target, {
        "submitted_to": submitted_to, "external_reference": external_reference,
        "interview_on": interview_on, "interview_label": interview_label,
        "deadline": deadline, "deadline_label": deadline_label, "outcomes": outcomes,
        "refusal_reasons": refusal_reasons, "valid_from": valid_from,
        "valid_until": valid_until})
    day = not_future(on, "on")
    case = application.case
    with transaction.atomic():
        locked = Application.objects.select_for_update().select_related("pathway").get(
            pk=application.pk)
        current = locked.status
        if target not in application_targets(current):
            raise Conflict(transition_refusal(current, target))
        if day < locked.stage_since:
            raise ValidationFailed(
                _("This stage cannot begin before the previous one (%(since)s).") % {
                    "since": locked.stage_since.isoformat()},
                fields={"on": [_("Choose %(since)s or later.") % {
                    "since": locked.stage_since.isoformat()}]})
        share_key(case, locked)
        data: dict[str, Any] = {"case": str(case.pk), "from": current, "to": target,
                                "on": day.isoformat()}
        fields = ["status", "stage_since", "version", "updated_at"]
        locked.version += 1
        if target == AS.SUBMITTED:
            fields += _submitted(locked, current, day, submitted_to, external_reference)
        elif target == AS.INTERVIEW_SCHEDULED:
            if interview_on is None and not _open_dates(locked, DateKind.INTERVIEW):
                raise ValidationFailed(_("When is the interview?"),
                                       fields={"interview_on": [_("This field is required.")]})
        elif target in (AS.APPROVED, AS.REFUSED, AS.WITHDRAWN):
            counts = _apply_outcomes(locked, target, outcomes)
            data.update({f"applicants_{name}": n for name, n in counts.items()})
            fields += _decided(locked, target, day, refusal_reasons)
        elif target == AS.VISA_ISSUED:
            fields += _visa(locked, valid_from, valid_until)
        ApplicationEvent.objects.create(
            application=locked, organization_id=locked.organization_id,
            pathway_id=locked.pathway_id, from_status=current, to_status=target, on=day,
            days_in_previous=(day - locked.stage_since).days, actor=actor)
        locked.status = target
        locked.stage_since = day
        locked.save(update_fields=fields)
        if target == AS.INTERVIEW_SCHEDULED and interview_on is not None:
            _date_upsert(actor, locked, DateKind.INTERVIEW, interview_on, interview_label)
            data["interview_on"] = interview_on.isoformat()
        if target == AS.INFORMATION_REQUESTED and deadline is not None:
            _date_upsert(actor, locked, DateKind.DEADLINE, deadline, deadline_label)
            data["deadline"] = deadline.isoformat()
        if target in FINAL:
            data["tasks_cancelled"] = _cancel_date_tasks(actor, locked)
        record(actor=actor, action="application.transitioned", object_type="application",
               object_id=locked.pk, data=data)
    application.refresh_from_db()
    return application


def application_update(*, actor: Any, application: Application,
                       submitted_to: str | Keep = KEEP, external_reference: str | Keep = KEEP,
                       refusal_reasons: str | Keep = KEEP,
                       valid_from: date | Keep | None = KEEP,
                       valid_until: date | Keep | None = KEEP,
                       version: int | None = None) -> Application:
    """Correct an application's details outside a move (a mistyped reference, a visa's dates).
    Arguments left out stay as they are; the audit event names the changed fields only —
    their values are sealed under the case's key. ``version``, when given, is the version the
    editor saw: a save on top of someone else's later change is refused (``Stale``)."""
    policy.require(actor, Perm.APPLICATION_UPDATE, application)
    wanted: dict[str, Any] = {}
    if not isinstance(submitted_to, Keep):
        wanted["submitted_to"] = text(submitted_to, "submitted_to", maximum=MAX_SHORT)
    if not isinstance(external_reference, Keep):
        wanted["external_reference"] = text(external_reference, "external_reference",
                                            maximum=MAX_SHORT)
    if not isinstance(refusal_reasons, Keep):
        wanted["refusal_reasons"] = text(refusal_reasons, "refusal_reasons",
                                         maximum=MAX_REASONS)
    if not isinstance(valid_from, Keep):
        wanted["valid_from"] = valid_from
    if not isinstance(valid_until, Keep):
        wanted["valid_until"] = valid_until
    with transaction.atomic():
        locked = Application.objects.select_for_update().get(pk=application.pk)
        check_version(locked.version, version, _("This application"))
        share_key(application.case, locked)
        start = wanted.get("valid_from", locked.valid_from)
        end = wanted.get("valid_until", locked.valid_until)
        if start is not None and end is not None and end < start:
            raise ValidationFailed(_("A visa cannot end before it begins."),
                                   fields={"valid_until": [_("Choose a later date.")]})
        changed = sorted(n for n, v in wanted.items() if getattr(locked, n) != v)
        if changed:
            for name in changed:
                setattr(locked, name, wanted[name])
            locked.version += 1
            locked.save(update_fields=[*changed, "version", "updated_at"])
            record(actor=actor, action="application.updated", object_type="application",
                   object_id=locked.pk, data={"case": str(locked.case_id), "fields": changed,
                                              "version": locked.version})
    application.refresh_from_db()
    return application


# --- dates and their tasks -----------------------------------------------------------------------


def _open_dates(application: Application, kind: str) -> list[ApplicationDate]:
    return list(ApplicationDate.objects.filter(application=application, kind=kind,
                                               task__status=TaskStatus.OPEN).order_by("on"))


def _task_title(application: Application, kind: str, label: str) -> str:
    """What is due and for which pathway, by the pathway's name as people read it (in the
    language of whoever sets the date), never its slug."""
    what = label or str(DateKind(kind).label)
    pathway = application.pathway
    name = pathway.name_ru if get_language() == "ru" and pathway.name_ru else pathway.name
    return f"{what} — {name}"


def _date_task(actor: Any, application: Application, entry: ApplicationDate) -> Task:
    """Make ``entry``'s task, or move its open one: one task per date, never a duplicate."""
    case = application.case
    title = _task_title(application, entry.kind, str(entry.label))
    task = (Task.objects.filter(pk=entry.task_id, status=TaskStatus.OPEN).first()
            if entry.task_id else None)
    if task is not None:
        return task_update(actor=actor, task=task, due=entry.on, title=title)
    priority = Priority.URGENT if entry.kind == DateKind.DEADLINE else Priority.NORMAL
    return task_create(actor=actor, case=case, title=title, assignee=case.assigned_to,
                       due=entry.on, priority=priority, origin=TaskOrigin.APPLICATION_DATE)


def _date_upsert(actor: Any, application: Application, kind: str, on: date,
                 label: str | None) -> ApplicationDate:
    """The open date of ``kind`` moved to ``on`` (a rescheduled interview, an extended
    deadline), or a new one when none is open."""
    open_entries = _open_dates(application, kind)
    entry = open_entries[0] if open_entries else ApplicationDate(application=application,
                                                                 kind=kind)
    return _date_save(actor, application, entry, on, label)


def _date_save(actor: Any, application: Application, entry: ApplicationDate, on: date,
               label: str | None) -> ApplicationDate:
    share_key(application.case, entry)
    entry.on = on
    if label is not None:
        entry.label = text(label, "label", maximum=MAX_SHORT)
    created = entry._state.adding
    entry.task = _date_task(actor, application, entry)
    entry.save()
    record(actor=actor, action="application.date_set", object_type="application",
           object_id=application.pk,
           data={"case": str(application.case_id), "kind": entry.kind, "on": on.isoformat(),
                 "task": str(entry.task_id or ""), "new": created})
    return entry


def application_date_set(*, actor: Any, application: Application, kind: str, on: date,
                         label: str | None = None, entry: ApplicationDate | None = None
                         ) -> ApplicationDate:
    """Add an interview or a deadline (``entry`` None) or move one; its task for the case's
    caseworker, due that day, follows: created once, then updated in place while it is open
    (a task already done or cancelled is left as it was and a new one is made)."""
    policy.require(actor, Perm.APPLICATION_UPDATE, application)
    if kind not in DateKind.values:
        raise ValidationFailed(_("Not a valid choice."), fields={"kind": [_("Unknown kind.")]})
    if application.status in FINAL:
        raise Conflict(_("This application is closed (%(status)s).") % {
            "status": _label(application.status).lower()})
    if entry is not None and (entry.application_id != application.pk or entry.kind != kind):
        raise NotFound(_("Not found."))
    with transaction.atomic():
        return _date_save(actor, application, entry or ApplicationDate(
            application=application, kind=kind), on, label)


def _cancel_date_tasks(actor: Any, application: Application) -> int:
    tasks = Task.objects.filter(
        pk__in=ApplicationDate.objects.filter(application=application).values("task_id"),
        status=TaskStatus.OPEN)
    count = 0
    for task in tasks:
        task_transition(actor=actor, task=task, to=TaskStatus.CANCELLED)
        count += 1
    return count
