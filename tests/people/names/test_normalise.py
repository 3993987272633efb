import pytest

from haven.people.names.normalise import mixed_script_tokens, normalise_tokens, normalise_word


@pytest.mark.parametrize(("text", "expected"), [
    ("ZELIMKHAN IANDARBIEV", ["zelimkhan", "iandarbiev"]),
    ("Ｍａｇｏｍｅｄ", ["magomed"]),  # NFKC: full-width letters
    ("STRAßE", ["strasse"]),  # case folding, not lower()
    ("Ольга Ol'ga Olʹga", ["олга", "olga"]),  # soft sign and apostrophes join
    ("Подъячев", ["подячев"]),  # the hard sign
    ("Alekseevich-Said  Khasan,\tOglu", ["alekseevich", "said", "khasan", "oglu"]),
    ("Пётр Йошкин", ["петр", "иошкин"]),  # marks of ё and й dropped
    ("Éloïse Müller", ["eloise", "muller"]),
    ("Šamil Žanna Čečen", ["shamil", "zhanna", "chechen"]),  # ISO 9 / scholarly
    ("Dżochar Łukasz", ["dzhochar", "lukasz"]),  # Polish
])
def test_normalise_tokens(text: str, expected: list[str]) -> None:
    assert normalise_tokens(text) == expected


@pytest.mark.parametrize("written", ["ДукӀвахар", "Дукӏвахар", "Дук1вахар", "ДукIвахар",
                                     "Дукlвахар", "Дук|вахар"])
def test_palochka_stand_ins_become_one_letter(written: str) -> None:
    assert normalise_tokens(written) == ["дукӏвахар"]


def test_latin_look_alikes_in_a_cyrillic_word_are_read_as_cyrillic() -> None:
    # "Иванов" typed with a Latin o and a Latin a; and the reverse.
    assert normalise_tokens("Ивaнoв") == ["иванов"]
    assert normalise_tokens("Ivаnov") == ["ivanov"]


def test_mixed_script_words_are_reported() -> None:
    assert mixed_script_tokens("Ивaнoв Пётр") == ["Ивaнoв"]
    assert mixed_script_tokens("Дук1вахар Ivanov") == []


def test_arabic_letter_variants_and_vowel_marks_are_unified() -> None:
    assert normalise_tokens("مُحَمَّد") == normalise_tokens("محمد")
    assert normalise_word("أحمد") == normalise_word("احمد") == normalise_word("إحمد")
    assert normalise_word("فاطمة") == "فاطمه"
    assert normalise_word("علی") == normalise_word("على") == "علي"
    assert normalise_word("محـــمد") == "محمد"  # tatweel


def test_no_words_in_punctuation_or_digits() -> None:
    assert normalise_tokens("--- 12345 !!!") == []
    assert normalise_tokens("") == []


def test_repeated_words_once_and_at_most_twelve() -> None:
    assert normalise_tokens("Ali ALI ali Али") == ["ali", "али"]
    assert len(normalise_tokens(" ".join(f"w{'a' * i}" for i in range(1, 30)))) == 12
