"""Auditors read who works in the organization — names, roles, status, nothing else."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from haven.access import policy
from haven.access.permissions import Perm
from haven.access.roles import Role
from haven.accounts.models import User

Login = Callable[[User], Client]


def test_auditor_reads_names_roles_and_status_only(
    login: Login, auditor: User, caseworker: User, coordinator: User, outsider: User
) -> None:
    User.objects.filter(pk=caseworker.pk).update(is_active=False, failed_logins=4)
    response = login(auditor).get("/accounts/staff/")
    assert response.status_code == 200
    page = response.content.decode()
    rows = {u: page.split(f'data-username="{u}"')[1].split("</tr>")[0]
            for u in ("auditor", "caseworker", "coordinator")}
    assert "Coordinator" in rows["coordinator"]
    assert "active" in rows["coordinator"]
    assert "Caseworker" in rows["caseworker"]
    assert "disabled" in rows["caseworker"]
    assert 'href="/audit/?actor=caseworker"' in rows["caseworker"]
    assert "outsider" not in page  # another organization
    for hidden in ("Disable", "Unlock", "Reset second factor", "New user", "locked",
                   "<form method=\"post\""):
        assert hidden not in page.split("<main")[1], hidden


def test_staff_list_searches_by_username(login: Login, auditor: User, caseworker: User) -> None:
    page = login(auditor).get("/accounts/staff/", {"q": "CASE"}).content.decode()
    assert 'data-username="caseworker"' in page
    assert 'data-username="auditor"' not in page


@pytest.mark.parametrize("role", ["caseworker", "operator", "verifier", "liaison"])
def test_other_roles_cannot_list_staff(login: Login, request: pytest.FixtureRequest,
                                       role: str) -> None:
    assert login(request.getfixturevalue(role)).get("/accounts/staff/").status_code == 403


def test_staff_list_is_in_the_auditors_menu_and_users_in_the_coordinators(
    login: Login, auditor: User, coordinator: User
) -> None:
    assert 'href="/accounts/staff/"' in login(auditor).get("/").content.decode().split("</nav>")[0]
    nav = login(coordinator).get("/").content.decode().split("</nav>")[0]
    assert 'href="/accounts/users/"' in nav
    assert 'href="/accounts/staff/"' not in nav


def test_staff_list_is_granted_without_personal_data() -> None:
    assert Perm.STAFF_LIST in policy.ROLE_PERMISSIONS[Role.AUDITOR]
    assert not any(p.value.startswith("person:") for p in policy.ROLE_PERMISSIONS[Role.AUDITOR])
