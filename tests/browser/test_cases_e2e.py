"""A case from first call to a shelter bed, in Chromium against the production server: an
operator opens it, a verifier verifies it, a coordinator approves and assigns it, a caseworker
places the person, adds a note and a task; each sees only what DESIGN.md's table allows."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Codes, screenshot
from tests.browser.support import Server, run_haven

pytestmark = pytest.mark.browser

NAME = "Магомед Хасанов"


@pytest.fixture(scope="module")
def unsealed_server(server: Server) -> Server:
    """The demo server, unsealed with its shares (a test before may have sealed it)."""
    run_haven(["unseal"], server.env, stdin="\n".join(server.shares[:2]) + "\n", check=False)
    return server


def log_in(page: Page, codes: Codes, role: str) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", role)
    page.fill("#id_password", f"demo-{role}-haven")
    page.click("button[type=submit].primary")
    expect(page).to_have_url(re.compile(r"/accounts/verify/$"))
    page.fill("#id_code", codes.demo(role))
    page.click("button[type=submit].primary")
    expect(page).to_have_url(re.compile(r"/$"))


def form(page: Page, action: str) -> str:
    return f"form[action$='{action}']"


def test_case_from_call_to_shelter(unsealed_server: Server, new_page: Callable[[], Page],
                                   codes: Codes) -> None:
    # The hotline operator opens the case and sends it to a verifier.
    operator = new_page()
    log_in(operator, codes, "operator")
    operator.goto("/cases/new/")
    operator.fill("#id_legal_name", NAME)
    operator.fill("#id_other_names", "Magomed Khasanov")
    operator.fill("#id_phone", "+7 928 000 11 22")
    operator.select_option("#id_priority", "urgent")
    operator.click("button[type=submit].primary")
    expect(operator.locator("h1")).to_have_text(re.compile(r"^HV-[0-9A-Z]{4}-[0-9A-Z]{4}$"))
    case_url = operator.url.split("#")[0]
    number = operator.locator("h1").inner_text()
    expect(operator.locator("main")).not_to_contain_text(NAME)  # masked, and no reveal button
    expect(operator.locator("form.reveal")).to_have_count(0)
    operator.select_option(f"{form(operator, '/verification/')} select", label="verifier")
    operator.click(f"{form(operator, '/verification/')} button[type=submit]")
    expect(operator.locator("#verification")).to_contain_text("Requested")
    screenshot(operator, "cases-01-operator-opened")

    # The verifier (a different person) sees it waiting, verifies it.
    verifier = new_page()
    log_in(verifier, codes, "verifier")
    verifier.goto("/")
    expect(verifier.locator("main")).to_contain_text(number)
    verifier.goto(case_url)
    expect(verifier.locator("main")).not_to_contain_text(NAME)
    submit = form(verifier, "/submit/")
    verifier.select_option(f"{submit} select[name=outcome]", "verified")
    verifier.check(f"{submit} input[name=methods][value=video_call]")
    verifier.fill(f"{submit} textarea[name=narrative]", "Video call matched the story.")
    verifier.click(f"{submit} button[type=submit]")
    expect(verifier.locator("#verification")).to_contain_text("Awaiting a coordinator")
    screenshot(verifier, "cases-02-verifier-submitted")
    assert verifier.goto("/shelters/").status == 403  # type: ignore[union-attr]

    # The coordinator approves "verified", assigns a caseworker and opens a shelter.
    coordinator = new_page()
    log_in(coordinator, codes, "coordinator")
    coordinator.goto("/")
    expect(coordinator.locator("main")).to_contain_text(number)
    coordinator.goto(case_url)
    approve = form(coordinator, "/approve/")
    coordinator.select_option(f"{approve} select", "approve")
    coordinator.click(f"{approve} button[type=submit]")
    expect(coordinator.locator("[data-outcome=verified]")).to_be_visible()
    coordinator.select_option(f"{form(coordinator, '/assign/')} select", label="caseworker")
    coordinator.click(f"{form(coordinator, '/assign/')} button[type=submit]")
    expect(coordinator.locator("[data-testid=assignee]")).to_have_text("caseworker")
    screenshot(coordinator, "cases-03-coordinator-approved-assigned")
    coordinator.goto("/shelters/new/")
    coordinator.fill("#id_code_name", "Birch")
    coordinator.fill("#id_address", "ул. Ленина 5, кв. 12")
    coordinator.fill("#id_capacity", "4")
    coordinator.click("button[type=submit].primary")
    expect(coordinator.locator("h1")).to_have_text("Birch")
    coordinator.click("main form.reveal button")  # reveal the address (htmx)
    expect(coordinator.locator(".revealed")).to_contain_text("Ленина")

    # The caseworker activates the case, places the person, adds a note and a task.
    caseworker = new_page()
    log_in(caseworker, codes, "caseworker")
    caseworker.goto(case_url)
    caseworker.click(f"{form(caseworker, '/transition/')} button[value=active]")
    expect(caseworker.locator("[data-status=active]").first).to_be_visible()
    caseworker.click("text=Plan a placement")  # the form loads on demand (htmx)
    place = form(caseworker, "/placements/")
    caseworker.wait_for_selector(f"{place} select[name=shelter]")
    caseworker.select_option(f"{place} select[name=shelter]", label="Birch (0/4)")
    caseworker.click(f"{place} button[type=submit]")
    expect(caseworker.locator("#housing")).to_contain_text("Planned")
    notes = form(caseworker, "/notes/")
    caseworker.fill(f"{notes} textarea[name=body]", "Reached Birch safely.")
    caseworker.click(f"{notes} button[type=submit]")
    expect(caseworker.locator("#notes")).to_contain_text("Reached Birch safely.")
    caseworker.locator("#tasks summary").click()
    tasks = form(caseworker, "/tasks/")
    caseworker.fill(f"{tasks} input[name=title]", "Book train tickets")
    caseworker.select_option(f"{tasks} select[name=assignee]", label="caseworker")
    caseworker.click(f"{tasks} button[type=submit]")
    expect(caseworker.locator("#tasks")).to_contain_text("Book train tickets")
    expect(caseworker.locator("main")).not_to_contain_text(NAME)
    caseworker.locator("form.reveal").first.locator("button").click()  # every field, via htmx
    expect(caseworker.locator("#people .revealed").first).to_have_text(NAME)
    expect(caseworker.locator("#people [data-field=phone] .revealed").first).to_have_text(
        "+7 928 000 11 22")
    expect(caseworker.locator("form.reveal")).to_have_count(0)  # one reveal, then gone
    screenshot(caseworker, "cases-04-caseworker-placed")
    caseworker.goto("/shelters/")
    expect(caseworker.locator("[data-shelter=Birch]")).to_contain_text("1 / 4")
    caseworker.goto("/shelters/")
    caseworker.click("text=Birch")
    expect(caseworker.locator("main")).not_to_contain_text("Ленина")
    screenshot(caseworker, "cases-05-caseworker-shelter-no-address")

    # Partner liaison and auditor see nothing of it.
    liaison = new_page()
    log_in(liaison, codes, "liaison")
    assert liaison.goto(case_url).status == 404  # type: ignore[union-attr]
    auditor = new_page()
    log_in(auditor, codes, "auditor")
    assert auditor.goto("/cases/").status == 403  # type: ignore[union-attr]
    assert auditor.goto(case_url).status == 403  # type: ignore[union-attr]
    screenshot(auditor, "cases-06-auditor-refused")
