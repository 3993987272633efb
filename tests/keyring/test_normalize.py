from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from haven.keyring.normalize import normalize, phone_digits, tokens

CYRILLIC = "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ"
LATIN = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéèêëáàâäóöüñçÉÀÖÜ"
names = st.text(alphabet=CYRILLIC + LATIN + " -'.,", max_size=60)


@pytest.mark.parametrize("spelling", ["Магомед", "магомед", "МАГОМЕД", "MAGOMED", "Magomed",
                                      "magomed", " Magomed. ", "Ｍａｇｏｍｅｄ"])
def test_spellings_of_magomed_meet(spelling: str) -> None:
    assert normalize(spelling) == "magomed"


def test_diacritics_punctuation_and_arabic() -> None:
    assert normalize("José-María  O'Neil") == "jose maria oneil"
    assert normalize("محمد") == normalize("مُحَمَّد") == "mhmd"
    assert normalize("Ёлкин") == normalize("Елкин") == "elkin"
    assert tokens("Хасанов Магомед Хасанов") == ["khasanov", "magomed"]
    assert phone_digits("+7 (928) ٠١٢-11-22") == "79280121122"


@pytest.mark.parametrize(("cyrillic", "passport"), [
    ("Ольга", "Olga"), ("Наталья", "Natalia"), ("Дарья", "Daria"), ("Подъячев", "Podiachev"),
    ("Марьям", "Mariam")])
def test_soft_and_hard_signs_do_not_split_a_name(cyrillic: str, passport: str) -> None:
    # Unidecode spells ь and ъ as ' and ": "Ольга" became two words, "ol" and "ga", which a
    # search for the passport's "Olga" never met.
    assert tokens(cyrillic) == tokens(passport) == [passport.lower()]


@given(names)
def test_output_is_lower_ascii_words(text: str) -> None:
    out = normalize(text)
    assert out == out.strip()
    assert "  " not in out
    assert all(c.isdigit() or c == " " or ("a" <= c <= "z") for c in out)


@given(names)
def test_idempotent(text: str) -> None:
    assert normalize(normalize(text)) == normalize(text)


@given(names)
def test_case_does_not_matter(text: str) -> None:
    assert normalize(text.upper()) == normalize(text.lower()) == normalize(text)


@given(names)
def test_decomposed_accents_do_not_matter(text: str) -> None:
    assert normalize(unicodedata.normalize("NFD", text)) == normalize(text)


@given(names)
def test_tokens_are_the_words(text: str) -> None:
    assert set(tokens(text)) <= set(normalize(text).split())
