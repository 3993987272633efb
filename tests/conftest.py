"""Shared fixtures: an organization, one enrolled user per role, and logged-in clients."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from haven.access.roles import Role
from haven.accounts.models import Organization, User
from tests.factories.accounts import PASSWORD, OrganizationFactory, UserFactory

os.environ.setdefault("HAVEN_SECRET_KEY", "test-secret-key-0123456789abcdefghijklmnop")


@pytest.fixture(autouse=True)
def _test_settings(settings: pytest.FixtureRequest, tmp_path: object) -> None:
    settings.ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]  # type: ignore[attr-defined]


@pytest.fixture
def org(db: None) -> Organization:
    return OrganizationFactory(name="Test organization", slug="test-org")


@pytest.fixture
def other_org(db: None) -> Organization:
    return OrganizationFactory(name="Other organization", slug="other-org")


def _staff(org: Organization, role: Role, username: str) -> User:
    return UserFactory(username=username, organization=org, role=role, enrolled=True)


@pytest.fixture
def coordinator(org: Organization) -> User:
    return _staff(org, Role.COORDINATOR, "coordinator")


@pytest.fixture
def caseworker(org: Organization) -> User:
    return _staff(org, Role.CASEWORKER, "caseworker")


@pytest.fixture
def other_caseworker(org: Organization) -> User:
    return _staff(org, Role.CASEWORKER, "other_caseworker")


@pytest.fixture
def operator(org: Organization) -> User:
    return _staff(org, Role.OPERATOR, "operator")


@pytest.fixture
def verifier(org: Organization) -> User:
    return _staff(org, Role.VERIFIER, "verifier")


@pytest.fixture
def liaison(org: Organization) -> User:
    return _staff(org, Role.LIAISON, "liaison")


@pytest.fixture
def auditor(org: Organization) -> User:
    return _staff(org, Role.AUDITOR, "auditor")


@pytest.fixture
def outsider(other_org: Organization) -> User:
    """A coordinator of another organization: must see nothing of ours."""
    return _staff(other_org, Role.COORDINATOR, "outsider")


def current_code(user: User) -> str:
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    return str(totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)).zfill(
        device.digits
    )


def log_in(client: Client, user: User) -> Client:
    """Log in through the real pages: password, then a current TOTP code."""
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, response.content
    response = client.post("/accounts/verify/", {"code": current_code(user)})
    assert response.status_code == 302, response.content
    return client


@pytest.fixture
def login() -> Callable[[User], Client]:
    def make(user: User) -> Client:
        return log_in(Client(), user)

    return make
