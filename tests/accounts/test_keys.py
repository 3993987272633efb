"""Security keys and passkeys (WebAuthn) through the pages' JSON steps, with a software key.

The browser tests (tests/browser/test_staff_login.py) do the same with Chromium's virtual
authenticator and django-otp-webauthn's own script.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django_otp_webauthn.models import WebAuthnCredential

from haven.access.roles import Role
from haven.accounts import services
from haven.accounts.models import Organization, SealedTOTPDevice, User
from haven.core.errors import Conflict
from tests.accounts.authenticator import SoftKey
from tests.accounts.helpers import code_for, events, forget_used_code, make_user
from tests.conftest import current_code
from tests.factories.accounts import PASSWORD

HOST = "localhost"  # the relying party: keys answer only for a host name, never an IP


def _client() -> Client:
    return Client(HTTP_HOST=HOST)


def _json(client: Client, url: str, body: Any = None) -> Any:
    return client.post(url, data=json.dumps(body) if body is not None else "",
                       content_type="application/json")


def _signed_in(user: User) -> Client:
    client = _client()
    client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert client.post("/accounts/verify/", {"code": current_code(user)}).status_code == 302
    return client


def _enrol_key(client: Client, key: SoftKey) -> Any:
    options = _json(client, "/accounts/keys/register/begin/")
    assert options.status_code == 200, options.content
    return _json(client, "/accounts/keys/register/complete/", key.create(options.json()))


def _answer(client: Client, key: SoftKey, *, tamper: bool = False, next_url: str = "") -> Any:
    options = _json(client, "/accounts/keys/assert/begin/")
    assert options.status_code == 200, options.content
    url = "/accounts/keys/assert/complete/" + (f"?next={next_url}" if next_url else "")
    return _json(client, url, key.get(options.json(), tamper=tamper))


@pytest.fixture
def key() -> SoftKey:
    return SoftKey(origin=f"http://{HOST}")


def test_a_caseworker_enrols_a_key_and_signs_in_with_it(caseworker: User, key: SoftKey) -> None:
    client = _signed_in(caseworker)
    done = _enrol_key(client, key)
    assert done.status_code == 200, done.content
    [credential] = WebAuthnCredential.objects.filter(user=caseworker)
    assert credential.name == "Security key 1"
    assert credential.public_key  # a public key only: nothing secret is stored
    [event] = events("auth.second_factor_enrolled")
    assert event.data == {"kind": "webauthn", "keys": 1}
    client.post("/accounts/logout/")

    client.post("/accounts/login/", {"username": "caseworker", "password": PASSWORD})
    before = client.cookies["haven_session"].value
    assert client.get("/accounts/")["Location"] == "/accounts/verify/"
    page = client.get("/accounts/verify/").content.decode()
    assert 'id="otp_webauthn_config"' in page
    assert "otp_webauthn_auth.js" in page
    signed = _answer(client, key, next_url="/accounts/")
    assert signed.status_code == 200, signed.content
    assert signed.json()["redirect_url"] == "/accounts/"
    assert client.get("/accounts/").status_code == 200
    assert client.cookies["haven_session"].value != before  # a new key at the step up
    assert events("auth.logged_in")[-1].data["kind"] == "webauthn"


def test_a_forged_answer_is_refused_and_counted(caseworker: User, key: SoftKey) -> None:
    client = _signed_in(caseworker)
    _enrol_key(client, key)
    client.post("/accounts/logout/")
    client.post("/accounts/login/", {"username": "caseworker", "password": PASSWORD})
    refused = _answer(client, key, tamper=True)
    assert refused.status_code == 400
    assert refused.json()["detail"]
    assert client.get("/accounts/")["Location"] == "/accounts/verify/"
    caseworker.refresh_from_db()
    assert caseworker.failures_unseen == 1  # counted (on this known browser) and to be told
    [event] = events("auth.login_failed")
    assert event.data["stage"] == "second_factor"


def test_an_answer_is_accepted_once(caseworker: User, key: SoftKey) -> None:
    client = _signed_in(caseworker)
    _enrol_key(client, key)
    client.post("/accounts/logout/")
    client.post("/accounts/login/", {"username": "caseworker", "password": PASSWORD})
    options = _json(client, "/accounts/keys/assert/begin/").json()
    answer = key.get(options)
    assert _json(client, "/accounts/keys/assert/complete/", answer).status_code == 200
    client.post("/accounts/logout/")
    User.objects.filter(pk=caseworker.pk).update(throttled_until=None)
    client.post("/accounts/login/", {"username": "caseworker", "password": PASSWORD})
    replay = _json(client, "/accounts/keys/assert/complete/", answer)
    assert replay.status_code == 400
    assert client.get("/accounts/")["Location"] == "/accounts/verify/"


def test_adding_a_key_needs_a_fresh_reauthentication(caseworker: User, key: SoftKey) -> None:
    client = _signed_in(caseworker)
    session = client.session
    session[services.SESSION_REAUTH_AT] = timezone.now().timestamp() - 6 * 60
    session.save()
    refused = _json(client, "/accounts/keys/register/begin/")
    assert refused.status_code == 403
    assert refused.json()["code"] == "reauth_required"
    page = client.get("/accounts/keys/").content.decode()
    assert "Confirm it is you" in page
    assert not WebAuthnCredential.objects.exists()


def test_a_password_alone_cannot_add_a_key_to_an_enrolled_account(
    caseworker: User, key: SoftKey
) -> None:
    client = _client()
    client.post("/accounts/login/", {"username": "caseworker", "password": PASSWORD})
    refused = _json(client, "/accounts/keys/register/begin/")
    assert refused.status_code == 403
    assert not WebAuthnCredential.objects.exists()


def test_a_newcomer_may_enrol_a_key_as_their_first_factor(org: Organization, key: SoftKey) -> None:
    make_user(username="newcomer", organization=org, role=Role.VERIFIER)
    client = _client()
    client.post("/accounts/login/", {"username": "newcomer", "password": PASSWORD})
    page = client.get("/accounts/enrol/").content.decode()
    assert "otp_webauthn_register.js" in page
    assert _enrol_key(client, key).status_code == 200
    assert client.get("/").status_code == 200  # the key completed the sign-in


def test_keys_are_offered_only_on_the_relying_partys_host(caseworker: User) -> None:
    client = Client(HTTP_HOST="127.0.0.1")
    client.post("/accounts/login/", {"username": "caseworker", "password": PASSWORD})
    client.post("/accounts/verify/", {"code": current_code(caseworker)})
    refused = _json(client, "/accounts/keys/register/begin/")
    assert refused.status_code == 409
    assert "host name (localhost)" in refused.json()["detail"]


# --- coordinators ---------------------------------------------------------------------------------


@pytest.fixture
def keyed_coordinator(coordinator: User, key: SoftKey) -> User:
    client = _signed_in(coordinator)
    assert _enrol_key(client, key).status_code == 200
    forget_used_code(coordinator)
    return coordinator


def test_a_coordinator_with_a_key_may_no_longer_sign_in_with_a_code(
    keyed_coordinator: User, key: SoftKey
) -> None:
    client = _client()
    client.post("/accounts/login/", {"username": "coordinator", "password": PASSWORD})
    page = client.get("/accounts/verify/").content.decode()
    assert 'data-testid="key-only"' in page
    refused = client.post("/accounts/verify/", {"code": current_code(keyed_coordinator)})
    assert refused.status_code == 403
    assert "signs in with a security key" in refused.content.decode()
    codes = services.recovery_codes_regenerate(actor=keyed_coordinator)
    assert client.post("/accounts/verify/", {"code": codes[0]}).status_code == 403
    assert client.get("/accounts/")["Location"] == "/accounts/verify/"
    assert _answer(client, key).status_code == 200
    assert client.get("/accounts/").status_code == 200


def test_a_coordinator_with_one_key_is_sent_to_add_a_spare(
    keyed_coordinator: User, key: SoftKey
) -> None:
    client = _client()
    client.post("/accounts/login/", {"username": "coordinator", "password": PASSWORD})
    signed = _answer(client, key, next_url="/cases/")
    assert signed.json()["redirect_url"] == "/accounts/keys/"
    page = client.get("/accounts/keys/").content.decode()
    assert 'data-testid="spare-key-warning"' in page
    second = SoftKey(origin=key.origin)
    assert _enrol_key(client, second).status_code == 200
    assert not services.needs_spare_key(keyed_coordinator)
    assert 'data-testid="spare-key-warning"' not in client.get("/accounts/keys/").content.decode()


def test_a_coordinator_keeps_at_least_one_key(keyed_coordinator: User, key: SoftKey) -> None:
    [only] = WebAuthnCredential.objects.filter(user=keyed_coordinator)
    with pytest.raises(Conflict, match="at least one security key"):
        services.security_key_remove(actor=keyed_coordinator, key_id=only.pk)
    assert WebAuthnCredential.objects.filter(user=keyed_coordinator).count() == 1


def test_a_coordinator_re_authenticates_with_password_then_key(
    keyed_coordinator: User, key: SoftKey
) -> None:
    client = _client()
    client.post("/accounts/login/", {"username": "coordinator", "password": PASSWORD})
    _answer(client, key)
    session = client.session
    session[services.SESSION_REAUTH_AT] = 0
    session.save()
    page = client.get("/accounts/reauth/?next=/accounts/users/").content.decode()
    assert 'data-testid="reauth-key"' in page
    assert 'name="code"' not in page  # codes are not offered
    code_only = client.post("/accounts/reauth/", {"password": PASSWORD,
                                                  "code": current_code(keyed_coordinator)})
    assert code_only.status_code == 400
    assert not services.recent_auth_ok(_request_of(client))
    early = _answer(client, key)  # the key without the password first
    assert early.status_code == 400
    step = client.post("/accounts/reauth/?next=/accounts/users/",
                       {"mode": "key", "password": PASSWORD, "next": "/accounts/users/"})
    assert step.status_code == 200
    assert "otp_webauthn_auth.js" in step.content.decode()
    done = _answer(client, key, next_url="/accounts/users/")
    assert done.status_code == 200, done.content
    assert done.json()["redirect_url"] == "/accounts/users/"
    [event] = events("auth.reauthenticated")
    assert event.data == {"kind": "webauthn"}


def _request_of(client: Client) -> Any:
    class _Request:
        session = client.session

    return _Request()


def test_a_coordinators_token_is_approved_on_the_page_not_with_a_code(
    keyed_coordinator: User, key: SoftKey
) -> None:
    raw, token = services.token_create(actor=None, user=keyed_coordinator, name="script")
    device = SealedTOTPDevice.objects.get(user=keyed_coordinator)
    refused = Client().post("/api/v1/reauth", data=json.dumps(
        {"password": PASSWORD, "code": code_for(device)}), content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"})
    assert refused.status_code == 403
    assert "account page" in refused.json()["detail"]
    client = _client()
    client.post("/accounts/login/", {"username": "coordinator", "password": PASSWORD})
    _answer(client, key)  # signing in counts as re-authenticating for five minutes
    client.post(f"/accounts/tokens/{token.pk}/approve/")
    token.refresh_from_db()
    assert services.token_reauth_ok(token)


def test_a_second_coordinator_resets_a_lost_key(
    keyed_coordinator: User, org: Organization, login: Callable[[User], Client]
) -> None:
    other = make_user(username="second", organization=org, role=Role.COORDINATOR, enrolled=True)
    login(other).post(f"/accounts/users/{keyed_coordinator.pk}/reset-second-factor/")
    assert not WebAuthnCredential.objects.filter(user=keyed_coordinator).exists()
    assert not services.has_confirmed_device(keyed_coordinator)
    [event] = events("user.second_factor_reset")
    assert (event.actor_id, event.object_id) == (str(other.pk), str(keyed_coordinator.pk))


def test_the_key_scripts_speak_russian(client: Client, db: None) -> None:
    english = client.get("/accounts/keys/jsi18n/")
    assert english.status_code == 200
    assert english["Content-Type"].startswith("text/javascript")
    russian = client.get("/accounts/keys/jsi18n/", HTTP_ACCEPT_LANGUAGE="ru")
    assert json.dumps("Проверка пройдена!") in russian.content.decode()  # JSON-escaped
