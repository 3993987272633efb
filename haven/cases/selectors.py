"""Reads of cases. Every read starts from the policy's filters (``cases_visible_to``,
``members_visible_to``, …) and partial views go through its projections; a case the actor
may not see answers exactly like one that does not exist."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet

from haven.access import policy
from haven.access.permissions import Perm
from haven.access.roles import ROLE_PERMISSIONS, Role
from haven.accounts.models import User
from haven.audit.models import AuditEvent, CaseRef
from haven.audit.services import record
from haven.cases.document_selectors import documents_visible
from haven.cases.models import (
    CASE_NUMBER_RE,
    PERSON_FIELDS,
    PROFILE_FIELDS,
    Case,
    CaseType,
    Document,
    Member,
    Note,
    PersonProfile,
    Priority,
    Referral,
    RiskAssessment,
    SharedField,
    Status,
    Task,
    TaskStatus,
    Verification,
    VerificationState,
)
from haven.core.errors import NotFound
from haven.housing.models import Placement
from haven.keyring import keys
from haven.people import selectors as people_selectors

HISTORY_ROWS = 60
# Lists count at most this many rows: "more than 1,000" is all a person needs to know, and
# counting every case of a large organization on each page view costs more than the page.
COUNT_CAP = 1000
# A name search reads at most this many matching people; past it, "more than 2,000 people
# match" and the list is checked case by case, and goes at most MANY_PEOPLE_CASES deep (see
# _name_search).
SEARCH_IDS = 2000
MANY_PEOPLE_CASES = 100


def cases_visible(actor: Any) -> QuerySet[Case]:
    """The cases ``actor`` may see (``policy.cases_visible_to``)."""
    return policy.cases_visible_to(actor, Case.objects.all())


def case_get(*, actor: Any, pk: UUID | str) -> Case:
    """One visible case, or NotFound (the same answer as for a case that does not exist)."""
    case = cases_visible(actor).select_related("assigned_to", "opened_by").filter(
        pk=pk).first()
    if case is None:
        raise NotFound("Not found.")
    return case


@dataclass
class CaseSearch:
    """Cases to list; how many there are when that is already known (then nobody counts
    them); past how many a list just says "more than" (``cap``, else ``COUNT_CAP``); and,
    when more people match a name than a search reads, how many it read (``many_people``:
    the list then says "more than that many people match")."""

    cases: QuerySet[Case]
    count: int | None = None
    cap: int = 0
    many_people: int = 0

    @property
    def limit(self) -> int:
        return self.cap or COUNT_CAP


def _name_search(actor: Any, q: str, qs: QuerySet[Case], *, filtered: bool) -> CaseSearch:
    """Cases among ``qs`` with a member whose blind index holds every word of ``q`` (or its
    phone number).

    The matching people's memberships are read first, at most ``SEARCH_IDS`` of them
    (``PersonSearch.queries``). Up to that many, their cases are fetched by key. A name
    more common than that (a first name alone, in a large organization) is instead checked
    case by case as the list walks its queue by triage, which fills a page after a few
    hundred cases; the list then says that more than ``SEARCH_IDS`` people match and goes at
    most ``MANY_PEOPLE_CASES`` deep, since counting further would walk the whole queue.

    Only a supervisor, who sees every case of the organization (``policy.cases_visible_to``),
    searches from the index like this; the digests match only the organization's people, so
    without another filter the number of matching cases is known from the people read. Anyone
    else searches inside their own (much shorter) queue, case by case.
    """
    supervise = policy.has_perm(actor, Perm.CASE_SUPERVISE)
    search = people_selectors.person_search(actor, q, rank=supervise)
    if search is None:
        return CaseSearch(qs.none())
    if not supervise:
        # Someone who sees only their own cases searches inside them: each of their cases is
        # checked for a member with the words, and nobody else's matches are read, counted or
        # timed — the answer is the one they would get if those people did not exist.
        has_match = Exists(Member.objects.filter(search.matches(OuterRef("person_id")),
                                                 case_id=OuterRef("pk")))
        return CaseSearch(qs.filter(has_match))
    # The matching people's memberships, straight from the (person, case) index: the people's
    # ids never travel to Python and back. A person is rarely in two households, so this is
    # about the number of people.
    rows: list[Any] = []
    for people in search.queries():
        rows += Member.objects.filter(person_id__in=people).order_by().values_list(
            "case_id", flat=True)[:SEARCH_IDS + 1]
    everything = not filtered
    if len(rows) <= SEARCH_IDS:
        found = list(dict.fromkeys(rows))
        return CaseSearch(qs.filter(pk__in=found), len(found) if everything else None,
                          cap=SEARCH_IDS)
    has_match = Exists(Member.objects.filter(search.matches(OuterRef("person_id")),
                                             case_id=OuterRef("pk")))
    return CaseSearch(qs.filter(has_match), MANY_PEOPLE_CASES + 1 if everything else None,
                      cap=MANY_PEOPLE_CASES, many_people=SEARCH_IDS)


def case_order(actor: Any) -> tuple[str, ...]:
    """Most urgent first for those who see the triage score; newest first for the others (an
    order by triage would tell them each case's rank)."""
    if "triage_score" in policy.case_filterable(actor):
        return ("-triage_score", "-created_at")
    return ("-created_at",)


def case_search(*, actor: Any, q: str = "", status: str = "", priority: str = "",
                risk: str = "", assignee: str = "") -> CaseSearch:
    """Visible cases, most urgent first, filtered; ``q`` is a case number, or a name or phone
    number in any script, matched through blind indexes (never by decrypting).

    A filter on a field the actor's projection withholds (``policy.case_filterable``: a
    partner's list by risk, an operator's by risk) is ignored, so the list cannot tell them
    the value by elimination.
    """
    shown = policy.case_filterable(actor)
    status = status if "status" in shown else ""
    priority = priority if "priority" in shown else ""
    risk = risk if "risk_level" in shown else ""
    assignee = assignee if "assigned_to" in shown else ""
    qs = cases_visible(actor).select_related("assigned_to").order_by(*case_order(actor))
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
    if not q:
        return CaseSearch(qs)
    if CASE_NUMBER_RE.match(q.upper()):
        return CaseSearch(qs.filter(number=q.upper()))
    if not policy.has_perm(actor, Perm.PERSON_READ):
        return CaseSearch(qs.none())  # a partner cannot probe which names are known
    found = _name_search(actor, q, qs, filtered=bool(status or priority or risk or assignee))
    return _with_spellings(actor, q, qs, found)


def _with_spellings(actor: Any, q: str, qs: QuerySet[Case], found: CaseSearch) -> CaseSearch:
    """``found`` (cases of people with every word of ``q``) and the cases of the people a
    ranked name search finds (``people.selectors.people_ranked``: any script, spelling, order,
    one wrong letter), which reads only people the actor may see."""
    ranked = people_selectors.person_ids_ranked(actor, q)
    if not ranked:
        return found
    fuzzy = Exists(Member.objects.filter(case_id=OuterRef("pk"), person_id__in=ranked))
    if not qs.filter(fuzzy).exclude(pk__in=found.cases.values("pk")).exists():
        return found  # nothing more: its count, when it has one, stands
    return CaseSearch(qs.filter(Q(pk__in=found.cases.values("pk")) | Q(fuzzy)), None,
                      cap=found.cap, many_people=found.many_people)


def case_list(*, actor: Any, q: str = "", status: str = "", priority: str = "", risk: str = "",
              assignee: str = "") -> QuerySet[Case]:
    """``case_search``'s cases."""
    return case_search(actor=actor, q=q, status=status, priority=priority, risk=risk,
                       assignee=assignee).cases


def household_sizes(cases: list[Case]) -> dict[Any, int]:
    rows = (Member.objects.filter(case__in=cases).values("case_id")
            .annotate(n=Count("id")).values_list("case_id", "n"))
    return dict(rows)


def assignable_staff(*, actor: Any) -> QuerySet[Any]:
    return User.objects.filter(organization_id=actor.organization_id, is_active=True,
                               role__in=(Role.CASEWORKER, Role.COORDINATOR)).order_by("username")


def task_assignees(*, case: Case) -> QuerySet[Any]:
    """Colleagues a task on ``case`` may go to: active members of its organization whom the
    policy lets work on its tasks. Candidates are narrowed in SQL first (supervisors, the
    case's caseworker and opener, its verifiers), so the policy is asked about a handful."""
    supervisors = [role for role, perms in ROLE_PERMISSIONS.items()
                   if Perm.CASE_SUPERVISE in perms]
    candidates = User.objects.filter(organization_id=case.organization_id, is_active=True).filter(
        Q(role__in=supervisors) | Q(pk__in=[u for u in (case.assigned_to_id, case.opened_by_id)
                                            if u is not None])
        | Q(verifications__case=case)).distinct()
    ids = [u.pk for u in candidates if policy.has_perm(u, Perm.TASK_UPDATE, case)]
    return User.objects.filter(pk__in=ids).order_by("username")


def staff_with_role(*, actor: Any, roles: tuple[Role, ...]) -> QuerySet[Any]:
    return User.objects.filter(organization_id=actor.organization_id, is_active=True,
                               role__in=roles).order_by("username")


@dataclass
class MemberView:
    member: Any  # a Member seen through the actor's projection (policy.MEMBER_FIELDS)
    has_profile: bool
    placement: Any = None


@dataclass
class CaseView:
    """What the case page shows the actor. ``case``, ``members`` and ``verifications`` are
    projections (``policy.Projection``): a field the actor's view withholds reads as None."""

    case: Any
    members: list[MemberView]
    verifications: list[Any]
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
    sections: frozenset[str] = frozenset()
    shared: dict[str, Any] = field(default_factory=dict)

    @property
    def shared_rows(self) -> list[tuple[str, Any]]:
        """The referral's shared fields as label and value, for a partner's page."""
        return [(str(SharedField(name).label), shared_display(name, value))
                for name, value in self.shared.items()]


def shared_display(name: str, value: Any) -> Any:
    """A shared field's value as a page shows it (choices by their label)."""
    choices = {SharedField.STATUS: Status, SharedField.PRIORITY: Priority,
               SharedField.CASE_TYPE: CaseType}.get(SharedField(name))
    return str(choices(value).label) if choices is not None and value else value


def case_history(*, case: Case) -> list[AuditEvent]:
    """The case's own audit events and those of its notes, tasks, people…, without the page
    views; ids and states only, so showing them to the case team reveals nothing the team may
    not know."""
    case_id = str(case.pk)
    # Two index reads of at most HISTORY_ROWS each (audit_event_object, audit_event_case),
    # merged here: an OR of the two conditions would have the database walk the whole log.
    # Page views are recorded (case.viewed) but are not the case's history.
    own = AuditEvent.objects.filter(object_id=case_id, object_type="case").exclude(
        action="case.viewed").order_by("-seq")
    related = AuditEvent.objects.alias(case_ref=CaseRef("data")).filter(
        case_ref=case_id).order_by("-seq")
    events = {e.seq: e for e in [*own[:HISTORY_ROWS], *related[:HISTORY_ROWS]]}
    return [events[seq] for seq in sorted(events, reverse=True)[:HISTORY_ROWS]]


def case_view(*, actor: Any, case: Case) -> CaseView:
    """Everything the case page shows the actor; the visit is recorded (notes are read).

    Person fields are not decrypted here: the page masks them and each reveal is its own
    audited request. What else is read follows the actor's projection
    (``policy.case_view_of``): a partner liaison gets only the referral's shared fields; the
    operator who opened the case its status, household and verification state, but not its
    risk, housing or history.
    """
    view = policy.case_view_of(actor)
    if view == policy.CaseView.REFERRAL:
        return _referral_view(actor=actor, case=case)
    sections = policy.CASE_SECTIONS[view]
    members = list(policy.members_visible_to(actor, case.members.all()).select_related("person"))
    with_profile = set(policy.profiles_visible_to(actor, PersonProfile.objects.filter(
        person__in=[m.person_id for m in members])).values_list("person_id", flat=True))
    placements = list(policy.placements_visible_to(actor, Placement.objects.filter(case=case))
                      .select_related("shelter", "person").order_by("-created_at")
                      ) if "housing" in sections else []
    current = {p.person_id: p for p in placements if p.status in ("planned", "active")}
    visibilities = policy.note_visibilities(actor, case)
    notes = list(Note.objects.filter(case=case, visibility__in=visibilities)
                 .select_related("author", "redacted_by")) if visibilities else []
    tasks = (list(case.tasks.select_related("assignee").order_by("status", "due"))
             if policy.has_perm(actor, Perm.TASK_READ, case) else [])
    documents = (list(documents_visible(actor, case).select_related("uploaded_by"))
                 if policy.has_perm(actor, Perm.DOCUMENT_READ, case) else [])
    verifications = list(case.verifications.select_related("verifier", "approved_by"))
    supervise = policy.has_perm(actor, Perm.CASE_SUPERVISE, case)
    risk = (case.risk_assessments.select_related("assessed_by").first()
            if "risk" in sections else None)
    key = keys.data_key_for(case)
    for record_ in [*notes, *tasks, *documents, *verifications, *([risk] if risk else [])]:
        setattr(record_, keys.DK_ATTR, key)
    with transaction.atomic():
        record(actor=actor, action="case.viewed", object_type="case", object_id=case.pk,
               data={"notes": [str(n.pk) for n in notes]})
    member_fields = policy.MEMBER_FIELDS[view]
    return CaseView(
        case=policy.project_case(actor, case),
        members=[MemberView(policy.project(m, member_fields), m.person_id in with_profile,
                            current.get(m.person_id)) for m in members],
        verifications=[policy.project(v, policy.VERIFICATION_FIELDS[view])
                       for v in verifications],
        verification_details=view == policy.CaseView.FULL and (
            supervise or any(v.verifier_id == actor.pk for v in verifications)),
        risk=risk,
        risk_details=risk is not None and policy.has_perm(actor, Perm.RISK_ASSESS, case),
        notes=notes,
        tasks=tasks,
        documents=documents,
        placements=placements,
        referrals=list(policy.referrals_visible_to(actor, case.referrals.all())
                       .select_related("liaison")) if supervise else [],
        history=case_history(case=case) if "history" in sections else [],
        note_visibilities=visibilities,
        sections=sections,
    )


def referral_shared(*, actor: Any, cases: list[Case]) -> dict[Any, dict[str, Any]]:
    """For a partner liaison: each case's shared fields and their values, exactly what the
    active referral to them shares (``policy.referral_shared_fields``) — status, priority and
    type as their values, the household size (members who travel), the principal's
    nationality and languages. Nothing else is read: no other profile field is decrypted.
    Empty for everyone else."""
    wanted = policy.referral_shared_fields(actor, cases)
    if not wanted:
        return {}
    needs = {name for names in wanted.values() for name in names}
    sizes: dict[Any, int] = {}
    if SharedField.HOUSEHOLD_SIZE in needs:
        sizes = dict(Member.objects.filter(case__in=list(wanted), travels_with=True)
                     .values("case_id").annotate(n=Count("id")).values_list("case_id", "n"))
    profiles: dict[Any, PersonProfile] = {}
    if needs & {SharedField.NATIONALITY, SharedField.LANGUAGES}:
        principals = dict(Member.objects.filter(case__in=list(wanted), is_principal=True)
                          .values_list("person_id", "case_id"))
        found = list(PersonProfile.objects.filter(person_id__in=list(principals)))
        keys.prefetch(found)
        profiles = {principals[p.person_id]: p for p in found}
    out: dict[Any, dict[str, Any]] = {}
    for case in cases:
        values: dict[str, Any] = {}
        for name in wanted.get(case.pk, []):
            if name in policy.REFERRAL_CASE_ATTRIBUTES:
                values[name] = getattr(case, name)
            elif name == SharedField.HOUSEHOLD_SIZE:
                values[name] = sizes.get(case.pk, 0)
            elif name in (SharedField.NATIONALITY, SharedField.LANGUAGES):
                profile = profiles.get(case.pk)
                values[name] = str(getattr(profile, name)) if profile is not None else ""
        out[case.pk] = values
    return out


def _referral_view(*, actor: Any, case: Case) -> CaseView:
    shared = referral_shared(actor=actor, cases=[case]).get(case.pk, {})
    referrals = list(policy.referrals_visible_to(actor, case.referrals.all()).values_list(
        "pk", flat=True))
    with transaction.atomic():
        record(actor=actor, action="case.viewed", object_type="case", object_id=case.pk,
               data={"referrals": [str(r) for r in referrals], "fields": list(shared)})
    return CaseView(case=policy.project_case(actor, case, shared=list(shared)), members=[],
                    verifications=[], verification_details=False, risk=None,
                    risk_details=False, notes=[], tasks=[], documents=[], placements=[],
                    referrals=[], history=[], note_visibilities=(),
                    sections=policy.CASE_SECTIONS[policy.CaseView.REFERRAL], shared=shared)


# --- records inside a case ------------------------------------------------------------------------


def member_get(*, actor: Any, case: Case, person_id: UUID | str) -> Member:
    """One member of a visible case whom the actor may see (``policy.members_visible_to``);
    else NotFound, as for a person who is not in the household."""
    member = policy.members_visible_to(actor, case.members.filter(person_id=person_id)
                                       ).select_related("person", "case").first()
    if member is None:
        raise NotFound("Not found.")
    return member


def case_members(*, actor: Any, case: Case) -> list[Member]:
    """The household of a visible case as the actor may see it (``policy.members_visible_to``)."""
    return list(policy.members_visible_to(actor, case.members.all()).select_related("person"))


def profile_for_edit(*, actor: Any, case: Case, member: Member) -> dict[str, Any]:
    """A member's names, phone and profile values to prefill the edit form: a reveal of
    every field, so it needs ``person:reveal`` and is recorded like one."""
    policy.require(actor, Perm.PERSON_REVEAL, case)
    person = member.person
    profile = PersonProfile.objects.filter(person_id=member.person_id).first()
    keys.prefetch([person, *([profile] if profile else [])])
    with transaction.atomic():
        record(actor=actor, action="person.revealed", object_type="person",
               object_id=member.person_id, data={"fields": list(PERSON_FIELDS),
                                                 "case": str(case.pk)})
    identity = {name: str(getattr(person, name)) for name in PERSON_FIELDS
                if name not in PROFILE_FIELDS}
    if profile is None:
        return {"version": 0, **identity}
    return {"version": profile.version, **identity,
            **{name: str(getattr(profile, name)) for name in PROFILE_FIELDS}}


def note_get(*, actor: Any, case: Case, note_id: UUID | str) -> Note:
    note = Note.objects.filter(case=case, pk=note_id,
                               visibility__in=policy.note_visibilities(actor, case)).first()
    if note is None:
        raise NotFound("Not found.")
    return note


def task_get(*, actor: Any, task_id: UUID | str) -> Task:
    visible = cases_visible(actor).values("pk")
    task = Task.objects.filter(pk=task_id, case__in=visible).select_related("case").first()
    if task is None or not policy.has_perm(actor, Perm.TASK_READ, task.case):
        raise NotFound("Not found.")
    return task


def task_list(*, actor: Any, mine: bool = True, status: str = TaskStatus.OPEN
              ) -> QuerySet[Task]:
    """Tasks on cases the actor can see (by default their own open ones); ``status`` ""
    means any. Open tasks come by due date, so the overdue ones lead and undated ones
    trail; closed ones most recently closed first.

    A task assigned to the actor on a case they can no longer reach (reassigned, suspended)
    is not listed: the task's title would tell them about the case.
    """
    if not policy.has_perm(actor, Perm.TASK_READ):
        return Task.objects.none()
    qs = Task.objects.filter(on_case(cases_visible(actor)))
    if mine:
        qs = qs.filter(assignee=actor)
    if status:
        qs = qs.filter(status=status)
    order = (("-completed_at", "-created_at") if status in (TaskStatus.DONE, TaskStatus.CANCELLED)
             else (F("due").asc(nulls_last=True), "-created_at"))
    return qs.select_related("case", "assignee").order_by(*order)


def on_case(cases: QuerySet[Case]) -> Exists:
    """"The row's case is one of ``cases``", as a correlated EXISTS on the case's primary key:
    the database checks only the rows it is about to return, instead of first listing every
    visible case (tens of thousands for a coordinator) as ``case__in`` would."""
    return Exists(cases.filter(pk=OuterRef("case_id")))


def verification_get(*, case: Case, verification_id: UUID | str) -> Verification:
    verification = case.verifications.filter(pk=verification_id).first()
    if verification is None:
        raise NotFound("Not found.")
    return verification


def pending_verification(*, case: Case) -> Verification | None:
    return case.verifications.filter(state__in=(
        VerificationState.REQUESTED, VerificationState.AWAITING_APPROVAL)).first()


