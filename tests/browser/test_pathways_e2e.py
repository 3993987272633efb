"""From "where can they go" to arrival, in Chromium against the production server.

A caseworker picks a suggested pathway for a verified household, fills the document checklist,
asks for a dossier; a coordinator approves the export and downloads the PDF (checked for the
stamped fields); the application moves to a split decision (the principal approved, the spouse
refused); the approved member travels and arrives; the outcomes board counts it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from django.utils import timezone
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from tests.browser.conftest import Codes, screenshot
from tests.browser.support import Server
from tests.browser.test_cases_e2e import form, log_in, unsealed_server

pytestmark = pytest.mark.browser
__all__ = ["unsealed_server"]

PATHWAY = "lt-humanitarian-visa"
NAME = "Ахмед Дудаев"
SPOUSE = "Лейла Дудаева"
DATA = Path(__file__).resolve().parents[2] / "haven" / "pathways" / "data" / "pathways.yaml"


def required_documents(slug: str) -> list[str]:
    """The document types the reviewed data file requires for ``slug``."""
    data = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    (pathway,) = [p for p in data["pathways"] if p["slug"] == slug]
    return [item["doc_type"] for item in pathway["checklist"] if item.get("required")]


def upload_required_documents(page: Page, case_url: str) -> None:
    """Upload, on the case page, a document of each type the pathway requires, as the
    principal's (the upload form's first person)."""
    page.goto(case_url)
    upload = form(page, "/documents/")
    for doc_type in required_documents(PATHWAY):
        page.select_option(f"{upload} [name=doc_type]", doc_type)
        page.set_input_files(f"{upload} input[type=file]", files=[{
            "name": f"{doc_type}.pdf", "mimeType": "application/pdf",
            "buffer": b"%PDF-1.4\n% scanned " + doc_type.encode() + b"\n"}])
        page.click(f"{upload} button[type=submit]")
        expect(page.locator("#documents")).to_contain_text(f"{doc_type}.pdf")


def arrived_on_board(page: Page) -> int:
    page.goto("/pathways/outcomes/")
    cell = page.locator(f"tr[data-pathway='{PATHWAY}'] td[data-stage=arrived]")
    return int(cell.first.inner_text()) if cell.count() else 0


def open_step(page: Page, to: str) -> str:
    """Open the application page's disclosure of the move to ``to``; its form's selector."""
    page.click(f"details[data-step={to}] > summary")
    step = f"form.transition[data-to={to}]"
    expect(page.locator(step)).to_be_visible()
    return step


def move(page: Page, to: str, fill: dict[str, str] | None = None) -> None:
    """Open the step to ``to``, fill its form and confirm it."""
    step = open_step(page, to)
    for name, value in (fill or {}).items():
        page.fill(f"{step} [name$='{name}']", value)
    page.click(f"{step} button[type=submit]")
    expect(page.locator(f"form.transition[data-to={to}]")).to_have_count(0)


def verified_household(operator: Page, verifier: Page, coordinator: Page,
                       caseworker: Page, *, name: str = NAME, spouse: bool = True) -> str:
    """A case opened, verified, approved and assigned to the caseworker, active, with a
    spouse who travels too (unless ``spouse`` is false); its URL."""
    operator.goto("/cases/new/")
    operator.fill("#id_legal_name", name)
    operator.fill("#id_phone", "+7 928 000 33 44")
    operator.click("button[type=submit].primary")
    expect(operator.locator("h1")).to_have_text(re.compile(r"^HV-"))
    case_url = operator.url.split("#")[0]
    operator.select_option(f"{form(operator, '/verification/')} select", label="verifier")
    operator.click(f"{form(operator, '/verification/')} button[type=submit]")
    verifier.goto(case_url)
    submit = form(verifier, "/submit/")
    verifier.select_option(f"{submit} select[name=outcome]", "verified")
    verifier.check(f"{submit} input[name=methods][value=video_call]")
    verifier.fill(f"{submit} textarea[name=narrative]", "Documents and a video call match.")
    verifier.click(f"{submit} button[type=submit]")
    expect(verifier.locator("#verification")).to_contain_text("Awaiting a coordinator")
    coordinator.goto(case_url)
    coordinator.select_option(f"{form(coordinator, '/approve/')} select", "approve")
    coordinator.click(f"{form(coordinator, '/approve/')} button[type=submit]")
    expect(coordinator.locator("[data-outcome=verified]")).to_be_visible()
    coordinator.select_option(f"{form(coordinator, '/assign/')} select", label="caseworker")
    coordinator.click(f"{form(coordinator, '/assign/')} button[type=submit]")
    expect(coordinator.locator("[data-testid=assignee]")).to_have_text("caseworker")
    caseworker.goto(case_url)
    caseworker.click(f"{form(caseworker, '/transition/')} button[value=active]")
    expect(caseworker.locator("[data-status=active]").first).to_be_visible()
    if not spouse:
        return case_url
    caseworker.locator("#people summary", has_text="Add a household member").click()
    members = form(caseworker, "/members/")
    caseworker.fill(f"{members} [name=legal_name]", SPOUSE)
    caseworker.select_option(f"{members} [name=relationship]", "spouse")
    caseworker.click(f"{members} button[type=submit]")
    expect(caseworker.locator("#people article")).to_have_count(2)
    return case_url


def test_from_where_to_apply_to_arrival(unsealed_server: Server, new_page: Callable[[], Page],
                                        codes: Codes) -> None:
    operator, verifier, coordinator, caseworker = (new_page() for _ in range(4))
    for page, role in ((operator, "operator"), (verifier, "verifier"),
                       (coordinator, "coordinator"), (caseworker, "caseworker")):
        log_in(page, codes, role)
    arrived_before = arrived_on_board(coordinator)
    case_url = verified_household(operator, verifier, coordinator, caseworker)
    number = caseworker.locator("h1").inner_text()

    # Where to apply: the caseworker starts an application on a suggested pathway for both.
    caseworker.goto(case_url)
    caseworker.click("#pathways a:has-text('Where to apply')")
    suggestion = caseworker.locator(f"[data-pathway='{PATHWAY}']").first
    expect(suggestion).to_be_visible()
    for box in suggestion.locator("input[name=members]").all():
        box.check()
    suggestion.locator("button", has_text="Start application").click()
    expect(caseworker).to_have_url(re.compile(r"/pathways/applications/[0-9a-f-]{36}/$"))
    application_url = caseworker.url
    expect(caseworker.locator("[data-testid=checklist-percent]")).to_have_text("0 %")

    # The checklist: upload each required document on the case page.
    upload_required_documents(caseworker, case_url)
    caseworker.goto(application_url)
    # The principal's documents are half of what two applicants need: the spouse's papers are
    # held elsewhere, so the caseworker ticks them by hand.
    expect(caseworker.locator("[data-testid=checklist-percent]")).to_have_text("50 %")
    for doc_type in required_documents(PATHWAY):
        caseworker.locator(f"tr[data-doc-type={doc_type}] td[data-done=no] button",
                           has_text="tick by hand").first.click()
        expect(caseworker.locator(f"tr[data-doc-type={doc_type}]")).to_have_attribute(
            "data-done", "yes")
    expect(caseworker.locator("[data-testid=checklist-percent]")).to_have_text("100 %")
    expect(caseworker.locator("table.checklist")).to_contain_text("by caseworker")
    move(caseworker, "collecting_documents")
    move(caseworker, "ready_for_review")
    screenshot(caseworker, "pathways-01-checklist-complete")

    # A dossier for the embassy: the caseworker asks, the coordinator approves and downloads.
    caseworker.locator("summary", has_text="Request a dossier").click()
    request = form(caseworker, "/dossier/")
    for box in caseworker.locator(f"{request} input[name=include]").all():
        box.check()
    caseworker.click(f"{request} button[type=submit]")
    expect(caseworker.locator("[data-testid=dossier-exports]")).to_be_visible()
    coordinator.goto("/pathways/dossiers/")
    expect(coordinator.locator("main")).to_contain_text(number)
    # Other tests on the same server leave dossiers too: this case's rows only.
    coordinator.locator("[data-testid=requested] tr", has_text=number).locator(
        "button", has_text="Approve dossier").click()
    download_link = coordinator.locator("[data-testid=approved] tr", has_text=number).locator(
        "a", has_text="Download PDF")
    expect(download_link).to_be_visible()
    screenshot(coordinator, "pathways-02-dossier-approved")
    # The coordinator logged in moments ago, so no fresh check is asked here (the stale case
    # is tests/pathways/test_views.py::test_dossier_request_approve_and_download_with_…).
    with coordinator.expect_download() as got:
        download_link.click()
    pdf = got.value
    text = "\n".join(page.extract_text() or "" for page in PdfReader(
        io.BytesIO(Path(pdf.path()).read_bytes())).pages)
    assert number in text
    assert "coordinator" in text  # stamped: who exported it
    assert timezone.localdate().isoformat() in text  # and when
    for doc_type in ("passport", "photo"):
        assert doc_type in text.lower()  # the document list

    # Submitted, then a split decision: the principal approved, the spouse refused.
    caseworker.goto(application_url)
    move(caseworker, "submitted", {"submitted_to": "Embassy of Lithuania, Tbilisi",
                                   "external_reference": "LT-2026-0042"})
    step = open_step(caseworker, "approved")
    caseworker.locator(step).get_by_label("Outcome for Spouse").select_option("refused")
    caseworker.click(f"{step} button[type=submit]")
    expect(caseworker.locator("[data-testid=decision]")).to_be_visible()
    applicants = caseworker.locator("[data-testid=applicants]")
    expect(applicants).to_contain_text("Approved")
    expect(applicants).to_contain_text("Refused")
    screenshot(caseworker, "pathways-03-split-decision")
    start, end = timezone.localdate(), timezone.localdate() + timedelta(days=90)
    move(caseworker, "visa_issued", {"valid_from": start.isoformat(),
                                     "valid_until": end.isoformat()})

    # The approved member travels and arrives.
    caseworker.click("a:has-text('Plan travel')")
    caseworker.click("button:has-text('Plan journey')")
    expect(caseworker).to_have_url(re.compile(r"/pathways/travel/[0-9a-f-]{36}/$"))
    caseworker.click("button:has-text('Move to: Booked')")
    caseworker.click("button:has-text('Move to: In transit')")
    arrival = "form.arrival"
    caseworker.select_option(f"{arrival} [name$=country]", "LT")
    caseworker.select_option(f"{arrival} [name$=status_obtained]", "humanitarian")
    caseworker.fill(f"{arrival} [name$=receiving_partner]", "Vilnius host organization")
    caseworker.click(f"{arrival} button[type=submit]")
    expect(caseworker.locator("main")).to_contain_text("Arrived")
    screenshot(caseworker, "pathways-04-arrived")

    # The outcomes board counts it, with no name on it.
    assert arrived_on_board(coordinator) == arrived_before + 1
    expect(coordinator.locator("main")).not_to_contain_text(NAME)
    expect(coordinator.locator("main svg").first).to_be_visible()
    screenshot(coordinator, "pathways-05-outcomes-board")
