"""CSV exports of the case list and the task list (issue 14, item 8): each role gets exactly
the rows and columns its pages show, the export is audited, and no cell is a formula."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from haven.audit.models import AuditEvent
from haven.cases import services
from haven.cases.models import Case, SharedField, Status

Login = Callable[[Any], Client]
BOM = "\ufeff".encode()


def read_csv(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="haven-')
    assert response.content.startswith(BOM)
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


@pytest.fixture
def hidden(assigned: Case, coordinator: Any) -> Case:
    """A case nobody but coordinators may see: not assigned, not opened by the operator."""
    return services.case_open(actor=coordinator, legal_name="Скрытый Маркер",
                              phone="+7 900 555 44 33")


@pytest.fixture
def suspended(assigned: Case, coordinator: Any, caseworker: Any) -> Case:
    """A case assigned to the caseworker, then suspended for security: coordinators only."""
    case = services.case_open(actor=coordinator, legal_name="Приостановленный Человек")
    services.case_assign(actor=coordinator, case=case, assignee=caseworker)
    services.case_transition(actor=coordinator, case=case, to=Status.SUSPENDED)
    case.refresh_from_db()
    return case


def exports() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="list.exported").order_by("seq"))


def test_caseworker_exports_only_their_cases_with_every_listed_column(
        assigned: Case, hidden: Case, suspended: Case, caseworker: Any, login: Login) -> None:
    response = login(caseworker).get("/cases/export.csv")
    rows = read_csv(response)
    assert rows[0] == ["Case", "Status", "Priority", "Type", "People", "Risk", "Triage",
                       "Next review", "Caseworker", "Opened"]
    assert [r[0] for r in rows[1:]] == [assigned.number]
    assert rows[1][1:5] == ["Active", "Normal", "Evacuation abroad", "1"]
    assert rows[1][8] == "caseworker"
    text = response.content.decode("utf-8-sig")
    for marker in (hidden.number, suspended.number, "Скрытый", "900 555"):
        assert marker not in text
    (event,) = exports()
    assert event.actor_id == str(caseworker.pk)
    assert event.data == {"list": "cases", "rows": 1}


def test_coordinator_export_follows_the_list_filters_and_logs_them_without_the_search_text(
        assigned: Case, hidden: Case, suspended: Case, coordinator: Any, login: Login) -> None:
    client = login(coordinator)
    everything = read_csv(client.get("/cases/export.csv"))
    assert {r[0] for r in everything[1:]} == {assigned.number, hidden.number, suspended.number}
    active = read_csv(client.get("/cases/export.csv", {"status": Status.ACTIVE}))
    assert [r[0] for r in active[1:]] == [assigned.number]
    found = read_csv(client.get("/cases/export.csv", {"q": "Скрытый"}))
    assert [r[0] for r in found[1:]] == [hidden.number]
    events = exports()
    assert [e.data for e in events] == [
        {"list": "cases", "rows": 3},
        {"list": "cases", "status": "active", "rows": 1},
        {"list": "cases", "search": "name_or_phone", "rows": 1},
    ]
    assert "Скрытый" not in str(events[-1].data)


def test_partner_export_has_only_the_case_number_and_the_shared_fields(
        assigned: Case, hidden: Case, coordinator: Any, liaison: Any, login: Login) -> None:
    """Finding 2 of issue 13, for exports: a referral sharing the status gives the case
    number and its status, nothing else (no priority, risk, caseworker, household)."""
    services.referral_create(actor=coordinator, case=assigned, liaison=liaison,
                             shared_fields=[SharedField.STATUS])
    client = login(liaison)
    response = client.get("/cases/export.csv")
    assert read_csv(response) == [["Case", "Status"], [assigned.number, "Active"]]
    text = response.content.decode("utf-8-sig")
    assert "caseworker" not in text
    assert hidden.number not in text
    # A filter on a withheld field is ignored, as on the page (it would tell the risk).
    assert read_csv(client.get("/cases/export.csv", {"risk": "high"}))[1:] == [
        [assigned.number, "Active"]]


def test_partner_export_shares_household_size_only_when_referred(
        assigned: Case, coordinator: Any, liaison: Any, login: Login) -> None:
    services.referral_create(actor=coordinator, case=assigned, liaison=liaison,
                             shared_fields=[SharedField.HOUSEHOLD_SIZE, SharedField.PRIORITY])
    rows = read_csv(login(liaison).get("/cases/export.csv"))
    assert rows == [["Case", "Priority", "Household size"], [assigned.number, "Normal", "1"]]


def test_operator_export_leaves_out_risk_triage_and_review(
        assigned: Case, hidden: Case, operator: Any, login: Login) -> None:
    rows = read_csv(login(operator).get("/cases/export.csv"))
    assert rows[0] == ["Case", "Status", "Priority", "Type", "People", "Caseworker", "Opened"]
    assert [r[0] for r in rows[1:]] == [assigned.number]  # the case the operator opened


def test_auditor_cannot_export_cases_or_tasks(assigned: Case, auditor: Any,
                                              login: Login) -> None:
    client = login(auditor)
    assert client.get("/cases/export.csv").status_code == 403
    assert client.get("/cases/tasks/export.csv").status_code == 403
    assert exports() == []


def test_task_export_neutralises_formulas_and_lists_only_visible_tasks(
        assigned: Case, caseworker: Any, coordinator: Any, login: Login) -> None:
    suspended = services.case_open(actor=coordinator, legal_name="Приостановленный Человек")
    services.case_assign(actor=coordinator, case=suspended, assignee=caseworker)
    services.task_create(actor=coordinator, case=suspended, assignee=caseworker,
                         title="Suspended case secret task")
    services.case_transition(actor=coordinator, case=suspended, to=Status.SUSPENDED)
    services.task_create(actor=caseworker, case=assigned, assignee=caseworker,
                         title='=HYPERLINK("http://evil.example/","Open me")')
    services.task_create(actor=caseworker, case=assigned, assignee=caseworker,
                         title="@SUM(1+1)")
    response = login(caseworker).get("/cases/tasks/export.csv")
    rows = read_csv(response)
    assert rows[0] == ["Task", "Case", "Priority", "Status", "Due", "Done on"]
    titles = sorted(r[0] for r in rows[1:])
    assert titles == ["'=HYPERLINK(\"http://evil.example/\",\"Open me\")", "'@SUM(1+1)"]
    assert {r[1] for r in rows[1:]} == {assigned.number}
    assert "secret task" not in response.content.decode("utf-8-sig")
    assert exports()[-1].data == {"list": "tasks", "status": "open", "rows": 2}


def test_export_headers_are_in_russian_and_cyrillic_survives(
        assigned: Case, caseworker: Any, login: Login) -> None:
    services.task_create(actor=caseworker, case=assigned, assignee=caseworker,
                         title="Позвонить Магомеду")
    client = login(caseworker)
    client.cookies["haven_language"] = "ru"
    rows = read_csv(client.get("/cases/tasks/export.csv"))
    assert rows[0][:2] == ["Задача", "Дело"]
    assert rows[1][0] == "Позвонить Магомеду"
    cases = read_csv(client.get("/cases/export.csv"))
    assert cases[0][0] == "Дело"
    assert cases[1][1] == "Активно"


def test_list_pages_link_to_their_export_with_the_current_filters(
        assigned: Case, coordinator: Any, login: Login) -> None:
    client = login(coordinator)
    page = client.get("/cases/", {"status": Status.ACTIVE}).content.decode()
    assert 'href="/cases/export.csv?status=active" rel="alternate" type="text/csv"' in page
    tasks = client.get("/cases/tasks/", {"status": "done"}).content.decode()
    assert 'href="/cases/tasks/export.csv?status=done"' in tasks
