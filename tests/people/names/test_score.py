import pytest

from haven.people.names.keys import name_keys
from haven.people.names.score import Level, compare, pair_score


def level(query: str, stored: str) -> Level | None:
    return compare(name_keys(query), name_keys(stored)).level


STORED = "Зелимхан Абуевич Яндарбиев"


@pytest.mark.parametrize("query", ["ЗЕЛИМХАН ЯНДАРБИЕВ", "Яндарбиев Зелимхан",
                                   "ZELIMKHAN IANDARBIEV",  # the passport's letters
                                   "Зелимхан Абуевич Яндарбиев"])
def test_same_letters_are_exact(query: str) -> None:
    assert level(query, STORED) is Level.EXACT


@pytest.mark.parametrize("query", ["Zelimkhan Yandarbiyev", "Selimchan Jandarbijew",
                                   "zelimhan yandarbiev", "Yandarbiyev Zelimkhan",
                                   "Zelimkhan Abuevich Yandarbiev",
                                   "Zelimkhan Yandarbiyevv",  # one wrong letter
                                   "Zelimkhan Yandarbuev"])
def test_other_spellings_are_likely(query: str) -> None:
    assert level(query, STORED) is Level.LIKELY


def test_exact_ranks_above_likely() -> None:
    exact = compare(name_keys("Зелимхан Яндарбиев"), name_keys(STORED))
    likely = compare(name_keys("Zelimkhan Yandarbiev"), name_keys(STORED))
    assert exact.score > likely.score


def test_equivalent_given_name_is_likely_and_says_why() -> None:
    match = compare(name_keys("Mohammed Iwanow"), name_keys("Магомед Иванов"))
    assert match.level is Level.LIKELY
    assert match.why == "mohammed: equivalent name; iwanow: same skeleton"


@pytest.mark.parametrize(("query", "stored"), [
    ("Ruslan Yandarbiev", STORED),  # a brother: only the surname
    ("Zelimkhan Ivanov", STORED),  # only the given name
    ("Zelimkhan Said-Khasanovich Yandarbiev", STORED),  # another patronymic
    ("Hasan Aliev", "Хусейн Алиев"),  # Hasan is not Husayn
    ("Anna Ivanova", "Иван Иванов"),
])
def test_similar_names_of_someone_else_are_at_most_possible(query: str, stored: str) -> None:
    assert level(query, stored) in {Level.POSSIBLE, None}


def test_two_words_off_by_a_letter_are_not_likely() -> None:
    assert level("Zelimkhen Yandarbiem", STORED) is Level.POSSIBLE


def test_unrelated_names_do_not_match() -> None:
    assert level("Petr Sidorov", STORED) is None


def test_one_word_query_is_never_likely() -> None:
    assert level("Yandarbiev", STORED) is Level.POSSIBLE
    assert level("Яндарбиев", "Яндарбиев") is Level.EXACT  # the whole name


def test_arabic_script_meets_latin_on_consonants() -> None:
    assert pair_score(name_keys("حسن").tokens[0], name_keys("Hassan").tokens[0])[1] in {
        "same consonants", "equivalent name"}
    assert level("محمد علي", "Muhammad Ali") is Level.LIKELY


def test_empty_names_never_match() -> None:
    assert compare(name_keys(""), name_keys(STORED)).level is None
    assert compare(name_keys("Ivan"), name_keys("")).level is None
