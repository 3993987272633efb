"""WCAG 2.1 A/AA in Chromium, checked by axe-core (issue 16).

One production server with the demo organization and invented cases, one browser. The public
intake is scanned page by page (home, form, form with errors, codename, codename gone, come-back
form and its wrong-codename error, conversation and its error) in English and Russian at 390 and
1280 px. Every staff role signs in and walks every page it can reach by links from its start
page (one page per URL shape: /cases/<id>/ once, not once per case), in English and Russian,
each at both widths, plus a staff form sent empty. Any WCAG 2.1 A or AA violation fails the
test, with the page, the rule and the elements.

axe-core comes from npm (`make axe`, pinned in the Makefile); ``HAVEN_AXE`` may name another
copy of ``axe.min.js``.
"""

from __future__ import annotations

import os
import re
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import ARTIFACTS, Codes
from tests.browser.support import REPO, Server, run_haven, scratch_postgres_database, serving

pytestmark = pytest.mark.browser

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
WIDTHS = (390, 1280)
LANGUAGES = ("en", "ru")
ROLES = ("coordinator", "caseworker", "operator", "verifier", "liaison", "auditor")
MIN_FILL_SECONDS = 5  # the server's HAVEN_INTAKE_MIN_FILL_SECONDS default
PAGES_PER_ROLE = 40
VERBOSE = bool(os.environ.get("HAVEN_AXE_VERBOSE"))  # print each violation as it is found

# Links a crawl must not follow: they change state on GET, are files, or leave the HTML app.
SKIP = re.compile(
    r"^/(api/|i18n/|static/|healthz)|/logout/|/download/|/documents/[0-9a-f-]{36}/$|"
    r"\.svg$|\.csv$|/jsi18n/|^/intake/"
)
ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\d+")

RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags},
                                          resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + " — " + n.failureSummary),
    count: v.nodes.length,
  }));
}"""


def axe_source() -> str:
    path = Path(os.environ.get("HAVEN_AXE")
                or REPO / ".venv" / "node" / "node_modules" / "axe-core" / "axe.min.js")
    if not path.exists():
        raise AssertionError(f"{path} is missing: run `make axe` (installs axe-core from npm)")
    return path.read_text(encoding="utf-8")


class Scanner:
    """Runs axe on pages and keeps every violation and the number of pages scanned."""

    def __init__(self) -> None:
        self.source = axe_source()
        self.scanned: list[str] = []
        self.violations: list[str] = []

    def scan(self, page: Page, label: str, widths: tuple[int, ...] = WIDTHS) -> None:
        for width in widths:
            page.set_viewport_size({"width": width, "height": 900})
            if not page.evaluate("() => typeof window.axe !== 'undefined'"):
                page.evaluate(self.source)
            found: list[dict[str, Any]] = page.evaluate(RUN_AXE, AXE_TAGS)
            name = f"{label} @{width}px {urlsplit(page.url).path}"
            self.scanned.append(name)
            for v in found:
                nodes = "\n      ".join(v["nodes"])
                self.violations.append(f"{name}: {v['id']} ({v['impact']}, {v['count']}×) "
                                       f"{v['help']}\n      {nodes}")
                if VERBOSE:
                    print(self.violations[-1], flush=True)  # noqa: T201 - asked for by HAVEN_AXE_VERBOSE

    def report(self) -> None:
        """Print how many pages were scanned (and keep the list in test-artifacts), then fail
        on any violation."""
        line = (f"axe-core ({', '.join(AXE_TAGS)}): scanned {len(self.scanned)} pages "
                f"(page × role × language × width), {len(self.violations)} violations")
        print("\n" + line)  # noqa: T201 - the count is part of what this test shows
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "accessibility.txt").write_text(
            line + "\n" + "\n".join(self.scanned) + "\n\n" + "\n".join(self.violations) + "\n",
            encoding="utf-8")
        assert not self.violations, "\n".join(self.violations)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own (the shared one must keep the demo as other tests expect it), with
    invented cases, shelters and applications so that every kind of page has content."""
    data_dir = tmp_path_factory.mktemp("haven-a11y")
    database_url = os.environ.get("DATABASE_URL")
    if database_url and database_url.startswith(("postgres://", "postgresql://")):
        with (
            scratch_postgres_database(database_url) as scratch,
            serving(data_dir, database_url=scratch) as running,
        ):
            run_haven(["seed", "--people", "24"], running.env)
            yield running
    else:
        with serving(data_dir) as running:
            run_haven(["seed", "--people", "24"], running.env)
            yield running


def context_for(browser: Browser, server: Server, language: str) -> BrowserContext:
    context = browser.new_context(base_url=server.origin, locale="en-US",
                                  viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    context.add_cookies([{"name": "haven_language", "value": language, "url": server.origin}])
    return context


def send_request(page: Page, story: str) -> None:
    page.goto("/intake/ask/")
    opened = time.monotonic()
    page.fill("#id_contact", "Signal @a11y")
    page.fill("#id_region", "Grozny")
    page.fill("#id_story", story)
    page.check("input[name=urgency][value=now]")
    page.wait_for_timeout(max(0, (MIN_FILL_SECONDS + 0.5 - (time.monotonic() - opened)) * 1000))
    page.click("button[type=submit].button")
    expect(page.locator("[data-testid=codename]")).to_be_visible()


def scan_intake(browser: Browser, server: Server, scanner: Scanner, language: str) -> None:
    context = context_for(browser, server, language)
    page = context.new_page()
    label = f"intake {language}"
    page.goto("/intake/")
    expect(page.locator("html")).to_have_attribute("lang", language)
    scanner.scan(page, label)
    page.goto("/intake/ask/")
    scanner.scan(page, label)
    page.click("button[type=submit].button")  # everything empty
    expect(page.locator("[data-testid=error-summary]")).to_be_visible()
    scanner.scan(page, label + " errors")
    send_request(page, f"Accessibility check ({language}).")
    words = page.locator("[data-testid=codename] li span").all_inner_texts()
    scanner.scan(page, label)
    page.reload()  # the codename is shown once
    scanner.scan(page, label + " gone")
    page.goto("/intake/return/")
    scanner.scan(page, label)
    page.click("button[type=submit].button")
    expect(page.locator("[data-testid=error-summary]")).to_be_visible()
    scanner.scan(page, label + " errors")
    page.fill("#id_codename", "wrong words that are not anyone's codename here")
    page.click("button[type=submit].button")
    expect(page.locator("[data-testid=error-summary]")).to_be_visible()
    scanner.scan(page, label + " wrong codename")
    page.fill("#id_codename", " ".join(words))
    page.click("button[type=submit].button")
    expect(page).to_have_url(re.compile(r"/intake/conversation/$"))
    scanner.scan(page, label)
    page.click("form[action$='/intake/conversation/'] button[type=submit]")  # empty message
    expect(page.locator("[data-testid=error-summary]")).to_be_visible()
    scanner.scan(page, label + " errors")
    context.close()


def log_in(page: Page, codes: Codes, role: str) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", role)
    page.fill("#id_password", f"demo-{role}-haven")
    page.click("button[type=submit].primary")
    expect(page).to_have_url(re.compile(r"/accounts/verify/$"))
    page.fill("#id_code", codes.demo(role))
    page.click("button[type=submit].primary")
    expect(page).to_have_url(re.compile(r"/$"))


def shape(path: str) -> str:
    """The URL's pattern: ids and a pathway's slug replaced (one page of each kind is scanned)."""
    return ID.sub("<id>", re.sub(r"/routes/[^/]+/", "/routes/<slug>/", path))


def crawl(page: Page, origin: str) -> list[str]:
    """Every page a signed-in user reaches by links from the start page, one per URL shape."""
    seen: set[str] = set()
    found: list[str] = []
    queue = deque(["/"])
    while queue and len(found) < PAGES_PER_ROLE:
        path = queue.popleft()
        if shape(path) in seen:
            continue
        seen.add(shape(path))
        response = page.goto(path)
        if response is None or response.status != 200 or urlsplit(page.url).path != path:
            continue
        if not response.headers.get("content-type", "").startswith("text/html"):
            continue
        found.append(path)
        hrefs: list[str] = page.eval_on_selector_all(
            "a[href]", "els => els.map(a => a.href)")
        for href in hrefs:
            parts = urlsplit(href)
            if f"{parts.scheme}://{parts.netloc}" != origin:
                continue
            if SKIP.search(parts.path) or shape(parts.path) in seen:
                continue
            queue.append(parts.path)
    return found


def test_every_page_meets_wcag_21_aa(browser: Browser, seeded: Server) -> None:
    scanner = Scanner()
    codes = Codes(seeded)
    for language in LANGUAGES:
        scan_intake(browser, seeded, scanner, language)
    for role in ROLES:
        context = context_for(browser, seeded, "en")
        page = context.new_page()
        page.goto("/accounts/login/")
        scanner.scan(page, f"{role} login en")
        log_in(page, codes, role)
        paths = crawl(page, seeded.origin)
        if VERBOSE:
            print(f"{role}: {len(paths)} pages: {' '.join(paths)}", flush=True)  # noqa: T201
        assert "/" in paths, paths
        assert len(paths) > 3, paths
        for language in LANGUAGES:
            context.add_cookies([{"name": "haven_language", "value": language,
                                  "url": seeded.origin}])
            for path in paths:
                page.goto(path)
                expect(page.locator("html")).to_have_attribute("lang", language)
                scanner.scan(page, f"{role} {language}")
        if role == "coordinator":
            page.goto("/cases/new/")
            page.click("main form button[type=submit].primary")
            expect(page.locator("[data-testid=error-summary]")).to_be_visible()
            scanner.scan(page, f"{role} ru errors")
        context.close()
    scanner.report()


# --- the keyboard alone, and what a screen reader is given -----------------------------------


def keyboard_page(browser: Browser, server: Server) -> Page:
    """The intake as Tor Browser's "Safest" level serves it: no JavaScript at all."""
    context = browser.new_context(base_url=server.origin, locale="en-US",
                                  java_script_enabled=False)
    context.set_default_timeout(20_000)
    return context.new_page()


def focused(page: Page) -> dict[str, str]:
    """The focused element as the accessibility tree has it (works without page JavaScript)."""
    session = page.context.new_cdp_session(page)
    try:
        nodes = session.send("Accessibility.getFullAXTree")["nodes"]
    finally:
        session.detach()
    for node in nodes:
        props = {p["name"]: p["value"].get("value") for p in node.get("properties", [])}
        if props.get("focused") and node["role"]["value"] != "RootWebArea":
            return {"role": node["role"]["value"],
                    "name": node.get("name", {}).get("value", ""),
                    "description": node.get("description", {}).get("value", "")}
    return {"role": "", "name": "", "description": ""}


def tab_to(page: Page, role: str, name: str, *, limit: int = 40, key: str = "Tab") -> None:
    """Press Tab until the element with this role and accessible name has the focus."""
    seen = []
    for _ in range(limit):
        page.keyboard.press(key)
        now = focused(page)
        seen.append(f"{now['role']}:{now['name']}")
        if now["role"] == role and now["name"].startswith(name):
            return
    raise AssertionError(f"Tab never reached {role} {name!r}; focus went {seen}")


def test_intake_and_come_back_with_the_keyboard_alone(browser: Browser, seeded: Server) -> None:
    page = keyboard_page(browser, seeded)
    page.goto("/intake/")
    # The skip link comes first and moves past the header.
    page.keyboard.press("Tab")
    assert focused(page)["name"] == "Skip to content"
    tab_to(page, "link", "Ask for help")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/intake/ask/$"))
    opened = time.monotonic()
    # Sent empty: the error summary has the focus, and its first link leads to the field.
    tab_to(page, "button", "Send my request")
    page.keyboard.press("Enter")
    expect(page).to_have_title(re.compile(r"^Error: "))
    expect(page.locator("[data-testid=error-summary]")).to_be_focused()
    now = focused(page)
    assert now["role"] == "alert", now
    assert now["name"] == "There is a problem", now
    tab_to(page, "link", "How can we contact you safely?")
    page.keyboard.press("Enter")
    expect(page.locator("#id_contact")).to_be_focused()
    page.keyboard.type("Signal @keyboard_only")
    tab_to(page, "textbox", "Where are you now")
    page.keyboard.type("Dagestan")
    tab_to(page, "textbox", "What happened")
    page.keyboard.type("I can only use a keyboard. Please help me leave.")
    tab_to(page, "radio", "I am in danger now")
    page.keyboard.press("Space")
    expect(page.locator("#id_urgency_0")).to_be_checked()
    page.wait_for_timeout(max(0, (MIN_FILL_SECONDS + 0.5 - (time.monotonic() - opened)) * 1000))
    tab_to(page, "button", "Send my request")
    page.keyboard.press("Enter")
    expect(page.locator("[data-testid=codename]")).to_be_visible()
    words = page.locator("[data-testid=codename] li span").all_inner_texts()
    assert len(words) == 7
    # Come back: a wrong codename first (error focused and linked), then the right one.
    tab_to(page, "link", "Read replies with my codename")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/intake/return/$"))
    tab_to(page, "textbox", "Your codename")
    page.keyboard.type("seven wrong words that open nothing at all")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/intake/return/\?failed=1$"))
    expect(page.locator("[data-testid=error-summary]")).to_be_focused()
    assert focused(page)["role"] == "alert"
    tab_to(page, "link", "Your codename")
    page.keyboard.press("Enter")
    expect(page.locator("#id_codename")).to_be_focused()
    page.keyboard.type(" ".join(words))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/intake/conversation/$"))
    tab_to(page, "textbox", "Your message")
    page.keyboard.type("Thank you. I will wait.")
    tab_to(page, "button", "Send")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text("Your message was sent.")
    expect(page.locator(".msg")).to_contain_text("I will wait.")
    page.context.close()


def ax_nodes(page: Page) -> list[dict[str, Any]]:
    session = page.context.new_cdp_session(page)
    try:
        nodes: list[dict[str, Any]] = session.send("Accessibility.getFullAXTree")["nodes"]
    finally:
        session.detach()
    return [{"role": n["role"]["value"], "name": n.get("name", {}).get("value", ""),
             "description": n.get("description", {}).get("value", ""),
             **{p["name"]: p["value"].get("value") for p in n.get("properties", [])}}
            for n in nodes if not n.get("ignored")]


def one(nodes: list[dict[str, Any]], role: str, name: str) -> dict[str, Any]:
    found = [n for n in nodes if n["role"] == role and n["name"].startswith(name)]
    assert len(found) == 1, (role, name, [(n["role"], n["name"]) for n in nodes])
    return found[0]


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_screen_reader_hears_the_errors(browser: Browser, seeded: Server,
                                          language: str) -> None:
    page = keyboard_page(browser, seeded)
    page.context.add_cookies([{"name": "haven_language", "value": language,
                               "url": seeded.origin}])
    prefix = {"en": "Error:", "ru": "Ошибка:"}[language]
    page.goto("/intake/ask/")
    page.click("button[type=submit].button")
    expect(page.locator("[data-testid=error-summary]")).to_be_focused()
    nodes = ax_nodes(page)
    summary = one(nodes, "alert", {"en": "There is a problem", "ru": "Есть ошибки"}[language])
    assert summary.get("focused") is True, summary
    assert page.title().startswith({"en": "Error: ", "ru": "Ошибка: "}[language])
    labels = {"en": ["How can we contact you safely?", "Where are you now, roughly?",
                     "What happened, and what help do you need?"],
              "ru": [page.locator(f"label[for=id_{n}]").inner_text()
                     for n in ("contact", "region", "story")]}[language]
    for label, field in zip(labels, ("contact", "region", "story"), strict=True):
        box = one(nodes, "textbox", label)
        help_text = page.locator(f"#id_{field}_helptext").inner_text()
        assert help_text in box["description"], box
        error = " ".join((page.locator(f"#id_{field}_error").text_content() or "").split())
        assert error.startswith(prefix), error
        required = error.removeprefix(prefix).strip()
        if language == "en":
            assert required == "This field is required."
        assert error in box["description"], box
        assert box.get("invalid") == "true", box
        one(nodes, "link", f"{label}: {required}")  # in the summary
    urgency = page.locator("legend").inner_text()
    group = one(nodes, "group", urgency)
    assert f"{prefix} {required}" in group["description"], group
    # The wrong codename on the come-back page, the same way.
    page.goto("/intake/return/")
    page.fill("#id_codename", "seven wrong words that open nothing at all")
    page.click("button[type=submit].button")
    expect(page.locator("[data-testid=error-summary]")).to_be_focused()
    nodes = ax_nodes(page)
    assert one(nodes, "alert", "").get("focused") is True
    box = one(nodes, "textbox", page.locator("label[for=id_codename]").inner_text())
    error = " ".join((page.locator("#id_codename_error").text_content() or "").split())
    assert error.startswith(prefix), error
    assert error in box["description"], box
    assert error.removeprefix(prefix).strip() in page.locator(
        "[data-testid=error-summary]").inner_text()
    page.context.close()


def test_a_screen_reader_hears_how_many_cases_a_filter_leaves(browser: Browser,
                                                               seeded: Server) -> None:
    """The case list's filters swap the rows with htmx; the count above them is a live region
    that stays in place (only its text changes), so the new count is announced."""
    context = context_for(browser, seeded, "en")
    page = context.new_page()
    log_in(page, Codes(seeded), "coordinator")
    page.goto("/cases/")
    count = page.locator("#case-count")
    before = count.inner_text()
    assert re.fullmatch(r"\d+ cases?", before), before
    assert count.get_attribute("role") == "status"
    page.evaluate("window.countRegion = document.getElementById('case-count')")
    page.fill("#id_q", "no such person anywhere")
    page.press("#id_q", "Enter")
    expect(count).to_have_text("0 cases")
    assert page.locator("#case-count").count() == 1
    assert page.evaluate("document.getElementById('case-count') === window.countRegion")
    regions = [n for n in ax_nodes(page) if n["role"] == "status"]
    assert [n.get("live") for n in regions] == ["polite"], regions
    context.close()
