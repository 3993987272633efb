from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from haven.accounts.models import User
from haven.audit import services
from haven.audit.models import AuditEvent


def _text(response: object) -> str:
    return str(response.content.decode())  # type: ignore[attr-defined]


def _rows(client: Client, query: str) -> str:
    """The log's rows only (the page also lists every action code to pick from)."""
    response = client.get(f"/audit/?{query}", headers={"HX-Request": "true"})
    assert response.status_code == 200, response.content
    return _text(response)


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
    by_action = _rows(auditor_client, "action=thing.")
    assert "thing.made" in by_action
    assert "thing.seen" in by_action
    assert "auth.logged_in" not in by_action
    by_actor = _rows(auditor_client, "actor=caseworker")
    assert "thing.made" in by_actor
    assert "thing.seen" not in by_actor
    by_date = _rows(auditor_client, "since=2000-01-01&until=2000-01-02")
    assert "No events match." in by_date


def test_htmx_filter_returns_only_the_rows(auditor_client: Client) -> None:
    response = auditor_client.get("/audit/?action=auth.", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert _text(response).startswith('<div class="scroll" tabindex="0" role="region"')
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


# --- people, not ids ----------------------------------------------------------------------------


@pytest.fixture
def case_with_history(operator: User, verifier: User, coordinator: User) -> object:
    """A case sent to a verifier, verified by video call, with a task: events about the case
    itself and about records of it, by three people."""
    from haven.cases import services as cases
    from haven.cases.models import Method, Outcome

    case = cases.case_open(actor=operator, legal_name="Магомед Хасанов")
    verification = cases.verification_request(actor=operator, case=case, verifier=verifier)
    cases.verification_submit(actor=verifier, verification=verification,
                              outcome=Outcome.VERIFIED,
                              methods=[Method.VIDEO_CALL, Method.STORY_CHECK],
                              narrative="Checked")
    cases.task_create(actor=coordinator, case=case, title="Call back")
    return case


def test_log_names_staff_and_cases_and_shows_labels_not_codes(
    login: Callable[[User], Client], auditor: User, verifier: User, case_with_history: object
) -> None:
    case = case_with_history
    rows = _rows(login(auditor), "")
    assert f">{case.number}</a>" in rows  # type: ignore[attr-defined]
    assert f"?case={case.number}" in rows  # type: ignore[attr-defined]
    assert ">verifier</a>" in rows
    assert ">operator</a>" in rows
    assert ">coordinator</a>" in rows
    assert str(verifier.pk)[:8] not in rows  # no shortened ids
    assert "Verifier: verifier" in rows  # not verifier=1d46…
    assert "Sent to verification" in rows
    assert "Outcome: Verified" in rows
    assert "verifier=" not in rows
    assert "video_call" not in rows


def test_coordinator_gets_a_link_to_the_case_page(
    login: Callable[[User], Client], coordinator: User, case_with_history: object
) -> None:
    rows = _rows(login(coordinator), "")
    assert f'href="/cases/{case_with_history.pk}/"' in rows  # type: ignore[attr-defined]


def test_log_filters_by_username_case_number_action_and_date(
    login: Callable[[User], Client], auditor: User, case_with_history: object, coordinator: User
) -> None:
    client = login(auditor)
    services.record(actor=coordinator, action="thing.elsewhere", object_id="x")
    number = case_with_history.number  # type: ignore[attr-defined]
    by_case = _rows(client, f"case={number.lower()}")
    assert "case.opened" in by_case
    assert "task.created" in by_case
    assert "verification.submitted" in by_case
    assert "thing.elsewhere" not in by_case
    assert "auth.logged_in" not in by_case
    by_name = _rows(client, "actor=VERIFIER")
    assert "verification.submitted" in by_name
    assert "case.opened" not in by_name
    both = _rows(client, f"case={number}&actor=coordinator&action=task.")
    assert "task.created" in both
    assert "thing.elsewhere" not in both
    assert "No events match." in _rows(client, f"case={number}&until=2000-01-01")


@pytest.mark.parametrize(("query", "message"), [
    ("actor=nobody", "No staff member of your organization is called"),
    ("actor=outsider", "No staff member of your organization is called"),
    ("case=HV-0000-0000", "Your organization has no case HV-0000-0000."),
    ("case=12345", "A case number looks like"),
])
def test_unknown_name_or_number_is_refused_with_a_message(
    auditor_client: Client, outsider: User, query: str, message: str
) -> None:
    response = auditor_client.get(f"/audit/?{query}")
    assert response.status_code == 400
    assert message in _text(response)


def test_case_from_another_organization_is_unknown(
    login: Callable[[User], Client], outsider: User, case_with_history: object
) -> None:
    number = case_with_history.number  # type: ignore[attr-defined]
    client = login(outsider)
    response = client.get(f"/audit/?case={number}")
    assert response.status_code == 400
    assert number not in _rows(client, "")


def test_filter_form_offers_staff_names_and_action_labels(auditor_client: Client) -> None:
    page = _text(auditor_client.get("/audit/"))
    assert '<option value="auditor">' in page
    assert '<option value="case.transitioned">Case status changed</option>' in page
    assert "Actor id" not in page
    assert "Object id" not in page


def test_a_long_log_is_not_counted_to_the_end(
    auditor_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from haven.auditlog import views

    monkeypatch.setattr(views, "COUNT_CAP", 60)
    for i in range(130):
        services.record(actor=None, action="bulk.event", object_id=f"o{i}")
    first = _rows(auditor_client, "action=bulk.")
    assert "More than 60 events: the newest first." in first
    assert "Page 1 of 2" in first  # the cap's pages (61 events), not the 130 there are
    assert "No events match." not in _rows(auditor_client, "action=bulk.&page=2")


def test_date_filters_take_whole_days(auditor_client: Client) -> None:
    from django.utils import timezone

    services.record(actor=None, action="today.event", object_id="x")
    today = timezone.localdate().isoformat()
    assert "today.event" in _rows(auditor_client, f"since={today}&until={today}")
    assert "today.event" not in _rows(auditor_client, "until=2000-01-01")


def test_a_journeys_effects_read_in_words(login: Callable[[User], Client], auditor: User,
                                          caseworker: User) -> None:
    """What a journey's move did to the case, as the auditor reads it: "Case status: Departed,
    Arrived", not "case status: departed, arrived"."""
    services.record(actor=caseworker, action="travel.transitioned", object_type="travel",
                    object_id="00000000-0000-0000-0000-000000000001",
                    organization_id=caseworker.organization_id,
                    data={"from": "in_transit", "to": "arrived",
                          "case_status": ["departed", "arrived"], "case_left": "on_hold",
                          "priority": ["emergency", "normal"], "placements_ended": 2,
                          "tasks_closed": 1, "tasks": 0})
    rows = _rows(login(auditor), "")
    assert "Case status: Departed, Arrived" in rows
    assert "Case status left at: On hold" in rows
    assert "Placements ended: 2" in rows
    assert "Tasks closed: 1" in rows
    assert "departed" not in rows
    assert "case status" not in rows


def test_sign_in_events_read_in_words(login: Callable[[User], Client], auditor: User,
                                      caseworker: User) -> None:
    services.record(actor=caseworker, action="auth.logged_in", object_type="user",
                    object_id=caseworker.pk, organization_id=caseworker.organization_id,
                    data={"kind": "totp", "failures_since_last": 2})
    services.record(actor=None, action="auth.login_failed", object_type="user",
                    object_id=caseworker.pk, organization_id=caseworker.organization_id,
                    data={"stage": "second_factor", "failures": 3, "delay_seconds": 4,
                          "known_device": True})
    rows = _rows(login(auditor), "")
    assert "Kind: Authenticator app" in rows
    assert "Failed attempts since the last sign-in: 2" in rows
    assert "Step: Second factor" in rows
    assert "Failed attempts: 3" in rows
    assert "Known browser: yes" in rows
    for code in ("totp", "second_factor", "known device", "failures"):
        assert code not in rows, code
