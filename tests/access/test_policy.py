from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from hypothesis import given, settings
from hypothesis import strategies as st

from haven.access import policy
from haven.access.permissions import Perm
from haven.access.roles import Role
from haven.accounts.models import Organization, User
from haven.core.errors import Forbidden, NotFound

ORG_A, ORG_B = "org-a", "org-b"


def actor(role: str, *, org: str = ORG_A, active: bool = True, authenticated: bool = True) -> Any:
    return SimpleNamespace(role=role, organization_id=org, is_active=active,
                           is_authenticated=authenticated, pk="u1")


def record(org: str | None) -> Any:
    return SimpleNamespace(organization_id=org)


roles = st.sampled_from(list(Role))
perms = st.sampled_from(list(Perm))


def test_permissions_are_sorted_and_named_resource_colon_action() -> None:
    values = [p.value for p in Perm]
    assert values == sorted(values)
    assert all(v.count(":") == 1 and v == v.lower() for v in values)


def test_every_role_has_a_row_in_the_table() -> None:
    assert set(policy.ROLE_PERMISSIONS) == set(Role)


def test_design_rules_hold_in_the_table() -> None:
    table = policy.ROLE_PERMISSIONS
    assert {Perm.ACCOUNT_MANAGE, Perm.TOKEN_MANAGE, Perm.AUDIT_READ, Perm.KEYS_SEAL,
            Perm.KEYS_UNSEAL} <= table[Role.COORDINATOR]
    assert not any(p.value.startswith("person:") for p in table[Role.AUDITOR])  # no personal data
    assert Perm.AUDIT_READ in table[Role.AUDITOR]
    for role in Role:
        if role is not Role.COORDINATOR:
            assert not {Perm.ACCOUNT_MANAGE, Perm.KEYS_UNSEAL, Perm.TOKEN_MANAGE} & table[role]


@settings(deadline=None)  # the host may be busy; correctness, not speed, is tested
@given(role=roles, perm=perms)
def test_has_perm_follows_the_table(role: Role, perm: Perm) -> None:
    assert policy.has_perm(actor(role), perm) == (perm in policy.ROLE_PERMISSIONS[role])


@settings(deadline=None)  # the host may be busy; correctness, not speed, is tested
@given(role=roles, perm=perms, same=st.booleans())
def test_objects_of_another_organization_are_out_of_reach(role: Role, perm: Perm, same: bool) -> None:
    obj = record(ORG_A if same else ORG_B)
    granted = perm in policy.ROLE_PERMISSIONS[role]
    assert policy.has_perm(actor(role), perm, obj) == (granted and same)


@settings(deadline=None)  # the host may be busy; correctness, not speed, is tested
@given(role=roles, perm=perms)
def test_object_without_organization_is_refused(role: Role, perm: Perm) -> None:
    assert not policy.has_perm(actor(role), perm, record(None))


@settings(deadline=None)  # the host may be busy; correctness, not speed, is tested
@given(role=roles, perm=perms, active=st.booleans(), authenticated=st.booleans())
def test_anonymous_and_disabled_users_get_nothing(
    role: Role, perm: Perm, active: bool, authenticated: bool
) -> None:
    user = actor(role, active=active, authenticated=authenticated)
    if active and authenticated:
        return
    assert policy.role_perms(user) == frozenset()
    assert not policy.has_perm(user, perm)
    with pytest.raises(Forbidden):
        policy.require(user, perm)


@settings(deadline=None)  # the host may be busy; correctness, not speed, is tested
@given(perm=perms)
def test_unknown_roles_and_none_get_nothing(perm: Perm) -> None:
    for user in (None, AnonymousUser(), actor("superuser"), SimpleNamespace(is_authenticated=True, is_active=True)):
        assert not policy.has_perm(user, perm)


@settings(deadline=None)  # the host may be busy; correctness, not speed, is tested
@given(role=roles, perm=perms, same=st.booleans())
def test_require_says_missing_for_a_foreign_object_and_forbidden_for_a_missing_right(
    role: Role, perm: Perm, same: bool
) -> None:
    obj = record(ORG_A if same else ORG_B)
    granted = perm in policy.ROLE_PERMISSIONS[role]
    if granted and same:
        policy.require(actor(role), perm, obj)
    elif granted:
        with pytest.raises(NotFound):
            policy.require(actor(role), perm, obj)
    else:
        with pytest.raises(Forbidden):
            policy.require(actor(role), perm, obj)


def test_an_organization_is_its_own_organization(coordinator: User, org: Organization,
                                                  other_org: Organization) -> None:
    assert policy.has_perm(coordinator, Perm.ACCOUNT_MANAGE, org)
    assert not policy.has_perm(coordinator, Perm.ACCOUNT_MANAGE, other_org)


def test_users_visible_to(coordinator: User, caseworker: User, outsider: User) -> None:
    qs = User.objects.all()
    assert set(policy.users_visible_to(coordinator, qs)) == {coordinator, caseworker}
    assert list(policy.users_visible_to(caseworker, qs)) == [caseworker]
    assert list(policy.users_visible_to(AnonymousUser(), qs)) == []  # type: ignore[arg-type]
    User.objects.filter(pk=caseworker.pk).update(is_active=False)
    caseworker.refresh_from_db()
    assert list(policy.users_visible_to(caseworker, qs)) == []


def test_org_scoped(coordinator: User, caseworker: User, auditor: User) -> None:
    qs = User.objects.all()
    assert set(policy.org_scoped(coordinator, Perm.ACCOUNT_MANAGE, qs)) == {coordinator, caseworker, auditor}
    assert list(policy.org_scoped(caseworker, Perm.ACCOUNT_MANAGE, qs)) == []
