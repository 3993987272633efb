"""Matching keys for each word of a name.

``careful``: the word in Latin letters, passport style. Cyrillic follows ICAO Doc 9303
(х → kh, ц → ts, ю → iu, я → ia, й → i, ё → e; signs dropped), Arabic script a consonantal
transliteration, Latin stays as normalised. Two spellings share a careful key only when
they are the same letters ("Зелимхан" and "ZELIMKHAN").

``skeletons``: the careful key with every choice romanisation systems disagree on folded
away, so "Zelimkhan", "Selimchan", "Zelimhan" and "Zelimxan" share one. Digraphs for the
same sound become one class letter (kh/ch/h/x/sh/sch/tsch → h; zh/dzh/dj/dsch → j;
ts/tz/c/z/s → s; w/f/v, -ff and -w endings → v; q/ck → k); a run of vowels (y and a
glide j included) becomes the class of its last vowel — a/o → a (akanye: Magamed), e/i/y → i,
u → u — so ya/ia/ja → a, ye/je/ie/ei/ay → i, yu/iu/ju/ou → u, while Hasan and Husayn stay
apart; doubled letters become one. A bare "j"
is a glide in English, German and passports (Jandarbijew) but "ж" in French (Jenia), and a
bare "x" is "kh" in Chechen Latin but "ks" elsewhere: such words get both readings, so
they have two skeletons.

``consonants``: the first skeleton without its vowels — what an Arabic-script spelling,
which writes few vowels, can be compared on.

``group``: for given names in the table of equivalents (``equivalents.py``), the group's
name: Магомед, Muhammad, Mohammed and Magomet share "muhammad".

``RULES_VERSION`` must change with any rule here, in ``normalise`` or in the table: the
stored tokens are then rebuilt (``haven people reindex``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from unidecode import unidecode

from haven.people.names import equivalents
from haven.people.names.normalise import normalise_tokens, script_of

RULES_VERSION = 1

_ICAO = str.maketrans({
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ы": "y", "э": "e", "ю": "iu", "я": "ia", "і": "i", "ї": "i", "є": "ie",
    "ґ": "g", "ў": "u", "ӏ": "", "ә": "a", "ө": "o", "ү": "u", "ҳ": "kh", "қ": "k", "ғ": "g",
    "ң": "n", "һ": "h"})
_ARABIC = str.maketrans({
    "ا": "a", "ب": "b", "ت": "t", "ث": "th", "ج": "j", "ح": "h", "خ": "kh", "د": "d",
    "ذ": "dh", "ر": "r", "ز": "z", "س": "s", "ش": "sh", "ص": "s", "ض": "d", "ط": "t",
    "ظ": "z", "ع": "", "غ": "gh", "ف": "f", "ق": "q", "ك": "k", "ل": "l", "م": "m", "ن": "n",
    "ه": "h", "و": "w", "ي": "y", "ء": "", "پ": "p", "چ": "ch", "ژ": "zh", "گ": "g"})

# Class letters are upper case while a skeleton is built, so that a "j" made from "zh" is
# not taken for a bare "j" (a glide or "ж") later. Longest first: "tsch" before "ts" and
# "sch", "dzh" before "zh"; replacements are upper case, so none is read twice.
_MULTI = (("schtsch", "H"), ("shch", "H"), ("tsch", "H"), ("dsch", "J"), ("sch", "H"),
          ("dzh", "J"), ("tch", "H"), ("dj", "J"), ("zh", "J"), ("kh", "H"), ("ch", "H"),
          ("sh", "H"), ("sz", "H"), ("cz", "H"), ("ts", "S"), ("tz", "S"), ("th", "T"),
          ("dh", "D"), ("ph", "V"), ("gh", "G"), ("ck", "K"), ("qu", "K"))
_SINGLE = str.maketrans({"c": "S", "z": "S", "s": "S", "q": "K", "k": "K", "w": "V",
                         "f": "V", "v": "V", "h": "H", "a": "1", "o": "1", "e": "2",
                         "i": "2", "y": "2", "u": "3"})
# A run of vowel classes becomes its last one; then the classes become letters.
_VOWEL_RUNS = re.compile(r"[123]{2,}")
_VOWEL_LETTERS = str.maketrans({"1": "a", "2": "i", "3": "u"})
_DOUBLES = re.compile(r"(.)\1+")


_MULTI_LETTER = dict(_MULTI)
_MULTI_RE = re.compile("|".join(d for d, _ in _MULTI))


def _multi(match: re.Match[str]) -> str:
    return _MULTI_LETTER[match.group()]


def _classes(careful: str) -> str:
    return _MULTI_RE.sub(_multi, careful).translate(_SINGLE)


def _last(match: re.Match[str]) -> str:
    return match.group()[-1]


def _first(match: re.Match[str]) -> str:
    return match.group()[0]


def _finish(classes: str) -> str:
    vowels = _VOWEL_RUNS.sub(_last, classes).translate(_VOWEL_LETTERS)
    return _DOUBLES.sub(_first, vowels).lower()


@lru_cache(maxsize=262144)
def careful_key(word: str) -> str:
    """The passport-style Latin form of one normalised word (ICAO 9303 for Cyrillic)."""
    script = _word_script(word)
    if script == "cyrillic":
        word = word.translate(_ICAO)
    elif script == "arabic":
        word = word.translate(_ARABIC)
    if not word.isascii():
        word = unidecode(word, errors="ignore")
    word = word.lower()
    return word if word.isalnum() else "".join(c for c in word if c.isalnum())


@lru_cache(maxsize=262144)
def skeletons(careful: str) -> tuple[str, ...]:
    """One or two coarse skeletons of a careful key (two when a bare "j" or "x" has two
    readings); never empty for a non-empty key."""
    if not careful:
        return ()
    classes = _classes(careful)
    if "j" not in classes and "x" not in classes:
        return (_finish(classes),)
    first = _finish(classes.replace("j", "2").replace("x", "KS"))
    second = _finish(classes.replace("j", "J").replace("x", "H"))
    return (first,) if first == second else (first, second)


def consonants(skeleton: str) -> str:
    """A skeleton without its vowel marks (at least its first letter)."""
    bare = skeleton.replace("a", "").replace("i", "").replace("u", "")
    return bare or skeleton[:1]


def _word_script(word: str) -> str:
    for char in word:
        kind = script_of(char)
        if kind != "latin":
            return kind
    return "latin"


@dataclass(frozen=True, slots=True)
class TokenKeys:
    """The keys of one word of a name (see the module docstring)."""

    word: str
    script: str
    careful: str
    skeletons: tuple[str, ...]
    consonants: str
    group: str | None


@dataclass(frozen=True, slots=True)
class NameKeys:
    """The keys of every word of one name, in the order written."""

    tokens: tuple[TokenKeys, ...]

    def __bool__(self) -> bool:
        return bool(self.tokens)


@lru_cache(maxsize=262144)
def token_keys(word: str) -> TokenKeys | None:
    """The keys of one normalised word; None when it has no Latin form at all."""
    careful = careful_key(word)
    if not careful:
        return None
    skels = skeletons(careful)
    return TokenKeys(word=word, script=_word_script(word), careful=careful, skeletons=skels,
                     consonants=consonants(skels[0]), group=group_of(skels))


def name_keys(text: str) -> NameKeys:
    """The keys of every word of ``text`` (``normalise_tokens``), words without a Latin form
    left out."""
    found = (token_keys(word) for word in normalise_tokens(text))
    return NameKeys(tuple(t for t in found if t is not None))


def build_equivalents() -> dict[str, str]:
    """Skeleton → group of ``equivalents.GROUPS``; raises ValueError on a clash."""
    table: dict[str, str] = {}
    for group, spellings in equivalents.GROUPS.items():
        for spelling in spellings:
            for word in normalise_tokens(spelling):
                for skeleton in skeletons(careful_key(word)):
                    other = table.setdefault(skeleton, group)
                    if other != group:
                        msg = f"skeleton {skeleton!r} is in two groups: {other}, {group}"
                        raise ValueError(msg)
    return table


@lru_cache(maxsize=1)
def equivalents_table() -> dict[str, str]:
    """Skeleton → group name, built once."""
    return build_equivalents()


def group_of(skels: tuple[str, ...]) -> str | None:
    """The group of a word with these skeletons, or None."""
    found = equivalents_table()
    for skeleton in skels:
        group = found.get(skeleton)
        if group is not None:
            return group
    return None
