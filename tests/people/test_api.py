from __future__ import annotations

import io
from typing import Any

import pytest
from django.test import Client

from haven.accounts import services as account_services
from haven.audit.models import AuditEvent
from haven.keyring import services as keyring_services
from haven.people.models import Person, PersonFile
from tests.accounts.helpers import api_reauthenticate


@pytest.fixture
def api(sealed_middleware: None) -> Any:
    def make(user: Any) -> Client:
        raw, _ = account_services.token_create(actor=None, user=user, name="test")
        return Client(headers={"Authorization": f"Bearer {raw}"})

    return make


@pytest.mark.parametrize("query", ["магомед", "MAGOMED", "Magomed"])
def test_api_cross_script_search(unsealed: list[str], coordinator: Any, api: Any,
                                 query: str) -> None:
    client = api(coordinator)
    created = client.post("/api/v1/people", {"legal_name": "Магомед"},
                          content_type="application/json")
    assert created.status_code == 201, created.content
    client.post("/api/v1/people", {"legal_name": "Ислам"}, content_type="application/json")
    found = client.get("/api/v1/people", {"q": query})
    assert found.status_code == 200
    assert [p["legal_name"] for p in found.json()] == ["Магомед"]
    assert found.json()[0]["id"] == created.json()["id"]


def test_api_refuses_roles_without_permission(unsealed: list[str], auditor: Any, liaison: Any,
                                              api: Any) -> None:
    for user in (auditor, liaison):
        client = api(user)
        assert client.post("/api/v1/people", {"legal_name": "X"},
                           content_type="application/json").status_code == 403
        assert client.get("/api/v1/people").status_code == 403
    assert Person.objects.count() == 0


def test_api_validation_error(unsealed: list[str], coordinator: Any, api: Any) -> None:
    response = api(coordinator).post("/api/v1/people", {"legal_name": " ", "phone": "1"},
                                     content_type="application/json")
    assert response.status_code == 400
    assert "phone" in response.json()["fields"]


def test_api_sealed_is_503_json(shares: list[str], coordinator: Any, api: Any) -> None:
    response = api(coordinator).get("/api/v1/people", {"q": "x"})
    assert response.status_code == 503
    assert "sealed" in response.json()["detail"]
    assert response.json()["code"] == "sealed"


def test_api_erase(unsealed: list[str], coordinator: Any, caseworker: Any, api: Any) -> None:
    person_id = api(coordinator).post("/api/v1/people", {"legal_name": "Anzor"},
                                      content_type="application/json").json()["id"]
    assert api(caseworker).delete(f"/api/v1/people/{person_id}").status_code == 403
    assert api(coordinator).delete(f"/api/v1/people/{person_id}").status_code == 204
    assert not Person.objects.filter(pk=person_id).exists()


def _upload(client: Client, person_id: str, data: bytes, name: str = "passport.pdf") -> Any:
    handle = io.BytesIO(data)
    handle.name = name
    return client.post(f"/api/v1/people/{person_id}/files", {"file": handle})


def test_file_upload_download_round_trip(unsealed: list[str], coordinator: Any, api: Any,
                                         data_dir: Any) -> None:
    client = api(coordinator)
    person_id = client.post("/api/v1/people", {"legal_name": "Anzor"},
                            content_type="application/json").json()["id"]
    content = b"PASSPORT-OF-ANZOR " * 20000  # ~360 KB, several chunks
    response = _upload(client, person_id, content)
    assert response.status_code == 201, response.content
    file_id = response.json()["id"]
    stored = (data_dir / "files" / f"{file_id}.hvf").read_bytes()
    assert b"PASSPORT" not in stored
    assert PersonFile.objects.get(pk=file_id).name == "passport.pdf"
    api_reauthenticate(client, coordinator)  # a file download wants a re-authenticated token
    download = client.get(f"/api/v1/people/{person_id}/files/{file_id}")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == content
    assert AuditEvent.objects.filter(action="person.file_downloaded", object_id=file_id).exists()


def test_file_too_large_refused_and_nothing_kept(unsealed: list[str], coordinator: Any, api: Any,
                                                 data_dir: Any) -> None:
    client = api(coordinator)
    person_id = client.post("/api/v1/people", {"legal_name": "Anzor"},
                            content_type="application/json").json()["id"]
    response = _upload(client, person_id, b"x" * (2 * 1024 * 1024))
    assert response.status_code == 413
    assert "limit of 1 MB" in response.json()["detail"]
    assert PersonFile.objects.count() == 0
    assert list((data_dir / "files").glob("*")) == [] if (data_dir / "files").exists() else True


def test_tampered_file_refused(unsealed: list[str], coordinator: Any, api: Any,
                               data_dir: Any) -> None:
    client = api(coordinator)
    person_id = client.post("/api/v1/people", {"legal_name": "Anzor"},
                            content_type="application/json").json()["id"]
    file_id = _upload(client, person_id, b"secret document" * 100).json()["id"]
    path = data_dir / "files" / f"{file_id}.hvf"
    blob = bytearray(path.read_bytes())
    blob[60] ^= 1
    path.write_bytes(bytes(blob))
    api_reauthenticate(client, coordinator)
    download = client.get(f"/api/v1/people/{person_id}/files/{file_id}")
    with pytest.raises(Exception, match="integrity check"):
        b"".join(download.streaming_content)


def test_erased_person_files_gone(unsealed: list[str], coordinator: Any, api: Any,
                                  data_dir: Any, django_capture_on_commit_callbacks: Any) -> None:
    client = api(coordinator)
    person_id = client.post("/api/v1/people", {"legal_name": "Anzor"},
                            content_type="application/json").json()["id"]
    file_id = _upload(client, person_id, b"doc").json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(f"/api/v1/people/{person_id}").status_code == 204
    assert not (data_dir / "files" / f"{file_id}.hvf").exists()
    assert keyring_services.keystore_path().exists()
