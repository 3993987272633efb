"""The one place that decides who may do what.

Two layers: a role-to-permission table (what a role may do at all), and object rules
(may this user do it to *this* record: same organization, assignment, and so on).
Views declare a permission with ``access.decorators``; services call ``require`` again
with the object; selectors start from the ``visible_to`` filters here. Nothing else in
Haven makes an access decision.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from haven.access.permissions import Perm
from haven.access.roles import Role
from haven.core.errors import Forbidden, NotFound

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from haven.accounts.models import User


class _Actor(Protocol):
    is_authenticated: bool
    is_active: bool


ROLE_PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.COORDINATOR: frozenset(
        {
            Perm.ACCOUNT_MANAGE,
            Perm.APPLICATION_CREATE,
            Perm.APPLICATION_READ,
            Perm.APPLICATION_TRANSITION,
            Perm.APPLICATION_UPDATE,
            Perm.AUDIT_READ,
            Perm.AUDIT_VERIFY,
            Perm.CASE_ASSIGN,
            Perm.CASE_CREATE,
            Perm.CASE_READ,
            Perm.CASE_SUPERVISE,
            Perm.CASE_TRANSITION,
            Perm.CASE_UPDATE,
            Perm.DOCUMENT_READ,
            Perm.DOCUMENT_UPLOAD,
            Perm.DOSSIER_APPROVE,
            Perm.DOSSIER_EXPORT,
            Perm.DOSSIER_REQUEST,
            Perm.KEYS_ROTATE,
            Perm.KEYS_SEAL,
            Perm.KEYS_UNSEAL,
            Perm.NOTE_CREATE,
            Perm.NOTE_READ,
            Perm.NOTE_REDACT,
            Perm.OUTCOMES_READ,
            Perm.PATHWAY_READ,
            Perm.PATHWAY_UPDATE,
            Perm.PERSON_CREATE,
            Perm.PERSON_ERASE,
            Perm.PERSON_READ,
            Perm.PERSON_REVEAL,
            Perm.PLACEMENT_MANAGE,
            Perm.REFERRAL_MANAGE,
            Perm.REQUEST_READ,
            Perm.REQUEST_REPLY,
            Perm.REQUEST_TRIAGE,
            Perm.RISK_ASSESS,
            Perm.SHELTER_ADDRESS,
            Perm.SHELTER_MANAGE,
            Perm.SHELTER_READ,
            Perm.STAFF_LIST,
            Perm.TASK_CREATE,
            Perm.TASK_READ,
            Perm.TASK_UPDATE,
            Perm.TOKEN_MANAGE,
            Perm.TRAVEL_MANAGE,
            Perm.TRAVEL_READ,
            Perm.VERIFICATION_APPROVE,
            Perm.VERIFICATION_REQUEST,
            Perm.VERIFICATION_SUBMIT,
        }
    ),
    Role.CASEWORKER: frozenset(
        {
            Perm.APPLICATION_CREATE,
            Perm.APPLICATION_READ,
            Perm.APPLICATION_TRANSITION,
            Perm.APPLICATION_UPDATE,
            Perm.CASE_READ,
            Perm.CASE_TRANSITION,
            Perm.CASE_UPDATE,
            Perm.DOCUMENT_READ,
            Perm.DOCUMENT_UPLOAD,
            Perm.DOSSIER_REQUEST,
            Perm.NOTE_CREATE,
            Perm.NOTE_READ,
            Perm.PATHWAY_READ,
            Perm.PERSON_CREATE,
            Perm.PERSON_READ,
            Perm.PERSON_REVEAL,
            Perm.PLACEMENT_MANAGE,
            Perm.RISK_ASSESS,
            Perm.SHELTER_READ,
            Perm.TASK_CREATE,
            Perm.TASK_READ,
            Perm.TASK_UPDATE,
            Perm.TRAVEL_MANAGE,
            Perm.TRAVEL_READ,
            Perm.VERIFICATION_REQUEST,
        }
    ),
    Role.OPERATOR: frozenset(
        {
            Perm.CASE_CREATE,
            Perm.CASE_READ,
            Perm.CASE_TRANSITION,
            Perm.NOTE_CREATE,
            Perm.NOTE_READ,
            Perm.PATHWAY_READ,
            Perm.PERSON_CREATE,
            Perm.PERSON_READ,
            Perm.REQUEST_READ,
            Perm.REQUEST_REPLY,
            Perm.REQUEST_TRIAGE,
            Perm.TASK_READ,
            Perm.TASK_UPDATE,
            Perm.VERIFICATION_REQUEST,
        }
    ),
    Role.VERIFIER: frozenset(
        {
            Perm.CASE_READ,
            Perm.DOCUMENT_READ,
            Perm.NOTE_CREATE,
            Perm.NOTE_READ,
            Perm.PATHWAY_READ,
            Perm.PERSON_READ,
            Perm.PERSON_REVEAL,
            Perm.TASK_READ,
            Perm.TASK_UPDATE,
            Perm.VERIFICATION_SUBMIT,
        }
    ),
    Role.LIAISON: frozenset({Perm.CASE_READ, Perm.PATHWAY_READ}),
    Role.AUDITOR: frozenset({Perm.AUDIT_READ, Perm.AUDIT_VERIFY, Perm.OUTCOMES_READ,
                             Perm.PATHWAY_READ, Perm.STAFF_LIST}),
}


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


def _org_of(obj: Any) -> Any:
    meta = getattr(obj, "_meta", None)
    if meta is not None and meta.label == "accounts.Organization":
        return obj.pk
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
    rule = _OBJECT_RULES.get(meta.label) if meta is not None else None
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


def org_scoped(user: Any, perm: Perm, qs: QuerySet[Any]) -> QuerySet[Any]:
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
    from haven.cases.models import Outcome, Status

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


_OBJECT_RULES: dict[str, Any] = {
    "cases.Case": _case_rule,
    "pathways.Application": _case_record_rule,
    "pathways.DossierExport": _case_record_rule,
    "pathways.Travel": _case_record_rule,
}


def cases_visible_to(user: Any, qs: QuerySet[Any]) -> QuerySet[Any]:
    """The cases ``user`` may see: the queryset form of ``_reaches_case``."""
    from django.db.models import Exists, OuterRef

    from haven.cases.models import Outcome, Referral, Status, Verification

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


def case_records_visible_to(user: Any, perm: Perm, qs: QuerySet[Any]) -> QuerySet[Any]:
    """Records with a ``case`` (applications, travels, dossier exports) that ``user`` may
    see: the role must grant ``perm`` and the case must be visible (``cases_visible_to``).
    A supervisor's filter is the organization alone, so no case subquery is paid for."""
    from haven.cases.models import Case

    if perm not in role_perms(user) or Perm.CASE_READ not in role_perms(user):
        return qs.none()
    qs = qs.filter(organization_id=user.organization_id)
    if Perm.CASE_SUPERVISE in role_perms(user):
        return qs
    return qs.filter(case__in=cases_visible_to(user, Case.objects.all()).values("pk"))


def may_see_route(user: Any, travel: Any) -> bool:
    """A journey's route and transit points are as dangerous as an address while the
    household is on the way: until arrival only coordinators and the case's assigned
    caseworker see them; after it, whoever may read the travel."""
    if not has_perm(user, Perm.TRAVEL_READ, travel):
        return False
    from haven.pathways.models import TravelStatus

    if travel.status == TravelStatus.ARRIVED:
        return True
    return (Perm.CASE_SUPERVISE in role_perms(user)
            or bool(travel.case.assigned_to_id == user.pk))


def may_transition_case(user: Any, case: Any, to: str) -> bool:
    """Those who run a case (caseworker, coordinator) move it wherever its lifecycle allows;
    the operator who opened it may only send it to verification, back to intake, or pause,
    suspend or withdraw it."""
    from haven.cases.models import Status

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
    from haven.cases.models import Visibility

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
