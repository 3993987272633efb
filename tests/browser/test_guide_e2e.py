"""The whole journey, from a call for help to arrival, walked through the UI by the roles who
do it (issue 14's "What must be shown"), in Chromium against the production server.

A person asks for help in Russian with JavaScript off and reloads the confirmation; the
operator accepts the request from the inbox as a case (no retyping, no second person); a
verifier verifies, a coordinator approves and assigns; the caseworker finds the story on the
case, places the household in a shelter, picks a ranked pathway, ticks the checklist for each
applicant, gets a dossier approved, records the decisions, plans the journey; the journey is
detained (both start pages say so), then arrives (the beds are free, the case arrived, the
emergency gone) and the case is closed as arrived safely; the auditor reads who did it.

At every hand-over the next person is logged in as their role and looks at the page they
would open. Each step is photographed at 390 and 1280 px into ``docs/guide/`` under the same
names every run (``NN-step-WIDTH.png``): the screenshots of the user guide, ``docs/guide.md``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Codes, Watch
from tests.browser.support import REPO, Server
from tests.browser.test_cases_e2e import form, log_in, unsealed_server
from tests.browser.test_intake import MIN_FILL_SECONDS, no_js
from tests.browser.test_pathways_e2e import PATHWAY, move, open_step, required_documents

pytestmark = pytest.mark.browser
__all__ = ["unsealed_server"]

GUIDE = REPO / "docs" / "guide"
WIDTHS = {390: 844, 1280: 800}  # width: height of the viewport photographed
DESK = {"width": 1280, "height": 900}
NAME = "Адам Висаитов"
SPOUSE = "Зарема Висаитова"
PHONE = "+7 928 555 01 02"
REGION = "Грозный"


def shot(page: Page, step: int, name: str, target: str | None = None) -> None:
    """Photograph what ``page`` shows at each width (the viewport, scrolled to ``target``
    when given) as ``docs/guide/NN-name-WIDTH.png``, then leave it at desk width. At each
    width the page must fit: nothing makes a phone scroll sideways.

    The PNG is reduced to a 256-colour palette: a page of text loses nothing visible and the
    file is several times smaller, so the guide's pictures stay small in the repository.
    """
    GUIDE.mkdir(parents=True, exist_ok=True)
    for width, height in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        if target:
            page.locator(target).first.evaluate("e => e.scrollIntoView({block: 'start'})")
        else:
            page.evaluate("window.scrollTo(0, 0)")
        wide = page.evaluate("document.documentElement.scrollWidth")
        if wide > width:  # name what sticks out, outside the scroll regions that may
            culprits = page.evaluate(
                """w => [...document.querySelectorAll('body *')]
                   .filter(e => e.getBoundingClientRect().right > w && !e.closest('.scroll'))
                   .slice(-3).map(e => e.tagName + '.' + e.className + ' ' +
                                        (e.textContent || '').trim().slice(0, 40))""", width)
            raise AssertionError(f"step {step} ({name}) is {wide} px wide at {width} px: "
                                 f"{culprits}")
        path = GUIDE / f"{step:02d}-{name}-{width}.png"
        page.screenshot(path=str(path))
        _shrink(path)
    page.set_viewport_size(DESK)


def _shrink(path: Path) -> None:
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=256, dither=Image.Dither.NONE)
    small.save(path, optimize=True)


def urgent(page: Page) -> str:
    """The start page's "Needs action now", as text."""
    page.goto("/")
    return page.locator("section[aria-labelledby=h-emergency]").inner_text()


def beds(page: Page, code: str) -> str:
    page.goto("/shelters/")
    return page.locator(f"[data-shelter='{code}'] td").nth(2).inner_text()


def case_status(page: Page, case_url: str) -> str:
    page.goto(case_url)
    return str(page.locator("h1 + .tags [data-status]").get_attribute("data-status"))


def search_cases(page: Page, q: str) -> list[str]:
    """The case numbers the case list finds for ``q`` (a name, phone or number)."""
    page.goto("/cases/?q=" + q.replace("+", "%2B").replace(" ", "+"))
    return page.locator("main table tbody tr td:first-child a").all_inner_texts()


@pytest.fixture
def closing(watch: Watch) -> Iterator[list[Page]]:
    pages: list[Page] = []
    yield pages
    for p in pages:
        p.context.close()
    watch.check()


@pytest.mark.usefixtures("unsealed_server")
def test_the_whole_journey_as_the_roles_walk_it(
        *, browser: Browser, server: Server, watch: Watch, codes: Codes,
        closing: list[Page], new_page: Callable[[], Page]) -> None:
    marker = f"(ref. {time.time_ns() // 1000 % 10**6:06d})"  # finds it among the others
    story = f"За мной следят после задержания брата. Нужна помощь с выездом. {marker}"

    # 1-3. The person asks for help in Russian, with JavaScript off, and reloads the page.
    person = no_js(browser, server, watch, locale="ru-RU")
    closing.append(person)
    person.set_viewport_size(DESK)
    person.goto("/intake/ask/")
    opened = time.monotonic()
    expect(person.locator("html")).to_have_attribute("lang", "ru")
    person.fill("#id_contact", PHONE)
    person.fill("#id_region", REGION)
    person.fill("#id_story", story)
    person.check("input[name=urgency][value=now]")
    shot(person, 1, "intake-ask", "form")
    person.wait_for_timeout(max(0, (MIN_FILL_SECONDS + 0.5 - (time.monotonic() - opened)) * 1000))
    person.click("button[type=submit].button")
    expect(person).to_have_url(re.compile(r"/intake/received/$"))
    words = person.locator("[data-testid=codename] li span").all_inner_texts()
    assert len(words) == 7
    assert all(re.fullmatch("[а-яё]+", w) for w in words), words  # in the reader's language
    shot(person, 2, "intake-codename")
    person.reload()  # a GET: the request is not sent again, the codename not shown again
    expect(person.locator("h1")).to_have_text("Ваш запрос получен")
    expect(person.locator("[data-testid=codename]")).to_have_count(0)
    shot(person, 3, "intake-reloaded")

    # 4-6. The operator sees the request among "Needs action now", finds it once in the inbox
    # and accepts it as a case: the phone comes from the request, only the name is typed.
    operator = new_page()
    log_in(operator, codes, "operator")
    expect(operator.locator("[data-testid=urgent] [data-kind=request]").first).to_be_visible()
    shot(operator, 4, "operator-start")
    operator.goto("/inbox/?status=all")
    found = []
    for href in [a.get_attribute("href") for a in
                 operator.locator("[data-testid=request-row] td:first-child a").all()]:
        operator.goto(str(href))
        if marker in operator.locator("[data-testid=request-payload]").inner_text():
            found.append(str(href))
    assert len(found) == 1, f"the request is in the inbox {len(found)} times"
    request_url = found[0]
    operator.goto(request_url)
    expect(operator.locator("[data-testid=request-status]")).to_have_text("new")
    expect(operator.locator("#accept [name=phone]")).to_have_value(PHONE)
    expect(operator.locator("[data-testid=matches]")).to_have_count(0)  # nobody known alike
    operator.fill("#accept [name=legal_name]", NAME)
    shot(operator, 5, "inbox-convert", "#accept")
    operator.click("[data-testid=accept]")
    expect(operator).to_have_url(re.compile(r"/cases/[0-9a-f-]{36}/$"))
    case_url = operator.url
    number = operator.locator("h1").inner_text()
    assert re.fullmatch(r"HV-[0-9A-Z]{4}-[0-9A-Z]{4}", number), number
    expect(operator.locator("h1 + .tags")).to_contain_text("Emergency")  # "I am in danger now"
    expect(operator.locator("[data-testid=case-conversation-link]")).to_have_attribute(
        "href", request_url)
    operator.goto(request_url)  # and the request links to its case
    expect(operator.locator("[data-testid=request-case]")).to_have_text(number)
    operator.goto(case_url)
    verification = form(operator, "/verification/")
    operator.select_option(f"{verification} select", label="verifier")
    operator.click(f"{verification} button[type=submit]")
    expect(operator.locator("#verification")).to_contain_text("Requested")
    shot(operator, 6, "case-opened")

    # 7-8. The verifier finds the case waiting for them, checks and submits.
    verifier = new_page()
    log_in(verifier, codes, "verifier")
    waiting = verifier.locator("section[aria-labelledby=h-verify]")
    expect(waiting).to_contain_text(number)
    shot(verifier, 7, "verifier-start", "section[aria-labelledby=h-verify]")
    waiting.locator("a", has_text=number).click()
    submit = form(verifier, "/submit/")
    verifier.select_option(f"{submit} select[name=outcome]", "verified")
    verifier.check(f"{submit} input[name=methods][value=video_call]")
    verifier.check(f"{submit} input[name=methods][value=story_check]")
    verifier.fill(f"{submit} textarea[name=narrative]",
                  "Video call: face matches the passport; the story holds on every check.")
    shot(verifier, 8, "verifier-submit", "#verification")
    verifier.click(f"{submit} button[type=submit]")
    expect(verifier.locator("#verification")).to_contain_text("Awaiting a coordinator")

    # 9. The coordinator sees the verification to approve, approves it, assigns a caseworker.
    coordinator = new_page()
    log_in(coordinator, codes, "coordinator")
    to_approve = coordinator.locator("section[aria-labelledby=h-approve]")
    expect(to_approve).to_contain_text(number)
    expect(to_approve).to_contain_text("verified by verifier")
    to_approve.locator("a", has_text=number).click()
    expect(coordinator.locator("#verification")).to_contain_text(
        "Video call, Consistency of the story")
    approve = form(coordinator, "/approve/")
    coordinator.select_option(f"{approve} select", "approve")
    coordinator.click(f"{approve} button[type=submit]")
    expect(coordinator.locator("[data-outcome=verified]")).to_be_visible()
    coordinator.select_option(f"{form(coordinator, '/assign/')} select", label="caseworker")
    coordinator.click(f"{form(coordinator, '/assign/')} button[type=submit]")
    expect(coordinator.locator("[data-testid=assignee]")).to_have_text("caseworker")
    shot(coordinator, 9, "coordinator-approved", "#status")
    # No second person: the name and the phone find this one case, and no other.
    assert search_cases(coordinator, NAME) == [number]
    assert search_cases(coordinator, PHONE) == [number]

    # 10-11. The caseworker finds the case among their own and reads what the person wrote,
    # on the case, without anyone having typed it again.
    caseworker = new_page()
    log_in(caseworker, codes, "caseworker")
    mine = caseworker.locator("section[aria-labelledby=h-mine]")
    expect(mine).to_contain_text(number)
    shot(caseworker, 10, "caseworker-start")
    mine.locator("a", has_text=number).click()
    expect(caseworker).to_have_url(case_url)
    principal = caseworker.locator("#people article.member").first
    principal.locator("form.reveal button").click()
    for field, value in (("legal_name", NAME), ("phone", PHONE), ("contact_handle", PHONE),
                         ("coarse_location", REGION), ("story", marker)):
        expect(principal.locator(f"[data-field={field}] .revealed")).to_contain_text(value)
    expect(caseworker.locator("[data-testid=case-conversation-link]")).to_be_visible()
    shot(caseworker, 11, "case-story", "#people")
    caseworker.click(f"{form(caseworker, '/transition/')} button[value=active]")
    expect(caseworker.locator("[data-status=active]").first).to_be_visible()
    caseworker.locator("#people summary", has_text="Add a household member").click()
    members = form(caseworker, "/members/")
    caseworker.fill(f"{members} [name=legal_name]", SPOUSE)
    caseworker.select_option(f"{members} [name=relationship]", "spouse")
    caseworker.click(f"{members} button[type=submit]")
    expect(caseworker.locator("#people article")).to_have_count(2)

    # 12. A shelter: the coordinator opens one with two beds, the caseworker places the
    # household (both members at once), and they move in.
    code = f"Oak-{number[-4:]}"
    coordinator.goto("/shelters/new/")
    coordinator.fill("#id_code_name", code)
    coordinator.fill("#id_address", "ул. Мира 7")
    coordinator.fill("#id_capacity", "2")
    coordinator.click("button[type=submit].primary")
    expect(coordinator.locator("h1")).to_have_text(code)
    caseworker.goto(case_url)
    caseworker.click("text=Plan a placement")
    place = form(caseworker, "/placements/")
    caseworker.wait_for_selector(f"{place} select[name=shelter]")
    caseworker.select_option(f"{place} select[name=shelter]", label=f"{code} (0/2)")
    caseworker.click(f"{place} button[type=submit]")
    housing = caseworker.locator("#housing")
    expect(housing.locator("tbody tr", has_text=code)).to_have_count(2)  # both, in one go
    moved_in = housing.locator("button:has-text('Moved in')")
    for left in (2, 1):
        expect(moved_in).to_have_count(left)
        moved_in.first.click()
    expect(moved_in).to_have_count(0)
    expect(housing.locator("tbody tr", has_text="Active")).to_have_count(2)
    assert beds(coordinator, code) == "2 / 2"
    caseworker.goto(case_url)
    shot(caseworker, 12, "placement", "#housing")

    # 13. Where to apply: the pathways ranked for this household, with the reasons.
    caseworker.click("#pathways a:has-text('Where to apply')")
    suggestions = caseworker.locator("section.suggestion")
    expect(suggestions.first).to_be_visible()
    assert suggestions.count() > 1
    # Best first: numbered in order, the open pathways by their score.
    ranked = caseworker.evaluate("""() => [...document.querySelectorAll('section.suggestion')]
        .map((s) => ({n: parseInt(s.querySelector('h2').textContent),
                      open: !!s.querySelector('.tags .tag.ok'),
                      score: parseInt(s.querySelector("[title='Ranking score']")
                                      .textContent.replace(/[^0-9-]/g, ''))}))""")
    assert [r["n"] for r in ranked] == list(range(1, len(ranked) + 1)), ranked
    open_scores = [r["score"] for r in ranked if r["open"]]
    assert open_scores == sorted(open_scores, reverse=True), ranked
    suggestion = caseworker.locator(f"section.suggestion[data-pathway='{PATHWAY}']")
    shot(caseworker, 13, "where-to-apply")
    for box in suggestion.locator("input[name=members]").all():
        box.check()
    suggestion.locator("button", has_text="Start application").click()
    expect(caseworker).to_have_url(re.compile(r"/pathways/applications/[0-9a-f-]{36}/$"))
    application_url = caseworker.url

    # 14. The checklist, for each applicant: the principal's documents uploaded on the case
    # (as theirs), the spouse's ticked by hand (held elsewhere) — who and when are shown.
    expect(caseworker.locator("[data-testid=checklist-percent]")).to_have_text("0 %")
    caseworker.goto(case_url)
    upload = form(caseworker, "/documents/")
    for doc_type in required_documents(PATHWAY):
        caseworker.select_option(f"{upload} [name=doc_type]", doc_type)
        caseworker.set_input_files(f"{upload} input[type=file]", files=[{
            "name": f"{doc_type}.pdf", "mimeType": "application/pdf",
            "buffer": b"%PDF-1.4\n% scanned " + doc_type.encode() + b"\n"}])
        caseworker.click(f"{upload} button[type=submit]")
        expect(caseworker.locator("#documents")).to_contain_text(f"{doc_type}.pdf")
    caseworker.goto(application_url)
    expect(caseworker.locator("[data-testid=checklist-percent]")).to_have_text("50 %")
    for doc_type in required_documents(PATHWAY):
        caseworker.locator(f"tr[data-doc-type={doc_type}] td[data-done=no] button",
                           has_text="tick by hand").first.click()
        expect(caseworker.locator(f"tr[data-doc-type={doc_type}]")).to_have_attribute(
            "data-done", "yes")
    expect(caseworker.locator("[data-testid=checklist-percent]")).to_have_text("100 %")
    expect(caseworker.locator("table.checklist")).to_contain_text("by caseworker")
    shot(caseworker, 14, "checklist", "#checklist")
    move(caseworker, "collecting_documents")
    move(caseworker, "ready_for_review")

    # 15. A dossier for the embassy: the caseworker asks, the coordinator sees it on the
    # start page and approves it.
    caseworker.locator("summary", has_text="Request a dossier").click()
    dossier = form(caseworker, "/dossier/")
    for box in caseworker.locator(f"{dossier} input[name=include]").all():
        box.check()
    caseworker.click(f"{dossier} button[type=submit]")
    expect(caseworker.locator("[data-testid=dossier-exports]")).to_contain_text("Requested")
    coordinator.goto("/")
    expect(coordinator.locator("[data-testid=dossier-requests]")).to_contain_text(number)
    expect(coordinator.locator("[data-testid=dossier-requests]")).to_contain_text(
        "asked by caseworker")
    coordinator.goto("/pathways/dossiers/")
    row = coordinator.locator("[data-testid=requested] tr", has_text=number)
    row.locator("button", has_text="Approve dossier").click()
    approved = coordinator.locator("[data-testid=approved] tr", has_text=number)
    expect(approved.locator("a", has_text="Download PDF")).to_be_visible()
    shot(coordinator, 15, "dossier-approved")

    # 16. The decisions: submitted, approved for both, the visa issued (its form prefilled
    # from what "Correct the details" saved).
    caseworker.goto(application_url)
    move(caseworker, "submitted", {"submitted_to": "Embassy of Lithuania, Tbilisi",
                                   "external_reference": "LT-2026-0117"})
    approve_step = open_step(caseworker, "approved")
    expect(caseworker.locator(f"{approve_step} [name$=refusal_reasons]")).to_be_hidden()
    caseworker.click(f"{approve_step} button[type=submit]")
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
    expect(caseworker.locator("[data-testid=applicants] [data-outcome=approved]")
           ).to_have_count(2)
    shot(caseworker, 16, "decision")

    # 17. The journey: planned from the visa, booked, on the way. Leaving frees both beds.
    caseworker.click("a:has-text('Plan travel')")
    caseworker.click("button:has-text('Plan journey')")
    expect(caseworker).to_have_url(re.compile(r"/pathways/travel/[0-9a-f-]{36}/$"))
    travel_url = caseworker.url
    caseworker.click("button:has-text('Move to: Booked')")
    caseworker.click("button:has-text('Move to: In transit')")
    expect(caseworker.locator(".msg.success")).to_contain_text("the bed")
    assert case_status(caseworker, case_url) == "departed"
    assert beds(coordinator, code) == "0 / 2"
    caseworker.goto(travel_url)
    shot(caseworker, 17, "journey-in-transit")

    # 18-19. Detained on the way: the emergency is on the caseworker's and on the
    # coordinator's start page, in "Needs action now".
    caseworker.click("button:has-text('Move to: Detained')")
    expect(caseworker.locator("[data-testid=travel-status]")).to_have_text("Detained")
    for page, step, name in ((caseworker, 18, "detained-caseworker-start"),
                             (coordinator, 19, "detained-coordinator-start")):
        now = urgent(page)
        assert f"Detained on the way: case {number}" in now, now
        detention = page.locator("[data-testid=urgent] li", has_text="Detained on the way")
        expect(detention.first).to_contain_text(number)
        expect(detention.first).to_contain_text("for caseworker")
        shot(page, step, name)

    # 20. Released, then arrived: the case arrived, the beds stay free, the detention task is
    # done and nothing about this case is urgent any more, for either of them.
    caseworker.goto(travel_url)
    caseworker.click("button:has-text('Move to: In transit')")
    arrival = "form.arrival"
    caseworker.select_option(f"{arrival} [name$=country]", "LT")
    caseworker.select_option(f"{arrival} [name$=status_obtained]", "humanitarian")
    caseworker.fill(f"{arrival} [name$=receiving_partner]", "Vilnius host organization")
    caseworker.click(f"{arrival} button[type=submit]")
    expect(caseworker.locator(".msg.success")).to_contain_text(
        "The case moved from “Departed” to “Arrived”")
    expect(caseworker.locator("[data-testid=travel-status]")).to_have_text("Arrived")
    shot(caseworker, 20, "arrived")
    assert case_status(caseworker, case_url) == "arrived"
    expect(caseworker.locator("#housing tbody tr", has_text="Ended")).to_have_count(2)
    detention_task = caseworker.locator("#tasks tr", has_text="Detained on the way")
    expect(detention_task.locator("td").nth(3)).to_have_text("Done")
    assert beds(coordinator, code) == "0 / 2"
    for page in (caseworker, coordinator):
        assert number not in urgent(page)

    # 21. Settled: the caseworker closes the case as arrived safely; it leaves their list.
    caseworker.goto(case_url)
    moves = caseworker.locator("[data-testid=moves]")
    moves.locator("summary", has_text="Close the case").click()
    close = moves.locator("form:has(input[name=to][value=closed])")
    close.locator("select[name=closure_reason]").select_option("arrived_safely")
    shot(caseworker, 21, "case-closed", "#status")
    close.locator("button[type=submit]").click()
    expect(caseworker.locator("h1 + .tags [data-status]")).to_have_attribute(
        "data-status", "closed")
    expect(caseworker.locator("#status")).to_contain_text("Arrived safely")
    caseworker.goto("/")
    expect(caseworker.locator("section[aria-labelledby=h-mine]")).not_to_contain_text(number)

    # 22. The auditor reads the case's events: each person who acted is named.
    auditor = new_page()
    log_in(auditor, codes, "auditor")
    for who in ("operator", "verifier", "coordinator", "caseworker"):
        auditor.goto(f"/audit/?case={number}&actor={who}")  # by name and number, not ids
        actors = auditor.locator("[data-testid=actor]").all_inner_texts()
        assert actors, f"no event of {who} on {number}"
        assert set(actors) == {who}, actors
        expect(auditor.locator("[data-testid=object]").first).to_contain_text(number)
    auditor.goto(f"/audit/?case={number}")
    actors = auditor.locator("[data-testid=actor]").all_inner_texts()
    assert "caseworker" in actors, actors
    expect(auditor.locator("[data-testid=details]", has_text="Case status: Departed, Arrived")
           ).to_have_count(1)  # the journey's effects in words
    shot(auditor, 22, "audit-log")
