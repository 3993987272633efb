"""CSV exports of applications and outcome figures (issue 14, item 8): rows through the
policy's object rules, the auditor's export holding figures only, every export audited."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from haven.audit.models import AuditEvent
from haven.cases import services as case_services
from haven.cases.models import Case
from haven.pathways import services
from haven.pathways.models import Application, ApplicationStatus, Pathway

Login = Callable[[Any], Client]


def read_csv(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


@pytest.fixture
def applications(household: Case, caseworker: Any, coordinator: Any,
                 reference: dict[str, Pathway]) -> tuple[Application, Application, Case]:
    """One application on the caseworker's case, one on a case only coordinators see."""
    mine = services.application_create(actor=caseworker, case=household,
                                       pathway=reference["de-humanitarian"])
    hidden_case = case_services.case_open(actor=coordinator, legal_name="Скрытый Маркер")
    theirs = services.application_create(actor=coordinator, case=hidden_case,
                                         pathway=reference["de-humanitarian"])
    return mine, theirs, hidden_case


def test_caseworker_exports_the_applications_of_their_cases_only(
        applications: tuple[Application, Application, Case], household: Case,
        caseworker: Any, login: Login) -> None:
    _mine, _theirs, hidden_case = applications
    response = login(caseworker).get("/pathways/applications/export.csv")
    rows = read_csv(response)
    assert rows[0] == ["Case", "Destination", "Pathway", "Status", "In this status since",
                       "Submitted on", "Decision", "Decided on", "Started"]
    assert [(r[0], r[3]) for r in rows[1:]] == [(household.number, "Draft")]
    assert hidden_case.number not in response.content.decode("utf-8-sig")
    event = AuditEvent.objects.get(action="list.exported")
    assert event.data == {"list": "applications", "rows": 1}


def test_coordinator_exports_every_application_and_may_pick_a_stage(
        applications: tuple[Application, Application, Case], household: Case,
        coordinator: Any, login: Login) -> None:
    mine, _theirs, hidden_case = applications
    services.application_transition(actor=coordinator, application=mine,
                                    to=ApplicationStatus.COLLECTING_DOCUMENTS)
    client = login(coordinator)
    every = read_csv(client.get("/pathways/applications/export.csv"))
    assert {r[0] for r in every[1:]} == {household.number, hidden_case.number}
    collecting = read_csv(client.get("/pathways/applications/export.csv",
                                     {"status": ApplicationStatus.COLLECTING_DOCUMENTS}))
    assert [(r[0], r[3]) for r in collecting[1:]] == [(household.number,
                                                       "Collecting documents")]
    assert AuditEvent.objects.filter(action="list.exported").latest("seq").data == {
        "list": "applications", "status": "collecting_documents", "rows": 1}


def test_partner_and_auditor_cannot_export_applications(
        applications: tuple[Application, Application, Case], liaison: Any, auditor: Any,
        login: Login) -> None:
    assert login(liaison).get("/pathways/applications/export.csv").status_code == 403
    assert login(auditor).get("/pathways/applications/export.csv").status_code == 403
    assert not AuditEvent.objects.filter(action="list.exported").exists()


def test_auditor_exports_outcome_figures_without_any_case(
        applications: tuple[Application, Application, Case], household: Case,
        auditor: Any, login: Login) -> None:
    _mine, _theirs, hidden_case = applications
    client = login(auditor)
    page = client.get("/pathways/outcomes/").content.decode()
    assert 'href="/pathways/outcomes/export.csv" rel="alternate" type="text/csv"' in page
    response = client.get("/pathways/outcomes/export.csv")
    rows = read_csv(response)
    assert rows[0] == ["Destination", "Pathway", "Applied", "Submitted", "Approved",
                       "Visa issued", "Travelled", "Arrived", "Decisions: approved",
                       "Decisions: refused", "Approval rate", "Median days to decision"]
    (row,) = rows[1:]
    assert row[1:3] == ["Germany — humanitarian visa", "2"]  # two cases applied
    text = response.content.decode("utf-8-sig")
    for number in (household.number, hidden_case.number):
        assert number not in text
    assert AuditEvent.objects.get(action="list.exported").data == {"list": "outcomes",
                                                                   "rows": 1}


def test_caseworker_cannot_export_outcomes_and_pathway_list_links_applications(
        applications: tuple[Application, Application, Case], caseworker: Any,
        login: Login) -> None:
    client = login(caseworker)
    assert client.get("/pathways/outcomes/export.csv").status_code == 403
    page = client.get("/pathways/").content.decode()
    assert 'href="/pathways/applications/export.csv"' in page
