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
            Perm.AUDIT_READ,
            Perm.AUDIT_VERIFY,
            Perm.KEYS_ROTATE,
            Perm.KEYS_SEAL,
            Perm.KEYS_UNSEAL,
            Perm.PERSON_CREATE,
            Perm.PERSON_ERASE,
            Perm.PERSON_READ,
            Perm.PERSON_REVEAL,
            Perm.TOKEN_MANAGE,
        }
    ),
    Role.CASEWORKER: frozenset({Perm.PERSON_CREATE, Perm.PERSON_READ, Perm.PERSON_REVEAL}),
    Role.OPERATOR: frozenset({Perm.PERSON_CREATE, Perm.PERSON_READ}),
    Role.VERIFIER: frozenset({Perm.PERSON_READ, Perm.PERSON_REVEAL}),
    Role.LIAISON: frozenset(),
    Role.AUDITOR: frozenset({Perm.AUDIT_READ, Perm.AUDIT_VERIFY}),
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
    return _same_org(user, obj)


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
