"""CSRF under Referrer-Policy: no-referrer (haven.core.csrf)."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories.accounts import PASSWORD


@pytest.fixture
def csrf_client(db: None) -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True)
    client.get("/accounts/login/")
    return client, client.cookies["haven_csrf"].value


def _post(client: Client, token: str, **headers: str) -> int:
    response = client.post("/accounts/login/", {"username": "nobody", "password": PASSWORD,
                                                "csrfmiddlewaretoken": token}, headers=headers)
    return response.status_code


def test_same_origin_post_with_null_origin_passes_the_csrf_check(csrf_client: tuple[Client, str]) -> None:
    client, token = csrf_client
    assert _post(client, token, Origin="null", **{"Sec-Fetch-Site": "same-origin"}) == 400


def test_null_origin_from_another_site_is_refused(csrf_client: tuple[Client, str]) -> None:
    client, token = csrf_client
    assert _post(client, token, Origin="null", **{"Sec-Fetch-Site": "cross-site"}) == 403


def test_null_origin_without_fetch_metadata_is_refused(csrf_client: tuple[Client, str]) -> None:
    client, token = csrf_client
    assert _post(client, token, Origin="null") == 403


def test_foreign_origin_is_refused_even_when_marked_same_origin(
    csrf_client: tuple[Client, str],
) -> None:
    client, token = csrf_client
    assert _post(client, token, Origin="https://evil.example",
                 **{"Sec-Fetch-Site": "same-origin"}) == 403


def test_a_null_origin_still_needs_the_token(csrf_client: tuple[Client, str]) -> None:
    client, _token = csrf_client
    assert _post(client, "wrong" * 8, Origin="null", **{"Sec-Fetch-Site": "same-origin"}) == 403
