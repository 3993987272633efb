from __future__ import annotations

import io
from typing import Any

import pytest
from django.test import Client

from haven.access.roles import Role
from haven.accounts import services as account_services
from haven.audit.models import AuditEvent
from haven.cases import services as case_services
from haven.cases.models import Status
from haven.keyring import services as keyring_services
from haven.people import services
from haven.people.models import Person, PersonFile
from tests.accounts.helpers import api_reauthenticate
from tests.factories.accounts import UserFactory


@pytest.fixture
def api(sealed_middleware: None) -> Any:
    """A token client that re-authenticated, as a script does before reading people (the
    list decrypts names and phones); ``stepped_up=False`` for one that did not."""

    def make(user: Any, *, stepped_up: bool = True) -> Client:
        raw, _ = account_services.token_create(actor=None, user=user, name="test")
        client = Client(headers={"Authorization": f"Bearer {raw}"})
        if stepped_up:
            api_reauthenticate(client, user)
        return client

    return make


def test_listing_people_wants_a_reauthenticated_token(unsealed: list[str], coordinator: Any,
                                                      api: Any) -> None:
    """Issue 13, item 5: the list shows names and phones decrypted."""
    services.person_create(actor=coordinator, legal_name="Магомед", phone="+7 928 000 11 22")
    client = api(coordinator, stepped_up=False)
    refused = client.get("/api/v1/people")
    assert refused.status_code == 403
    assert refused.json()["code"] == "reauth_required"
    assert "Магомед".encode() not in refused.content
    api_reauthenticate(client, coordinator)
    assert [p["legal_name"] for p in client.get("/api/v1/people").json()] == ["Магомед"]


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
    # (Registering someone: listing would first want a re-authentication, which a sealed
    # server cannot check.)
    response = api(coordinator, stepped_up=False).post("/api/v1/people", {"legal_name": "X"},
                                                       content_type="application/json")
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


# --- need-to-know (issue 13, finding 1) -----------------------------------------------------------


def _principal(case: Any) -> Person:
    return case.members.get(is_principal=True).person


@pytest.fixture
def people_of_cases(unsealed: list[str], coordinator: Any, caseworker: Any,
                    other_caseworker: Any, verifier: Any) -> dict[str, Any]:
    """A case of the caseworker (sent to the verifier), one of another caseworker, one of the
    caseworker suspended for security, and a person who belongs to no case."""

    def case(name: str, phone: str, assignee: Any) -> Any:
        opened = case_services.case_open(actor=coordinator, legal_name=name, phone=phone)
        case_services.case_assign(actor=coordinator, case=opened, assignee=assignee)
        return opened

    mine = case("Аслан Мирзоев", "+7 928 111 22 33", caseworker)
    case_services.verification_request(actor=coordinator, case=mine, verifier=verifier)
    theirs = case("Рустам Бекиев", "+7 928 444 55 66", other_caseworker)
    suspended = case("Зелимхан Ясаев", "+7 928 777 88 99", caseworker)
    case_services.case_transition(actor=coordinator, case=suspended, to=Status.SUSPENDED)
    loose = services.person_create(actor=coordinator, legal_name="Ибрагим Латиев")
    return {"mine": _principal(mine), "theirs": _principal(theirs),
            "suspended": _principal(suspended), "loose": loose}


def test_people_are_listed_and_found_only_through_ones_own_cases(
        people_of_cases: dict[str, Any], *, coordinator: Any, caseworker: Any, verifier: Any,
        operator: Any, api: Any) -> None:
    mine = str(people_of_cases["mine"].pk)
    client = api(caseworker)
    assert [p["id"] for p in client.get("/api/v1/people").json()] == [mine]
    assert [p["id"] for p in client.get("/api/v1/people", {"q": "мирзоев"}).json()] == [mine]
    nobody = client.get("/api/v1/people", {"q": "Никтоев"})
    for q in ("Рустам", "+7 928 444 55 66", "Зелимхан", "+79287778899", "Латиев"):
        found = client.get("/api/v1/people", {"q": q})
        assert found.status_code == 200
        assert found.content == nobody.content == b"[]", q  # as if nobody had that name
    assert [p["id"] for p in api(verifier).get("/api/v1/people").json()] == [mine]
    assert api(operator).get("/api/v1/people", {"q": "Аслан"}).json() == []  # opened none
    everyone = {p["id"] for p in api(coordinator).get("/api/v1/people").json()}
    assert everyone == {str(p.pk) for p in people_of_cases.values()}


def test_a_caseworker_with_no_cases_sees_nobody(people_of_cases: dict[str, Any], org: Any,
                                                api: Any) -> None:
    idle = UserFactory(username="idle", organization=org, role=Role.CASEWORKER, enrolled=True)
    client = api(idle)
    assert client.get("/api/v1/people").json() == []
    assert client.get("/api/v1/people", {"q": "Аслан"}).json() == []


def test_files_follow_the_persons_cases(people_of_cases: dict[str, Any], *, coordinator: Any,
                                        caseworker: Any, verifier: Any, operator: Any,
                                        api: Any, data_dir: Any) -> None:
    theirs, mine = people_of_cases["theirs"], people_of_cases["mine"]
    scan = _upload(api(coordinator), str(theirs.pk), b"PASSPORT-OF-RUSTAM").json()["id"]
    assert api(verifier).get(f"/api/v1/people/{theirs.pk}/files/{scan}").status_code == 404
    stored = PersonFile.objects.count()
    refused = _upload(api(caseworker), str(theirs.pk), b"planted")
    assert refused.status_code == 404  # as for a person who does not exist
    assert _upload(api(operator), str(mine.pk), b"planted").status_code == 403
    assert PersonFile.objects.count() == stored
    own = _upload(api(caseworker), str(mine.pk), b"PASSPORT-OF-ASLAN")
    assert own.status_code == 201, own.content
    download = api(verifier).get(f"/api/v1/people/{mine.pk}/files/{own.json()['id']}")
    assert b"".join(download.streaming_content) == b"PASSPORT-OF-ASLAN"


def test_erasing_someone_one_may_not_see_is_not_found(people_of_cases: dict[str, Any],
                                                      outsider: Any, api: Any) -> None:
    person = people_of_cases["loose"]
    assert api(outsider).delete(f"/api/v1/people/{person.pk}").status_code == 404
    assert Person.objects.filter(pk=person.pk).exists()


@pytest.mark.parametrize(("query", "level"), [
    ("Аслан Мирзоев", "exact"), ("ASLAN MIRZOEV", "exact"), ("Mirzoew Aslan", "likely"),
    ("Aslan Mirzoyev", "likely"), ("Aslan Mirzoeb", "likely"), ("Мирзоев", "possible")])
def test_ranked_search_finds_any_spelling_with_a_level(people_of_cases: dict[str, Any], *,
                                                       coordinator: Any, api: Any,
                                                       query: str, level: str) -> None:
    found = api(coordinator).get("/api/v1/people", {"q": query}).json()
    assert found[0]["id"] == str(people_of_cases["mine"].pk)
    assert found[0]["match"] == level
    assert found[0]["why"]
    assert all(p["match"] in {"exact", "likely", "possible"} for p in found)


def test_exact_match_ranks_first(unsealed: list[str], coordinator: Any, api: Any) -> None:
    client = api(coordinator)
    for name in ("Zelimkhan Yandarbiyev", "Зелимхан Яндарбиев", "Zelimkhan Yandarbiev"):
        client.post("/api/v1/people", {"legal_name": name}, content_type="application/json")
    found = client.get("/api/v1/people", {"q": "Зелимхан Яндарбиев"}).json()
    assert [(p["legal_name"], p["match"]) for p in found][:1] == [("Зелимхан Яндарбиев", "exact")]
    assert {p["match"] for p in found[1:]} == {"likely"}


@pytest.mark.parametrize("query", ["Рустам Бекиев", "Rustam Bekiev", "Rustam Bekiew",
                                   "Ibragim Latiev", "Zelimkhan Yasaev", "Бекиев"])
def test_ranked_search_never_reveals_a_person_one_may_not_see(
        people_of_cases: dict[str, Any], *, caseworker: Any, operator: Any, verifier: Any,
        api: Any, query: str) -> None:
    # The exact name of a person in another caseworker's case, of a person in no case, of
    # a suspended case's person: nothing, with every spelling — the answer for nobody.
    hidden = {str(people_of_cases[k].pk) for k in ("theirs", "loose", "suspended")}
    for user in (caseworker, operator, verifier):
        answer = api(user).get("/api/v1/people", {"q": query})
        assert answer.status_code == 200
        assert not hidden & {p["id"] for p in answer.json()}, (user, query)
        assert "Бекиев" not in answer.content.decode()


def test_ranked_search_shows_names_only_to_those_who_may_reveal_them(
        people_of_cases: dict[str, Any], *, caseworker: Any, verifier: Any, api: Any) -> None:
    from haven.access import policy
    from haven.access.permissions import Perm

    for user in (caseworker, verifier):
        (found,) = api(user).get("/api/v1/people", {"q": "Aslan Mirzoyev"}).json()
        assert found["match"] == "likely"
        reveal = policy.has_perm(user, Perm.PERSON_REVEAL)
        assert (found["legal_name"] == "Аслан Мирзоев") is reveal
