"""Reads of cases. Every read starts from ``Case.objects.visible_to(actor)``; a case the actor
may not see answers exactly like one that does not exist."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from haven.access import policy
from haven.access.permissions import Perm
from haven.access.roles import Role
from haven.audit.models import AuditEvent
from haven.audit.services import record
from haven.cases.models import (
    CASE_NUMBER_RE,
    PROFILE_FIELDS,
    Case,
    Document,
    Member,
    Note,
    PersonProfile,
    Priority,
    Referral,
    RiskAssessment,
    SharedField,
    Task,
    TaskStatus,
    Verification,
    VerificationState,
)
from haven.core.errors import NotFound
from haven.keyring import files, keys
from haven.people import selectors as people_selectors

DASHBOARD_ROWS = 15
HISTORY_ROWS = 60


def case_get(*, actor: Any, pk: UUID | str) -> Case:
    """One visible case, or NotFound (the same answer as for a case that does not exist)."""
    case = Case.objects.visible_to(actor).select_related("assigned_to", "opened_by").filter(
        pk=pk).first()
    if case is None:
        raise NotFound("Not found.")
    return case


def _matching_case_ids(actor: Any, q: str) -> QuerySet[Any] | None:
    """Cases whose members' blind indexes hold every word of ``q`` (or its phone number)."""
    person_ids = people_selectors.person_ids_matching(actor, q)
    if person_ids is None:
        return None
    return Member.objects.filter(person_id__in=person_ids).values("case_id")


def case_list(*, actor: Any, q: str = "", status: str = "", priority: str = "", risk: str = "",
              assignee: str = "") -> QuerySet[Case]:
    """Visible cases, most urgent first, filtered; ``q`` is a case number, or a name or phone
    number in any script, matched through blind indexes (never by decrypting)."""
    qs = Case.objects.visible_to(actor).select_related("assigned_to")
    if status:
        qs = qs.filter(status=status)
    if priority:
        qs = qs.filter(priority=priority)
    if risk:
        qs = qs.filter(risk_level=risk)
    if assignee == "none":
        qs = qs.filter(assigned_to__isnull=True)
    elif assignee == "me":
        qs = qs.filter(assigned_to=actor)
    elif assignee:
        try:
            qs = qs.filter(assigned_to_id=UUID(assignee))
        except ValueError:
            qs = qs.none()
    q = q.strip()
    if q:
        if CASE_NUMBER_RE.match(q.upper()):
            qs = qs.filter(number=q.upper())
        elif policy.has_perm(actor, Perm.PERSON_READ):
            ids = _matching_case_ids(actor, q)
            qs = qs.filter(pk__in=ids) if ids is not None else qs.none()
        else:
            qs = qs.none()  # a partner cannot probe which names are known
    return qs.order_by("-triage_score", "-created_at")


def household_sizes(cases: list[Case]) -> dict[Any, int]:
    rows = (Member.objects.filter(case__in=cases).values("case_id")
            .annotate(n=Count("id")).values_list("case_id", "n"))
    return dict(rows)


def assignable_staff(*, actor: Any) -> QuerySet[Any]:
    from haven.accounts.models import User

    return User.objects.filter(organization_id=actor.organization_id, is_active=True,
                               role__in=(Role.CASEWORKER, Role.COORDINATOR)).order_by("username")


def staff_with_role(*, actor: Any, roles: tuple[Role, ...]) -> QuerySet[Any]:
    from haven.accounts.models import User

    return User.objects.filter(organization_id=actor.organization_id, is_active=True,
                               role__in=roles).order_by("username")


# --- dashboard ------------------------------------------------------------------------------------


@dataclass
class Dashboard:
    my_cases: list[Case]
    emergencies: list[Case]
    overdue: list[Task]
    reviews_due: list[Case]
    to_verify: list[Verification]
    to_approve: list[Verification]


def dashboard(*, actor: Any) -> Dashboard:
    """What needs the actor today: their open cases (most urgent first), open emergencies,
    overdue tasks, risk reviews due, and verifications waiting for them."""
    visible = Case.objects.visible_to(actor).open().select_related("assigned_to")
    today = timezone.localdate()
    mine = visible.filter(assigned_to=actor) if actor.role in (
        Role.CASEWORKER, Role.COORDINATOR) else visible
    tasks_qs = Task.objects.overdue(today).filter(case__in=visible.values("pk"))
    if not policy.has_perm(actor, Perm.CASE_SUPERVISE):
        tasks_qs = tasks_qs.filter(assignee=actor)
    overdue = list(tasks_qs.select_related("case", "assignee").order_by("due")[:DASHBOARD_ROWS])
    keys.prefetch(overdue)
    to_verify: list[Verification] = []
    if policy.has_perm(actor, Perm.VERIFICATION_SUBMIT):
        to_verify = list(Verification.objects.filter(
            verifier=actor, state=VerificationState.REQUESTED,
            case__in=visible.values("pk")).select_related("case")[:DASHBOARD_ROWS])
    to_approve: list[Verification] = []
    if policy.has_perm(actor, Perm.VERIFICATION_APPROVE):
        to_approve = list(Verification.objects.filter(
            state=VerificationState.AWAITING_APPROVAL,
            case__organization_id=actor.organization_id).select_related("case", "verifier")
            [:DASHBOARD_ROWS])
    return Dashboard(
        my_cases=list(mine.order_by("-triage_score", "-created_at")[:DASHBOARD_ROWS]),
        emergencies=list(visible.filter(priority=Priority.EMERGENCY)
                         .order_by("-triage_score", "-created_at")[:DASHBOARD_ROWS]),
        overdue=overdue,
        reviews_due=list(visible.filter(next_review__lte=today).order_by("next_review")
                         [:DASHBOARD_ROWS]),
        to_verify=to_verify,
        to_approve=to_approve,
    )


# --- the case page ------------------------------------------------------------------------------


@dataclass
class MemberView:
    member: Member
    has_profile: bool
    placement: Any = None


@dataclass
class CaseView:
    case: Case
    members: list[MemberView]
    verifications: list[Verification]
    verification_details: bool
    risk: RiskAssessment | None
    risk_details: bool
    notes: list[Note]
    tasks: list[Task]
    documents: list[Document]
    placements: list[Any]
    referrals: list[Referral]
    history: list[AuditEvent]
    note_visibilities: tuple[str, ...]
    shared: dict[str, Any] = field(default_factory=dict)


def case_history(*, case: Case) -> list[AuditEvent]:
    """The case's own audit events and those of its notes, tasks, people…; ids and states only,
    so showing them to the case team reveals nothing the team may not know."""
    case_id = str(case.pk)
    return list(AuditEvent.objects.filter(
        Q(object_type="case", object_id=case_id) | Q(data__case=case_id)
    ).order_by("-seq")[:HISTORY_ROWS])


def case_view(*, actor: Any, case: Case) -> CaseView:
    """Everything the case page shows the actor; the visit is recorded (notes are read).

    Person fields are not decrypted here: the page masks them and each reveal is its own
    audited request. A partner liaison gets only the referral's shared fields.
    """
    if policy.case_referral_only(actor):
        return _referral_view(actor=actor, case=case)
    from haven.housing.models import Placement

    members = list(case.members.select_related("person"))
    with_profile = set(PersonProfile.objects.filter(
        person__in=[m.person_id for m in members]).values_list("person_id", flat=True))
    placements = list(Placement.objects.filter(case=case).select_related("shelter", "person")
                      .order_by("-created_at"))
    current = {p.person_id: p for p in placements if p.status in ("planned", "active")}
    visibilities = policy.note_visibilities(actor, case)
    notes = list(Note.objects.filter(case=case, visibility__in=visibilities)
                 .select_related("author", "redacted_by")) if visibilities else []
    tasks = (list(case.tasks.select_related("assignee").order_by("status", "due"))
             if policy.has_perm(actor, Perm.TASK_READ, case) else [])
    documents = (list(case.documents.select_related("uploaded_by"))
                 if policy.has_perm(actor, Perm.DOCUMENT_READ, case) else [])
    verifications = list(case.verifications.select_related("verifier", "approved_by"))
    supervise = policy.has_perm(actor, Perm.CASE_SUPERVISE, case)
    risk = case.risk_assessments.select_related("assessed_by").first()
    key = keys.data_key_for(case)
    for record_ in [*notes, *tasks, *documents, *verifications, *([risk] if risk else [])]:
        setattr(record_, keys.DK_ATTR, key)
    with transaction.atomic():
        record(actor=actor, action="case.viewed", object_type="case", object_id=case.pk,
               data={"notes": [str(n.pk) for n in notes]})
    return CaseView(
        case=case,
        members=[MemberView(m, m.person_id in with_profile, current.get(m.person_id))
                 for m in members],
        verifications=verifications,
        verification_details=supervise or any(v.verifier_id == actor.pk for v in verifications),
        risk=risk,
        risk_details=policy.has_perm(actor, Perm.RISK_ASSESS, case),
        notes=notes,
        tasks=tasks,
        documents=documents,
        placements=placements,
        referrals=list(case.referrals.select_related("liaison")) if supervise else [],
        history=case_history(case=case),
        note_visibilities=visibilities,
    )


def _referral_view(*, actor: Any, case: Case) -> CaseView:
    referral = case.referrals.filter(liaison=actor, active=True).first()
    shared_names = referral.shared if referral else []
    shared: dict[str, Any] = {}
    principal = case.members.filter(is_principal=True).select_related("person").first()
    profile = (PersonProfile.objects.filter(person_id=principal.person_id).first()
               if principal else None)
    for name in shared_names:
        if name == SharedField.STATUS:
            shared[name] = case.get_status_display()
        elif name == SharedField.PRIORITY:
            shared[name] = case.get_priority_display()
        elif name == SharedField.CASE_TYPE:
            shared[name] = case.get_case_type_display()
        elif name == SharedField.HOUSEHOLD_SIZE:
            shared[name] = case.members.filter(travels_with=True).count()
        elif name in (SharedField.NATIONALITY, SharedField.LANGUAGES):
            shared[name] = getattr(profile, name) if profile else ""
    with transaction.atomic():
        record(actor=actor, action="case.viewed", object_type="case", object_id=case.pk,
               data={"referral": str(referral.pk) if referral else "", "fields": shared_names})
    return CaseView(case=case, members=[], verifications=[], verification_details=False,
                    risk=None, risk_details=False, notes=[], tasks=[], documents=[],
                    placements=[], referrals=[], history=[], note_visibilities=(),
                    shared={str(SharedField(k).label): v for k, v in shared.items()})


# --- records inside a case ------------------------------------------------------------------------


def member_get(*, case: Case, person_id: UUID | str) -> Member:
    member = case.members.select_related("person").filter(person_id=person_id).first()
    if member is None:
        raise NotFound("Not found.")
    return member


def profile_for_edit(*, actor: Any, case: Case, member: Member) -> dict[str, str]:
    """A member's profile values to prefill the edit form: a reveal of every profile field,
    so it needs ``person:reveal`` and is recorded like one."""
    policy.require(actor, Perm.PERSON_REVEAL, case)
    profile = PersonProfile.objects.filter(person_id=member.person_id).first()
    if profile is None:
        return {}
    keys.prefetch([profile])
    with transaction.atomic():
        record(actor=actor, action="person.revealed", object_type="person",
               object_id=member.person_id, data={"field": "profile", "case": str(case.pk)})
    return {name: str(getattr(profile, name)) for name in PROFILE_FIELDS}


def note_get(*, actor: Any, case: Case, note_id: UUID | str) -> Note:
    note = Note.objects.filter(case=case, pk=note_id,
                               visibility__in=policy.note_visibilities(actor, case)).first()
    if note is None:
        raise NotFound("Not found.")
    return note


def task_get(*, actor: Any, task_id: UUID | str) -> Task:
    visible = Case.objects.visible_to(actor).values("pk")
    task = Task.objects.filter(pk=task_id, case__in=visible).select_related("case").first()
    if task is None or not policy.has_perm(actor, Perm.TASK_READ, task.case):
        raise NotFound("Not found.")
    return task


def task_list(*, actor: Any, mine: bool = True, open_only: bool = True) -> QuerySet[Task]:
    """Tasks on visible cases (by default the actor's own open ones), due first."""
    if not policy.has_perm(actor, Perm.TASK_READ):
        return Task.objects.none()
    qs = Task.objects.filter(case__in=Case.objects.visible_to(actor).values("pk"))
    if mine:
        qs = qs.filter(assignee=actor)
    if open_only:
        qs = qs.filter(status=TaskStatus.OPEN)
    return qs.select_related("case", "assignee").order_by("due", "-created_at")


def verification_get(*, case: Case, verification_id: UUID | str) -> Verification:
    verification = case.verifications.filter(pk=verification_id).first()
    if verification is None:
        raise NotFound("Not found.")
    return verification


def pending_verification(*, case: Case) -> Verification | None:
    return case.verifications.filter(state__in=(
        VerificationState.REQUESTED, VerificationState.AWAITING_APPROVAL)).first()


def document_get(*, actor: Any, case: Case, document_id: UUID | str) -> Document:
    policy.require(actor, Perm.DOCUMENT_READ, case)
    doc = case.documents.filter(pk=document_id).first()
    if doc is None:
        raise NotFound("Not found.")
    return doc


def document_open(*, actor: Any, doc: Document) -> Any:
    """Stream a document decrypted; the download is recorded before the first byte leaves."""
    key = keys.data_key_for(doc.case)
    with transaction.atomic():
        record(actor=actor, action="document.downloaded", object_type="document",
               object_id=doc.pk, data={"case": str(doc.case_id)})
    return files.open_decrypted(data_key=key, owner=doc.keyring_owner(), file_id=doc.pk)
