"""The second factor is mandatory, and sessions end when they should."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.utils import timezone

from haven.access.roles import Role
from haven.accounts import services
from haven.accounts.models import Organization, StoredSession, User, UserSession
from haven.accounts.sessions import key_hash
from tests.access.routes import page_routes
from tests.accounts.helpers import events, forget_used_code, make_user
from tests.factories.accounts import PASSWORD

STAFF_ROUTES = [r for r in page_routes()
                if r.access is not None and r.access.kind in {"staff", "perm"}
                and not r.route.startswith("api/")]
ENROLMENT_ROUTES = [r for r in page_routes() if r.access is not None and r.access.kind == "enrolment"]


def _password_only(client: Client, user: User) -> Client:
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def test_there_are_staff_routes_to_walk() -> None:
    assert len(STAFF_ROUTES) >= 10
    assert {r.name for r in ENROLMENT_ROUTES} >= {"accounts:enrol", "accounts:verify"}


def test_user_with_only_a_password_reaches_nothing_but_enrolment(
    db: None, org: Organization, client: Client
) -> None:
    user = make_user(organization=org, role=Role.COORDINATOR)  # every permission, no device
    response = _password_only(client, user).get("/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/enrol/"
    leaks: list[str] = []
    for route in STAFF_ROUTES:
        for method in ("GET", "POST"):
            response = client.generic(method, route.path())
            if response.status_code != 302 or response["Location"] != "/accounts/enrol/":
                leaks.append(f"{method} {route.path()}: {response.status_code}")
    assert leaks == []
    assert client.get("/accounts/enrol/").status_code == 200
    qr = client.get("/accounts/enrol/qr.svg")
    assert qr.status_code == 200
    assert qr["Content-Type"] == "image/svg+xml"
    verify = client.get("/accounts/verify/")  # nothing to verify yet: go and enrol
    assert verify.status_code == 302
    assert verify["Location"] == "/accounts/enrol/"


def test_user_with_a_device_who_has_not_entered_a_code_is_sent_to_verify(
    coordinator: User, client: Client
) -> None:
    response = _password_only(client, coordinator).get("/")
    assert response["Location"] == "/accounts/verify/"
    leaks: list[str] = []
    for route in STAFF_ROUTES:
        for method in ("GET", "POST"):
            response = client.generic(method, route.path())
            if response.status_code != 302 or response["Location"] != "/accounts/verify/":
                leaks.append(f"{method} {route.path()}: {response.status_code}")
    assert leaks == []
    # Nor can they replace their factor by enrolling a new one.
    enrol = client.get("/accounts/enrol/")
    assert enrol.status_code == 302
    assert enrol["Location"] == "/accounts/verify/"


def test_verified_user_reaches_staff_pages(login: Callable[[User], Client], caseworker: User) -> None:
    client = login(caseworker)
    assert client.get("/").status_code == 200
    assert client.get("/accounts/").status_code == 200


def test_a_session_cookie_is_not_an_api_credential(
    login: Callable[[User], Client], coordinator: User
) -> None:
    response = login(coordinator).get("/api/v1/me")
    assert response.status_code == 401


# --- session lifetime ---------------------------------------------------------------------------


def _age(client: Client, key: str, seconds: float) -> None:
    session = client.session
    session[key] = timezone.now().timestamp() - seconds
    session.save()


def test_idle_session_ends_after_fifteen_minutes(
    login: Callable[[User], Client], caseworker: User, settings: object
) -> None:
    assert settings.HAVEN_SESSION_IDLE_MINUTES == 15  # type: ignore[attr-defined]
    client = login(caseworker)
    key = client.session.session_key
    _age(client, services.SESSION_SEEN_AT, 14 * 60)
    assert client.get("/").status_code == 200
    _age(client, services.SESSION_SEEN_AT, 15 * 60 + 5)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert not StoredSession.objects.filter(key_hash=key_hash(key or "")).exists()
    assert not UserSession.objects.filter(key_hash=key_hash(key or "")).exists()
    [event] = events("auth.logged_out")
    assert event.data == {"reason": "idle_timeout"}
    follow = client.get(response["Location"])
    assert "inactivity" in follow.content.decode()
    again = client.get("/")
    assert again["Location"].startswith("/accounts/login/")


def test_activity_keeps_a_session_alive(
    login: Callable[[User], Client], caseworker: User
) -> None:
    client = login(caseworker)
    _age(client, services.SESSION_SEEN_AT, 10 * 60)
    assert client.get("/").status_code == 200
    seen = client.session[services.SESSION_SEEN_AT]
    assert timezone.now().timestamp() - seen < 5  # the request counted as activity
    _age(client, services.SESSION_AUTH_AT, 60 * 60)
    assert client.get("/").status_code == 200


def test_session_ends_after_twelve_hours_even_when_active(
    login: Callable[[User], Client], caseworker: User, settings: object
) -> None:
    assert settings.HAVEN_SESSION_MAX_HOURS == 12  # type: ignore[attr-defined]
    client = login(caseworker)
    key = client.session.session_key
    _age(client, services.SESSION_AUTH_AT, 11 * 3600 + 59 * 60)
    assert client.get("/").status_code == 200
    _age(client, services.SESSION_AUTH_AT, 12 * 3600 + 1)
    response = client.get("/")
    assert response["Location"] == "/accounts/login/"
    assert not StoredSession.objects.filter(key_hash=key_hash(key or "")).exists()
    [event] = events("auth.logged_out")
    assert event.data == {"reason": "absolute_timeout"}


def test_a_session_without_its_start_time_is_ended(
    caseworker: User, client: Client
) -> None:
    client.force_login(caseworker)  # bypasses Haven's login: no start time recorded
    response = client.get("/")
    assert response["Location"] == "/accounts/login/"
    assert "_auth_user_id" not in client.session


def test_logout_destroys_the_server_side_session(
    login: Callable[[User], Client], caseworker: User
) -> None:
    client = login(caseworker)
    cookie = client.cookies["haven_session"].value
    assert StoredSession.objects.filter(key_hash=key_hash(cookie)).exists()
    response = client.post("/accounts/logout/")
    assert response["Location"] == "/accounts/login/"
    assert not StoredSession.objects.filter(key_hash=key_hash(cookie)).exists()
    thief = Client()
    thief.cookies["haven_session"] = cookie  # the old cookie, replayed
    replay = thief.get("/")
    assert replay.status_code == 302
    assert replay["Location"].startswith("/accounts/login/")


def test_logout_needs_post(login: Callable[[User], Client], caseworker: User) -> None:
    client = login(caseworker)
    assert client.get("/accounts/logout/").status_code == 405
    assert client.get("/").status_code == 200


def test_end_all_other_sessions_cuts_off_another_client(
    login: Callable[[User], Client], caseworker: User
) -> None:
    laptop = login(caseworker)
    forget_used_code(caseworker)
    phone = login(caseworker)
    assert phone.get("/").status_code == 200
    response = laptop.post("/accounts/sessions/end-others/")
    assert response["Location"] == "/accounts/"
    assert laptop.get("/").status_code == 200
    cut = phone.get("/")
    assert cut.status_code == 302
    assert cut["Location"].startswith("/accounts/login/")
    assert UserSession.objects.filter(user=caseworker).count() == 1
    [event] = events("auth.sessions_ended")
    assert event.data == {"count": 1}


def test_disabled_user_is_cut_off_mid_session_and_their_tokens_stop(
    login: Callable[[User], Client], coordinator: User, caseworker: User
) -> None:
    victim = login(caseworker)
    raw, _ = services.token_create(actor=None, user=caseworker, name="script")
    auth = {"Authorization": f"Bearer {raw}"}
    assert victim.get("/").status_code == 200
    assert Client().get("/api/v1/me", headers=auth).status_code == 200
    admin = login(coordinator)
    response = admin.post(f"/accounts/users/{caseworker.pk}/disable/")
    assert response["Location"] == "/accounts/users/"
    caseworker.refresh_from_db()
    assert not caseworker.is_active
    cut = victim.get("/")
    assert cut.status_code == 302
    assert cut["Location"].startswith("/accounts/login/")
    assert not UserSession.objects.filter(user=caseworker).exists()
    assert Client().get("/api/v1/me", headers=auth).status_code == 401
    again = Client().post("/accounts/login/", {"username": "caseworker", "password": PASSWORD})
    assert again.status_code == 400
    [event] = events("user.disabled")
    assert event.data["sessions_ended"] == 1


@pytest.mark.parametrize("minutes", [1, 30])
def test_idle_limit_is_configurable(
    login: Callable[[User], Client], caseworker: User, settings: object, minutes: int
) -> None:
    settings.HAVEN_SESSION_IDLE_MINUTES = minutes  # type: ignore[attr-defined]
    client = login(caseworker)
    _age(client, services.SESSION_SEEN_AT, minutes * 60 - 10)
    assert client.get("/").status_code == 200
    _age(client, services.SESSION_SEEN_AT, minutes * 60 + 10)
    assert client.get("/").status_code == 302


def test_code_page_is_only_for_logged_in_users(client: Client, db: None) -> None:
    response = client.get("/accounts/verify/")
    assert response["Location"].startswith("/accounts/login/")
