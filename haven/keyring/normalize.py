"""Normalization for blind indexes: many spellings of one name, one Latin form.

A caseworker types "MAGOMED", a hotline operator typed "Магомед", a document says
"Magomed": all must meet in one index entry. Steps: Unicode NFKC (full-width and
compatibility forms), case folding, removal of combining marks, transliteration to ASCII
with Unidecode (Cyrillic, Arabic, Greek, accented Latin…), lower case again, apostrophes
dropped (the soft sign), and every other run of non-alphanumerics becomes one space. Tokens
are the words that remain; each is indexed on its own so a search by one part of a name
finds the person. Matching different spellings ("Magomet") is later work.

Changing these rules changes the digests: stored people must then be indexed again with
``haven people reindex`` (see docs/operations.md), or searches miss them.
"""

from __future__ import annotations

import re
import unicodedata

from unidecode import unidecode

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_APOSTROPHES = re.compile("['\"`]+")
_NON_DIGIT = re.compile(r"[^0-9]+")
MAX_TOKENS = 16


def normalize(text: str) -> str:
    """One Latin, lower-case, punctuation-free form of ``text`` (words separated by a space)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    # Drop combining marks (accents, Arabic harakat, the breve of й and diaeresis of ё, which
    # Russian writers often leave out anyway) before transliterating.
    bare = "".join(c for c in unicodedata.normalize("NFD", folded) if not unicodedata.combining(c))
    latin = unidecode(bare, errors="ignore").lower()
    # Apostrophes join, not split: Unidecode spells the soft and hard signs as ' and " ("Ольга"
    # → "Ol'ga"), which must meet the passport's "Olga"; "O'Brien" meets "OBrien" too.
    latin = _APOSTROPHES.sub("", latin)
    return _NON_ALNUM.sub(" ", latin).strip()


def tokens(text: str) -> list[str]:
    """The distinct words of ``normalize(text)``, in order, at most ``MAX_TOKENS``."""
    seen: dict[str, None] = {}
    for word in normalize(text).split():
        seen.setdefault(word, None)
    return list(seen)[:MAX_TOKENS]


def phone_digits(text: str) -> str:
    """A phone number as its digits only ("+7 (928) 000-11-22" → "79280001122")."""
    return _NON_DIGIT.sub("", unidecode(unicodedata.normalize("NFKC", text), errors="ignore"))
