"""Issue 13's account findings (4, 6, 7), reproduced through the pages and the API only.

They use nothing but URLs, the shared fixtures and services every version of Haven has, so the
same file shows each finding on the code before the fix (where these tests fail) and its fix.
(Finding 8, a copy of the database, is tests/accounts/test_database_copy.py.)
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.test import Client
from django.utils import timezone

from haven.accounts import services
from haven.accounts.models import User
from haven.audit.models import AuditEvent
from tests.accounts.helpers import forget_used_code
from tests.conftest import current_code, log_in
from tests.factories.accounts import PASSWORD


@pytest.fixture
def clock() -> Iterator[list[Any]]:
    """A clock that tests move forward (an hour at a time), for every ``timezone.now``."""
    at = [timezone.now()]
    with mock.patch("django.utils.timezone.now", side_effect=lambda: at[0]):
        yield at


# --- finding 4: session fixation past the second factor --------------------------------------------


def test_finding_4_a_key_planted_before_the_code_is_dead_after_it(caseworker: User) -> None:
    victim = Client()
    victim.post("/accounts/login/", {"username": "caseworker", "password": PASSWORD})
    planted = victim.cookies["haven_session"].value  # what a fixer planted or saw
    assert victim.post("/accounts/verify/", {"code": current_code(caseworker)}).status_code == 302
    assert victim.get("/accounts/").status_code == 200
    fixer = Client()
    fixer.cookies["haven_session"] = planted
    response = fixer.get("/accounts/")
    assert response.status_code == 302, "the key from before the code is fully signed in"
    assert response["Location"].startswith("/accounts/login/")


# --- finding 6: tokens ---------------------------------------------------------------------------


def _me(raw: str) -> Any:
    return Client().get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"})


def test_finding_6_tokens_expire_within_ninety_days(caseworker: User, clock: list[Any]) -> None:
    raw, _ = services.token_create(actor=None, user=caseworker, name="script")
    assert _me(raw).status_code == 200
    clock[0] += timedelta(days=91)
    response = _me(raw)
    assert response.status_code == 401, "a token still works after 91 days"
    assert "expired" in response.json()["detail"]


def test_finding_6_a_password_change_kills_tokens(
    login: Any, caseworker: User
) -> None:
    raw, _ = services.token_create(actor=None, user=caseworker, name="script")
    client = login(caseworker)
    response = client.post("/accounts/password/", {
        "old_password": PASSWORD, "new_password": "a brand new passphrase",
        "new_password_again": "a brand new passphrase"})
    assert response.status_code == 302
    assert _me(raw).status_code == 401, "the token survived the password change"


def test_finding_6_re_enabling_an_account_does_not_revive_its_tokens(
    coordinator: User, caseworker: User
) -> None:
    raw, _ = services.token_create(actor=None, user=caseworker, name="script")
    admin_raw, _admin_token = services.token_create(actor=None, user=coordinator, name="admin")
    headers = {"Authorization": f"Bearer {admin_raw}"}
    for active in (False, True):
        response = Client().post(f"/api/v1/users/{caseworker.pk}/active",
                                 data=json.dumps({"active": active}),
                                 content_type="application/json", headers=headers)
        assert response.status_code == 200
    assert _me(raw).status_code == 401, "the token came back to life with the account"


def test_finding_6_a_token_must_re_authenticate_before_a_reveal(
    client: Client, coordinator: User
) -> None:
    raw, _ = services.token_create(actor=None, user=coordinator, name="script")
    # The shelter address is the simplest reveal to set up: any id, the answer is judged first
    # on the token's re-authentication, then on the shelter.
    response = client.post("/api/v1/shelters/00000000-0000-4000-8000-00000000abcd/address",
                           headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 403, "a token reaches a reveal without re-authenticating"
    assert "reauth" in response.json()["detail"].lower()


# --- finding 7: the password form, and enumerable or lockable accounts ------------------------------


def test_finding_7_the_password_form_counts_and_audits_wrong_current_passwords(
    login: Any, caseworker: User
) -> None:
    client = login(caseworker)
    before = AuditEvent.objects.filter(object_id=str(caseworker.pk)).count()
    response = client.post("/accounts/password/", {
        "old_password": "a guess at the password", "new_password": "a brand new passphrase",
        "new_password_again": "a brand new passphrase"})
    assert response.status_code == 400
    caseworker.refresh_from_db()
    assert caseworker.failed_logins == 1, "a wrong current password did not count"
    assert AuditEvent.objects.filter(object_id=str(caseworker.pk)).count() > before


def _answer(username: str, password: str) -> tuple[int, str]:
    response = Client().post("/accounts/login/", {"username": username, "password": password})
    main = response.content.decode().split("<main", 1)[-1]
    return response.status_code, re.sub(r'value="[^"]*"', "", main)


def test_finding_7_unknown_wrong_and_locked_answer_alike(
    caseworker: User, other_caseworker: User, settings: Any, clock: list[Any]
) -> None:
    settings.HAVEN_LOCKOUT_THRESHOLD = settings.HAVEN_LOGIN_LOCK_AFTER = 5
    for _ in range(5):  # lock other_caseworker, an hour between tries (past any delay)
        clock[0] += timedelta(hours=1)
        Client().post("/accounts/login/", {"username": "other_caseworker",
                                           "password": "a wrong guess"})
    clock[0] += timedelta(minutes=1)
    answers = {
        "unknown": _answer("nobody-of-that-name", PASSWORD),
        "wrong": _answer("caseworker", "a wrong guess"),
        "locked": _answer("other_caseworker", PASSWORD),
    }
    assert len(set(answers.values())) == 1, {k: v[0] for k, v in answers.items()}


def test_finding_7_guessing_cannot_lock_a_coordinator_out(
    coordinator: User, clock: list[Any]
) -> None:
    """Someone guesses the coordinator's password all day; the coordinator, in the browser they
    always use, must still get in (the old lock took five tries and came back every 15
    minutes)."""
    own = log_in(Client(), coordinator)
    own.post("/accounts/logout/")
    for _ in range(8 * 60):  # a try a minute for eight hours
        clock[0] += timedelta(minutes=1)
        Client().post("/accounts/login/", {"username": "coordinator", "password": "a guess"})
    clock[0] += timedelta(seconds=30)
    response = own.post("/accounts/login/", {"username": "coordinator", "password": PASSWORD})
    assert response.status_code == 302, "the coordinator is locked out"
    forget_used_code(coordinator)  # the same 30-second step as the first sign-in
    response = own.post("/accounts/verify/", {"code": current_code(coordinator)})
    assert response.status_code == 302
    assert own.get("/accounts/").status_code == 200
