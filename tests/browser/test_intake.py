"""The public intake in Chromium with JavaScript disabled (Tor Browser "Safest"), against the
real production server: sealed and unsealed, a Russian request, codename log-in, the inbox."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Codes, Watch, screenshot
from tests.browser.support import Server, run_haven

pytestmark = pytest.mark.browser

STORY_RU = "Меня ищут после задержания друга. Нужна помощь с выездом."


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
    page.goto("/intake/ask/")
    page.fill("#id_contact", contact)
    page.fill("#id_region", region)
    page.fill("#id_story", story)
    page.check("input[name=urgency][value=now]")
    page.click("button[type=submit].button")
    expect(page.locator("[data-testid=codename]")).to_be_visible()
    words = page.locator("[data-testid=codename] span").all_inner_texts()
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
    rows = staff.locator("[data-testid=request-row] a")
    expect(rows).to_have_count(2)
    stories = []
    for i in range(2):
        staff.goto("/inbox/?status=all")
        staff.locator("[data-testid=request-row] a").nth(i).click()
        stories.append(staff.locator("[data-testid=request-payload]").inner_text())
        if STORY_RU in stories[-1]:
            staff.fill("#id_body", "Мы получили ваш запрос. Ответ: держитесь.")
            staff.click("text=Send reply")
            expect(staff.locator("[data-testid=message]")).to_have_count(1)
        else:
            staff.click("button[name=to][value=triaged]")
            staff.fill("#id_legal_name", "Тест Второй")
            staff.click("text=Accept and create the person")
            expect(staff.locator("[data-testid=request-status]")).to_contain_text("accepted")
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
    expect(stranger.locator("main")).to_contain_text("does not open any conversation")
    stranger.goto("/intake/conversation/")
    expect(stranger).to_have_url(re.compile(r"/intake/return/$"))
