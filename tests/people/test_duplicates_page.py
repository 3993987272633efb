from __future__ import annotations

from typing import Any

import pytest

from haven.people import duplicates, services
from haven.people.models import DuplicatePair, PairState, Person


def _pair(actor: Any) -> DuplicatePair:
    services.person_create(actor=actor, legal_name="Зелимхан Яндарбиев",
                           phone="+7 928 000 11 22")
    b = services.person_create(actor=actor, legal_name="Zelimkhan Iandarbiev",
                               phone="8 928 000 11 22")
    (pair,) = duplicates.duplicates_find(actor, b)
    return pair


def test_queue_shows_field_weights_in_words_and_decides(
        unsealed: list[str], sealed_middleware: None, coordinator: Any, login: Any) -> None:
    pair = _pair(coordinator)
    client = login(coordinator)
    page = client.get("/people/duplicates/").content.decode()
    assert "Зелимхан Яндарбиев" in page
    assert "name: same spelling (+10.1)" in page
    assert "phone: the same (+12.4)" in page
    response = client.post(f"/people/duplicates/{pair.pk}/decide/",
                           {"decision": "same", "keep": str(pair.second_id)})
    assert response.status_code == 302
    pair.refresh_from_db()
    assert pair.state == PairState.SAME
    assert pair.kept_id == pair.second_id
    assert "No pairs here." in client.get("/people/duplicates/").content.decode()
    client.post(f"/people/duplicates/{pair.pk}/undo/")
    pair.refresh_from_db()
    assert pair.state == PairState.OPEN
    assert Person.objects.count() == 2


def test_queue_asks_a_stale_session_to_reauthenticate_before_showing_names(
        unsealed: list[str], sealed_middleware: None, coordinator: Any, login: Any) -> None:
    """The queue shows both people's decrypted names, as a reveal does (issue 13, item 5)."""
    from haven.accounts import services as account_services

    _pair(coordinator)
    client = login(coordinator)
    session = client.session
    session[account_services.SESSION_REAUTH_AT] = 0
    session.save()
    response = client.get("/people/duplicates/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauth/")
    assert "Зелимхан" not in response.content.decode()


def test_queue_in_russian(unsealed: list[str], sealed_middleware: None, coordinator: Any,
                          login: Any) -> None:
    _pair(coordinator)
    client = login(coordinator)
    page = client.get("/people/duplicates/", headers={"Accept-Language": "ru"})
    text = page.content.decode()
    assert "Возможные дубликаты" in text
    assert "телефон: совпадает (+12.4)" in text


@pytest.mark.usefixtures("unsealed", "sealed_middleware")
def test_queue_hidden_from_others(coordinator: Any, caseworker: Any, outsider: Any, login: Any
                                  ) -> None:
    pair = _pair(coordinator)
    assert login(caseworker).get("/people/duplicates/").status_code == 403
    outside = login(outsider)
    page = outside.get("/people/duplicates/").content.decode()
    assert "Zelimkhan" not in page
    assert str(pair.pk) not in page
    assert outside.post(f"/people/duplicates/{pair.pk}/decide/",
                        {"decision": "different"}).status_code == 404
    pair.refresh_from_db()
    assert pair.state == PairState.OPEN
