"""Opening, moving, assigning and describing a case, its household and its people."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from haven.access import policy
from haven.access.permissions import Perm
from haven.access.roles import Role
from haven.audit.services import record
from haven.cases.models import (
    PERSON_FIELDS,
    PROFILE_FIELDS,
    Case,
    CaseType,
    ClosureReason,
    Member,
    Outcome,
    PersonProfile,
    Priority,
    Relationship,
    RiskAssessment,
    RiskLevel,
    Status,
    allowed_targets,
)
from haven.cases.rules import new_case_number, parse_partial_date, triage_score
from haven.cases.services.common import check_version, choice, share_key, staff_member, text
from haven.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from haven.keyring import keys
from haven.people import services as people_services
from haven.people.models import Person

MAX_SUMMARY = 2000
MAX_STORY = 20000
MAX_SHORT = 300
ASSIGNABLE = (Role.CASEWORKER, Role.COORDINATOR)


def _label(status: str) -> str:
    return str(Status(status).label)


def _rescore(case: Case) -> None:
    case.triage_score = triage_score(case.priority, case.risk_level,
                                     case.members.filter(travels_with=True).count())


def case_open(*, actor: Any, legal_name: str = "", other_names: str = "", phone: str = "",
              person: Person | None = None, case_type: str = CaseType.EVACUATION,
              priority: str = Priority.NORMAL, summary: str = "",
              profile: Mapping[str, str] | None = None) -> Case:
    """Open a case in intake with its principal: a new person, or one already registered.

    The case number is random (``HV-XXXX-XXXX``), never derived from a name. The case gets
    its own data key: its summary, notes, tasks and verification are sealed under it.
    ``profile`` fills the new principal's profile in the same transaction (what a request
    from the intake told: story, contact, place, language), checked as ``profile_update``
    checks it, so an opened case never lacks what its request said.
    """
    policy.require(actor, Perm.CASE_CREATE, actor.organization)
    choice(case_type, CaseType, "case_type")
    choice(priority, Priority, "priority")
    summary = text(summary, "summary", maximum=MAX_SUMMARY)
    cleaned = _clean_profile(profile) if profile else {}
    if person is not None:
        policy.require(actor, Perm.PERSON_READ, person)
        if cleaned:
            raise ValidationFailed(_("A registered person's details are edited on their case."),
                                   fields={"profile": [_("Not for a registered person.")]})
    with transaction.atomic():
        if person is None:
            person = people_services.person_create(actor=actor, legal_name=legal_name,
                                                   other_names=other_names, phone=phone)
        case = Case(organization_id=actor.organization_id, case_type=case_type,
                    priority=priority, opened_by=actor,
                    triage_score=triage_score(priority, "", 1))
        keys.data_key_create(case)
        case.summary = summary
        for _attempt in range(5):
            case.number = new_case_number()
            try:
                with transaction.atomic():
                    case.save()
                break
            except IntegrityError:
                continue
        else:  # pragma: no cover - 32**8 numbers; five collisions in a row do not happen
            raise Conflict(_("Could not draw a free case number; try again."))
        Member.objects.create(case=case, person=person, relationship=Relationship.SELF,
                              is_principal=True)
        record(actor=actor, action="case.opened", object_type="case", object_id=case.pk,
               data={"status": case.status, "priority": priority, "case_type": case_type,
                     "person": str(person.pk)})
        if cleaned:
            _write_profile(actor=actor, case=case, person=person, cleaned=cleaned, version=None)
    return case


def case_transition(*, actor: Any, case: Case, to: str, closure_reason: str = "") -> Case:
    """Move a case along its lifecycle (``models.allowed_targets``), or refuse with a reason.

    Guards: a case becomes active only once verified (with a coordinator's approval) or
    partially verified; ready to travel needs an assigned caseworker; closing needs a reason
    (withdrawing may give one, kept for the closing). No other move asks for one.
    On hold and suspended (security) remember where the case stood and resume only there.
    """
    policy.require(actor, Perm.CASE_TRANSITION, case)
    if to not in Status.values:
        raise ValidationFailed(_("Unknown status."), fields={"to": [_("Unknown status.")]})
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        current = locked.status
        if to not in allowed_targets(current, locked.paused_from):
            raise Conflict(_("A case cannot move from “%(from)s” to “%(to)s”.") % {
                "from": _label(current), "to": _label(to)})
        if not policy.may_transition_case(actor, locked, to):
            raise Forbidden(_("Your role cannot move a case to “%(to)s”.") % {"to": _label(to)})
        if (current == Status.VERIFICATION and to == Status.ACTIVE
                and locked.verification_outcome not in (Outcome.VERIFIED, Outcome.PARTIAL)):
            raise Conflict(_("A case becomes active only once it is verified (with a "
                             "coordinator's approval) or partially verified."))
        if to == Status.READY and locked.assigned_to_id is None:
            raise Conflict(_("Assign a caseworker before marking the case ready to travel."))
        if to == Status.CLOSED:
            if closure_reason not in ClosureReason.values:
                raise ValidationFailed(_("Say why the case is closed."),
                                       fields={"closure_reason": [_("Choose a closure reason.")]})
            locked.closure_reason = closure_reason
            locked.closed_at = timezone.now()
        elif to == Status.WITHDRAWN and closure_reason:
            locked.closure_reason = choice(closure_reason, ClosureReason, "closure_reason")
        if to in (Status.ON_HOLD, Status.SUSPENDED):
            if current not in (Status.ON_HOLD, Status.SUSPENDED):
                locked.paused_from = current
        else:
            locked.paused_from = ""
        locked.status = to
        locked.save(update_fields=["status", "paused_from", "closure_reason", "closed_at",
                                   "updated_at"])
        record(actor=actor, action="case.transitioned", object_type="case", object_id=locked.pk,
               data={"from": current, "to": to, "closure_reason": locked.closure_reason})
    case.refresh_from_db()
    return case


def case_assign(*, actor: Any, case: Case, assignee: Any) -> Case:
    """Assign (or reassign, or with None unassign) the case's caseworker (coordinators)."""
    policy.require(actor, Perm.CASE_ASSIGN, case)
    if assignee is not None:
        staff_member(assignee, case.organization_id, ASSIGNABLE, "assignee")
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        if not locked.is_open:
            raise Conflict(_("A closed or withdrawn case cannot be assigned."))
        previous = locked.assigned_to_id
        locked.assigned_to = assignee
        locked.save(update_fields=["assigned_to", "updated_at"])
        record(actor=actor, action="case.assigned", object_type="case", object_id=locked.pk,
               data={"from": str(previous or ""), "to": str(assignee.pk if assignee else "")})
    case.refresh_from_db()
    return case


def case_update(*, actor: Any, case: Case, priority: str | None = None,
                case_type: str | None = None, summary: str | None = None,
                version: int | None = None) -> Case:
    """Change a case's priority, type or summary; the triage score follows. ``version`` is
    the one the editor saw: an edit on top of an older one is refused (Stale)."""
    policy.require(actor, Perm.CASE_UPDATE, case)
    changed: list[str] = []
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        check_version(locked.version, version, _("This case"))
        share_key(case, locked)
        if priority is not None and priority != locked.priority:
            locked.priority = choice(priority, Priority, "priority")
            changed.append("priority")
        if case_type is not None and case_type != locked.case_type:
            locked.case_type = choice(case_type, CaseType, "case_type")
            changed.append("case_type")
        if summary is not None:
            locked.summary = text(summary, "summary", maximum=MAX_SUMMARY)
            changed.append("summary")
        if not changed:
            return case
        _rescore(locked)
        locked.version += 1
        locked.save()
        record(actor=actor, action="case.updated", object_type="case", object_id=locked.pk,
               data={"fields": changed, "priority": locked.priority,
                     "version": locked.version})
    case.refresh_from_db()
    return case


def member_add(*, actor: Any, case: Case, legal_name: str, other_names: str = "",
               phone: str = "", relationship: str = Relationship.OTHER, travels_with: bool = True,
               confidential_fields: Iterable[str] = ()) -> Member:
    """Add a household member (a new person) to the case."""
    policy.require(actor, Perm.CASE_UPDATE, case)
    choice(relationship, Relationship, "relationship")
    if relationship == Relationship.SELF:
        raise ValidationFailed(_("The case already has its principal."),
                               fields={"relationship": [_("Choose the relationship to the "
                                                          "principal.")]})
    confidential = _confidential(confidential_fields)
    with transaction.atomic():
        person = people_services.person_create(actor=actor, legal_name=legal_name,
                                               other_names=other_names, phone=phone)
        member = Member.objects.create(case=case, person=person, relationship=relationship,
                                       travels_with=travels_with, confidential_fields=confidential)
        _rescore(case)
        case.save(update_fields=["triage_score", "updated_at"])
        record(actor=actor, action="case.member_added", object_type="case", object_id=case.pk,
               data={"person": str(person.pk), "relationship": relationship,
                     "travels_with": travels_with})
    return member


def _confidential(fields: Iterable[str]) -> str:
    wanted = [f for f in fields if f]
    unknown = set(wanted) - set(PERSON_FIELDS)
    if unknown:
        raise ValidationFailed(_("Unknown field."), fields={"confidential_fields": [
            _("Unknown: %(v)s.") % {"v": ", ".join(sorted(unknown))}]})
    return ",".join(f for f in PERSON_FIELDS if f in set(wanted))


def member_update(*, actor: Any, member: Member, travels_with: bool,
                  confidential_fields: Iterable[str]) -> Member:
    """Whether a member travels with the household, and what the others must not be told."""
    policy.require(actor, Perm.CASE_UPDATE, member.case)
    confidential = _confidential(confidential_fields)
    with transaction.atomic():
        member.travels_with = travels_with
        member.confidential_fields = confidential
        member.save(update_fields=["travels_with", "confidential_fields", "updated_at"])
        _rescore(member.case)
        member.case.save(update_fields=["triage_score", "updated_at"])
        record(actor=actor, action="case.member_updated", object_type="case",
               object_id=member.case_id, data={"person": str(member.person_id),
                                               "travels_with": travels_with,
                                               "confidential": member.confidential})
    return member


def _member(case: Case, person: Person) -> Member:
    member = Member.objects.filter(case=case, person=person).first()
    if member is None:
        raise NotFound(_("Not found."))
    return member


PROFILE_LIMITS = {"story": MAX_STORY, "health": MAX_STORY, "sogi": MAX_SUMMARY}


IDENTITY_FIELDS = ("legal_name", "other_names", "phone")


def profile_update(*, actor: Any, case: Case, person: Person, version: int | None = None,
                   **values: str) -> PersonProfile:
    """Record what is known of a person: their names and phone, birth date, nationality,
    contacts, story…

    The profile is sealed under the person's own data key, as are the names and phone (kept
    on the person, with their blind-index rows rewritten so search finds the new name at
    once); the audit event names the fields that changed, never their values. A birth date
    may be partial: ``YYYY``, ``YYYY-MM``. ``version`` is the profile's version the editor
    saw: one form, one version, names included.
    """
    policy.require(actor, Perm.CASE_UPDATE, case)
    _member(case, person)
    cleaned = _clean_profile(values, person=person)
    with transaction.atomic():
        return _write_profile(actor=actor, case=case, person=person, cleaned=cleaned,
                              version=version)


def _clean_profile(values: Mapping[str, str], *, person: Person | None = None
                   ) -> dict[str, str]:
    """Check profile values (and, for an existing ``person``, their names and phone)."""
    values = dict(values)
    allowed = set(PROFILE_FIELDS) | (set(IDENTITY_FIELDS) if person is not None else set())
    unknown = set(values) - allowed
    if unknown:
        raise ValidationFailed(_("Unknown field."),
                               fields={f: [_("Unknown field.")] for f in sorted(unknown)})
    identity = {k: values.pop(k) for k in IDENTITY_FIELDS if k in values}
    cleaned: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    if identity and person is not None:
        try:
            names = people_services.identity_clean(
                legal_name=identity.get("legal_name", str(person.legal_name)),
                other_names=identity.get("other_names", str(person.other_names)),
                phone=identity.get("phone", str(person.phone)))
        except ValidationFailed as exc:
            errors.update(exc.fields)
        else:
            cleaned.update(zip(IDENTITY_FIELDS, names, strict=True))
    for name, raw in values.items():
        try:
            cleaned[name] = text(raw, name, maximum=PROFILE_LIMITS.get(name, MAX_SHORT))
        except ValidationFailed as exc:
            errors.update(exc.fields)
    birth = cleaned.get("birth_date", "")
    if birth and parse_partial_date(birth) is None:
        errors["birth_date"] = [_("Write YYYY, YYYY-MM or YYYY-MM-DD (a real date).")]
    if errors:
        raise ValidationFailed(_("The person's details are not valid: see fields."),
                               fields=errors)
    return cleaned


def _write_profile(*, actor: Any, case: Case, person: Person, cleaned: dict[str, str],
                   version: int | None) -> PersonProfile:
    """Save checked profile values, in the caller's transaction, and record which changed.
    Names and phone live on the person: a change there rewrites its blind-index rows so
    search finds the new name at once."""
    # Lock the person row: the profile may not exist yet, and two first saves must queue.
    locked = Person.objects.select_for_update().get(pk=person.pk)
    profile = PersonProfile.objects.select_for_update().filter(person=person).first()
    if profile is None:
        profile = PersonProfile(person=person, version=0)
    check_version(profile.version, version, _("This person's details"))
    share_key(person, profile, locked)
    changed = [n for n, v in cleaned.items()
               if getattr(locked if n in IDENTITY_FIELDS else profile, n) != v]
    for name in changed:
        setattr(locked if name in IDENTITY_FIELDS else profile, name, cleaned[name])
    if any(n in IDENTITY_FIELDS for n in changed):
        locked.save()
        people_services.person_reindex(locked)
    profile.version += 1
    profile.save()
    record(actor=actor, action="person.profile_updated", object_type="person",
           object_id=person.pk, data={"fields": sorted(changed), "case": str(case.pk),
                                      "version": profile.version})
    return profile


def _values(case: Case, person: Person, fields: list[str]) -> dict[str, str]:
    _member(case, person)
    profile = None
    if any(f in PROFILE_FIELDS for f in fields):
        profile = PersonProfile.objects.filter(person=person).first()
        if profile is not None:
            share_key(person, profile)
    return {f: (str(getattr(profile, f)) if profile is not None else "") if f in PROFILE_FIELDS
            else str(getattr(person, f)) for f in fields}


def person_reveal(*, actor: Any, case: Case, person: Person, field: str) -> str:
    """One sensitive value of a case's member, shown on request and recorded.

    Masking by default and recording every reveal (which field, whose, by whom) makes
    browsing identities visible in the audit log; the event never holds the value.
    """
    policy.require(actor, Perm.PERSON_REVEAL, case)
    if field not in PERSON_FIELDS:
        raise ValidationFailed(_("Unknown field."), fields={"field": [_("Unknown field.")]})
    value = _values(case, person, [field])[field]
    with transaction.atomic():
        record(actor=actor, action="person.revealed", object_type="person", object_id=person.pk,
               data={"field": field, "case": str(case.pk)})
    return value


def person_reveal_all(*, actor: Any, case: Case, person: Person) -> dict[str, str]:
    """Every sensitive value of a case's member at once, as one recorded reveal that lists
    the fields (a caseworker reading a person's file needs all of it; twelve clicks and twelve
    events said nothing more)."""
    policy.require(actor, Perm.PERSON_REVEAL, case)
    values = _values(case, person, list(PERSON_FIELDS))
    with transaction.atomic():
        record(actor=actor, action="person.revealed", object_type="person", object_id=person.pk,
               data={"fields": list(PERSON_FIELDS), "case": str(case.pk)})
    return values


def risk_assess(*, actor: Any, case: Case, immediacy: str, recommended_priority: str,
                next_review: date, threat_actors: str = "", incidents: str = "",
                exit_obstacles: str = "") -> RiskAssessment:
    """Record a risk assessment; the case takes its risk level and next review date.

    The recommended priority is shown to whoever sets priorities; it is not applied by itself.
    """
    policy.require(actor, Perm.RISK_ASSESS, case)
    choice(immediacy, RiskLevel, "immediacy")
    choice(recommended_priority, Priority, "recommended_priority")
    if next_review < timezone.localdate():
        raise ValidationFailed(_("The next review cannot be in the past."),
                               fields={"next_review": [_("Choose today or a later date.")]})
    details = {
        "threat_actors": text(threat_actors, "threat_actors", maximum=MAX_STORY),
        "incidents": text(incidents, "incidents", maximum=MAX_STORY),
        "exit_obstacles": text(exit_obstacles, "exit_obstacles", maximum=MAX_STORY),
    }
    with transaction.atomic():
        assessment = RiskAssessment(case=case, assessed_by=actor, immediacy=immediacy,
                                    recommended_priority=recommended_priority,
                                    next_review=next_review)
        share_key(case, assessment)
        for name, value in details.items():
            setattr(assessment, name, value)
        assessment.save()
        case.risk_level = immediacy
        case.next_review = next_review
        _rescore(case)
        case.save(update_fields=["risk_level", "next_review", "triage_score", "updated_at"])
        record(actor=actor, action="case.risk_assessed", object_type="case", object_id=case.pk,
               data={"immediacy": immediacy, "recommended_priority": recommended_priority,
                     "next_review": next_review.isoformat()})
    return assessment

