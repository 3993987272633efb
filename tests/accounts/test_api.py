from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from haven.accounts import services
from haven.accounts.models import ApiToken, User
from tests.accounts.helpers import counts, events


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
    assert after.json() == {"detail": "A valid bearer token is required.", "code": "unauthenticated"}
    assert len(events("token.revoked")) == 1


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
