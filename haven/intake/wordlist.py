"""The codename word lists, one per language of the site; each has 7,776 distinct words, so
seven words give log2(7776**7) ≈ 90.5 bits whichever list a codename came from.

- English: the EFF large word list (CC BY 3.0, Electronic Frontier Foundation), as shipped in
  the `diceware` package (``data/wordlist.txt``).
- Russian: common, short, unambiguous nouns (``data/wordlist_ru.txt``; how it was made, its
  sources and licence are in its header and in ``data/README.md``).

A log-in does not need to know which list a codename came from: the lookup tag is derived
from the normalized words themselves (``intake_crypto.codename_normalize``).
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
WORDLIST_PATH = DATA / "wordlist.txt"
LISTS = {"en": WORDLIST_PATH, "ru": DATA / "wordlist_ru.txt"}
SIZE = 7776


@functools.cache
def _load(path: Path) -> tuple[str, ...]:
    found = tuple(
        line.strip() for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    )
    # Distinct after the log-in's normalization too (ё read as е), or two codenames would
    # share a tag and the list would be weaker than it looks.
    folded = {w.replace("ё", "е") for w in found}
    if len(folded) != len(found) or len(found) < SIZE:
        raise RuntimeError(f"{path} is damaged: need {SIZE} distinct words.")
    return found


def words(language: str = "en") -> tuple[str, ...]:
    """Every word of the list for ``language`` (English for any other), in file order;
    refuses a damaged list rather than weakening codenames."""
    return _load(LISTS.get((language or "en")[:2].lower(), WORDLIST_PATH))


def entropy_bits(count: int, language: str = "en") -> float:
    """Bits of a codename of ``count`` words drawn independently and uniformly."""
    return count * math.log2(len(words(language)))
