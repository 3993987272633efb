import pytest

from haven.people.names.linkage import (
    THRESHOLD,
    NameFrequency,
    Record,
    blocking_keys,
    dob_level,
    weigh,
)


@pytest.mark.parametrize(("a", "b", "level"), [
    ("1990-04-07", "1990-04-07", "same"), ("1990", "1990-04-07", "partial"),
    ("1990-04", "1990-04-07", "partial"), ("1990-04-07", "1990-07-04", "swapped"),
    ("1990-04-07", "1991-04-07", "year_off"), ("1990-04-07", "1985-01-02", "different"),
    ("1990", "1991", "different"), ("", "1990", None)])
def test_dob_levels(a: str, b: str, level: str | None) -> None:
    assert dob_level(a, b) == level
    assert dob_level(b, a) == level


def test_same_person_in_another_spelling_weighs_above_the_threshold() -> None:
    a = Record(("Зелимхан Абуевич Яндарбиев",), "1990-04-07", "+7 928 111 22 33", "Грозный")
    b = Record(("Zelimkhan Yandarbiyev",), "1990", "", "Grozny")
    weight = weigh(a, b)
    assert weight.likely_duplicate
    assert [(f.field, f.level) for f in weight.fields] == [
        ("name", "likely"), ("dob", "partial"), ("place", "same")]


def test_disagreeing_fields_weigh_against() -> None:
    a = Record(("Zelimkhan Yandarbiev",), "1990-04-07", "+79281112233")
    b = Record(("Zelimkhan Yandarbiev",), "1971-11-30", "+79995554433")
    weight = weigh(a, b)
    assert not weight.likely_duplicate
    assert [f.weight < 0 for f in weight.fields] == [False, True, True]


def test_common_names_weigh_less() -> None:
    common = Record(("Магомед Магомедов",), "1990")
    rare = Record(("Зелимхан Яндарбиев",), "1990")
    registry = [common] * 50 + [rare] + [Record(("Ivan Petrov",))] * 49
    frequency = NameFrequency.of(registry)
    assert weigh(common, common, frequency).total < weigh(rare, rare, frequency).total
    assert weigh(common, common, frequency).total < weigh(common, common).total


def test_blocking_keys_meet_across_order_spelling_and_patronymic() -> None:
    a = blocking_keys(Record(("Магомед Абуевич Хасанов",)))
    assert a & blocking_keys(Record(("Khasanov Mohammed",)))
    assert not a & blocking_keys(Record(("Ruslan Petrov",)))
    assert THRESHOLD > 0
