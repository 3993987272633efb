"""How well a candidate's name matches a query, and why.

Words are paired order-free (a surname first or last, a patronymic left out): each query
word takes the candidate word it matches best, each candidate word serving once. A pair is
"same spelling" (careful keys equal), "same skeleton" (another romanisation), "equivalent"
(the table of given names), "same consonants" (an Arabic-script word), "one letter
differs" (a Levenshtein distance of one between careful keys of at least five letters, or
between skeletons of at least six, from rapidfuzz) or "similar" (rapidfuzz's normalised similarity). The
levels make a claim only as strong as the evidence:

* ``exact``: every query word has the same spelling, and at least two words (or the whole
  name) matched;
* ``likely``: at least two query words, every one matched by spelling, skeleton or
  equivalent, at most one of them off by one letter;
* ``possible``: anything else that scores at least ``POSSIBLE_SCORE`` — a similar name, a
  shared surname — shown, never claimed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Literal, cast

from rapidfuzz.distance import Levenshtein
from rapidfuzz.fuzz import ratio

from haven.people.names.keys import NameKeys, TokenKeys

POSSIBLE_SCORE = 55.0
TYPO_MIN_LENGTH = 5
# Skeletons are coarse already: one letter apart there is often two apart in the name
# (Belov / Beliaev), so only longer skeletons count as "one letter differs".
TYPO_MIN_SKELETON = 6
# What a pair scores, by kind of evidence (0-100).
SAME, SKELETON, EQUIVALENT, CONSONANTS, TYPO = 100.0, 96.0, 92.0, 88.0, 85.0
SIMILAR_FLOOR = 60.0


MatchLabel = Literal["exact", "likely", "possible"]


class Level(IntEnum):
    """Match levels, strongest last (so ``max`` and sorting work)."""

    POSSIBLE = 1
    LIKELY = 2
    EXACT = 3

    @property
    def label(self) -> MatchLabel:
        return cast("MatchLabel", self.name.lower())


@dataclass(frozen=True)
class Pair:
    """One query word matched to one candidate word."""

    query: str
    score: float
    reason: str


@dataclass(frozen=True)
class Match:
    """A candidate's score (0-100), its level (None: not a match) and the reasons."""

    score: float
    level: Level | None
    pairs: tuple[Pair, ...]
    unmatched: int

    @property
    def why(self) -> str:
        parts = [f"{p.query}: {p.reason}" for p in self.pairs]
        if self.unmatched:
            parts.append(f"{self.unmatched} word(s) not matched")
        return "; ".join(parts)


def pair_score(q: TokenKeys, c: TokenKeys) -> tuple[float, str]:
    """How well one query word matches one candidate word, and the kind of evidence."""
    if q.careful == c.careful:
        return SAME, "same spelling"
    if set(q.skeletons) & set(c.skeletons):
        return SKELETON, "same skeleton"
    if q.group is not None and q.group == c.group:
        return EQUIVALENT, "equivalent name"
    if "arabic" in (q.script, c.script) and q.consonants == c.consonants:
        return CONSONANTS, "same consonants"
    if min(len(q.careful), len(c.careful)) >= TYPO_MIN_LENGTH and (
            Levenshtein.distance(q.careful, c.careful, score_cutoff=1) <= 1
            or any(Levenshtein.distance(a, b, score_cutoff=1) <= 1
                   for a in q.skeletons for b in c.skeletons
                   if min(len(a), len(b)) >= TYPO_MIN_SKELETON)):
        return TYPO, "one letter differs"
    similar = max(ratio(a, b) for a in q.skeletons for b in c.skeletons)
    if similar >= SIMILAR_FLOOR:
        return similar * 0.8, "similar"
    return 0.0, ""


def _level(pairs: list[Pair], query: NameKeys, candidate: NameKeys) -> Level | None:
    matched = [p for p in pairs if p.score >= TYPO]
    whole = len(pairs) == len(query.tokens) == len(matched)
    if whole and all(p.score == SAME for p in pairs) and (
            len(pairs) >= 2 or len(candidate.tokens) == 1):
        return Level.EXACT
    if whole and len(pairs) >= 2 and sum(p.score == TYPO for p in pairs) <= 1:
        return Level.LIKELY
    return None


def compare(query: NameKeys, candidate: NameKeys) -> Match:
    """Score ``candidate`` against ``query`` (see the module docstring)."""
    if not query or not candidate:
        return Match(0.0, None, (), len(query.tokens))
    scored = sorted(((pair_score(q, c), i, j) for i, q in enumerate(query.tokens)
                     for j, c in enumerate(candidate.tokens)), key=lambda x: -x[0][0])
    used_q: set[int] = set()
    used_c: set[int] = set()
    pairs: dict[int, Pair] = {}
    for (score, reason), i, j in scored:
        if score <= 0 or i in used_q or j in used_c:
            continue
        used_q.add(i)
        used_c.add(j)
        pairs[i] = Pair(query.tokens[i].word, score, reason)
    ordered = [pairs[i] for i in sorted(pairs)]
    # The mean over the query's words; a candidate word left over (a patronymic the query
    # left out) costs a little, so the fuller match of two otherwise equal ones ranks first.
    total = sum(p.score for p in ordered) / len(query.tokens)
    total -= 2.0 * (len(candidate.tokens) - len(ordered))
    level = _level(ordered, query, candidate)
    if level is None and total >= POSSIBLE_SCORE:
        level = Level.POSSIBLE
    return Match(round(max(total, 0.0), 2), level, tuple(ordered),
                 len(query.tokens) - len(ordered))
