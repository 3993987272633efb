"""Script-aware normalisation of names, before any transliteration.

Every rule here answers a way the same name reaches Haven written differently:

* NFKC folds full-width and compatibility forms ("Ｍａｇｏｍｅｄ"), case folding the case
  ("ZELIMKHAN", "ß" → "ss").
* Look-alike letters: a Cyrillic word typed on a Latin keyboard layout often carries Latin
  "a", "e", "o", "p", "c", "x", "y" (and the reverse); each word is read in the script most
  of its letters belong to, and ``mixed_script_tokens`` reports the words that mixed them
  (a warning sign for a verifier, never a verdict).
* The Chechen palochka "Ӏ" is typed as "I", "l", "1" or "|" inside Cyrillic words
  ("Дук1вахар", "ДукIвахар"): all become "ӏ", which the keys then drop (it is a stop, and
  romanisations leave it out).
* Scholarly and Czech/Polish letters ("š", "ž", "č", "ŝ") become the digraphs passports use
  before the remaining marks (accents, "ё", "й", Arabic harakat) are dropped.
* The soft and hard signs and every apostrophe-like character are dropped without
  splitting the word ("Ольга", "Ol'ga", "Olʹga" → one word).
* Arabic-script letter variants are unified (alef forms, "ة" → "ه", "ى"/"ی" → "ي",
  "ک" → "ك"), tatweel removed.

Words are what remains between any other characters; the words keep their script (the keys
transliterate them).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

MAX_TOKENS = 12

# Latin look-alikes of Cyrillic letters and back, both cases (applied before case folding).
_LAT_TO_CYR = str.maketrans("aceopxyABCEHKMOPTXY", "асеорхуАВСЕНКМОРТХУ")
_CYR_TO_LAT = str.maketrans("асеорхуАВСЕНКМОРТХУ", "aceopxyABCEHKMOPTXY")
_PALOCHKA_ALIKES = str.maketrans({"i": "ӏ", "l": "ӏ", "1": "ӏ", "|": "ӏ", "I": "ӏ", "Ӏ": "ӏ"})
# Letters whose marks carry a sound the passports spell out; done before marks are dropped.
_DIGRAPHS = str.maketrans({"š": "sh", "ž": "zh", "č": "ch", "ŝ": "shch", "ć": "c", "ś": "s",
                           "ź": "z", "ż": "zh", "ł": "l", "ø": "o", "đ": "d", "ħ": "h",
                           "ə": "a", "ı": "i", "ğ": "g", "ş": "sh", "ç": "ch"})
_ARABIC = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي", "ی": "ي",
                         "ک": "ك", "ہ": "ه", "ۀ": "ه", "ؤ": "و", "ئ": "ي", "ـ": None})
_DROPPED = str.maketrans(dict.fromkeys("ьъЬЪ'’‘ʼʹʻ`´\"ʺ″"))
# A word: letters (any script) and marks, plus the palochka's stand-ins inside Cyrillic.
# Combining marks (accents, Cyrillic titlo, Arabic harakat) stay inside their word.
_LETTER = r"(?:[^\W\d_]|[\u0300-\u036f\u0483-\u0489\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed])"
_WORD = re.compile(rf"{_LETTER}+(?:[1|]{_LETTER}*)*|[1|]")


def script_of(char: str) -> str:
    """"cyrillic", "latin", "arabic" or "other" for one letter."""
    if "\u0400" <= char <= "\u052f" or "\u1c80" <= char <= "\u1c8f":
        return "cyrillic"
    if char.isascii() or "\u00c0" <= char <= "\u024f" or "\u1e00" <= char <= "\u1eff":
        return "latin"
    if "\u0600" <= char <= "\u06ff" or "\u0750" <= char <= "\u077f":
        return "arabic"
    return "other"


def _majority(word: str) -> str:
    counts: dict[str, int] = {}
    for char in word:
        if char.isalpha():
            kind = script_of(char)
            counts[kind] = counts.get(kind, 0) + 1
    if not counts:
        return "other"
    return max(counts, key=lambda k: (counts[k], k == "cyrillic"))


def _mixed(word: str) -> bool:
    return len({script_of(c) for c in word if c.isalpha()}) > 1


# Words that need none of the rules but case folding and dropping signs (most names).
_PLAIN = re.compile(r"[а-яёъь]+|[a-z]+")
_PLAIN_FOLD = str.maketrans({"ь": None, "ъ": None, "ё": "е", "й": "и"})


@lru_cache(maxsize=262144)
def normalise_word(word: str) -> str:
    """One word in its majority script, folded as the module docstring says ("" if nothing
    is left)."""
    folded = word.lower()
    if _PLAIN.fullmatch(folded):
        return folded.translate(_PLAIN_FOLD)
    word = unicodedata.normalize("NFKC", word)
    script = _majority(word)
    if script == "cyrillic":
        word = word.translate(_PALOCHKA_ALIKES).translate(_LAT_TO_CYR)
    elif script == "latin":
        word = word.translate(_CYR_TO_LAT)
    word = word.casefold().translate(_DIGRAPHS)
    if script == "arabic":
        word = word.translate(_ARABIC)
    word = "".join(c for c in unicodedata.normalize("NFD", word) if not unicodedata.combining(c))
    word = unicodedata.normalize("NFC", word).translate(_DROPPED)
    return "".join(c for c in word if c.isalpha())


def _words(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).translate(_DROPPED)
    return _WORD.findall(text)


def normalise_tokens(text: str) -> list[str]:
    """The normalised words of ``text``, each once, in order, at most ``MAX_TOKENS``."""
    seen: dict[str, None] = {}
    for word in _words(text):
        folded = normalise_word(word)
        if folded:
            seen.setdefault(folded, None)
    return list(seen)[:MAX_TOKENS]


def mixed_script_tokens(text: str) -> list[str]:
    """The words of ``text`` that mix scripts (Latin letters inside a Cyrillic word…)."""
    return [w for w in _words(text) if _mixed(w.replace("1", "").replace("|", ""))]
