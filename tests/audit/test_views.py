from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from haven.accounts.models import User
from haven.audit import services
from haven.audit.models import AuditEvent


def _text(response: object) -> str:
    return str(response.content.decode())  # type: ignore[attr-defined]


@pytest.fixture
def auditor_client(login: Callable[[User], Client], auditor: User) -> Client:
    return login(auditor)


def test_auditor_browses_the_log(auditor_client: Client, auditor: User) -> None:
    response = auditor_client.get("/audit/")
    assert response.status_code == 200
    page = _text(response)
    assert "auth.logged_in" in page
    assert "auth.password_ok" in page


def test_auditor_filters_by_action_actor_and_object(
    auditor_client: Client, auditor: User, caseworker: User, other_org: object
) -> None:
    services.record(actor=caseworker, action="thing.made", object_type="thing", object_id="obj-1")
    services.record(actor=auditor, action="thing.seen", object_type="thing", object_id="obj-2")
    by_action = _text(auditor_client.get("/audit/?action=thing."))
    assert "thing.made" in by_action
    assert "thing.seen" in by_action
    assert "auth.logged_in" not in by_action
    by_actor = _text(auditor_client.get(f"/audit/?actor_id={caseworker.pk}"))
    assert "thing.made" in by_actor
    assert "thing.seen" not in by_actor
    by_object = _text(auditor_client.get("/audit/?object_id=obj-2"))
    assert "thing.seen" in by_object
    assert "thing.made" not in by_object
    by_date = _text(auditor_client.get("/audit/?since=2000-01-01&until=2000-01-02"))
    assert "No events match." in by_date


def test_htmx_filter_returns_only_the_rows(auditor_client: Client) -> None:
    response = auditor_client.get("/audit/?action=auth.", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert _text(response).startswith("<table")
    assert "<html" not in _text(response)


@pytest.mark.parametrize("query", ["since=yesterday", "until=2024-13-45", "action=" + "a" * 65])
def test_bad_filter_shows_an_error(auditor_client: Client, query: str) -> None:
    response = auditor_client.get(f"/audit/?{query}")
    assert response.status_code == 400
    assert 'class="error-text"' in _text(response)


def test_log_shows_no_events_of_another_organization(
    auditor_client: Client, outsider: User
) -> None:
    services.record(actor=outsider, action="foreign.secret", object_id="x")
    assert "foreign.secret" not in _text(auditor_client.get("/audit/"))


def test_log_is_paginated(auditor_client: Client) -> None:
    for i in range(60):
        services.record(actor=None, action="bulk.event", object_id=f"o{i}")
    first = _text(auditor_client.get("/audit/?action=bulk."))
    assert "Page 1 of 2" in first
    second = _text(auditor_client.get("/audit/?action=bulk.&page=2"))
    assert "Page 2 of 2" in second


@pytest.mark.parametrize("role", ["caseworker", "operator", "verifier", "liaison"])
def test_roles_without_audit_read_cannot_see_the_log(
    login: Callable[[User], Client], request: pytest.FixtureRequest, role: str
) -> None:
    client = login(request.getfixturevalue(role))
    assert client.get("/audit/").status_code == 403
    before = AuditEvent.objects.count()
    assert client.post("/audit/verify/").status_code == 403
    assert AuditEvent.objects.count() == before


def test_auditor_verifies_the_chain_from_the_page(auditor_client: Client) -> None:
    response = auditor_client.post("/audit/verify/")
    assert response.status_code == 200
    assert "The audit chain is intact" in _text(response)
    assert AuditEvent.objects.filter(action="audit.verified").count() == 1


def test_verify_page_names_the_first_bad_event(auditor_client: Client) -> None:
    AuditEvent.objects.filter(seq=2).update(action="forged")
    response = auditor_client.post("/audit/verify/")
    assert "The audit chain is broken" in _text(response)
    assert "First bad event: #2." in _text(response)


def test_verify_needs_post(auditor_client: Client) -> None:
    assert auditor_client.get("/audit/verify/").status_code == 405
