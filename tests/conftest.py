"""Shared fixtures: an organization, one enrolled user per role, and logged-in clients."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django_otp.oath import totp

from haven.access.roles import Role
from haven.accounts.models import Organization, SealedTOTPDevice, User
from haven.audit.models import AuditEvent, AuditHead
from tests.factories.accounts import PASSWORD, OrganizationFactory, UserFactory
from tests.keyring.fixtures import (
    agent_process,
    data_dir,
    local_agent,
    sealed_middleware,
    shares,
    unsealed,
)

__all__ = ["agent_process", "data_dir", "local_agent", "sealed_middleware", "shares", "unsealed"]

# Tests that arrange the keyring themselves (sealed, unsealed, a real agent) name one of these.
KEYRING_FIXTURES = frozenset(
    {"agent_process", "data_dir", "local_agent", "sealed_middleware", "shares", "unsealed"}
)


@pytest.fixture(autouse=True)
def _server_unsealed(request: pytest.FixtureRequest) -> None:
    """A test that uses the database but says nothing about the keyring runs against an
    unsealed server (an in-process key agent), as staff normally meet it; the sealed state
    has its own tests, which ask for the keyring fixtures above."""
    names = set(request.fixturenames)
    if names & KEYRING_FIXTURES:
        return
    if names & {"db", "transactional_db"} or request.node.get_closest_marker("django_db"):
        request.getfixturevalue("unsealed")
        # Setting up keys is scaffolding here, not the test's own doing: start the test with
        # an empty audit chain so it sees exactly the events it causes.
        AuditEvent.objects.all().delete()
        AuditHead.objects.all().delete()


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
    device = SealedTOTPDevice.objects.get(user=user, confirmed=True)
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
def login(db: None) -> Callable[[User], Client]:
    def make(user: User) -> Client:
        return log_in(Client(), user)

    return make
