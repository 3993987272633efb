from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.test import Client

from haven.audit.models import AuditEvent
from haven.housing import services
from haven.housing.models import Shelter

Login = Callable[[Any], Client]


def test_board_and_address_only_for_coordinators(unsealed: list[str], coordinator: Any,
                                                 caseworker: Any, login: Login) -> None:
    coord = login(coordinator)
    response = coord.post("/shelters/new/", {"code_name": "Birch", "address": "Lenina 5",
                                             "capacity": 4})
    assert response.status_code == 302
    shelter = Shelter.objects.get()
    cw = login(caseworker)
    board = cw.get("/shelters/").content.decode()
    assert "Birch" in board
    assert "0 / 4" in board
    assert "Lenina" not in board
    detail = cw.get(f"/shelters/{shelter.pk}/").content.decode()
    assert "Lenina" not in detail
    assert "reveal" not in detail
    assert cw.post(f"/shelters/{shelter.pk}/reveal/").status_code == 403
    revealed = coord.post(f"/shelters/{shelter.pk}/reveal/").content.decode()
    assert "Lenina 5" in revealed
    assert AuditEvent.objects.filter(action="shelter.address_revealed").count() == 1


def test_new_shelter_inline_errors(unsealed: list[str], coordinator: Any, login: Login) -> None:
    response = login(coordinator).post("/shelters/new/", {"code_name": "", "capacity": 0})
    assert response.status_code == 400
    assert b"error-text" in response.content
    assert Shelter.objects.count() == 0


def test_compromise_from_the_page(unsealed: list[str], coordinator: Any, login: Login) -> None:
    shelter = services.shelter_create(actor=coordinator, code_name="Oak", capacity=1,
                                      address="x")
    login(coordinator).post(f"/shelters/{shelter.pk}/transition/", {"to": "compromised"})
    shelter.refresh_from_db()
    assert shelter.status == "compromised"


def test_a_household_is_placed_from_one_form(assigned: Any, caseworker: Any, coordinator: Any,
                                             login: Login) -> None:
    from haven.cases import services as case_services
    from haven.housing.models import Placement

    spouse = case_services.member_add(actor=caseworker, case=assigned, legal_name="Зарема",
                                      relationship="spouse")
    principal = assigned.members.get(is_principal=True)
    shelter = services.shelter_create(actor=coordinator, code_name="Birch", capacity=3,
                                      address="secret street 1")
    client = login(caseworker)
    form = client.get(f"/cases/{assigned.pk}/placements/new/").content.decode()
    # The household is checked to start with, each named by their place in it.
    assert (f'name="person" value="{spouse.person_id}" id="id_person_1" checked> Spouse'
            '</label>') in form
    assert str(principal.person_id)[:8] + ")" not in form  # no internal ids as labels
    response = client.post(f"/cases/{assigned.pk}/placements/", {
        "person": [str(principal.person_id), str(spouse.person_id)],
        "shelter": str(shelter.pk)}, follow=True)
    assert response.status_code == 200
    assert "2 placements planned." in response.content.decode()
    assert {p.person_id for p in Placement.objects.all()} == {principal.person_id,
                                                              spouse.person_id}


def test_shelter_address_asks_to_reauthenticate_when_stale(unsealed: list[str],
                                                           coordinator: Any,
                                                           login: Login) -> None:
    from haven.accounts.services import SESSION_REAUTH_AT

    shelter = services.shelter_create(actor=coordinator, code_name="Birch", address="Lenina 5",
                                      capacity=4)
    client = login(coordinator)
    session = client.session
    session[SESSION_REAUTH_AT] = 0
    session.save()
    refused = client.post(f"/shelters/{shelter.pk}/reveal/",
                          {"next": f"/shelters/{shelter.pk}/"})
    assert refused.status_code == 302
    assert refused["Location"].startswith("/accounts/reauth/?next=%2Fshelters%2F")
    assert b"Lenina" not in refused.content
    assert not AuditEvent.objects.filter(action="shelter.address_revealed").exists()
