"""The one place that decides who may do what.

Two layers: a role-to-permission table (what a role may do at all), and object rules
(may this user do it to *this* record: same organization, assignment, and so on).
Views declare a permission with ``access.decorators``; services call ``require`` again
with the object; selectors start from the ``visible_to`` filters here. Nothing else in
Haven makes an access decision.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from django.db.models import Exists, Model, OuterRef, Q, QuerySet

# The field tables of the case views, re-exported: callers read them as ``policy.CASE_FIELDS``.
from haven.access.case_views import CASE_FIELDS as CASE_FIELDS  # noqa: PLC0414
from haven.access.case_views import CASE_SECTIONS as CASE_SECTIONS  # noqa: PLC0414
from haven.access.case_views import MEMBER_FIELDS as MEMBER_FIELDS  # noqa: PLC0414
from haven.access.case_views import REFERRAL_CASE_ATTRIBUTES as REFERRAL_CASE_ATTRIBUTES  # noqa: PLC0414
from haven.access.case_views import VERIFICATION_FIELDS as VERIFICATION_FIELDS  # noqa: PLC0414
from haven.access.case_views import CaseView as CaseView  # noqa: PLC0414
from haven.access.permissions import Perm
from haven.access.projection import Projection
from haven.access.roles import ROLE_PERMISSIONS, Role
from haven.accounts.models import User
from haven.cases.models import Case, Member, Outcome, Referral, Status, Verification, Visibility
from haven.core.errors import Forbidden, NotFound
from haven.intake.models import Request
from haven.pathways.models import TravelStatus
from haven.people.models import Person

_M = TypeVar("_M", bound="Model")
# A queryset keeps its own class (``CaseQuerySet.open()`` still works after a filter).
_QS = TypeVar("_QS", bound="QuerySet[Any]")


class _Actor(Protocol):
    is_authenticated: bool
    is_active: bool


def _role(user: Any) -> Role | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if not getattr(user, "is_active", False):
        return None
    try:
        return Role(user.role)
    except (AttributeError, ValueError):
        return None


def role_perms(user: Any) -> frozenset[Perm]:
    """The permissions the user's role grants; none for anonymous or disabled users."""
    role = _role(user)
    return ROLE_PERMISSIONS.get(role, frozenset()) if role else frozenset()


# Records without an organization of their own belong to their parent's: a person's file to
# the person, a household membership to its case, and so on.
_PARENT: dict[str, str] = {
    "cases.Member": "case",
    "cases.PersonProfile": "person",
    "cases.Referral": "case",
    "housing.Placement": "case",
    "intake.Message": "request",
    "people.PersonFile": "person",
}


def _org_of(obj: Any) -> Any:
    meta = getattr(obj, "_meta", None)
    if meta is not None:
        if meta.label == "accounts.Organization":
            return obj.pk
        parent = _PARENT.get(meta.label)
        if parent is not None:
            return _org_of(getattr(obj, parent))
    return getattr(obj, "organization_id", None)


def _same_org(user: Any, obj: Any) -> bool:
    org_id = _org_of(obj)
    return org_id is not None and org_id == getattr(user, "organization_id", None)


def has_perm(user: Any, perm: Perm, obj: Any = None) -> bool:
    """May ``user`` do ``perm`` (to ``obj``, when given)?

    Without an object only the role table is asked. With one, the object must also belong
    to the user's organization; records of another organization are simply not there.
    """
    if perm not in role_perms(user):
        return False
    if obj is None:
        return True
    if not _same_org(user, obj):
        return False
    meta = getattr(obj, "_meta", None)
    rule = (_OBJECT_RULES.get(meta.label) or _AREA_RULES.get(meta.label)
            if meta is not None else None)
    return rule(user, perm, obj) if rule is not None else True


def require(user: Any, perm: Perm, obj: Any = None) -> None:
    """Raise unless ``has_perm``. An object the user may not see is reported as missing."""
    if has_perm(user, perm, obj):
        return
    if obj is not None and perm in role_perms(user):
        raise NotFound("Not found.")
    raise Forbidden("You do not have permission to do this.")


# --- visible_to filters -------------------------------------------------------------------------


def users_visible_to(user: User, qs: QuerySet[User]) -> QuerySet[User]:
    """Staff accounts a user may see: their organization's, for account managers; else only self."""
    if Perm.ACCOUNT_MANAGE in role_perms(user):
        return qs.filter(organization_id=user.organization_id)
    if _role(user) is None:
        return qs.none()
    return qs.filter(pk=user.pk)


def org_scoped(user: Any, perm: Perm, qs: _QS) -> _QS:
    """Records of the user's organization when the role grants ``perm``; else nothing."""
    if perm not in role_perms(user):
        return qs.none()
    return qs.filter(organization_id=user.organization_id)


# --- cases: object rules (haven.cases, haven.housing) --------------------------------------------
#
# Need-to-know: a coordinator sees every case of the organization; anyone else reaches a case
# only through their own link to it — the caseworker it is assigned to, the operator who opened
# it, a verifier it was sent to, a partner liaison it was referred to. A case suspended for
# security, or whose verification found it suspect, is hidden from everyone but coordinators.

CASE_REACH: dict[Role, str] = {
    Role.CASEWORKER: "assigned",
    Role.OPERATOR: "opened",
    Role.VERIFIER: "verifying",
    Role.LIAISON: "referred",
}


def _hidden_from_team(case: Any) -> bool:
    return bool(case.status == Status.SUSPENDED or case.verification_outcome == Outcome.SUSPECT)


def _reaches_case(user: Any, case: Any) -> bool:
    if Perm.CASE_SUPERVISE in role_perms(user):
        return True
    if _hidden_from_team(case):
        return False
    role = _role(user)
    reach = CASE_REACH.get(role) if role is not None else None
    if reach == "assigned":
        return bool(case.assigned_to_id == user.pk)
    if reach == "opened":
        return bool(case.opened_by_id == user.pk)
    if reach == "verifying":
        return bool(case.verifications.filter(verifier=user).exists())
    if reach == "referred":
        return bool(case.referrals.filter(liaison=user, active=True).exists())
    return False


def _case_rule(user: Any, perm: Perm, case: Any) -> bool:
    if not _reaches_case(user, case):
        return False
    if perm == Perm.VERIFICATION_SUBMIT:
        # The person who opened a case cannot also vouch for it.
        return bool(case.opened_by_id != user.pk)
    return True


def _case_record_rule(user: Any, perm: Perm, obj: Any) -> bool:
    """A record hanging off a case (an application, a travel, a dossier export) is reachable
    exactly when its case is."""
    return _case_rule(user, perm, obj.case)


# --- people and what hangs off them (haven.people, haven.cases) -----------------------------------
#
# A person is visible exactly when one of their cases is: a caseworker sees the people of the
# cases assigned to them, an operator those of the cases they opened, a verifier those of the
# cases sent to them; a coordinator every person of the organization, including people who
# belong to no case (yet) and the people of suspended or suspect cases. Partners and auditors
# see no person at all (they lack ``person:read``). Files and profiles follow their person.


def _reaches_person(user: Any, person: Any) -> bool:
    perms = role_perms(user)
    if Perm.PERSON_READ not in perms:
        return False
    if Perm.CASE_SUPERVISE in perms:
        return True
    return bool(cases_visible_to(user, Case.objects.filter(members__person=person)).exists())


def _person_rule(user: Any, perm: Perm, person: Any) -> bool:
    return _reaches_person(user, person)


def _person_record_rule(user: Any, perm: Perm, obj: Any) -> bool:
    """A person's file or profile is reachable exactly when the person is."""
    return _reaches_person(user, obj.person)


def _duplicate_rule(user: Any, perm: Perm, pair: Any) -> bool:
    """A duplicate pair is reviewed by a supervisor who may see both people."""
    return (Perm.CASE_SUPERVISE in role_perms(user) and _reaches_person(user, pair.first)
            and _reaches_person(user, pair.second))


def _member_rule(user: Any, perm: Perm, member: Any) -> bool:
    """A household membership names a person and their relationships: it needs
    ``person:read`` and the case."""
    return Perm.PERSON_READ in role_perms(user) and _case_rule(user, perm, member.case)


def _referral_rule(user: Any, perm: Perm, referral: Any) -> bool:
    """A referral is seen by those who manage referrals (coordinators) and by the liaison it
    is addressed to while it is active and its case may be shared."""
    if Perm.REFERRAL_MANAGE in role_perms(user):
        return True
    return bool(referral.liaison_id == user.pk and referral.active
                and _reaches_case(user, referral.case))


def _placement_rule(user: Any, perm: Perm, placement: Any) -> bool:
    """Where a person lives: the case's team, and only roles that may read shelters at all."""
    return Perm.SHELTER_READ in role_perms(user) and _case_rule(user, perm, placement.case)


def _request_rule(user: Any, perm: Perm, request: Any) -> bool:
    """An intake request goes to the organization's hotline as a whole: every role that may
    read requests (operators, coordinators) sees all of its organization's. The role table
    already said yes and the organization matches; nothing narrows it further."""
    return True


def _message_rule(user: Any, perm: Perm, message: Any) -> bool:
    return _request_rule(user, perm, message.request)


_OBJECT_RULES: dict[str, Any] = {
    "cases.Case": _case_rule,
    "cases.Member": _member_rule,
    "cases.PersonProfile": _person_record_rule,
    "cases.Referral": _referral_rule,
    "housing.Placement": _placement_rule,
    "people.DuplicatePair": _duplicate_rule,
    "intake.Message": _message_rule,
    "intake.Request": _request_rule,
    "pathways.Application": _case_record_rule,
    "pathways.DossierExport": _case_record_rule,
    "pathways.Travel": _case_record_rule,
    "people.Person": _person_rule,
    "people.PersonFile": _person_record_rule,
}


# Object rules of the areas whose rules live in their own module (``policy_<area>.py``),
# registered when the access app is ready (``AccessConfig.AREA_POLICIES``).
_AREA_RULES: dict[str, Any] = {}


def register_object_rule(label: str, rule: Callable[[Any, Perm, Any], bool]) -> None:
    """Add the object rule for the model ``label`` ("app.Model"); each model has one."""
    if label in _OBJECT_RULES or _AREA_RULES.get(label, rule) is not rule:
        raise ValueError(f"{label} already has an object rule")
    _AREA_RULES[label] = rule


def cases_visible_to(user: Any, qs: _QS) -> _QS:
    """The cases ``user`` may see: the queryset form of ``_reaches_case``."""
    perms = role_perms(user)
    if Perm.CASE_READ not in perms:
        return qs.none()
    qs = qs.filter(organization_id=user.organization_id)
    if Perm.CASE_SUPERVISE in perms:
        return qs
    qs = qs.exclude(status=Status.SUSPENDED).exclude(verification_outcome=Outcome.SUSPECT)
    role = _role(user)
    reach = CASE_REACH.get(role) if role is not None else None
    if reach == "assigned":
        return qs.filter(assigned_to=user)
    if reach == "opened":
        return qs.filter(opened_by=user)
    if reach == "verifying":
        return qs.filter(Exists(Verification.objects.filter(case=OuterRef("pk"), verifier=user)))
    if reach == "referred":
        return qs.filter(Exists(Referral.objects.filter(case=OuterRef("pk"), liaison=user,
                                                        active=True)))
    return qs.none()


def _within_visible_cases(user: Any, qs: _QS, *, needs: set[Perm], org: str,
                          on_case: Callable[[Any], Any]) -> _QS:
    """The records of ``qs`` that hang off a case the user may see: nothing unless the role
    grants every permission of ``needs``; a supervisor's filter is the organization alone
    (``org``: the path to its id), so no case subquery is paid for; anyone else's also
    ``on_case(visible case ids)``, the condition tying a record to those cases."""
    perms = role_perms(user)
    if not needs <= perms:
        return qs.none()
    qs = qs.filter(**{org: user.organization_id})
    if Perm.CASE_SUPERVISE in perms:
        return qs
    return qs.filter(on_case(cases_visible_to(user, Case.objects.all()).values("pk")))


def _case_in(visible: Any) -> Q:
    return Q(case__in=visible)


def pathways_visible_to(user: Any, qs: _QS) -> _QS:
    """Reference data is public knowledge: every role with ``pathway:read`` sees it all."""
    return qs if has_perm(user, Perm.PATHWAY_READ) else qs.none()


def case_records_visible_to(user: Any, perm: Perm, qs: _QS) -> _QS:
    """Records with a ``case`` (applications, travels, dossier exports) that ``user`` may
    see: the role must grant ``perm`` and the case must be visible (``cases_visible_to``)."""
    return _within_visible_cases(user, qs, needs={perm, Perm.CASE_READ}, org="organization_id",
                                 on_case=_case_in)


def people_visible_to(user: Any, qs: _QS) -> _QS:
    """The people ``user`` may see (the queryset form of ``_reaches_person``): everyone of the
    organization for a coordinator; else those with a membership in a case that
    ``cases_visible_to`` lets the user see; nobody without ``person:read``."""

    return _within_visible_cases(
        user, qs, needs={Perm.PERSON_READ}, org="organization_id",
        on_case=lambda visible: Exists(Member.objects.filter(person=OuterRef("pk"),
                                                             case__in=visible)))


def duplicates_visible_to(user: Any, qs: _QS) -> _QS:
    """Duplicate pairs ``user`` may review (``_duplicate_rule``): both people visible."""
    if Perm.CASE_SUPERVISE not in role_perms(user):
        return qs.none()
    seen = _visible_people_ids(user)
    return qs.filter(organization_id=user.organization_id, first__in=seen, second__in=seen)


def _visible_people_ids(user: Any) -> QuerySet[Any]:
    return people_visible_to(user, Person.objects.all()).values("pk")


def person_files_visible_to(user: Any, qs: _QS) -> _QS:
    """Files of the people ``user`` may see (``people_visible_to``)."""
    if Perm.PERSON_READ not in role_perms(user):
        return qs.none()
    return qs.filter(person__in=_visible_people_ids(user))


def profiles_visible_to(user: Any, qs: _QS) -> _QS:
    """Profiles (birth date, story, …) of the people ``user`` may see."""
    if Perm.PERSON_READ not in role_perms(user):
        return qs.none()
    return qs.filter(person__in=_visible_people_ids(user))


def members_visible_to(user: Any, qs: _QS) -> _QS:
    """Household memberships of the cases ``user`` may see, for roles with ``person:read``
    (a partner liaison sees a referred case, never its household)."""
    return _within_visible_cases(user, qs, needs={Perm.PERSON_READ},
                                 org="case__organization_id", on_case=_case_in)


def referrals_visible_to(user: Any, qs: _QS) -> _QS:
    """Every referral of the organization for those who manage referrals; for a partner
    liaison the active referrals addressed to them whose case they may see; else none."""
    if Perm.REFERRAL_MANAGE in role_perms(user):
        return qs.filter(case__organization_id=user.organization_id)
    if Perm.CASE_READ not in role_perms(user):
        return qs.none()
    return qs.filter(liaison=user, active=True,
                     case__in=cases_visible_to(user, Case.objects.all()).values("pk"))


def placements_visible_to(user: Any, qs: _QS) -> _QS:
    """Placements (who lives in which shelter) of the cases ``user`` may see, for roles that
    may read shelters."""
    return _within_visible_cases(user, qs, needs={Perm.SHELTER_READ, Perm.CASE_READ},
                                 org="case__organization_id", on_case=_case_in)


def requests_visible_to(user: Any, qs: _QS) -> _QS:
    """Intake requests of the organization, for roles that read requests (``_request_rule``)."""
    return org_scoped(user, Perm.REQUEST_READ, qs)


def messages_visible_to(user: Any, qs: _QS) -> _QS:
    """Messages of the requests ``user`` may see."""
    return qs.filter(request__in=requests_visible_to(user, Request.objects.all()).values("pk"))


def outcomes_stuck_visible_to(user: Any, qs: _QS) -> _QS:
    """The applications the outcomes board may name one by one ("stuck longest": case number,
    pathway, stage). Figures are aggregates and go to every role with ``outcomes:read``; a
    row naming a case goes only to someone who may see that case's applications — a
    coordinator all of them, an auditor none (finding: an auditor was shown a
    coordinator-only case and its pathway)."""
    if Perm.OUTCOMES_READ not in role_perms(user):
        return qs.none()
    return case_records_visible_to(user, Perm.APPLICATION_READ, qs)


def may_see_route(user: Any, travel: Any) -> bool:
    """A journey's route and transit points are as dangerous as an address while the
    household is on the way: until arrival only coordinators and the case's assigned
    caseworker see them; after it, whoever may read the travel."""
    if not has_perm(user, Perm.TRAVEL_READ, travel):
        return False
    if travel.status == TravelStatus.ARRIVED:
        return True
    return (Perm.CASE_SUPERVISE in role_perms(user)
            or bool(travel.case.assigned_to_id == user.pk))


def may_transition_case(user: Any, case: Any, to: str) -> bool:
    """Those who run a case (caseworker, coordinator) move it wherever its lifecycle allows;
    the operator who opened it may only send it to verification, back to intake, or pause,
    suspend or withdraw it."""
    if not has_perm(user, Perm.CASE_TRANSITION, case):
        return False
    if Perm.CASE_UPDATE in role_perms(user):
        return True
    return to in (Status.INTAKE, Status.VERIFICATION, Status.ON_HOLD, Status.WITHDRAWN,
                  Status.SUSPENDED)


def case_referral_only(user: Any) -> bool:
    """A partner liaison sees a referred case through its referral's shared fields only."""
    return Perm.CASE_READ in role_perms(user) and Perm.PERSON_READ not in role_perms(user)


def note_visibilities(user: Any, case: Any) -> tuple[str, ...]:
    """Which note visibilities ``user`` may read and write on ``case``: the case team's notes
    for everyone on it, verifier notes also for its verifiers, coordinator notes for
    coordinators only."""
    if not has_perm(user, Perm.NOTE_READ, case):
        return ()
    if Perm.CASE_SUPERVISE in role_perms(user):
        return tuple(Visibility.values)
    if case.verifications.filter(verifier=user).exists():
        return (Visibility.TEAM, Visibility.VERIFIER)
    return (Visibility.TEAM,)


def may_approve_verification(user: Any, verification: Any) -> bool:
    """"Verified" needs a second person: a coordinator who neither verified nor opened the case."""
    case = verification.case
    return (has_perm(user, Perm.VERIFICATION_APPROVE, case)
            and user.pk not in {verification.verifier_id, case.opened_by_id})


# --- field projections ---------------------------------------------------------------------------
#
# A partial view is built from an allow-list: what a role sees of a record is named here and
# everything else is withheld (None on a page, null in the API). Which view of a case a user
# gets follows from their permissions, not from role names:
#
#   FULL      may reveal people (coordinators, a case's caseworker and verifiers): every field.
#   OPENER    may read people but not reveal them (the hotline operator who opened the case):
#             what following up the case needs — number, status, type, priority, who opened
#             it and who works on it — and not its risk, triage, verification outcome, review
#             date, confidential-field markers, housing or history.
#   REFERRAL  may read cases but no people (a partner liaison): the case number and exactly
#             the fields the referral shares.
#   NONE      may read no case (an auditor: ids and states in the audit log, aggregate figures).


def case_view_of(user: Any) -> CaseView:
    """Which projection of a case ``user`` gets (see above)."""
    perms = role_perms(user)
    if Perm.CASE_READ not in perms:
        return CaseView.NONE
    if Perm.PERSON_READ not in perms:
        return CaseView.REFERRAL
    if Perm.PERSON_REVEAL not in perms:
        return CaseView.OPENER
    return CaseView.FULL


def project(obj: Any, fields: frozenset[str]) -> Projection:
    """``obj`` seen through ``fields`` (``Projection``)."""
    return Projection(obj, fields)


def case_fields(user: Any, shared: Any = ()) -> frozenset[str]:
    """The case attributes ``user`` may see: ``CASE_FIELDS`` of their view, and for a partner
    liaison also those of the referral's ``shared`` fields that are case attributes."""
    view = case_view_of(user)
    fields = CASE_FIELDS[view]
    if view == CaseView.REFERRAL:
        fields |= REFERRAL_CASE_ATTRIBUTES & set(shared)
    return fields


def project_case(user: Any, case: Any, shared: Any = ()) -> Projection:
    """``case`` as ``user`` may see it; ``shared``: the fields of the liaison's referral
    (``referral_shared_fields``)."""
    return Projection(case, case_fields(user, shared))


def referral_shared_fields(user: Any, cases: Any) -> dict[Any, list[str]]:
    """For a partner liaison: each case's shared fields, from the active referral addressed to
    them (one query for the whole list); empty for everyone else."""
    if case_view_of(user) != CaseView.REFERRAL:
        return {}
    ids = [case.pk for case in cases]
    rows = referrals_visible_to(user, Referral.objects.filter(case_id__in=ids)).order_by(
        "created_at").values_list("case_id", "shared_fields")
    shared: dict[Any, list[str]] = {}
    for case_id, fields in rows:  # two active referrals to one liaison: the union
        known = shared.setdefault(case_id, [])
        known += [f for f in fields.split(",") if f and f not in known]
    return shared


def case_filterable(user: Any) -> frozenset[str]:
    """Which case attributes a list may filter and sort on for ``user``: only those their
    view shows on *every* case they can see, so a filter cannot tell them a withheld value
    (a liaison filtering by risk would learn each case's risk by elimination)."""
    return CASE_FIELDS[case_view_of(user)]


# --- requests from the intake (haven.intake) -----------------------------------------------------


def may_follow_request(user: Any, perm: Perm, request: Any) -> bool:
    """May ``user`` read (``request:read``) or answer (``request:reply``) this request's
    conversation?

    The intake team (roles holding the permission) may, for every request of its
    organization. Once a request has become a case, those who run that case — its
    caseworker and coordinators, ``case:update`` on it — may too: messages that arrive
    after acceptance must reach the person now responsible, who has no inbox.
    """
    if has_perm(user, perm, request):
        return True
    case = getattr(request, "case", None) if perm in (Perm.REQUEST_READ,
                                                      Perm.REQUEST_REPLY) else None
    return case is not None and _same_org(user, request) and has_perm(user, Perm.CASE_UPDATE,
                                                                      case)


def require_request(user: Any, perm: Perm, request: Any) -> None:
    """Raise unless ``may_follow_request``; a request the user may not see is missing."""
    if may_follow_request(user, perm, request):
        return
    if perm in role_perms(user) or (getattr(request, "case_id", None) is not None
                                    and Perm.CASE_UPDATE in role_perms(user)):
        raise NotFound("Not found.")
    raise Forbidden("You do not have permission to do this.")
