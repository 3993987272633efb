from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.public import PrivateKey

from haven.intake import wordlist
from haven.keyring import intake_crypto as ic


def test_wordlist_gives_at_least_90_bits_for_seven_words() -> None:
    words = wordlist.words()
    assert len(words) == 7776
    assert len(set(words)) == len(words)
    bits = wordlist.entropy_bits(ic.CODENAME_WORDS)
    assert bits == pytest.approx(7 * math.log2(7776))
    assert bits > 90.4


def test_russian_wordlist_is_as_strong_common_short_and_distinct_after_folding() -> None:
    words = wordlist.words("ru")
    assert len(words) == 7776
    assert wordlist.entropy_bits(ic.CODENAME_WORDS, "ru") > 90.4
    assert len({w.replace("ё", "е") for w in words}) == 7776
    assert all(4 <= len(w) <= 8 and all("а" <= c <= "я" or c == "ё" for c in w) for w in words)
    assert not set(words) & set(wordlist.words("en"))
    assert {"гей", "тюрьма", "полиция", "смерть", "бог", "оружие"}.isdisjoint(words)
    assert wordlist.words("ru-RU") == words
    assert wordlist.words("de") == wordlist.words("en")


@pytest.mark.parametrize(("typed", "shown"), [
    ("  Ёлка   ДОМ\tкот ", "елка дом кот"),
    ("1. ёлка 2. дом 3. кот", "елка дом кот"),
    ("ёлка, дом; кот.", "елка дом кот"),
    ("abacus yo-yo -dial-", "abacus yo-yo dial"),
])
def test_codenames_are_normalized_as_people_retype_them(typed: str, shown: str) -> None:
    assert ic.codename_normalize(typed) == shown


def test_codename_has_seven_words_from_the_list() -> None:
    codename = ic.codename_generate(wordlist.words())
    parts = codename.split(" ")
    assert len(parts) == 7
    assert all(p in set(wordlist.words()) for p in parts)
    assert ic.codename_generate(wordlist.words()) != codename


@pytest.mark.parametrize(
    ("length", "expected"),
    [(0, 1024), (1023, 1024), (1024, 4096), (4095, 4096), (4096, 16384), (65535, 65536)],
)
def test_padding_classes(length: int, expected: int) -> None:
    assert len(ic.pad(b"x" * length)) == expected
    assert ic.ciphertext_size(length) == expected + 48


def test_too_large_for_any_class_is_refused() -> None:
    with pytest.raises(ic.MessageTooLarge):
        ic.pad(b"x" * 65536)


def test_ciphertext_length_reveals_only_the_class() -> None:
    key = PrivateKey.generate()
    sizes = {len(ic.seal_to(bytes(key.public_key), b"y" * n)) for n in (1, 10, 500, 1000)}
    assert sizes == {1024 + ic.SEAL_OVERHEAD}


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=20000))
def test_seal_round_trip(data: bytes) -> None:
    key = PrivateKey.generate()
    assert ic.open_sealed(key, ic.seal_to(bytes(key.public_key), data)) == data


def test_sealed_box_does_not_open_with_another_key() -> None:
    blob = ic.seal_to(bytes(PrivateKey.generate().public_key), b"secret")
    with pytest.raises(ic.IntakeDecryptionFailed):
        ic.open_sealed(PrivateKey.generate(), blob)
    with pytest.raises(ic.IntakeDecryptionFailed):
        ic.open_sealed(PrivateKey.generate(), blob[:-1] + bytes([blob[-1] ^ 1]))


def test_codename_keys_are_deterministic_salted_and_normalized() -> None:
    params = ic.KdfParams(salt=b"s" * 16, log2_n=10)
    a = ic.codename_keys("alpha bravo charlie delta echo foxtrot golf", params)
    b = ic.codename_keys("  Alpha  BRAVO charlie delta echo foxtrot golf\n", params)
    assert a.lookup_tag == b.lookup_tag
    assert a.reply_public_key == b.reply_public_key
    other_salt = ic.codename_keys("alpha bravo charlie delta echo foxtrot golf",
                                  ic.KdfParams(salt=b"t" * 16, log2_n=10))
    assert other_salt.lookup_tag != a.lookup_tag
    wrong = ic.codename_keys("alpha bravo charlie delta echo foxtrot hotel", params)
    assert wrong.lookup_tag != a.lookup_tag
    # The stored tag and the reply key are independent outputs of one scrypt run.
    assert a.lookup_tag != bytes(a.reply_private_key)


def test_session_cookie_and_blob_each_useless_alone() -> None:
    cookie, key, lookup = ic.session_token()
    parsed = ic.session_parse(cookie)
    assert parsed == (lookup, key)
    blob = ic.session_seal(key, b"k" * 32, lookup)
    assert ic.session_open(key, blob, lookup) == b"k" * 32
    with pytest.raises(ic.IntakeDecryptionFailed):
        ic.session_open(b"\0" * 32, blob, lookup)
    with pytest.raises(ic.IntakeDecryptionFailed):
        ic.session_open(key, blob, "another-row")
    assert ic.session_parse("nonsense") is None
    assert ic.session_parse("a" * 30 + "." + "zz" * 32) is None
