import pytest

from haven.people.names import equivalents, keys
from haven.people.names.keys import name_keys


def group(text: str) -> str | None:
    (token,) = name_keys(text).tokens
    return token.group


@pytest.mark.parametrize("spelling", ["Магомед", "Мухаммад", "Magomet", "Mohammed", "Mohamed",
                                      "Muhammad", "Mukhammed", "Magomed", "محمد", "Mehmet"])
def test_muhammad_and_its_forms(spelling: str) -> None:
    assert group(spelling) == "muhammad"


@pytest.mark.parametrize(("spelling", "expected"), [
    ("Ахмед", "ahmad"), ("Ahmad", "ahmad"), ("Akhmed", "ahmad"), ("Achmed", "ahmad"),
    ("Саша", "aleksandr"), ("Шура", "aleksandr"), ("Alexander", "aleksandr"),
    ("Женя", "evgeniy"), ("Jewgeni", "evgeniy"), ("Маша", "mariya"), ("Миша", "mikhail"),
    ("Патимат", "fatima"), ("Fatima", "fatima"), ("Юсуп", "yusuf"), ("Youssef", "yusuf"),
    ("Hussein", "husayn"), ("Хусейн", "husayn"), ("Hasan", "hasan"), ("Oмар", "umar"),
])
def test_equivalent_given_names(spelling: str, expected: str) -> None:
    assert group(spelling) == expected


def test_names_outside_the_table_have_no_group() -> None:
    assert group("Зелимхан") is None
    assert group("Yandarbiev") is None


def test_no_skeleton_belongs_to_two_groups() -> None:
    # _build raises on a clash; a table that loads has none.
    table = keys.build_equivalents()
    assert set(table.values()) == set(equivalents.GROUPS)


def test_a_clash_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(equivalents.GROUPS, "clash", ("Mahmud",))  # already in "mahmud"
    with pytest.raises(ValueError, match="two groups"):
        keys.build_equivalents()
