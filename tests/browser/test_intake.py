"""The public intake in Chromium with JavaScript disabled (Tor Browser "Safest"), against the
real production server: sealed and unsealed, a Russian request, codename log-in, the inbox;
and the walk from a Russian request to the caseworker who runs its case (issue 14)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Codes, Watch, screenshot
from tests.browser.support import Server, run_haven
from tests.browser.test_cases_e2e import log_in

pytestmark = pytest.mark.browser

STORY_RU = "Меня ищут после задержания друга. Нужна помощь с выездом."
# The server's HAVEN_INTAKE_MIN_FILL_SECONDS (its default): a form sent sooner comes back.
MIN_FILL_SECONDS = 5


SHARES: list[str] = []


@pytest.fixture(scope="module")
def shares_unsealed(server: Server) -> list[str]:
    """The demo server's shares, the server unsealed (a test before may have sealed it)."""
    run_haven(["unseal"], server.env, stdin="\n".join(server.shares[:2]) + "\n", check=False)
    SHARES[:] = server.shares[:2]
    return SHARES


def no_js(browser: Browser, server: Server, watch: Watch, locale: str = "en-US") -> Page:
    context = browser.new_context(base_url=server.origin, locale=locale,
                                  java_script_enabled=False)
    context.set_default_timeout(15_000)
    tab = context.new_page()
    tab.on("request", watch.on_request)
    tab.on("response", watch.on_response)
    return tab


def submit(page: Page, *, story: str, contact: str, region: str) -> str:
    """Write the form as a person does, send it once its minimum age has passed, and read the
    codename on the page the POST redirects to."""
    page.goto("/intake/ask/")
    opened = time.monotonic()
    page.fill("#id_contact", contact)
    page.fill("#id_region", region)
    page.fill("#id_story", story)
    page.check("input[name=urgency][value=now]")
    page.wait_for_timeout(max(0, (MIN_FILL_SECONDS + 0.5 - (time.monotonic() - opened)) * 1000))
    page.click("button[type=submit].button")
    expect(page).to_have_url(re.compile(r"/intake/received/$"))
    expect(page.locator("[data-testid=codename]")).to_be_visible()
    words = page.locator("[data-testid=codename] li span").all_inner_texts()
    assert len(words) == 7
    return " ".join(words)


@pytest.fixture
def contexts(browser: Browser, server: Server, watch: Watch) -> Iterator[list[Page]]:
    pages: list[Page] = []
    yield pages
    for p in pages:
        p.context.close()
    watch.check()


@pytest.mark.usefixtures("shares_unsealed")
def test_intake_round_trip_without_javascript(browser: Browser, server: Server, watch: Watch,
                                              codes: Codes, contexts: list[Page]) -> None:
    shares = SHARES
    person = no_js(browser, server, watch, locale="ru-RU")
    contexts.append(person)
    person.goto("/intake/")
    expect(person.locator("html")).to_have_attribute("lang", "ru")
    expect(person.locator("a.exit")).to_be_visible()
    screenshot(person, "intake-01-home-ru")
    codename = submit(person, story=STORY_RU, contact="Signal @ru_person", region="Чечня")
    screenshot(person, "intake-02-codename")

    server.haven("seal")
    other = no_js(browser, server, watch)
    contexts.append(other)
    second = submit(other, story="Second request, sent while sealed.", contact="mail@x.example",
                    region="Dagestan")
    assert second != codename
    server.haven("unseal", stdin="\n".join(shares) + "\n")

    staff = no_js(browser, server, watch)
    contexts.append(staff)
    staff.goto("/accounts/login/")
    staff.fill("#id_username", "operator")
    staff.fill("#id_password", "demo-operator-haven")
    staff.click("button[type=submit].primary")
    staff.fill("#id_code", codes.demo("operator"))
    staff.click("button[type=submit].primary")
    staff.goto("/inbox/")
    rows = staff.locator("[data-testid=request-row] td:first-child a")
    expect(rows).to_have_count(2)
    stories = []
    for i in range(2):
        staff.goto("/inbox/?status=all")
        staff.locator("[data-testid=request-row] td:first-child a").nth(i).click()
        stories.append(staff.locator("[data-testid=request-payload]").inner_text())
        if STORY_RU in stories[-1]:
            staff.fill("#id_body", "Мы получили ваш запрос. Ответ: держитесь.")
            staff.click("text=Send reply")
            expect(staff.locator("[data-testid=message]")).to_have_count(1)
        else:
            staff.fill("#id_legal_name", "Тест Второй")
            staff.click("[data-testid=accept]")
            expect(staff).to_have_url(re.compile(r"/cases/[0-9a-f-]{36}/$"))
    screenshot(staff, "intake-03-inbox-detail")
    assert any(STORY_RU in s for s in stories)
    assert any("while sealed" in s for s in stories)

    person.goto("/intake/return/")
    person.fill("#id_codename", codename)
    person.click("button[type=submit].button")
    expect(person).to_have_url(re.compile(r"/intake/conversation/$"))
    expect(person.locator(".msg.out")).to_contain_text("держитесь")
    for cookie in person.context.cookies():
        assert not any(word in cookie["value"] for word in codename.split())
    screenshot(person, "intake-04-reply")

    stranger = no_js(browser, server, watch)
    contexts.append(stranger)
    stranger.goto("/intake/return/")
    stranger.fill("#id_codename", "abacus " * 7)
    stranger.click("button[type=submit].button")
    expect(stranger).to_have_url(re.compile(r"/intake/return/\?failed=1$"))
    expect(stranger.locator("main")).to_contain_text("does not open any conversation")
    stranger.goto("/intake/conversation/")
    expect(stranger).to_have_url(re.compile(r"/intake/return/$"))


def _stacked(page: Page) -> list[float]:
    """The codename's words' vertical positions, in reading order."""
    return [box["y"] for box in (item.bounding_box() for item in
                                 page.locator("[data-testid=codename] li").all()) if box]


@pytest.mark.usefixtures("shares_unsealed")
def test_walk_from_a_russian_request_to_its_caseworker(
        *, browser: Browser, server: Server, watch: Watch, codes: Codes, contexts: list[Page],
        new_page: Callable[[], Page]) -> None:
    """Issue 14's hand-overs, as each next person sees them: a request in Russian with
    JavaScript off, the confirmation reloaded, acceptance from the inbox, the caseworker."""
    marker = f"walk-{time.time_ns()}"
    story = f"Родственники узнали обо мне и ищут меня. Прошу помочь уехать. {marker}"
    person = no_js(browser, server, watch, locale="ru-RU")
    contexts.append(person)
    person.set_viewport_size({"width": 390, "height": 844})
    codename = submit(person, story=story, contact="Signal @walk_person", region="Грозный")
    words = codename.split()
    assert all(re.fullmatch("[а-яё]+", w) for w in words), codename  # the reader's language
    expect(person.locator("h1")).to_have_text("Мы получили ваш запрос")
    ys = _stacked(person)
    assert ys == sorted(ys)  # one numbered word a line, top to bottom
    assert len(set(ys)) == 7
    screenshot(person, "intake-walk-01-codename-390")
    person.set_viewport_size({"width": 1280, "height": 900})
    ys = _stacked(person)
    assert ys == sorted(ys)
    assert len(set(ys)) == 7
    screenshot(person, "intake-walk-02-codename-1280")
    person.emulate_media(media="print")
    expect(person.locator("header")).to_be_hidden()
    expect(person.locator("[data-testid=codename]")).to_be_visible()
    screenshot(person, "intake-walk-03-codename-print-card")
    person.emulate_media(media="screen")

    # Reloading the confirmation sends nothing again and shows the codename no more.
    person.reload()
    expect(person.locator("h1")).to_have_text("Ваш запрос получен")
    expect(person.locator("[data-testid=codename]")).to_have_count(0)
    assert not any(w in person.content() for w in words)

    # The hotline operator finds it once in the inbox and accepts it from there, new as it is.
    operator = new_page()
    log_in(operator, codes, "operator")
    operator.goto("/inbox/")
    links = [a.get_attribute("href") for a in
             operator.locator("[data-testid=request-row] td:first-child a").all()]
    found = []
    for href in links:
        operator.goto(str(href))
        if marker in operator.locator("[data-testid=request-payload]").inner_text():
            found.append(href)
    assert len(found) == 1, f"the request is in the inbox {len(found)} times"
    operator.goto(str(found[0]))
    expect(operator.locator("[data-testid=request-status]")).to_have_text("new")
    operator.fill("#id_legal_name", "Адам Тестов")
    operator.click("[data-testid=accept]")
    expect(operator).to_have_url(re.compile(r"/cases/[0-9a-f-]{36}/$"))
    case_url = operator.url
    number = operator.locator("h1").inner_text()
    expect(operator.locator("main")).to_contain_text("Emergency")  # "I am in danger now"
    expect(operator.locator("[data-testid=case-conversation-link]")).to_have_attribute(
        "href", str(found[0]))
    screenshot(operator, "intake-walk-04-case-opened")

    coordinator = new_page()
    log_in(coordinator, codes, "coordinator")
    coordinator.goto(case_url)
    coordinator.select_option("form[action$='/assign/'] select", label="caseworker")
    coordinator.click("form[action$='/assign/'] button[type=submit]")
    expect(coordinator.locator("[data-testid=assignee]")).to_have_text("caseworker")

    # The person writes again, typing the codename numbered, in capitals, with е for ё.
    typed = " ".join(f"{n}. {w.upper().replace('Ё', 'Е')}" for n, w in enumerate(words, 1))
    person.goto("/intake/return/")
    person.fill("#id_codename", typed)
    person.click("button[type=submit].button")
    expect(person).to_have_url(re.compile(r"/intake/conversation/$"))
    person.fill("#id_body", f"Мне пришлось переехать. {marker}")
    person.click("button[type=submit].button")
    expect(person.locator("[role=status]")).to_be_visible()

    # The caseworker sees the waiting message on the start page and on the case, reads the
    # story on the case, and answers in the conversation.
    caseworker = new_page()
    log_in(caseworker, codes, "caseworker")
    expect(caseworker.locator("[data-testid=waiting-messages]")).to_contain_text(
        "1 message waiting for an answer")
    expect(caseworker.locator("[data-testid=waiting-messages]")).to_contain_text(number)
    screenshot(caseworker, "intake-walk-05-caseworker-start")
    caseworker.goto(case_url)
    expect(caseworker.locator("[data-testid=case-waiting]")).to_be_visible()
    principal = caseworker.locator("#people article.member").first
    principal.locator("form.reveal button").click()  # one reveal for every detail
    expect(principal.locator("[data-field=story] .revealed", has_text=marker)).to_be_visible()
    caseworker.click("[data-testid=case-conversation-link]")
    expect(caseworker.locator("[data-testid=message]")).to_contain_text("Мне пришлось переехать")
    caseworker.fill("#id_body", "Мы получили ваше сообщение.")
    caseworker.click("form[action$='/reply/'] button[type=submit]")
    caseworker.goto("/")
    expect(caseworker.locator("[data-testid=waiting-messages]")).to_have_count(0)

    person.goto("/intake/conversation/")
    expect(person.locator(".msg.out")).to_contain_text("Мы получили ваше сообщение")
