"""The codename word list: the EFF large word list (7,776 words; CC BY 3.0, Electronic Frontier
Foundation), as shipped in the `diceware` package. Seven words give log2(7776**7) ≈ 90.5 bits."""

from __future__ import annotations

import functools
import math
from pathlib import Path

WORDLIST_PATH = Path(__file__).resolve().parent / "data" / "wordlist.txt"


@functools.cache
def words() -> tuple[str, ...]:
    """Every word once, in file order; refuses a damaged list rather than weakening codenames."""
    found = tuple(
        line.strip() for line in WORDLIST_PATH.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    )
    if len(set(found)) != len(found) or len(found) < 7776:
        raise RuntimeError(f"{WORDLIST_PATH} is damaged: need 7776 distinct words.")
    return found


def entropy_bits(count: int) -> float:
    """Bits of a codename of ``count`` words drawn independently and uniformly."""
    return count * math.log2(len(words()))
