"""Intake fixtures: an organization with an open intake, sealed or unsealed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

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
    # Forms may be sent at once; the tests of the wait (tests/intake/test_budget.py) set it.
    settings.HAVEN_INTAKE_MIN_FILL_SECONDS = 0
    settings.HAVEN_INTAKE_DISK_RESERVE_MB = 0
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


TOKEN_RE = re.compile(r'name="form_token" value="([^"]*)"')
CODENAME_RE = re.compile(r'data-testid="codename"[^>]*>(.*?)</ol>', re.S)
WORD_RE = re.compile(r"<span>([^<]+)</span>")


def form_token(client: Client, path: str = "/intake/ask/") -> str:
    """Open the form as a browser would (which sets the visitor cookie) and read its token."""
    page = client.get(path)
    found = TOKEN_RE.search(page.content.decode())
    assert found, page.content.decode()[:500]
    return found.group(1)


def post_form(client: Client, data: dict[str, str] | None = None, *, token: str | None = None
              ) -> Any:
    """Send the public form with a fresh token (or ``token``), as a browser would."""
    token = form_token(client) if token is None else token
    return client.post("/intake/ask/", {**(SUBMISSION if data is None else data),
                                        "form_token": token})


def codename_of(html: str) -> str:
    found = CODENAME_RE.search(html)
    assert found, html[:800]
    return " ".join(WORD_RE.findall(found.group(1)))


def ask_for_help(client: Client, data: dict[str, str] | None = None) -> str:
    """Send the form and follow the redirect to the page that shows the codename; the codename."""
    sent = post_form(client, data)
    assert sent.status_code == 303, sent.content.decode()[:800]
    assert sent["Location"] == "/intake/received/"
    return codename_of(client.get("/intake/received/").content.decode())


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
