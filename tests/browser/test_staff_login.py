"""Staff in a real browser (Debian's Chromium) against the real production server."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Codes, Watch, screenshot
from tests.browser.support import Server

pytestmark = pytest.mark.browser

NEW_PASSWORD = "harbour lights over quiet water"


def log_in(page: Page, codes: Codes, username: str, password: str) -> None:
    """Password, then the demo user's current code from `haven demo-code`."""
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit].primary")
    expect(page).to_have_url(re.compile(r"/accounts/verify/$"))
    page.fill("#id_code", codes.demo(username))
    page.click("button[type=submit].primary")
    expect(page).to_have_url(re.compile(r"/$"))


def test_demo_coordinator_logs_in_with_password_and_code(page: Page, codes: Codes) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    screenshot(page, "01-login")
    page.fill("#id_username", "coordinator")
    page.fill("#id_password", "demo-coordinator-haven")
    page.click("button[type=submit].primary")
    expect(page).to_have_url(re.compile(r"/accounts/verify/"))
    screenshot(page, "02-second-factor")
    page.fill("#id_code", codes.demo("coordinator"))
    page.click("button[type=submit].primary")
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator(".role[data-role=coordinator]")).to_have_text("Coordinator")
    expect(page.locator("p.lead")).to_contain_text("Coordinator")
    screenshot(page, "03-dashboard-coordinator")


def test_wrong_code_is_refused_with_a_clear_message(page: Page, codes: Codes) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", "verifier")
    page.fill("#id_password", "demo-verifier-haven")
    page.click("button[type=submit].primary")
    current = codes.demo("verifier")
    page.fill("#id_code", "000000" if current != "000000" else "111111")
    page.click("button[type=submit].primary")
    expect(page).to_have_url(re.compile(r"/accounts/verify/"))
    expect(page.locator("main")).to_contain_text("not valid")
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/verify/"))


def test_new_user_must_enrol_totp_before_reaching_anything(
    page: Page, new_page: Callable[[], Page], codes: Codes
) -> None:
    log_in(page, codes, "coordinator", "demo-coordinator-haven")
    page.goto("/accounts/users/")
    page.click("a[href='/accounts/users/new/']")
    page.fill("#id_username", "new-caseworker")
    page.select_option("#id_role", "caseworker")
    page.select_option("#id_language", "en")
    page.fill("#id_password", NEW_PASSWORD)
    screenshot(page, "04-coordinator-creates-user")
    page.click("button[type=submit].primary")
    expect(page).to_have_url(re.compile(r"/accounts/users/$"))
    expect(page.locator("tr[data-username=new-caseworker]")).to_be_visible()

    newcomer = new_page()
    newcomer.goto("/accounts/login/")
    newcomer.fill("#id_username", "new-caseworker")
    newcomer.fill("#id_password", NEW_PASSWORD)
    newcomer.click("button[type=submit].primary")
    expect(newcomer).to_have_url(re.compile(r"/accounts/enrol/$"))
    for path in ["/", "/accounts/", "/accounts/password/", "/accounts/users/", "/audit/",
                 "/accounts/verify/", "/accounts/reauth/"]:  # fmt: skip
        newcomer.goto(path)
        expect(newcomer).to_have_url(re.compile(r"/accounts/enrol/$"))
    assert newcomer.evaluate("document.querySelector('img.qr').naturalWidth") > 0
    screenshot(newcomer, "05-enrolment")

    secret = newcomer.get_by_test_id("totp-secret").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-7]{16,}", secret)
    newcomer.fill("#id_code", codes.from_secret("new-caseworker", secret))
    newcomer.click("button[type=submit].primary")
    recovery = newcomer.get_by_test_id("recovery-codes").locator("li")
    expect(recovery).to_have_count(10)
    screenshot(newcomer, "06-recovery-codes")
    newcomer.click("a.button.primary")
    expect(newcomer).to_have_url(re.compile(r"/$"))
    expect(newcomer.locator(".role[data-role=caseworker]")).to_be_visible()
    newcomer.goto("/accounts/users/")
    assert newcomer.locator("tr[data-username]").count() == 0  # not a coordinator's page


def test_every_page_has_security_headers_and_stays_on_this_server(
    page: Page, codes: Codes, server: Server, watch: Watch
) -> None:
    page.goto("/accounts/login/")
    page.goto("/no-such-page/")
    log_in(page, codes, "auditor", "demo-auditor-haven")
    for path in ["/", "/accounts/", "/accounts/password/", "/audit/", "/audit/?action=auth"]:
        response = page.goto(path)
        assert response is not None
        assert response.status < 500
        assert "strict-transport-security" not in response.headers  # plain http: no HSTS
    page.click("text=Log out")
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    screenshot(page, "07-logged-out")
    # The checks run for every test at teardown; here they also run now, with what we saw.
    watch.check()
    assert len(watch.documents) >= 8
    assert all(url.startswith(server.origin) for url in watch.requests)


def test_secure_cookies_work_on_loopback_http(page: Page, codes: Codes) -> None:
    log_in(page, codes, "liaison", "demo-liaison-haven")
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["haven_session"]
    assert session["secure"]
    assert session["httpOnly"]
    assert session["sameSite"] == "Strict"
    assert cookies["haven_csrf"]["secure"]
    page.goto("/accounts/")
    expect(page).to_have_url(re.compile(r"/accounts/$"))


def test_russian_language_switch(page: Page, codes: Codes) -> None:
    page.goto("/accounts/login/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.click("button[name=language][value=ru]")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    heading = page.locator("h1").inner_text()
    assert re.search("[а-яА-Я]", heading), f"login heading not in Russian: {heading!r}"
    assert page.context.cookies()[0]["secure"]
    screenshot(page, "08-login-russian")
    log_in(page, codes, "operator", "demo-operator-haven")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    assert re.search("[а-яА-Я]", page.locator("p.lead").inner_text())
    screenshot(page, "09-dashboard-russian")
    page.click("button[name=language][value=en]")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("p.lead")).to_contain_text("You are signed in as")


# --- security keys (WebAuthn) with Chromium's virtual authenticator --------------------------------

KEYHOLDER_PASSWORD = "a coordinator who carries two keys"


def _password(page: Page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit].primary")


def _virtual_key(cdp: Any) -> str:
    """A USB security key that says yes at once (user present and verified)."""
    found = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "usb", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True,
        "automaticPresenceSimulation": True}})
    return str(found["authenticatorId"])


def test_coordinator_enrols_keys_signs_in_with_one_and_codes_stop_working(
    browser: Browser, server: Server, codes: Codes
) -> None:
    """WebAuthn needs a secure context and a host name: this test uses http://localhost."""
    server.haven("user", "create", "keyholder", "--role", "coordinator", "--org", "demo",
                 stdin=KEYHOLDER_PASSWORD + "\n")
    origin = f"http://localhost:{server.port}"
    watch = Watch(origin=origin)
    context = browser.new_context(base_url=origin, locale="en-US")
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.on("request", watch.on_request)
    page.on("response", watch.on_response)
    page.on("console", watch.on_console)
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    first = _virtual_key(cdp)
    try:
        # First sign-in: an authenticator app, as every new account.
        _password(page, "keyholder", KEYHOLDER_PASSWORD)
        expect(page).to_have_url(re.compile(r"/accounts/enrol/$"))
        secret = page.get_by_test_id("totp-secret").inner_text().strip()
        page.fill("#id_code", codes.from_secret("keyholder", secret))
        page.click("button[type=submit].primary")
        expect(page.get_by_test_id("recovery-codes").locator("li")).to_have_count(10)

        # Add a security key (the sign-in a moment ago counts as re-authenticating).
        page.goto("/accounts/keys/")
        expect(page.get_by_test_id("coordinator-rule")).to_be_visible()
        page.get_by_test_id("add-key").click()
        expect(page.get_by_test_id("key-row")).to_have_count(1)
        expect(page.get_by_test_id("spare-key-warning")).to_be_visible()
        screenshot(page, "10-security-key-enrolled")
        page.click("text=Log out")

        # Signing in again: the code is no longer accepted, the key is.
        _password(page, "keyholder", KEYHOLDER_PASSWORD)
        expect(page).to_have_url(re.compile(r"/accounts/verify/"))
        expect(page.get_by_test_id("key-only")).to_be_visible()
        assert page.locator("#id_code").count() == 0
        config = json.loads(page.locator("#otp_webauthn_config").inner_text())
        refused = page.request.post(
            f"{origin}/accounts/verify/", form={"code": codes.from_secret("keyholder", secret)},
            headers={"X-CSRFToken": config["csrfToken"]}, max_redirects=0)
        assert refused.status == 403
        assert "signs in with a security key" in refused.text()
        page.goto("/")
        expect(page).to_have_url(re.compile(r"/accounts/verify/"))
        screenshot(page, "11-coordinator-key-only")
        page.get_by_test_id("use-key").click()
        # One key only: sent to add a spare first.
        expect(page).to_have_url(re.compile(r"/accounts/keys/$"))
        cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": first})
        _virtual_key(cdp)
        page.get_by_test_id("add-key").click()
        expect(page.get_by_test_id("key-row")).to_have_count(2)
        expect(page.get_by_test_id("spare-key-warning")).to_have_count(0)
        page.goto("/")
        expect(page.locator(".role[data-role=coordinator]")).to_be_visible()
        screenshot(page, "12-signed-in-with-a-key")

        # And with the spare key, next time.
        page.click("text=Log out")
        _password(page, "keyholder", KEYHOLDER_PASSWORD)
        page.get_by_test_id("use-key").click()
        expect(page).to_have_url(re.compile(r"/$"))
        expect(page.locator(".role[data-role=coordinator]")).to_be_visible()
    finally:
        context.close()
    watch.check()
