"""The start page: one "My work" for every role, and nothing urgent hidden on it."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from haven.accounts.models import User
from haven.cases import services as cases
from haven.cases.models import Case, Priority, RiskLevel, Task
from haven.intake import services as intake
from haven.intake.models import IntakeKey
from haven.pathways import services as pathways

Login = Callable[[User], Client]


def _page(client: Client) -> str:
    response = client.get("/")
    assert response.status_code == 200
    return str(response.content.decode())


def _urgent(page: str) -> str:
    """The "Needs action now" list only."""
    match = re.search(r'<section class="card urgent".*?</section>', page, re.S)
    assert match, "no urgent list on the page"
    return match.group(0)


@pytest.fixture
def case(coordinator: User, caseworker: User) -> Case:
    """A case the coordinator opened and gave to the caseworker."""
    opened = cases.case_open(actor=coordinator, legal_name="Магомед Хасанов")
    cases.case_assign(actor=coordinator, case=opened, assignee=caseworker)
    opened.refresh_from_db()
    return opened


@pytest.fixture
def intake_key(org: Any, settings: Any) -> IntakeKey:
    settings.HAVEN_INTAKE_KDF_LOG2_N = 10
    settings.HAVEN_INTAKE_RATE_PER_MINUTE = 10_000
    return intake.intake_key_create(actor=None, organization=org)


def _submit(key: IntakeKey, urgency: str) -> Any:
    return intake.request_submit(intake_key=key, language="en", contact="Signal: @x",
                                 region="North Caucasus", story="I need to leave.",
                                 urgency=urgency).request


# --- one entry in the menu ----------------------------------------------------------------------


@pytest.mark.parametrize("role", ["coordinator", "caseworker", "operator", "verifier",
                                  "liaison", "auditor"])
def test_every_role_has_one_start_page_in_the_menu(
    login: Login, request: pytest.FixtureRequest, role: str
) -> None:
    page = _page(login(request.getfixturevalue(role)))
    nav = re.search(r'<nav class="nav".*?</nav>', page, re.S)
    assert nav is not None
    assert nav.group(0).count(">My work<") == 1
    assert ">Dashboard<" not in nav.group(0)
    assert "<h1>My work</h1>" in page


def test_the_old_address_leads_to_the_start_page(login: Login, caseworker: User) -> None:
    response = login(caseworker).get("/cases/dashboard/")
    assert response.status_code == 301
    assert response["Location"] == "/"


# --- nothing urgent hidden ----------------------------------------------------------------------


def test_a_detention_is_on_the_coordinators_and_the_caseworkers_start_page(
    login: Login, case: Case, coordinator: User, caseworker: User, other_caseworker: User
) -> None:
    travel = pathways.travel_plan(actor=caseworker, case=case)
    pathways.travel_transition(actor=caseworker, travel=travel, to="booked")
    pathways.travel_transition(actor=caseworker, travel=travel, to="detained")
    title = f"Detained on the way: case {case.number} needs help now"
    for user in (coordinator, caseworker):
        urgent = _urgent(_page(login(user)))
        assert title in urgent, user.username
        assert "Emergency task" in urgent
        assert f'href="/cases/{case.pk}/#tasks"' in urgent
    assert title not in _page(login(other_caseworker))


def test_overdue_emergency_tasks_and_urgent_cases_come_newest_first(
    login: Login, case: Case, coordinator: User, caseworker: User
) -> None:
    now = timezone.now()
    today = timezone.localdate()
    old = cases.task_create(actor=caseworker, case=case, title="Find a lawyer",
                            priority=Priority.EMERGENCY, due=today - timedelta(days=2))
    Task.objects.filter(pk=old.pk).update(created_at=now - timedelta(days=9))
    recent = cases.task_create(actor=caseworker, case=case, title="Move her tonight",
                               priority=Priority.EMERGENCY, due=today + timedelta(days=1))
    Task.objects.filter(pk=recent.pk).update(created_at=now - timedelta(days=3))
    cases.task_create(actor=caseworker, case=case, title="Routine call",
                      priority=Priority.NORMAL, due=today - timedelta(days=2))
    cases.case_update(actor=coordinator, case=case, priority=Priority.EMERGENCY)
    Case.objects.filter(pk=case.pk).update(updated_at=now - timedelta(hours=5))
    urgent = _urgent(_page(login(caseworker)))
    # The case (changed 5 hours ago), the overdue task (overdue since yesterday began), then
    # the task made three days ago; the normal task is not urgent.
    order = [urgent.index(case.number + "</a> · <span"), urgent.index("Find a lawyer"),
             urgent.index("Move her tonight")]
    assert order == sorted(order)
    assert "Overdue emergency task" in urgent
    assert "Emergency case" in urgent
    assert "Routine call" not in urgent


def test_imminent_risk_is_urgent_whatever_the_priority(
    login: Login, case: Case, caseworker: User
) -> None:
    client = login(caseworker)
    assert case.number not in _urgent(_page(client))
    cases.risk_assess(actor=caseworker, case=case, immediacy=RiskLevel.IMMINENT,
                      recommended_priority=Priority.URGENT,
                      next_review=timezone.localdate() + timedelta(days=3))
    urgent = _urgent(_page(client))
    assert case.number in urgent
    assert "Imminent risk" in urgent


def test_new_urgent_requests_and_waiting_messages_reach_operators_and_coordinators(
    login: Login, intake_key: IntakeKey, operator: User, coordinator: User, caseworker: User
) -> None:
    danger = _submit(intake_key, "now")
    _submit(intake_key, "weeks")
    answered = _submit(intake_key, "weeks")
    intake.request_reply(actor=operator, request=answered, body="We are here.")
    intake.requester_message_send(request=answered, body="Thank you, when can we talk?")
    for user in (operator, coordinator):
        page = _page(login(user))
        urgent = _urgent(page)
        assert f'href="/inbox/{danger.pk}/"' in urgent
        assert "New request: I am in danger now" in urgent
        assert "Within weeks" not in urgent
        assert f'href="/inbox/{answered.pk}/"' in urgent
        assert "Message waiting" in urgent
        counts = re.search(r'data-testid="inbox-counts".*?</section>', page, re.S)
        assert counts is not None
        assert "2 new requests" in counts.group(0)
        assert "1 conversation waits for an answer" in counts.group(0)
    assert f"/inbox/{danger.pk}/" not in _page(login(caseworker))


def test_nothing_urgent_says_so(login: Login, case: Case, caseworker: User) -> None:
    urgent = _urgent(_page(login(caseworker)))
    assert 'data-testid="urgent-empty"' in urgent


def test_the_list_is_read_in_a_fixed_number_of_queries(case: Case, coordinator: User) -> None:
    from haven.dashboard import selectors

    def count() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            selectors.urgent_items(actor=coordinator)
        return len(captured)

    few = count()
    for i in range(12):
        other = cases.case_open(actor=coordinator, legal_name=f"Person {i}",
                                priority=Priority.EMERGENCY)
        cases.task_create(actor=coordinator, case=other, title=f"Task {i}",
                          priority=Priority.EMERGENCY, assignee=coordinator)
    items = selectors.urgent_items(actor=coordinator)
    assert len([i for i in items if i.kind == selectors.TASK]) == 12
    assert count() == few


# --- the other roles' start pages ---------------------------------------------------------------


def test_auditor_starts_with_the_latest_events_by_name(
    login: Login, auditor: User, case: Case
) -> None:
    page = _page(login(auditor))
    events = re.search(r'data-testid="latest-events".*?</tbody>', page, re.S)
    assert events is not None
    assert "Case opened" in events.group(0)
    assert "<td>coordinator</td>" in events.group(0)
    assert case.number in events.group(0)
    assert 'href="/accounts/staff/"' in page


def test_liaison_starts_with_the_cases_referred_to_them(
    login: Login, liaison: User, coordinator: User, case: Case
) -> None:
    cases.referral_create(actor=coordinator, case=case, liaison=liaison,
                          shared_fields=["status"])
    page = _page(login(liaison))
    referred = re.search(r'data-testid="referred".*?</ul>', page, re.S)
    assert referred is not None
    assert case.number in referred.group(0)
    assert "Magomed" not in page
    assert "Магомед" not in page
