from __future__ import annotations

import itertools
from typing import Any

import pytest

from haven.people import selectors, services

FIRST = ["Магомед", "Ислам", "Анна"]
LAST = ["Хасанов", "Исаев", "Петрова"]
QUERIES = [" ".join(words) for words in itertools.permutations(
    [*FIRST, *LAST, "Saidovich"], 2)] + ["Магомед Хасанов Saidovich", "Saidovich"]


def _words(name: str) -> set[str]:
    from haven.keyring import normalize

    return set(normalize.tokens(name))


@pytest.fixture
def people(unsealed: list[str], coordinator: Any) -> dict[Any, str]:
    """Every first name with every surname, and a few with a patronymic too."""
    names = [f"{first} {last}" for first in FIRST for last in LAST]
    names += ["Магомед Хасанов Saidovich", "Анна Saidovich", "Исаев"]
    return {services.person_create(actor=coordinator, legal_name=name).pk: name
            for name in names}


@pytest.mark.parametrize("common", [False, True], ids=["rarest-first", "intersection"])
def test_name_search_finds_exactly_the_people_with_every_word(
        people: dict[Any, str], coordinator: Any, common: bool,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # RARITY_SCAN 1 makes every word "common": the search then intersects the words' index
    # ranges instead of checking the rarest word's people one by one. Both must agree with
    # the plain definition: everyone whose name holds every word of the query.
    if common:
        monkeypatch.setattr(selectors, "RARITY_SCAN", 1)
    for query in QUERIES:
        search = selectors.person_search(coordinator, query)
        assert search is not None
        assert search.common is (common and len(_words(query)) > 1)
        expected = {pk for pk, name in people.items() if _words(query) <= _words(name)}
        found = selectors.person_ids_matching(coordinator, query)
        assert found is not None
        assert len(found) == len(set(found)), query  # each person once
        assert set(found) == expected, query
        if expected:
            assert len(search.person_ids(limit=1)) == 1


def test_phone_and_name_matches_are_merged_once(people: dict[Any, str], coordinator: Any
                                                 ) -> None:
    person = services.person_create(actor=coordinator, legal_name="Руслан 79285554433",
                                    phone="+7 928 555 44 33")
    assert selectors.person_ids_matching(coordinator, "+79285554433") == [person.pk]
    assert selectors.person_ids_matching(coordinator, "   ") is None
