"""Account pages, driven as a browser would: forms posted, redirects followed."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_otp.oath import totp

from haven.access.roles import Role
from haven.accounts import services
from haven.accounts.models import ApiToken, Organization, SealedTOTPDevice, User
from tests.accounts.helpers import counts, events, forget_used_code, make_user, wrong_code
from tests.conftest import current_code
from tests.factories.accounts import PASSWORD


def _text(response: object) -> str:
    return str(response.content.decode())  # type: ignore[attr-defined]


def _stale_reauth(client: Client) -> None:
    session = client.session
    session[services.SESSION_REAUTH_AT] = timezone.now().timestamp() - 6 * 60
    session.save()


# --- login -------------------------------------------------------------------------------------


def test_login_page_renders(client: Client, db: None) -> None:
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert 'name="username"' in _text(response)
    assert 'name="password"' in _text(response)


@pytest.mark.parametrize(
    "data",
    [{}, {"username": "", "password": ""}, {"username": "x" * 65, "password": PASSWORD},
     {"username": "caseworker"}, {"password": PASSWORD}, {"username": "caseworker", "password": "p" * 513}],
)
def test_login_refuses_incomplete_or_oversized_input(
    client: Client, caseworker: User, data: dict[str, str]
) -> None:
    before = counts()
    response = client.post("/accounts/login/", data)
    assert response.status_code == 400
    assert 'class="error-text"' in _text(response)
    assert "_auth_user_id" not in client.session
    assert counts() == before  # nothing was even attempted


def test_wrong_password_shows_a_clear_error(client: Client, caseworker: User) -> None:
    response = client.post("/accounts/login/", {"username": "caseworker", "password": "nope nope nope"})
    assert response.status_code == 400
    assert "Wrong username or password." in _text(response)
    assert "_auth_user_id" not in client.session


def test_unknown_username_looks_like_a_wrong_password(client: Client, db: None) -> None:
    response = client.post("/accounts/login/", {"username": "ghost", "password": PASSWORD})
    assert response.status_code == 400
    assert "Wrong username or password." in _text(response)


def test_login_then_code_reaches_the_dashboard(client: Client, caseworker: User) -> None:
    response = client.post("/accounts/login/", {"username": "caseworker", "password": PASSWORD})
    assert response["Location"] == "/accounts/verify/"
    response = client.post("/accounts/verify/", {"code": current_code(caseworker)})
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200
    assert len(events("auth.password_ok")) == 1
    assert len(events("auth.logged_in")) == 1


def test_login_keeps_a_local_next_but_not_another_host(client: Client, caseworker: User) -> None:
    response = client.post("/accounts/login/", {"username": "caseworker", "password": PASSWORD,
                                                "next": "/accounts/"})
    assert response["Location"] == "/accounts/verify/?next=/accounts/"
    response = client.post("/accounts/verify/?next=//evil.example/", {"code": current_code(caseworker)})
    assert response["Location"] == "/"


def test_wrong_code_shows_an_error_and_counts(client: Client, caseworker: User) -> None:
    client.post("/accounts/login/", {"username": "caseworker", "password": PASSWORD})
    device = SealedTOTPDevice.objects.get(user=caseworker)
    response = client.post("/accounts/verify/", {"code": wrong_code(device)})
    assert response.status_code == 400
    assert "not valid" in _text(response)
    caseworker.refresh_from_db()
    assert caseworker.failed_logins == 1
    empty = client.post("/accounts/verify/", {"code": ""})
    assert empty.status_code == 400
    caseworker.refresh_from_db()
    assert caseworker.failed_logins == 1  # an empty form is not a guess


# --- enrolment --------------------------------------------------------------------------------


def test_first_login_enrols_totp_and_hands_out_recovery_codes(client: Client, org: Organization) -> None:
    user = make_user(username="newcomer", organization=org, role=Role.CASEWORKER)
    response = client.post("/accounts/login/", {"username": "newcomer", "password": PASSWORD})
    assert response["Location"] == "/accounts/enrol/"
    page = client.get("/accounts/enrol/")
    assert page.status_code == 200
    device = SealedTOTPDevice.objects.get(user=user, confirmed=False)
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    assert secret in _text(page)
    assert "otpauth://totp/" in _text(page)
    code = str(totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)).zfill(6)
    done = client.post("/accounts/enrol/", {"code": code})
    assert done.status_code == 200
    codes = re.findall(r"<code>([0-9a-f]{8}-[0-9a-f]{6})</code>", _text(done))
    assert len(codes) == services.RECOVERY_CODE_COUNT
    assert client.get("/").status_code == 200  # enrolling passed the second factor too
    assert len(events("auth.second_factor_enrolled", object_id=str(user.pk))) == 1

    # A recovery code logs in once, and only once.
    client.post("/accounts/logout/")
    client.post("/accounts/login/", {"username": "newcomer", "password": PASSWORD})
    assert client.post("/accounts/verify/", {"code": codes[0]})["Location"] == "/"
    client.post("/accounts/logout/")
    client.post("/accounts/login/", {"username": "newcomer", "password": PASSWORD})
    reused = client.post("/accounts/verify/", {"code": codes[0]})
    assert reused.status_code == 400
    assert client.get("/")["Location"] == "/accounts/verify/"


def test_enrolment_with_a_wrong_code_shows_an_error(client: Client, org: Organization) -> None:
    make_user(username="newcomer", organization=org)
    client.post("/accounts/login/", {"username": "newcomer", "password": PASSWORD})
    client.get("/accounts/enrol/")
    device = SealedTOTPDevice.objects.get(user__username="newcomer")
    response = client.post("/accounts/enrol/", {"code": wrong_code(device)})
    assert response.status_code == 400
    assert "does not match" in _text(response) or "Wrong code" in _text(response)
    device.refresh_from_db()
    assert not device.confirmed
    assert client.get("/")["Location"] == "/accounts/enrol/"


def test_qr_code_is_served_by_haven_itself(client: Client, org: Organization) -> None:
    make_user(username="newcomer", organization=org)
    client.post("/accounts/login/", {"username": "newcomer", "password": PASSWORD})
    response = client.get("/accounts/enrol/qr.svg")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content.lstrip().startswith(b"<svg")
    assert b"http" not in response.content.replace(b"http://www.w3.org", b"")


def test_enrolled_user_must_reauthenticate_to_replace_the_second_factor(
    login: Callable[[User], Client], caseworker: User
) -> None:
    client = login(caseworker)
    _stale_reauth(client)
    for url in ("/accounts/enrol/", "/accounts/enrol/qr.svg"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/reauth/")
    assert not SealedTOTPDevice.objects.filter(user=caseworker, confirmed=False).exists()


# --- the delay and the lock ---------------------------------------------------------------------


def _login_answer(username: str, password: str) -> tuple[int, str]:
    response = Client().post("/accounts/login/", {"username": username, "password": password})
    return response.status_code, _text(response)


def test_unknown_wrong_disabled_waiting_and_locked_get_one_identical_answer(
    caseworker: User, other_caseworker: User, operator: User, verifier: User
) -> None:
    """Finding 7: a locked account answered 423 at once, an unknown name 400 after a hash."""
    User.objects.filter(pk=other_caseworker.pk).update(locked_at=timezone.now())
    User.objects.filter(pk=operator.pk).update(is_active=False)
    User.objects.filter(pk=verifier.pk).update(throttled_until=timezone.now() + timedelta(minutes=3))
    answers = {
        "unknown": _login_answer("caseworker-who-never-was", PASSWORD),
        "wrong": _login_answer("caseworker", "wrong wrong wrong"),
        "locked": _login_answer("other_caseworker", PASSWORD),
        "disabled": _login_answer("operator", PASSWORD),
        "waiting": _login_answer("verifier", PASSWORD),
    }
    statuses = {status for status, _ in answers.values()}
    assert statuses == {400}
    errors = {re.sub(r'value="[^"]*"', "", page).split("<main", 1)[1] for _, page in answers.values()}
    assert len(errors) == 1, "the pages differ beyond the typed username"
    assert "Wrong username or password." in next(iter(errors))


def test_failed_logins_slow_the_account_down_and_a_long_run_locks_it(
    client: Client, caseworker: User, settings: object
) -> None:
    settings.HAVEN_LOGIN_LOCK_AFTER = 3  # type: ignore[attr-defined]
    for _ in range(3):
        User.objects.filter(pk=caseworker.pk).update(throttled_until=None)
        response = client.post("/accounts/login/", {"username": "caseworker",
                                                     "password": "wrong wrong wrong"})
        assert response.status_code == 400
    User.objects.filter(pk=caseworker.pk).update(throttled_until=None)
    right = client.post("/accounts/login/", {"username": "caseworker", "password": PASSWORD})
    assert right.status_code == 400
    assert "_auth_user_id" not in client.session
    assert len(events("auth.login_failed", object_id=str(caseworker.pk))) == 3
    assert len(events("auth.locked_out", object_id=str(caseworker.pk))) == 1


def test_wrong_codes_lock_the_account_and_end_the_session(
    client: Client, caseworker: User, settings: object
) -> None:
    settings.HAVEN_LOGIN_LOCK_AFTER = 3  # type: ignore[attr-defined]
    client.post("/accounts/login/", {"username": "caseworker", "password": PASSWORD})
    device = SealedTOTPDevice.objects.get(user=caseworker)
    for _ in range(2):
        User.objects.filter(pk=caseworker.pk).update(throttled_until=None)
        assert client.post("/accounts/verify/", {"code": wrong_code(device)}).status_code == 400
    waiting = client.post("/accounts/verify/", {"code": wrong_code(device)})
    assert waiting.status_code == 429
    assert "wait" in _text(waiting)
    User.objects.filter(pk=caseworker.pk).update(throttled_until=None)
    last = client.post("/accounts/verify/", {"code": wrong_code(device)})
    assert last["Location"] == "/accounts/login/"
    assert "_auth_user_id" not in client.session
    page = client.get("/accounts/login/")
    assert "locked" in _text(page)


def test_the_next_sign_in_tells_of_the_failed_attempts(client: Client, caseworker: User) -> None:
    User.objects.filter(pk=caseworker.pk).update(failures_unseen=4,
                                                 last_failed_at=timezone.now())
    client.post("/accounts/login/", {"username": "caseworker", "password": PASSWORD})
    response = client.post("/accounts/verify/", {"code": current_code(caseworker)}, follow=True)
    assert "4 failed attempts to sign in to your account" in _text(response)
    assert "tell a coordinator" in _text(response)


def test_another_coordinator_unlocks_an_account_from_the_users_page(
    login: Callable[[User], Client], coordinator: User, caseworker: User
) -> None:
    User.objects.filter(pk=caseworker.pk).update(locked_at=timezone.now(), failed_logins=20)
    admin = login(coordinator)
    listing = admin.get("/accounts/users/")
    assert listing.status_code == 200
    assert "locked" in _text(listing)
    response = admin.post(f"/accounts/users/{caseworker.pk}/unlock/")
    assert response["Location"] == "/accounts/users/"
    caseworker.refresh_from_db()
    assert not caseworker.is_locked()
    forget_used_code(caseworker)
    assert Client().post("/accounts/login/", {"username": "caseworker", "password": PASSWORD}).status_code == 302


def test_a_delay_ends_on_its_own(client: Client, caseworker: User) -> None:
    User.objects.filter(pk=caseworker.pk).update(throttled_until=timezone.now() - timedelta(seconds=1))
    response = client.post("/accounts/login/", {"username": "caseworker", "password": PASSWORD})
    assert response.status_code == 302


def test_the_password_form_counts_a_wrong_current_password(
    login: Callable[[User], Client], caseworker: User
) -> None:
    client = login(caseworker)
    response = client.post("/accounts/password/", {"old_password": "guess guess guess",
                                                   "new_password": "a brand new passphrase",
                                                   "new_password_again": "a brand new passphrase"})
    assert response.status_code == 400
    assert "Wrong password." in _text(response)
    caseworker.refresh_from_db()
    assert caseworker.failed_logins == 1
    [event] = events("auth.login_failed")
    assert event.data["stage"] == "password_change"
    again = client.post("/accounts/password/", {"old_password": PASSWORD,
                                                "new_password": "a brand new passphrase",
                                                "new_password_again": "a brand new passphrase"})
    assert again.status_code == 429  # the account waits out its delay here too


# --- re-authentication ---------------------------------------------------------------------------


def test_token_creation_asks_for_reauthentication_when_stale(
    login: Callable[[User], Client], caseworker: User
) -> None:
    client = login(caseworker)
    _stale_reauth(client)
    response = client.post("/accounts/tokens/", {"name": "script", "next": "/accounts/"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/reauth/?next=%2Faccounts%2F"
    assert not ApiToken.objects.exists()

    page = client.get(response["Location"])
    assert page.status_code == 200
    wrong = client.post(response["Location"], {"password": "not it at all", "code": current_code(caseworker)})
    assert wrong.status_code == 400
    assert "Wrong password or code." in _text(wrong)
    caseworker.refresh_from_db()
    assert caseworker.failed_logins == 1
    forget_used_code(caseworker)
    User.objects.filter(pk=caseworker.pk).update(throttled_until=None)  # the 2-second wait
    ok = client.post(response["Location"], {"password": PASSWORD, "code": current_code(caseworker)})
    assert ok["Location"] == "/accounts/"
    created = client.post("/accounts/tokens/", {"name": "script", "next": "/accounts/"})
    assert created.status_code == 200
    token = ApiToken.objects.get()
    assert token.prefix in _text(created)
    assert len(events("auth.reauthenticated")) == 1


def test_reauth_never_returns_to_a_post_only_url_or_another_host(
    login: Callable[[User], Client], caseworker: User
) -> None:
    client = login(caseworker)
    _stale_reauth(client)
    for next_value in ("", "https://evil.example/", "//evil.example/"):
        response = client.post("/accounts/recovery-codes/", {"next": next_value})
        assert response["Location"] == "/accounts/reauth/?next=%2F"


def test_recovery_codes_need_recent_authentication(
    login: Callable[[User], Client], caseworker: User
) -> None:
    client = login(caseworker)
    fresh = client.post("/accounts/recovery-codes/")
    assert fresh.status_code == 200
    assert len(re.findall(r"<code>[0-9a-f]{8}-[0-9a-f]{6}</code>", _text(fresh))) == 10
    _stale_reauth(client)
    stale = client.post("/accounts/recovery-codes/")
    assert stale["Location"].startswith("/accounts/reauth/")
    assert len(events("auth.recovery_codes_replaced")) == 1


def test_reauth_form_refuses_empty_input(login: Callable[[User], Client], caseworker: User) -> None:
    client = login(caseworker)
    response = client.post("/accounts/reauth/", {})
    assert response.status_code == 400
    caseworker.refresh_from_db()
    assert caseworker.failed_logins == 0


# --- account page, tokens, password ---------------------------------------------------------------


def test_account_page_lists_sessions_and_tokens(login: Callable[[User], Client], caseworker: User) -> None:
    client = login(caseworker)
    _, token = services.token_create(actor=None, user=caseworker, name="nightly report")
    page = client.get("/accounts/")
    assert page.status_code == 200
    assert "nightly report" in _text(page)
    assert token.prefix in _text(page)
    assert token.key_hash not in _text(page)


def test_token_form_takes_an_expiry_and_a_read_only_scope(
    login: Callable[[User], Client], caseworker: User
) -> None:
    client = login(caseworker)
    response = client.post("/accounts/tokens/", {"name": "report", "expires_days": "7",
                                                 "read_only": "on"})
    assert response.status_code == 200
    token = ApiToken.objects.get(user=caseworker)
    assert token.read_only
    assert 6 <= (token.expires_at - timezone.now()).days <= 7
    assert "It is read-only." in _text(response)
    page = _text(client.get("/accounts/"))
    assert "read-only" in page
    assert f"{token.expires_at:%Y-%m-%d}" in page


@pytest.mark.parametrize("days", ["0", "91", "soon"])
def test_token_form_refuses_a_bad_expiry(
    login: Callable[[User], Client], caseworker: User, days: str
) -> None:
    client = login(caseworker)
    response = client.post("/accounts/tokens/", {"name": "report", "expires_days": days})
    assert response.status_code == 400
    assert 'class="error-text"' in _text(response)
    assert not ApiToken.objects.exists()


def test_approving_a_token_asks_for_reauthentication_then_opens_its_window(
    login: Callable[[User], Client], caseworker: User
) -> None:
    client = login(caseworker)
    _, token = services.token_create(actor=None, user=caseworker, name="script")
    _stale_reauth(client)
    asked = client.post(f"/accounts/tokens/{token.pk}/approve/", {"next": "/accounts/"})
    assert asked["Location"].startswith("/accounts/reauth/")
    token.refresh_from_db()
    assert token.reauth_at is None
    forget_used_code(caseworker)
    client.post("/accounts/reauth/", {"password": PASSWORD, "code": current_code(caseworker)})
    done = client.post(f"/accounts/tokens/{token.pk}/approve/", {"next": "/accounts/"})
    assert done["Location"] == "/accounts/"
    token.refresh_from_db()
    assert services.token_reauth_ok(token)


@pytest.mark.parametrize("name", ["", "n" * 101])
def test_token_form_refuses_bad_names(login: Callable[[User], Client], caseworker: User, name: str) -> None:
    client = login(caseworker)
    before = counts()
    response = client.post("/accounts/tokens/", {"name": name})
    assert response.status_code == 400
    assert 'class="error-text"' in _text(response)
    assert counts() == before


def test_token_revoke_from_the_account_page(login: Callable[[User], Client], caseworker: User,
                                            other_caseworker: User) -> None:
    client = login(caseworker)
    raw, token = services.token_create(actor=None, user=caseworker, name="mine")
    _, theirs = services.token_create(actor=None, user=other_caseworker, name="theirs")
    assert client.post(f"/accounts/tokens/{token.pk}/revoke/")["Location"] == "/accounts/"
    with pytest.raises(services.TokenRejected):
        services.token_authenticate(raw)
    client.post(f"/accounts/tokens/{theirs.pk}/revoke/")
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, "This field is required."),
        ({"old_password": "wrong one entirely", "new_password": "a fine new passphrase",
          "new_password_again": "a fine new passphrase"}, "Wrong password."),
        ({"old_password": PASSWORD, "new_password": "a fine new passphrase",
          "new_password_again": "a different passphrase"}, "The two new passwords differ."),
        ({"old_password": PASSWORD, "new_password": "short", "new_password_again": "short"},
         "too short"),
        ({"old_password": PASSWORD, "new_password": "password1234",
          "new_password_again": "password1234"}, "too common"),
    ],
)
def test_password_change_form_shows_errors_and_changes_nothing(
    login: Callable[[User], Client], caseworker: User, data: dict[str, str], error: str
) -> None:
    client = login(caseworker)
    response = client.post("/accounts/password/", data)
    assert response.status_code == 400
    assert error in _text(response)
    caseworker.refresh_from_db()
    assert caseworker.check_password(PASSWORD)
    assert events("user.password_changed") == []


def test_password_change_succeeds(login: Callable[[User], Client], caseworker: User) -> None:
    client = login(caseworker)
    response = client.post("/accounts/password/", {
        "old_password": PASSWORD, "new_password": "a fine new passphrase",
        "new_password_again": "a fine new passphrase"})
    assert response["Location"] == "/accounts/"
    caseworker.refresh_from_db()
    assert caseworker.check_password("a fine new passphrase")


# --- managing accounts -------------------------------------------------------------------------

GOOD = {"username": "new.worker", "role": "caseworker", "language": "en",
        "password": "a sturdy long passphrase"}


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"username": ""}, "This field is required."),
        ({"username": "x" * 65}, "at most 64 characters"),
        ({"username": "two words"}, "letters, digits"),
        ({"username": "coordinator"}, "That username is taken."),
        ({"role": "superuser"}, "Select a valid choice."),
        ({"language": "fr"}, "Select a valid choice."),
        ({"password": "short"}, "too short"),
        ({"password": "password1234"}, "too common"),
        ({"password": ""}, "This field is required."),
    ],
)
def test_user_create_form_shows_errors_and_writes_nothing(
    login: Callable[[User], Client], coordinator: User, change: dict[str, str], error: str
) -> None:
    client = login(coordinator)
    before = counts()
    response = client.post("/accounts/users/new/", {**GOOD, **change})
    assert response.status_code == 400
    assert error in _text(response)
    assert counts() == before


def test_user_create_form_creates_the_account(login: Callable[[User], Client], coordinator: User) -> None:
    client = login(coordinator)
    assert client.get("/accounts/users/new/").status_code == 200
    response = client.post("/accounts/users/new/", GOOD)
    assert response["Location"] == "/accounts/users/"
    user = User.objects.get(username="new.worker")
    assert user.organization_id == coordinator.organization_id
    assert len(events("user.created", object_id=str(user.pk))) == 1


def test_caseworker_cannot_create_accounts_or_act_on_them(
    login: Callable[[User], Client], caseworker: User, other_caseworker: User
) -> None:
    client = login(caseworker)
    before = counts()
    assert client.post("/accounts/users/new/", GOOD).status_code == 403
    assert client.post(f"/accounts/users/{other_caseworker.pk}/disable/").status_code == 403
    other_caseworker.refresh_from_db()
    assert other_caseworker.is_active
    assert counts() == before


def test_resetting_a_second_factor_asks_for_reauthentication(
    login: Callable[[User], Client], coordinator: User, caseworker: User
) -> None:
    client = login(coordinator)
    _stale_reauth(client)
    asked = client.post(f"/accounts/users/{caseworker.pk}/reset-second-factor/",
                        {"next": "/accounts/users/"})
    assert asked["Location"] == "/accounts/reauth/?next=%2Faccounts%2Fusers%2F"
    assert SealedTOTPDevice.objects.filter(user=caseworker).exists()
    forget_used_code(coordinator)
    client.post("/accounts/reauth/", {"password": PASSWORD, "code": current_code(coordinator)})
    done = client.post(f"/accounts/users/{caseworker.pk}/reset-second-factor/")
    assert done["Location"] == "/accounts/users/"
    assert not SealedTOTPDevice.objects.filter(user=caseworker).exists()
    [event] = events("user.second_factor_reset")
    assert event.actor_id == str(coordinator.pk)


def test_unknown_user_action_changes_nothing(
    login: Callable[[User], Client], coordinator: User, caseworker: User
) -> None:
    client = login(coordinator)
    before = counts()
    response = client.post(f"/accounts/users/{caseworker.pk}/promote/")
    assert response["Location"] == "/accounts/users/"
    assert "Unknown action." in _text(client.get("/accounts/users/"))
    assert counts()["events"] == before["events"]


def test_user_list_search(login: Callable[[User], Client], coordinator: User, auditor: User,
                          outsider: User) -> None:
    client = login(coordinator)
    page = _text(client.get("/accounts/users/?q=audit"))
    assert "auditor" in page
    everyone = _text(client.get("/accounts/users/"))
    assert "outsider" not in everyone
