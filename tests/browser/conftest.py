"""Fixtures for the browser tests: the real production server on a temporary data folder, and
Debian's Chromium driven by Playwright.

Every page a test opens is checked on the way (see ``page``): the security headers on each
document, no Content-Security-Policy violation in the console, and no request to any host
but the server. No fixture here touches the test database: the server runs in its own
processes and the tests talk to it over HTTP and through `haven` subprocesses, so Django's
async-safety check never meets Playwright's event loop.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django_otp.oath import totp
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Response, sync_playwright

from tests.browser.support import REPO, Server, chromium_path, scratch_postgres_database, serving

ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
REQUIRED_HEADERS = {
    "content-security-policy": re.compile(r"default-src 'none'.*frame-ancestors 'none'|"
                                          r"frame-ancestors 'none'.*default-src 'none'"),
    "referrer-policy": re.compile(r"^no-referrer$"),
    "x-content-type-options": re.compile(r"^nosniff$"),
    "permissions-policy": re.compile(r"camera=\(\).*geolocation=\(\).*microphone=\(\)"),
    "x-frame-options": re.compile(r"^DENY$"),
}  # fmt: skip


def _compile_messages() -> None:
    """The Russian test needs the compiled catalog; `make setup` builds it, this covers a bare
    `pytest` in a fresh clone (needs gettext's msgfmt)."""
    po = REPO / "haven" / "locale" / "ru" / "LC_MESSAGES" / "django.po"
    mo = po.with_suffix(".mo")
    if po.exists() and (not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime):
        subprocess.run(["msgfmt", "--check-format", "-o", str(mo), str(po)], check=True, timeout=60)


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`haven serve` (gunicorn) with the demo loaded, on SQLite in a temporary data folder —
    or on a scratch PostgreSQL database when the suite runs against PostgreSQL."""
    _compile_messages()
    data_dir = tmp_path_factory.mktemp("haven-browser")
    database_url = os.environ.get("DATABASE_URL")
    if database_url and database_url.startswith(("postgres://", "postgresql://")):
        with (
            scratch_postgres_database(database_url) as scratch,
            serving(data_dir, database_url=scratch) as running,
        ):
            yield running
    else:
        with serving(data_dir) as running:
            yield running


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


@dataclass
class Watch:
    """What the browser did while a test ran."""

    origin: str
    requests: list[str] = field(default_factory=list)
    documents: list[Response] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    def on_request(self, request: Request) -> None:
        self.requests.append(request.url)

    def on_response(self, response: Response) -> None:
        if response.request.resource_type == "document":
            self.documents.append(response)

    def on_console(self, message: ConsoleMessage) -> None:
        self.console.append(f"{message.type}: {message.text}")

    def check(self) -> None:
        foreign = [u for u in self.requests if not u.startswith(self.origin + "/")]
        assert not foreign, f"requests to other hosts: {foreign}"
        violations = [m for m in self.console if "Content Security Policy" in m]
        assert not violations, f"CSP violations: {violations}"
        for response in self.documents:
            headers = response.headers
            for name, pattern in REQUIRED_HEADERS.items():
                assert pattern.search(headers.get(name, "")), (
                    f"{response.url} ({response.status}): header {name!r} is {headers.get(name)!r}"
                )


@pytest.fixture
def watch(server: Server) -> Watch:
    return Watch(origin=server.origin)


@pytest.fixture
def page(browser: Browser, server: Server, watch: Watch) -> Iterator[Page]:
    """A fresh browser context (no cookies) whose every request and document is checked."""
    context = browser.new_context(base_url=server.origin, locale="en-US")
    context.set_default_timeout(15_000)
    tab = context.new_page()
    tab.on("request", watch.on_request)
    tab.on("response", watch.on_response)
    tab.on("console", watch.on_console)
    yield tab
    context.close()
    watch.check()


@pytest.fixture
def new_page(browser: Browser, server: Server, watch: Watch) -> Iterator[Any]:
    """Open more independent contexts (another person at another computer), all watched."""
    contexts = []

    def make() -> Page:
        context = browser.new_context(base_url=server.origin, locale="en-US")
        context.set_default_timeout(15_000)
        contexts.append(context)
        tab = context.new_page()
        tab.on("request", watch.on_request)
        tab.on("response", watch.on_response)
        tab.on("console", watch.on_console)
        return tab

    yield make
    for context in contexts:
        context.close()


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


class Codes:
    """Second-factor codes. A TOTP code is accepted once per 30-second step, so a second login
    of the same account in the same step waits for the next one."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.used: dict[str, set[str]] = {}

    def _fresh(self, key: str, current: Any) -> str:
        for _ in range(3):
            code = str(current())
            if code not in self.used.setdefault(key, set()):
                self.used[key].add(code)
                return code
            time.sleep(30 - time.time() % 30 + 0.5)
        raise AssertionError(f"no fresh code for {key}")

    def demo(self, username: str) -> str:
        """The current code of a demo user, from `haven demo-code` as a person would run it."""
        return self._fresh(username, lambda: self.server.haven("demo-code", username).strip())

    def from_secret(self, key: str, secret_b32: str) -> str:
        """The current code for a secret shown on the enrolment page (what an app computes)."""
        import base64

        padded = secret_b32 + "=" * (-len(secret_b32) % 8)
        raw = base64.b32decode(padded)
        return self._fresh(key, lambda: str(totp(raw)).zfill(6))


@pytest.fixture(scope="package")
def codes(server: Server) -> Codes:
    return Codes(server)
