from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from haven.access.decorators import REAUTH_PERMS
from haven.accounts import services
from haven.accounts.models import ApiToken, SealedTOTPDevice, User
from tests.access.routes import Route, api_body, api_routes
from tests.accounts.helpers import code_for, counts, events, session_request, wrong_code
from tests.factories.accounts import PASSWORD


def _auth(user: User) -> dict[str, str]:
    raw, _ = services.token_create(actor=None, user=user, name="api test")
    return {"Authorization": f"Bearer {raw}"}


def _post(client: Client, url: str, body: Any, headers: dict[str, str]) -> Any:
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(url, data=data, content_type="application/json", headers=headers)


def test_me_answers_who_the_token_acts_as(client: Client, caseworker: User) -> None:
    body = client.get("/api/v1/me", headers=_auth(caseworker)).json()
    assert body["username"] == "caseworker"
    assert body["role"] == "caseworker"
    assert body["id"] == str(caseworker.pk)


def test_token_scope_is_exactly_the_users_permissions(
    client: Client, caseworker: User, coordinator: User
) -> None:
    refused = client.get("/api/v1/users", headers=_auth(caseworker))
    assert refused.status_code == 403
    assert refused.json()["detail"]
    allowed = client.get("/api/v1/users", headers=_auth(coordinator))
    assert allowed.status_code == 200
    assert {u["username"] for u in allowed.json()} == {"caseworker", "coordinator"}


def test_users_list_shows_only_my_organization(client: Client, coordinator: User, outsider: User) -> None:
    names = {u["username"] for u in client.get("/api/v1/users", headers=_auth(coordinator)).json()}
    assert "outsider" not in names


def test_revoked_token_gets_401(client: Client, caseworker: User) -> None:
    headers = _auth(caseworker)
    token = ApiToken.objects.get(user=caseworker)
    response = _post(client, f"/api/v1/tokens/{token.pk}/revoke", {}, headers)
    assert response.status_code == 200
    assert response.json()["revoked_at"] is not None
    after = client.get("/api/v1/me", headers=headers)
    assert after.status_code == 401
    assert after.json()["code"] == "token_invalid"
    assert "This token was revoked (revoked)" in after.json()["detail"]
    assert len(events("token.revoked")) == 1
    unknown = client.get("/api/v1/me", headers={"Authorization": "Bearer hvn_never-issued"})
    assert unknown.json() == {"detail": "A valid bearer token is required.",
                              "code": "unauthenticated"}


def test_disabled_users_token_gets_401(client: Client, coordinator: User, caseworker: User) -> None:
    headers = _auth(caseworker)
    response = _post(client, f"/api/v1/users/{caseworker.pk}/active", {"active": False},
                     _auth(coordinator))
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert len(events("user.disabled")) == 1


def test_token_list_shows_prefixes_never_hashes(client: Client, caseworker: User) -> None:
    headers = _auth(caseworker)
    [item] = client.get("/api/v1/tokens", headers=headers).json()
    token = ApiToken.objects.get()
    assert item["prefix"] == token.prefix
    assert token.key_hash not in json.dumps(item)


def test_revoking_someone_elses_token_looks_like_a_missing_one(
    client: Client, caseworker: User, other_caseworker: User
) -> None:
    _, theirs = services.token_create(actor=None, user=other_caseworker, name="theirs")
    response = _post(client, f"/api/v1/tokens/{theirs.pk}/revoke", {}, _auth(caseworker))
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_coordinator_creates_a_user(client: Client, coordinator: User) -> None:
    response = _post(client, "/api/v1/users", {"username": "api.user", "role": "verifier",
                                                "password": "a sturdy long passphrase"},
                     _auth(coordinator))
    assert response.status_code == 201
    assert response.json()["role"] == "verifier"
    assert User.objects.get(username="api.user").organization_id == coordinator.organization_id
    assert len(events("user.created")) == 1


GOOD = {"username": "api.user", "role": "verifier", "password": "a sturdy long passphrase"}


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ("{not json", 400, None),
        ("", 422, None),
        ("[]", 422, None),
        ({}, 422, "username"),
        ({**GOOD, "username": ""}, 422, "username"),
        ({**GOOD, "username": "u" * 65}, 422, "username"),
        ({**GOOD, "username": 12}, 422, "username"),
        ({**GOOD, "role": ["coordinator"]}, 422, "role"),
        ({**GOOD, "password": None}, 422, "password"),
        ({**GOOD, "username": "bad name!"}, 400, "username"),
        ({**GOOD, "username": "coordinator"}, 400, "username"),
        ({**GOOD, "role": "admin"}, 400, "role"),
        ({**GOOD, "language": "xx"}, 400, "language"),
        ({**GOOD, "password": "short"}, 400, "password"),
        ({**GOOD, "password": "password1234"}, 400, "password"),
    ],
)
def test_bad_user_input_gets_a_clear_json_error_and_no_write(
    client: Client, coordinator: User, body: Any, status: int, field: str | None
) -> None:
    headers = _auth(coordinator)
    before = counts()
    response = _post(client, "/api/v1/users", body, headers)
    assert response.status_code == status, response.content
    data = response.json()
    assert data["detail"]
    if field is not None:
        assert data["fields"][field], data
    assert counts() == before


@pytest.mark.parametrize("body", ['{"active": "maybe"}', "{}", "nope"])
def test_bad_active_flag_changes_nothing(client: Client, coordinator: User, caseworker: User,
                                         body: str) -> None:
    headers = _auth(coordinator)
    before = counts()
    response = _post(client, f"/api/v1/users/{caseworker.pk}/active", body, headers)
    assert response.status_code in {400, 422}
    assert response.json()["detail"]
    caseworker.refresh_from_db()
    assert caseworker.is_active
    assert counts() == before


def test_bad_path_id_is_a_json_error(client: Client, coordinator: User) -> None:
    response = _post(client, "/api/v1/users/not-a-uuid/active", {"active": False}, _auth(coordinator))
    assert response.status_code == 422
    assert response.json()["fields"]


def test_caseworker_cannot_create_or_disable(client: Client, caseworker: User,
                                             other_caseworker: User) -> None:
    headers = _auth(caseworker)
    before = counts()
    assert _post(client, "/api/v1/users", GOOD, headers).status_code == 403
    assert _post(client, f"/api/v1/users/{other_caseworker.pk}/active", {"active": False},
                 headers).status_code == 403
    other_caseworker.refresh_from_db()
    assert other_caseworker.is_active
    assert counts() == before


def test_outsider_cannot_disable_our_user(client: Client, outsider: User, caseworker: User) -> None:
    response = _post(client, f"/api/v1/users/{caseworker.pk}/active", {"active": False},
                     _auth(outsider))
    assert response.status_code == 404
    caseworker.refresh_from_db()
    assert caseworker.is_active


# --- token rules (finding 6) -----------------------------------------------------------------------


def _token_headers(user: User, **kwargs: Any) -> tuple[dict[str, str], ApiToken]:
    raw, token = services.token_create(actor=None, user=user, name="rules", **kwargs)
    return {"Authorization": f"Bearer {raw}"}, token


def test_an_expired_token_gets_401_saying_so(client: Client, caseworker: User) -> None:
    headers, token = _token_headers(caseworker, expires_days=1)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert "This token expired on" in response.json()["detail"]


def test_a_password_change_kills_every_token_for_good(client: Client, caseworker: User) -> None:
    headers, _ = _token_headers(caseworker)
    request = session_request(caseworker)
    services.password_change(request=request, actor=caseworker, old=PASSWORD,
                             new="a completely new passphrase")
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert "password changed" in response.json()["detail"]


def test_a_token_that_missed_its_revocation_still_dies_with_the_epoch(
    client: Client, caseworker: User
) -> None:
    """The token carries the account's epoch: even a row someone un-revoked does not work."""
    headers, token = _token_headers(caseworker)
    services.password_change(request=session_request(caseworker), actor=caseworker,
                             old=PASSWORD, new="yet another passphrase")
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=None, revoked_reason="")
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert "no longer works" in response.json()["detail"]


def test_disabling_kills_tokens_and_enabling_does_not_revive_them(
    client: Client, coordinator: User, caseworker: User
) -> None:
    headers, token = _token_headers(caseworker)
    services.user_set_active(actor=coordinator, user_id=caseworker.pk, active=False)
    services.user_set_active(actor=coordinator, user_id=caseworker.pk, active=True)
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert "account disabled" in response.json()["detail"]
    token.refresh_from_db()
    assert token.revoked_reason == "account_disabled"
    [event] = events("user.disabled")
    assert event.data == {"sessions_ended": 0, "tokens_revoked": 1}


@pytest.mark.parametrize("route", [r for r in api_routes() if r.api_method != "GET"],
                         ids=lambda r: r.key)
def test_a_read_only_token_is_refused_on_every_change(
    route: Route, client: Client, coordinator: User
) -> None:
    headers, _ = _token_headers(coordinator, read_only=True)
    body = api_body(route)
    before = counts()
    response = client.generic(route.api_method, route.path(),
                              data=json.dumps(body) if body is not None else "",
                              content_type="application/json", headers=headers)
    assert response.status_code == 403, response.content
    assert response.json()["code"] == "token_read_only"
    assert "read-only" in response.json()["detail"]
    assert counts() == before


def test_a_read_only_token_reads(client: Client, coordinator: User) -> None:
    headers, _ = _token_headers(coordinator, read_only=True)
    assert client.get("/api/v1/users", headers=headers).status_code == 200


REAUTH_ROUTES = [r for r in api_routes() if r.access is not None and r.access.reauth]


def test_every_operation_that_reveals_or_hands_out_files_wants_reauthentication() -> None:
    wanted = {r.key for r in api_routes() if r.access is not None
              and r.access.perm in REAUTH_PERMS}
    assert wanted <= {r.key for r in REAUTH_ROUTES}
    assert {"POST /api/v1/cases/<case_id>/people/<person_id>/reveal",
            "GET /api/v1/people/<person_id>/files/<file_id>",
            "POST /api/v1/shelters/<shelter_id>/address",
            "POST /api/v1/tokens"} <= {r.key for r in REAUTH_ROUTES}


@pytest.mark.parametrize("route", REAUTH_ROUTES, ids=lambda r: r.key)
def test_sensitive_operations_refuse_a_token_that_did_not_reauthenticate(
    route: Route, client: Client, coordinator: User
) -> None:
    headers, token = _token_headers(coordinator)
    body = api_body(route)
    data = json.dumps(body) if body is not None else ""

    def call() -> Any:
        return client.generic(route.api_method, route.path(), data=data,
                              content_type="application/json", headers=headers)

    before = counts()
    refused = call()
    assert refused.status_code == 403, refused.content
    assert refused.json()["code"] == "reauth_required"
    assert "/api/v1/reauth" in refused.json()["detail"]
    assert counts() == before
    ApiToken.objects.filter(pk=token.pk).update(
        reauth_at=timezone.now() - timedelta(minutes=6))
    assert call().json().get("code") == "reauth_required"  # older than the window
    ApiToken.objects.filter(pk=token.pk).update(reauth_at=timezone.now())
    answer = call().json()  # a list operation answers with a list
    assert not isinstance(answer, dict) or answer.get("code") != "reauth_required"


def test_reauth_with_password_and_code_opens_the_window(client: Client, coordinator: User) -> None:
    headers, token = _token_headers(coordinator)
    code = code_for(SealedTOTPDevice.objects.get(user=coordinator))
    response = _post(client, "/api/v1/reauth", {"password": PASSWORD, "code": code}, headers)
    assert response.status_code == 200, response.content
    token.refresh_from_db()
    assert token.reauth_at is not None
    until = response.json()["reauthenticated_until"]
    assert until.startswith(str((token.reauth_at + timedelta(minutes=5)).year))
    [event] = events("token.reauthenticated")
    assert event.object_id == str(token.pk)
    assert event.data == {"kind": "code"}
    created = _post(client, "/api/v1/tokens", {"name": "child", "expires_days": 7,
                                               "read_only": True}, headers)
    assert created.status_code == 201, created.content
    child = created.json()
    assert child["secret"].startswith("hvn_")
    assert child["read_only"] is True
    other = ApiToken.objects.get(pk=child["id"])
    assert 6 < (other.expires_at - timezone.now()).days + 1 <= 7
    # another token of the same user is not stepped up by this one
    other_headers, _ = _token_headers(coordinator)
    assert _post(client, "/api/v1/tokens", {"name": "x"}, other_headers).status_code == 403


@pytest.mark.parametrize("what", ["password", "code", "recovery"])
def test_reauth_refuses_a_wrong_answer_and_counts_it(
    client: Client, caseworker: User, what: str
) -> None:
    headers, token = _token_headers(caseworker)
    device = SealedTOTPDevice.objects.get(user=caseworker)
    payload = {"password": PASSWORD, "code": code_for(device)}
    if what == "password":
        payload["password"] = "not the password"
    elif what == "code":
        payload["code"] = wrong_code(device)
    else:  # recovery codes are for getting back in, not for scripts
        payload["code"] = services.recovery_codes_regenerate(actor=caseworker)[0]
    response = _post(client, "/api/v1/reauth", payload, headers)
    assert response.status_code == 400
    assert response.json()["detail"] == "Wrong password or code."
    token.refresh_from_db()
    assert token.reauth_at is None
    caseworker.refresh_from_db()
    assert caseworker.failed_logins == 1
    [event] = events("auth.login_failed")
    assert event.data["stage"] == "token_reauth"
    again = _post(client, "/api/v1/reauth", {"password": PASSWORD, "code": "000000"}, headers)
    assert again.status_code == 429  # the account's delay applies to tokens too


def test_a_read_only_token_cannot_reauthenticate(client: Client, caseworker: User) -> None:
    headers, _ = _token_headers(caseworker, read_only=True)
    code = code_for(SealedTOTPDevice.objects.get(user=caseworker))
    response = _post(client, "/api/v1/reauth", {"password": PASSWORD, "code": code}, headers)
    assert response.status_code == 403
    assert response.json()["code"] == "token_read_only"


@pytest.mark.parametrize("days", [0, 91, -1])
def test_token_create_over_the_api_refuses_a_bad_expiry(
    client: Client, caseworker: User, days: int
) -> None:
    headers, token = _token_headers(caseworker)
    ApiToken.objects.filter(pk=token.pk).update(reauth_at=timezone.now())
    before = ApiToken.objects.count()
    response = _post(client, "/api/v1/tokens", {"name": "x", "expires_days": days}, headers)
    assert response.status_code == 422
    assert "expires_days" in response.json()["fields"]
    assert ApiToken.objects.count() == before
