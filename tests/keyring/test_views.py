from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.test import Client

from haven.keyring import state


def test_sealed_staff_pages_lead_to_unseal_and_shares_unseal(
        shares: list[str], coordinator: Any, login: Callable[[Any], Client],
        sealed_middleware: None) -> None:
    client = login(coordinator)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/keyring/unseal/"
    page = client.get("/keyring/unseal/")
    assert page.status_code == 200
    assert "The server is sealed" in page.content.decode()
    response = client.post("/keyring/unseal/", {"share": "not a share"})
    assert "checksum" in response.content.decode()
    client.post("/keyring/unseal/", {"share": shares[0]})
    assert "1 of 2" in client.get("/keyring/unseal/").content.decode()
    response = client.post("/keyring/unseal/", {"share": shares[1]})
    assert response.status_code == 302
    assert not state.is_sealed()
    assert client.get("/").status_code == 200
    response = client.post("/keyring/seal/", {"confirm": "seal"})
    assert response.status_code == 302
    assert state.is_sealed()


def test_sealed_other_roles_see_notice(shares: list[str], caseworker: Any,
                                       login: Callable[[Any], Client],
                                       sealed_middleware: None) -> None:
    client = login(caseworker)
    response = client.get("/")
    assert response["Location"] == "/keyring/sealed/"
    assert client.get("/keyring/sealed/").status_code == 200
    assert client.get("/keyring/unseal/").status_code == 403
    assert client.post("/keyring/seal/").status_code == 403


def test_login_works_while_sealed(shares: list[str], sealed_middleware: None) -> None:
    assert Client().get("/accounts/login/").status_code == 200
