"""The API's frame: bearer auth, the OpenAPI document, JSON errors."""

from __future__ import annotations

from django.test import Client

from haven.accounts import services
from haven.accounts.models import User
from tests.access.routes import api_routes


def test_openapi_document_is_public_and_lists_every_operation(client: Client, db: None) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    listed = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    for route in api_routes():
        path = "/" + route.route
        for name in route.converters:
            path = path.replace(f"<{name}>", "{" + name + "}")
        assert (route.api_method, path) in listed
    assert doc["components"]["securitySchemes"]["TokenAuth"]["scheme"] == "bearer"


def test_every_operation_documents_the_json_error(client: Client, db: None) -> None:
    doc = client.get("/api/v1/openapi.json").json()
    assert "Error" in doc["components"]["schemas"]
    for ops in doc["paths"].values():
        for op in ops.values():
            for status in ("400", "401", "403", "404", "422"):
                assert op["responses"][status]["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/Error"}


def test_no_interactive_docs_that_would_load_a_cdn(client: Client, db: None) -> None:
    assert client.get("/api/v1/docs").status_code == 404


def test_api_root_is_not_found(client: Client, db: None) -> None:
    assert client.get("/api/v1/").status_code == 404


def test_bearer_token_sets_the_requests_user(client: Client, auditor: User) -> None:
    raw, _ = services.token_create(actor=None, user=auditor, name="t")
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"})
    assert response.json()["id"] == str(auditor.pk)


def test_missing_token_is_a_json_401(client: Client, db: None) -> None:
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"detail": "A valid bearer token is required.",
                               "code": "unauthenticated"}


def test_wrong_method_is_refused(client: Client, caseworker: User) -> None:
    raw, _ = services.token_create(actor=None, user=caseworker, name="t")
    response = client.delete("/api/v1/me", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 405
