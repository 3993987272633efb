"""Intake fixtures: an organization with an open intake, sealed or unsealed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache

from haven.intake import services
from haven.intake.models import IntakeKey, Request
from haven.keyring import client
from tests.keyring.fixtures import (
    agent_process,
    data_dir,
    local_agent,
    sealed_middleware,
    shares,
    unsealed,
)

__all__ = ["agent_process", "data_dir", "local_agent", "sealed_middleware", "shares", "unsealed"]

SUBMISSION = {
    "contact": "Signal: @safe_contact_42",
    "region": "North Caucasus",
    "story": "They came to my flat last night. I need to leave.",
    "urgency": "now",
}


@pytest.fixture(autouse=True)
def _intake_settings(settings: Any) -> Iterator[None]:
    # A cheap scrypt cost keeps tests fast; production cost is a setting (docs/intake.md).
    settings.HAVEN_INTAKE_KDF_LOG2_N = 10
    settings.HAVEN_INTAKE_RATE_PER_MINUTE = 10_000
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def intake_key(unsealed: list[str], org: Any) -> IntakeKey:
    return services.intake_key_create(actor=None, organization=org)


@pytest.fixture
def sealed_intake(intake_key: IntakeKey, shares: list[str]) -> Iterator[list[str]]:
    """The intake is open, then the server is sealed (a fresh agent with no key)."""
    with client.using(client.LocalTransport()):
        yield shares


def submit(intake_key: IntakeKey, **overrides: str) -> services.Submitted:
    fields = {**SUBMISSION, **overrides}
    return services.request_submit(intake_key=intake_key, language="en", **fields)


@pytest.fixture
def submitted(intake_key: IntakeKey) -> services.Submitted:
    return submit(intake_key)


def reload(req: Request) -> Request:
    return Request.objects.get(pk=req.pk)


@pytest.fixture
def plain_key(org: Any) -> IntakeKey:
    """An intake key row made without the keyring (for tests that never decrypt)."""
    from nacl.public import PrivateKey

    from haven.keyring import intake_crypto

    return IntakeKey.objects.create(
        organization=org, public_key=bytes(PrivateKey.generate().public_key),
        kdf_salt=intake_crypto.new_salt(), kdf_log2_n=10)


@pytest.fixture
def plain_submitted(plain_key: IntakeKey) -> services.Submitted:
    return submit(plain_key)
