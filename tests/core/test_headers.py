"""Security headers and cookies on every page, HSTS over TLS, CSRF on every form."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from haven.accounts.models import User
from tests.access.routes import all_routes, page_routes

GET_ROUTES = [r for r in all_routes() if not r.is_api or r.api_method == "GET"]
POST_PAGES = [r for r in page_routes() if not r.route.startswith("api/")]
# What makes the browser fetch something by itself (a plain link the user clicks does not).
EXTERNAL = re.compile(
    r"""(?:\b(?:src|srcset|poster|data)\s*=|<link\b[^>]*\bhref\s*=|<form\b[^>]*\baction\s*=)"""
    r"""\s*["']?\s*(?:[a-z]+:)?//""", re.I)


def _problems(response: Any, secure: bool = False) -> list[str]:  # noqa: PLR0912 - one check per header
    found: list[str] = []
    csp = response.get("Content-Security-Policy", "")
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    if directives.get("default-src") != ["'none'"]:
        found.append(f"CSP default-src: {csp!r}")
    if directives.get("frame-ancestors") != ["'none'"]:
        found.append("CSP frame-ancestors is not 'none'")
    if "unsafe-inline" in csp or "unsafe-eval" in csp:
        found.append("CSP allows unsafe-inline/eval")
    for name, sources in directives.items():
        if any(s not in {"'self'", "'none'"} for s in sources):
            found.append(f"CSP {name} allows another origin: {sources}")
    if response.get("Referrer-Policy") != "no-referrer":
        found.append(f"Referrer-Policy: {response.get('Referrer-Policy')!r}")
    expected = {
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
    }
    for header, value in expected.items():
        if response.get(header) != value:
            found.append(f"{header}: {response.get(header)!r}")
    if "camera=()" not in response.get("Permissions-Policy", "") or \
            "geolocation=()" not in response.get("Permissions-Policy", ""):
        found.append("Permissions-Policy is not restrictive")
    if "no-store" not in response.get("Cache-Control", ""):
        found.append(f"Cache-Control: {response.get('Cache-Control')!r}")
    if not response.get("X-Request-ID"):
        found.append("no X-Request-ID")
    for name, morsel in response.cookies.items():
        if not morsel["secure"] or not morsel["httponly"] or morsel["samesite"] != "Strict":
            found.append(f"cookie {name} lacks Secure/HttpOnly/SameSite=Strict")
    if ("Strict-Transport-Security" in response) != secure:
        found.append(f"HSTS {'missing' if secure else 'sent without TLS'}")
    if response.get("Content-Type", "").startswith("text/html") and \
            EXTERNAL.search(response.content.decode()):
        found.append("the page loads something from another host")
    return found


def _walk(client: Client, secure: bool = False) -> list[str]:
    client.raise_request_exception = False
    failures = []
    for route in GET_ROUTES:
        response = client.get(route.path(), secure=secure)
        failures += [f"GET {route.path()}: {p}" for p in _problems(response, secure)]
    return failures


def test_every_page_carries_the_headers_for_anonymous(client: Client, db: None) -> None:
    assert _walk(client) == []


def test_every_page_carries_the_headers_for_a_coordinator(
    login: Callable[[User], Client], coordinator: User
) -> None:
    assert _walk(login(coordinator)) == []


def test_hsts_is_sent_over_tls_on_every_page(client: Client, db: None) -> None:
    assert _walk(client, secure=True) == []
    response = client.get("/healthz", secure=True)
    hsts = response["Strict-Transport-Security"]
    assert "max-age=63072000" in hsts
    assert "includeSubDomains" in hsts


def test_hsts_is_not_sent_over_plain_http(client: Client, db: None) -> None:
    assert "Strict-Transport-Security" not in client.get("/healthz")


def test_login_sets_secure_httponly_strict_cookies(client: Client, caseworker: User) -> None:
    page = client.get("/accounts/login/")
    assert "haven_csrf" in page.cookies
    response = client.post("/accounts/login/", {"username": "caseworker",
                                                "password": "a long and unusual passphrase"})
    assert "haven_session" in response.cookies
    for response_ in (page, response):
        assert _problems(response_) == []


def test_api_errors_carry_the_headers_too(client: Client, db: None) -> None:
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert _problems(response) == []


def test_static_files_are_served_by_haven(client: Client, db: None) -> None:
    page = client.get("/accounts/login/").content.decode()
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', page)
    assert scripts, "htmx should be on the page"
    for src in scripts + re.findall(r'<link[^>]*href="([^"]+)"', page):
        assert src.startswith("/static/")
        assert client.get(src).status_code == 200
    assert "<script>" not in page
    assert "onclick=" not in page
    assert "style=" not in page


# --- CSRF -------------------------------------------------------------------------------------


def _csrf_client(source: Client) -> Client:
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = source.cookies
    return strict


@pytest.mark.parametrize("who", ["anonymous", "coordinator"])
def test_every_form_post_without_a_csrf_token_is_refused(
    who: str, login: Callable[[User], Client], request: pytest.FixtureRequest, db: None
) -> None:
    base = Client() if who == "anonymous" else login(request.getfixturevalue("coordinator"))
    base.get("/accounts/login/")  # a CSRF cookie exists: only the form token is missing
    strict = _csrf_client(base)
    accepted = []
    for route in POST_PAGES:
        response = strict.post(route.path(), {"next": "/"})
        if response.status_code != 403:
            accepted.append(f"{route.path()}: {response.status_code}")
    assert accepted == []


def test_a_post_with_the_csrf_token_is_accepted(
    login: Callable[[User], Client], coordinator: User
) -> None:
    base = login(coordinator)
    page = base.get("/accounts/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None
    strict = _csrf_client(base)
    response = strict.post("/accounts/sessions/end-others/",
                           {"csrfmiddlewaretoken": token.group(1)})
    assert response.status_code == 302


def test_csrf_failure_page_is_plain_and_clear(client: Client, db: None) -> None:
    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/accounts/login/", {"username": "x", "password": "y"})
    assert response.status_code == 403
    assert _problems(response) == []
