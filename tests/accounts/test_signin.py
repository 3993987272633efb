"""Signing in: the failure delay and lock, one answer for every refusal, session keys that change
at every step up, the notice of failed attempts, re-authentication, the password form."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.test import Client
from django.utils import timezone

from haven.accounts import services
from haven.accounts.models import (
    ApiToken,
    KnownDevice,
    SealedTOTPDevice,
    StoredSession,
    User,
    UserSession,
)
from haven.accounts.services._common import session_track, sign_in_refused_message
from haven.accounts.sessions import SessionStore, key_hash
from haven.core.errors import Conflict, Forbidden, ValidationFailed
from tests.accounts.helpers import code_for, events, forget_used_code, session_request, wrong_code
from tests.conftest import log_in
from tests.factories.accounts import PASSWORD
from tests.hashers import CheapArgon2PasswordHasher

WRONG = "wrong password here"


def _wait_out_the_delay(user: User) -> None:
    """Act as if the account's delay had passed (it is seconds to minutes long)."""
    User.objects.filter(pk=user.pk).update(throttled_until=None)
    user.refresh_from_db()


def _fail_password(user: User, times: int) -> None:
    for _ in range(times):
        _wait_out_the_delay(user)
        with pytest.raises(services.LoginFailed):
            services.password_check(username=user.username, password=WRONG)


# --- the delay and the lock ------------------------------------------------------------------------


def test_right_password_returns_the_user_and_counts_no_failure(caseworker: User) -> None:
    assert services.password_check(username="caseworker", password=PASSWORD) == caseworker
    caseworker.refresh_from_db()
    assert caseworker.failed_logins == 0
    assert events("auth.login_failed") == []


def test_wrong_password_is_counted_delayed_and_audited(caseworker: User) -> None:
    with pytest.raises(services.LoginFailed, match="Wrong username or password"):
        services.password_check(username="caseworker", password=WRONG)
    caseworker.refresh_from_db()
    assert caseworker.failed_logins == 1
    assert caseworker.failures_unseen == 1
    assert caseworker.is_throttled()
    assert caseworker.throttled_until is not None
    assert 1 < (caseworker.throttled_until - timezone.now()).total_seconds() <= 2
    [event] = events("auth.login_failed")
    assert event.object_id == str(caseworker.pk)
    assert event.organization_id == str(caseworker.organization_id)
    assert event.data == {"stage": "password", "failures": 1, "delay_seconds": 2,
                          "known_device": False}


def test_the_delay_doubles_with_each_failure_up_to_the_cap(caseworker: User, settings: Any) -> None:
    settings.HAVEN_LOGIN_MAX_DELAY_SECONDS = 100
    _fail_password(caseworker, 8)
    delays = [e.data["delay_seconds"] for e in events("auth.login_failed")]
    assert delays == [2, 4, 8, 16, 32, 64, 100, 100]
    assert not caseworker.is_locked()


def test_attempts_while_waiting_are_not_checked_and_do_not_count(caseworker: User) -> None:
    _fail_password(caseworker, 1)
    caseworker.refresh_from_db()
    assert caseworker.is_throttled()
    for password in (PASSWORD, WRONG):  # even the right one: guessing cannot outrun the delay
        with pytest.raises(services.LoginFailed):
            services.password_check(username="caseworker", password=password)
    caseworker.refresh_from_db()
    assert caseworker.failed_logins == 1
    refused = events("auth.login_refused")
    assert [e.data for e in refused] == [{"stage": "password", "reason": "waiting"}] * 2
    _wait_out_the_delay(caseworker)
    assert services.password_check(username="caseworker", password=PASSWORD) == caseworker


def test_many_failures_in_a_row_lock_until_a_second_coordinator_unlocks(
    caseworker: User, coordinator: User, settings: Any
) -> None:
    settings.HAVEN_LOGIN_LOCK_AFTER = 4
    _fail_password(caseworker, 4)
    caseworker.refresh_from_db()
    assert caseworker.is_locked()
    [locked] = events("auth.locked_out")
    assert locked.object_id == str(caseworker.pk)
    assert locked.data == {"failures": 4}
    _wait_out_the_delay(caseworker)
    later = timezone.now() + timedelta(days=30)  # a lock does not end by itself
    with mock.patch("django.utils.timezone.now", return_value=later), \
            pytest.raises(services.LoginFailed):
        services.password_check(username="caseworker", password=PASSWORD)
    services.user_unlock(actor=coordinator, user_id=caseworker.pk)
    caseworker.refresh_from_db()
    assert not caseworker.is_locked()
    assert caseworker.failed_logins == 0
    [event] = events("user.unlocked")
    assert (event.actor_id, event.object_id) == (str(coordinator.pk), str(caseworker.pk))
    assert services.password_check(username="caseworker", password=PASSWORD) == caseworker


def test_a_locked_coordinator_cannot_unlock_themselves(coordinator: User) -> None:
    User.objects.filter(pk=coordinator.pk).update(locked_at=timezone.now())
    with pytest.raises(Conflict, match="Another coordinator"):
        services.user_unlock(actor=coordinator, user_id=coordinator.pk)
    coordinator.refresh_from_db()
    assert coordinator.is_locked()


def test_an_operator_unlocks_at_the_command_line(coordinator: User) -> None:
    User.objects.filter(pk=coordinator.pk).update(locked_at=timezone.now(), failed_logins=20)
    services.user_unlock(actor=None, user_id=coordinator.pk)
    coordinator.refresh_from_db()
    assert not coordinator.is_locked()
    [event] = events("user.unlocked")
    assert event.actor_id == ""


def test_a_caseworker_cannot_unlock(caseworker: User, other_caseworker: User) -> None:
    User.objects.filter(pk=other_caseworker.pk).update(locked_at=timezone.now())
    with pytest.raises(Forbidden):
        services.user_unlock(actor=caseworker, user_id=other_caseworker.pk)
    other_caseworker.refresh_from_db()
    assert other_caseworker.is_locked()
    assert events("user.unlocked") == []


# --- one answer, the same work (finding 7) --------------------------------------------------------


@pytest.fixture
def hashes() -> Iterator[list[str]]:
    """Every Argon2 computation (hash or check) made while the test runs."""
    seen: list[str] = []
    real_encode = CheapArgon2PasswordHasher.encode
    real_verify = CheapArgon2PasswordHasher.verify

    def encode(self: Any, password: str, salt: str) -> str:
        seen.append("encode")
        return real_encode(self, password, salt)

    def verify(self: Any, password: str, encoded: str) -> bool:
        seen.append("verify")
        return real_verify(self, password, encoded)

    with mock.patch.object(CheapArgon2PasswordHasher, "encode", encode), \
            mock.patch.object(CheapArgon2PasswordHasher, "verify", verify):
        yield seen


@pytest.mark.parametrize("case", ["unknown", "wrong", "disabled", "waiting", "locked"])
def test_every_refusal_gives_the_same_answer_after_one_argon2_hash(
    caseworker: User, hashes: list[str], case: str
) -> None:
    username, password = "caseworker", WRONG
    if case == "unknown":
        username = "nobody-by-this-name"
    elif case == "disabled":
        User.objects.filter(pk=caseworker.pk).update(is_active=False)
        password = PASSWORD
    elif case == "waiting":
        User.objects.filter(pk=caseworker.pk).update(
            throttled_until=timezone.now() + timedelta(minutes=5))
        password = PASSWORD
    elif case == "locked":
        User.objects.filter(pk=caseworker.pk).update(locked_at=timezone.now())
        password = PASSWORD
    with pytest.raises(services.LoginFailed) as caught:
        services.password_check(username=username, password=password)
    assert caught.value.status == 400
    assert caught.value.message == sign_in_refused_message()
    assert len(hashes) == 1, hashes
    failed, refused = events("auth.login_failed"), events("auth.login_refused")
    assert len(failed) + len(refused) == 1  # one audited write in every case


# --- the second factor -------------------------------------------------------------------------


def test_wrong_codes_count_and_the_lock_ends_the_session(caseworker: User, settings: Any) -> None:
    settings.HAVEN_LOGIN_LOCK_AFTER = 3
    device = SealedTOTPDevice.objects.get(user=caseworker)
    request = session_request(caseworker)
    session_track(request, caseworker)
    key = request.session.session_key
    assert key is not None
    for _ in range(2):
        _wait_out_the_delay(caseworker)
        with pytest.raises(services.LoginFailed, match="not valid"):
            services.login_second_factor(request=request, user=caseworker, code=wrong_code(device))
    with pytest.raises(services.Throttled, match="wait"):  # no wait: not even checked
        services.login_second_factor(request=request, user=caseworker, code=code_for(device))
    _wait_out_the_delay(caseworker)
    with pytest.raises(services.AccountLocked):
        services.login_second_factor(request=request, user=caseworker, code=wrong_code(device))
    assert [e.data["stage"] for e in events("auth.login_failed")] == ["second_factor"] * 3
    assert not StoredSession.objects.filter(key_hash=key_hash(key)).exists()
    assert not UserSession.objects.filter(key_hash=key_hash(key)).exists()
    caseworker.refresh_from_db()
    with pytest.raises(services.AccountLocked):  # even the right code now
        services.login_second_factor(request=session_request(caseworker), user=caseworker,
                                     code=code_for(device))


def test_signing_in_tells_of_failed_attempts_since_last_time(caseworker: User) -> None:
    _fail_password(caseworker, 3)
    _wait_out_the_delay(caseworker)
    device = SealedTOTPDevice.objects.get(user=caseworker)
    notice = services.login_second_factor(request=session_request(caseworker), user=caseworker,
                                          code=code_for(device))
    assert notice is not None
    assert notice.count == 3
    assert "3 failed attempts" in notice.message()
    caseworker.refresh_from_db()
    assert (caseworker.failed_logins, caseworker.failures_unseen) == (0, 0)
    [event] = events("auth.logged_in")
    assert event.data == {"kind": "totp", "failures_since_last": 3}
    forget_used_code(caseworker)
    assert services.login_second_factor(request=session_request(caseworker), user=caseworker,
                                        code=code_for(device)) is None


def test_a_totp_code_is_accepted_only_once(caseworker: User) -> None:
    device = SealedTOTPDevice.objects.get(user=caseworker)
    code = code_for(device)
    services.login_second_factor(request=session_request(caseworker), user=caseworker, code=code)
    with pytest.raises(services.LoginFailed):
        services.login_second_factor(request=session_request(caseworker), user=caseworker,
                                     code=code)


# --- session keys change at every step up (finding 4) ----------------------------------------------


def test_the_session_key_changes_when_the_code_is_entered(client: Client, caseworker: User) -> None:
    """Session fixation: a key known before the second factor must be dead after it."""
    client.post("/accounts/login/", {"username": "caseworker", "password": PASSWORD})
    before = client.cookies["haven_session"].value
    tracked = UserSession.objects.get(user=caseworker)
    assert tracked.key_hash == key_hash(before)
    device = SealedTOTPDevice.objects.get(user=caseworker)
    response = client.post("/accounts/verify/", {"code": code_for(device)})
    assert response.status_code == 302
    after = client.cookies["haven_session"].value
    assert after != before
    assert not SessionStore(before).exists(before)
    assert SessionStore(before).load() == {}
    # whoever planted or saw the old key holds nothing
    planted = Client()
    planted.cookies["haven_session"] = before
    assert planted.get("/")["Location"].startswith("/accounts/login/")
    assert client.get("/").status_code == 200
    tracked = UserSession.objects.get(user=caseworker)  # the same row, following the key
    assert tracked.key_hash == key_hash(after)


def test_the_session_key_changes_at_the_password_and_at_reauthentication(
    client: Client, caseworker: User
) -> None:
    client.get("/accounts/login/")
    client.cookies["haven_session"] = "plantedbyanattacker1234567890ab"
    client.post("/accounts/login/", {"username": "caseworker", "password": PASSWORD})
    after_password = client.cookies["haven_session"].value
    assert after_password != "plantedbyanattacker1234567890ab"
    device = SealedTOTPDevice.objects.get(user=caseworker)
    client.post("/accounts/verify/", {"code": code_for(device)})
    signed_in = client.cookies["haven_session"].value
    forget_used_code(caseworker)
    response = client.post("/accounts/reauth/", {"password": PASSWORD, "code": code_for(device),
                                                 "next": "/accounts/"})
    assert response.status_code == 302
    reauthenticated = client.cookies["haven_session"].value
    assert len({after_password, signed_in, reauthenticated}) == 3
    assert list(UserSession.objects.filter(user=caseworker).values_list("key_hash", flat=True)) \
        == [key_hash(reauthenticated)]
    assert client.get("/accounts/").status_code == 200


# --- re-authentication -------------------------------------------------------------------------


def test_reauthentication_accepts_password_and_fresh_code(caseworker: User) -> None:
    device = SealedTOTPDevice.objects.get(user=caseworker)
    request = session_request(caseworker)
    request.session[services.SESSION_REAUTH_AT] = 0
    assert not services.recent_auth_ok(request)
    key = request.session.session_key
    services.reauthenticate(request=request, user=caseworker, password=PASSWORD,
                            code=code_for(device))
    assert services.recent_auth_ok(request)
    assert request.session.session_key != key
    [event] = events("auth.reauthenticated")
    assert event.data == {"kind": "code"}


@pytest.mark.parametrize("what", ["password", "code"])
def test_reauthentication_refuses_and_counts_a_wrong_password_or_code(
    caseworker: User, what: str
) -> None:
    device = SealedTOTPDevice.objects.get(user=caseworker)
    request = session_request(caseworker)
    password = WRONG if what == "password" else PASSWORD
    code = wrong_code(device) if what == "code" else code_for(device)
    with pytest.raises(services.LoginFailed, match="Wrong password or code"):
        services.reauthenticate(request=request, user=caseworker, password=password, code=code)
    assert not services.recent_auth_ok(request)
    caseworker.refresh_from_db()
    assert caseworker.failed_logins == 1
    [event] = events("auth.login_failed")
    assert event.data["stage"] == "reauth"


def test_failed_reauthentications_lock_and_end_the_session(caseworker: User, settings: Any) -> None:
    settings.HAVEN_LOGIN_LOCK_AFTER = 3
    request = session_request(caseworker)
    session_track(request, caseworker)
    key = request.session.session_key
    assert key is not None
    for _ in range(2):
        _wait_out_the_delay(caseworker)
        with pytest.raises(services.LoginFailed):
            services.reauthenticate(request=request, user=caseworker, password=WRONG,
                                    code="000000")
    _wait_out_the_delay(caseworker)
    with pytest.raises(services.AccountLocked):
        services.reauthenticate(request=request, user=caseworker, password=WRONG, code="000000")
    assert not StoredSession.objects.filter(key_hash=key_hash(key)).exists()
    assert len(events("auth.locked_out")) == 1


# --- the password form (finding 7) ---------------------------------------------------------------


def test_a_wrong_current_password_counts_toward_the_lock_and_is_audited(
    caseworker: User, settings: Any
) -> None:
    settings.HAVEN_LOGIN_LOCK_AFTER = 3
    request = session_request(caseworker)
    session_track(request, caseworker)
    for _ in range(2):
        _wait_out_the_delay(caseworker)
        with pytest.raises(ValidationFailed) as caught:
            services.password_change(request=request, actor=caseworker, old=WRONG,
                                     new="a brand new passphrase")
        assert "old_password" in caught.value.fields
    with pytest.raises(services.Throttled):  # guessing is slowed down like any other
        services.password_change(request=request, actor=caseworker, old=PASSWORD,
                                 new="a brand new passphrase")
    _wait_out_the_delay(caseworker)
    with pytest.raises(ValidationFailed):
        services.password_change(request=request, actor=caseworker, old=WRONG,
                                 new="a brand new passphrase")
    caseworker.refresh_from_db()
    assert caseworker.is_locked()
    assert [e.data["stage"] for e in events("auth.login_failed")] == ["password_change"] * 3
    assert "_auth_user_id" not in request.session  # the lock ended the session
    assert caseworker.check_password(PASSWORD)
    assert events("user.password_changed") == []


@pytest.mark.parametrize("new", ["short", "password1234", "x" * 513, "caseworker123"])
def test_password_change_refuses_weak_passwords(caseworker: User, new: str) -> None:
    request = session_request(caseworker)
    with pytest.raises(ValidationFailed) as caught:
        services.password_change(request=request, actor=caseworker, old=PASSWORD, new=new)
    assert caught.value.fields["new_password"]
    caseworker.refresh_from_db()
    assert caseworker.check_password(PASSWORD)
    assert events("user.password_changed") == []


def test_password_change_keeps_this_session_and_ends_the_rest(caseworker: User) -> None:
    raw, token = services.token_create(actor=None, user=caseworker, name="script")
    mine, other = session_request(caseworker), session_request(caseworker)
    session_track(mine, caseworker)
    session_track(other, caseworker)
    services.password_change(request=mine, actor=caseworker, old=PASSWORD,
                             new="another long passphrase")
    caseworker.refresh_from_db()
    assert caseworker.check_password("another long passphrase")
    assert caseworker.password.startswith("argon2$argon2id$")
    assert list(UserSession.objects.values_list("key_hash", flat=True)) == [
        key_hash(mine.session.session_key or "")]
    assert not StoredSession.objects.filter(
        key_hash=key_hash(other.session.session_key or "")).exists()
    [event] = events("user.password_changed", object_id=str(caseworker.pk))
    assert event.data == {"sessions_ended": 1, "tokens_revoked": 1}
    token.refresh_from_db()
    assert token.revoked_reason == "password_changed"
    with pytest.raises(services.TokenRejected):
        services.token_authenticate(raw)
    assert ApiToken.objects.count() == 1


# --- known browsers --------------------------------------------------------------------------------


def test_guessing_from_elsewhere_cannot_keep_the_owner_out_of_their_browser(
    caseworker: User, settings: Any
) -> None:
    settings.HAVEN_LOGIN_LOCK_AFTER = 3
    own = log_in(Client(), caseworker)  # a full sign-in makes this browser known
    cookie = own.cookies["haven_device"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/accounts/"
    own.post("/accounts/logout/")
    _fail_password(caseworker, 3)  # someone else, elsewhere, until the account locks
    caseworker.refresh_from_db()
    assert caseworker.is_locked()
    stranger = Client().post("/accounts/login/", {"username": "caseworker", "password": PASSWORD})
    assert stranger.status_code == 400  # locked for everyone else, even with the password
    forget_used_code(caseworker)
    back = log_in(own, caseworker)  # the owner's browser still gets in
    assert back.get("/accounts/").status_code == 200
    caseworker.refresh_from_db()
    assert caseworker.is_locked()  # success there does not undo what the guessing ran up
    [password_ok] = events("auth.password_ok")[-1:]
    assert password_ok.data == {"known_device": True}


def test_a_known_browser_has_its_own_delay_and_is_forgotten_at_the_limit(
    caseworker: User, settings: Any
) -> None:
    settings.HAVEN_LOGIN_LOCK_AFTER = 3
    own = log_in(Client(), caseworker)
    own.post("/accounts/logout/")
    [device] = KnownDevice.objects.filter(user=caseworker)
    for _ in range(3):
        KnownDevice.objects.filter(pk=device.pk).update(throttled_until=None)
        response = own.post("/accounts/login/", {"username": "caseworker", "password": WRONG})
        assert response.status_code == 400
    caseworker.refresh_from_db()
    assert caseworker.failed_logins == 0  # the account's own count is untouched
    assert not caseworker.is_locked()
    assert caseworker.failures_unseen == 3  # but the owner will be told
    assert not KnownDevice.objects.filter(pk=device.pk).exists()
    assert len(events("auth.device_forgotten")) == 1
