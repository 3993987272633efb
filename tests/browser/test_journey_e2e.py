"""A journey that is detained on the way and then arrives, walked through the real UI in
Chromium against the production server: each move carries the case, the shelter bed, the
tasks, the start pages and the emergency lists with it, and a mistaken arrival is undone.

Also the application's next steps at phone and desk widths: one step open at a time, each
form inside its card.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.browser.conftest import Codes, screenshot
from tests.browser.support import Server
from tests.browser.test_cases_e2e import form, log_in, unsealed_server
from tests.browser.test_pathways_e2e import (
    PATHWAY,
    move,
    open_step,
    upload_required_documents,
    verified_household,
)

pytestmark = pytest.mark.browser
__all__ = ["unsealed_server"]

NAME = "Руслан Алиев"
WIDTHS = (360, 390, 1280)


def case_status(page: Page, case_url: str) -> str:
    page.goto(case_url)
    return str(page.locator("h1 + .tags [data-status]").get_attribute("data-status"))


def start_page(page: Page) -> tuple[str, str]:
    """The start page's emergencies and application deadlines, as text."""
    page.goto("/")
    emergencies = page.locator("section[aria-labelledby=h-emergency]").inner_text()
    deadlines = page.locator("section[aria-labelledby=h-deadlines]").inner_text()
    return emergencies, deadlines


def bed(page: Page, code: str) -> str:
    page.goto("/shelters/")
    return page.locator(f"[data-shelter='{code}'] td").nth(2).inner_text()


def steps_fit(page: Page, width: int, name: str) -> None:
    """At ``width`` px, open each next step in turn: only one is open, nothing is wider than
    the page, and every form stays inside its card."""
    page.set_viewport_size({"width": width, "height": 900})
    page.reload()
    steps = page.locator("details.step")
    for i in range(steps.count()):
        steps.nth(i).locator("summary").click()
        assert page.locator("details.step[open]").count() == 1
        inside = page.evaluate("""(i) => {
            const step = document.querySelectorAll('details.step')[i];
            const card = step.closest('section.card').getBoundingClientRect();
            const outer = step.getBoundingClientRect();
            const fields = [...step.querySelectorAll('input, select, textarea, button')]
                .filter((e) => e.offsetParent !== null)
                .map((e) => e.getBoundingClientRect());
            return outer.left >= card.left && outer.right <= card.right + 0.5
                && fields.every((r) => r.left >= outer.left && r.right <= outer.right + 0.5);
        }""", i)
        assert inside, f"step {i} spills out of its card at {width} px"
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), (
            f"the page is wider than {width} px")
    screenshot(page, f"{name}-{width}")


def test_a_detained_journey_arrives_and_closes_the_loop(
        unsealed_server: Server, new_page: Callable[[], Page], codes: Codes) -> None:
    operator, verifier, coordinator, caseworker = (new_page() for _ in range(4))
    for page, role in ((operator, "operator"), (verifier, "verifier"),
                       (coordinator, "coordinator"), (caseworker, "caseworker")):
        log_in(page, codes, role)
    case_url = verified_household(operator, verifier, coordinator, caseworker, name=NAME,
                                  spouse=False)
    number = caseworker.locator("h1").inner_text()

    # A bed: the coordinator opens a one-bed shelter, the caseworker places the person.
    code = f"Linden-{number[-4:]}"
    coordinator.goto("/shelters/new/")
    coordinator.fill("#id_code_name", code)
    coordinator.fill("#id_address", "ул. Садовая 3")
    coordinator.fill("#id_capacity", "1")
    coordinator.click("button[type=submit].primary")
    expect(coordinator.locator("h1")).to_have_text(code)
    caseworker.goto(case_url)
    caseworker.click("text=Plan a placement")
    place = form(caseworker, "/placements/")
    caseworker.wait_for_selector(f"{place} select[name=shelter]")
    caseworker.select_option(f"{place} select[name=shelter]", label=f"{code} (0/1)")
    caseworker.click(f"{place} button[type=submit]")
    expect(caseworker.locator("#housing")).to_contain_text(code)
    caseworker.click("#housing button:has-text('Moved in')")
    expect(caseworker.locator("#housing")).to_contain_text("Active")
    assert bed(coordinator, code) == "1 / 1"

    # The application, its documents (the person's own), an interview at the consulate.
    caseworker.goto(case_url)
    caseworker.click("#pathways a:has-text('Where to apply')")
    caseworker.locator(f"[data-pathway='{PATHWAY}'] button", has_text="Start application"
                       ).first.click()
    expect(caseworker).to_have_url(re.compile(r"/pathways/applications/[0-9a-f-]{36}/$"))
    application_url = caseworker.url
    upload_required_documents(caseworker, case_url)
    expect(caseworker.locator("#documents")).to_contain_text("Principal")
    caseworker.goto(application_url)
    expect(caseworker.locator("[data-testid=checklist-percent]")).to_have_text("100 %")
    for to in ("collecting_documents", "ready_for_review"):
        move(caseworker, to)
    move(caseworker, "submitted", {"submitted_to": "Embassy of Lithuania, Tbilisi"})
    for width in WIDTHS:
        steps_fit(caseworker, width, "journey-01-next-steps")
    caseworker.set_viewport_size({"width": 1280, "height": 900})
    interview = timezone.localdate() + timedelta(days=3)
    move(caseworker, "interview_scheduled", {"interview_on": interview.isoformat(),
                                             "interview_label": "Consulate interview"})
    assert "Consulate interview" in start_page(caseworker)[1]
    caseworker.goto(application_url)

    # Approved (one applicant: no refusal reasons asked), the visa's dates saved under
    # "Correct the details", then "Visa issued" confirmed as it comes, prefilled.
    approved = open_step(caseworker, "approved")
    expect(caseworker.locator(f"{approved} [name$=refusal_reasons]")).to_have_count(0)
    caseworker.click(f"{approved} button[type=submit]")
    expect(caseworker.locator("[data-testid=decision]")).to_be_visible()
    start, end = timezone.localdate(), timezone.localdate() + timedelta(days=90)
    caseworker.locator("#details summary").click()
    details = form(caseworker, "/update/")
    caseworker.fill(f"{details} [name=valid_from]", start.isoformat())
    caseworker.fill(f"{details} [name=valid_until]", end.isoformat())
    caseworker.click(f"{details} button[type=submit]")
    visa = open_step(caseworker, "visa_issued")
    expect(caseworker.locator(f"{visa} [name$=valid_until]")).to_have_value(end.isoformat())
    caseworker.click(f"{visa} button[type=submit]")
    expect(caseworker.locator("[data-testid=application-status]")).to_contain_text(
        "Visa issued")

    # The journey, with its flight.
    caseworker.click("a:has-text('Plan travel')")
    caseworker.click("button:has-text('Plan journey')")
    expect(caseworker).to_have_url(re.compile(r"/pathways/travel/[0-9a-f-]{36}/$"))
    travel_url = caseworker.url
    caseworker.click("a:has-text('Show route, bookings')")
    caseworker.locator("#bookings summary", has_text="Add a booking").click()
    booking = form(caseworker, "/bookings/")
    caseworker.fill(f"{booking} [name=carrier]", "Georgian Airways")
    caseworker.fill(f"{booking} [name=number]", "A9 652")
    caseworker.fill(f"{booking} [name=reference]", "QX7P2L")
    caseworker.click(f"{booking} button[type=submit]")
    expect(caseworker.locator("[data-testid=booking-reference]")).to_have_text("QX7P2L")
    caseworker.goto(travel_url)
    expect(caseworker.locator("main")).not_to_contain_text("QX7P2L")  # only with the route
    caseworker.click("button:has-text('Move to: Booked')")
    caseworker.click("button:has-text('Move to: In transit')")
    expect(caseworker.locator(".msg.success")).to_contain_text(
        "The case moved from “Active” to “Departed”")
    expect(caseworker.locator(".msg.success")).to_contain_text("the bed is free")
    assert case_status(caseworker, case_url) == "departed"
    expect(caseworker.locator("#housing")).to_contain_text("Left the country")
    assert bed(coordinator, code) == "0 / 1"

    # Detained: the caseworker's emergency, and every coordinator sees it.
    caseworker.goto(travel_url)
    caseworker.click("button:has-text('Move to: Detained')")
    expect(caseworker.locator("[data-testid=travel-status]")).to_have_text("Detained")
    screenshot(caseworker, "journey-02-detained")
    for page in (caseworker, coordinator):
        assert number in start_page(page)[0]
    screenshot(coordinator, "journey-03-coordinator-start-page-emergency")
    caseworker.goto("/cases/tasks/")
    expect(caseworker.locator("main")).to_contain_text(f"Detained on the way: case {number}")

    # Released, then arrived.
    caseworker.goto(travel_url)
    caseworker.click("button:has-text('Move to: In transit')")
    arrival = "form.arrival"
    caseworker.select_option(f"{arrival} [name$=country]", "LT")
    caseworker.select_option(f"{arrival} [name$=status_obtained]", "humanitarian")
    caseworker.click(f"{arrival} button[type=submit]")
    expect(caseworker.locator(".msg.success")).to_contain_text(
        "The case moved from “Departed” to “Arrived”")
    screenshot(caseworker, "journey-04-arrived")
    assert case_status(caseworker, case_url) == "arrived"
    detention = caseworker.locator("#tasks tr", has_text="Detained on the way")
    expect(detention.locator("td").nth(3)).to_have_text("Done")
    for page in (caseworker, coordinator):
        emergencies, deadlines = start_page(page)
        assert number not in emergencies
        assert "Consulate interview" not in deadlines
    assert bed(coordinator, code) == "0 / 1"

    # "Arrival recorded by mistake": undone, the case is back on the way and the interview
    # is on the start page again; then the arrival is recorded for real.
    caseworker.goto(travel_url)
    caseworker.click("#undo button:has-text('Undo “Arrived”')")
    expect(caseworker.locator("[data-testid=travel-status]")).to_have_text("In transit")
    assert case_status(caseworker, case_url) == "departed"
    assert "Consulate interview" in start_page(caseworker)[1]
    caseworker.goto(travel_url)
    caseworker.select_option(f"{arrival} [name$=country]", "LT")
    caseworker.select_option(f"{arrival} [name$=status_obtained]", "humanitarian")
    caseworker.click(f"{arrival} button[type=submit]")
    expect(caseworker.locator("[data-testid=travel-status]")).to_have_text("Arrived")
    assert case_status(caseworker, case_url) == "arrived"
    for width in (390, 1280):
        caseworker.set_viewport_size({"width": width, "height": 900})
        caseworker.goto(travel_url)
        screenshot(caseworker, f"journey-05-travel-{width}")
