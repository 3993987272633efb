"""Duplicate detection weights: the Fellegi–Sunter way, field by field.

Two records of people are compared on each field at a few levels of agreement; each level
has an *m* probability (how often two records of the same person agree at that level) and a
*u* probability (how often two records of different people do, by chance). The field's
weight is ``log2(m / u)``: positive evidence for agreement, negative for disagreement, zero
for a field missing on either side. The pair's weight is the sum. Common names weigh less:
for a name agreeing exactly or likely, *u* is raised by how often that name occurs in the
registry (``NameFrequency``), so two "Магомед Магомедов" agree on little.

Levels:

- **name** (``names.compare``, both ways): exact, likely, possible, none;
- **date of birth** with its usual errors: the same full date; the same as far as both go
  (one has only the year or year and month); day and month swapped; a year off with the same
  day and month; different;
- **phone**: the last ten digits equal, or not;
- **place**: the same words in any script (their skeletons: Грозный = Grozny), or not.

The probabilities are set by hand from what intake and case records look like and are the
starting point for estimating them from reviewed pairs (expectation–maximisation, as Splink
does); ``bench/bench_names.py`` measures precision and recall on the generated set. Nothing
here merges anything: a weight only orders pairs for a person to review.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from haven.people.names.keys import NameKeys, name_keys
from haven.people.names.score import Level, compare

# (m, u) per level of each field.
NAME_LEVELS = {"exact": (0.55, 0.0005), "likely": (0.33, 0.002), "possible": (0.09, 0.03),
               "none": (0.03, 0.9675)}
DOB_LEVELS = {"same": (0.78, 0.0001), "partial": (0.10, 0.03), "swapped": (0.04, 0.0002),
              "year_off": (0.04, 0.0003), "different": (0.04, 0.9694)}
PHONE_LEVELS = {"same": (0.55, 0.0001), "different": (0.45, 0.9999)}
PLACE_LEVELS = {"same": (0.6, 0.05), "different": (0.4, 0.95)}
THRESHOLD = 9.0  # a pair at least this heavy goes to review (bench_names.py chose it)


@dataclass(frozen=True)
class Record:
    """What duplicate detection reads of a person (decrypted, in memory only)."""

    names: tuple[str, ...]
    dob: str = ""
    phone: str = ""
    place: str = ""


@dataclass(frozen=True)
class FieldWeight:
    field: str
    level: str
    weight: float


@dataclass(frozen=True)
class PairWeight:
    """A pair's total weight and each field's part (what a reviewer is shown)."""

    total: float
    fields: tuple[FieldWeight, ...]

    @property
    def likely_duplicate(self) -> bool:
        return self.total >= THRESHOLD


def _weight(m: float, u: float) -> float:
    return math.log2(m / u)


@dataclass
class NameFrequency:
    """How common each name is in a registry: counts of the (given name, surname) pairs of
    words by their classes (equivalence group, else first skeleton)."""

    counts: Counter[tuple[str, ...]] = field(default_factory=Counter)
    people: int = 0

    @staticmethod
    def classes(name: NameKeys) -> list[str]:
        return sorted({t.group or t.skeletons[0] for t in name.tokens})

    @classmethod
    def of(cls, records: Iterable[Record]) -> NameFrequency:
        """Counts every pair of words of each record's first name (a name of three words
        counts for each of its pairs: given name and surname, given name and patronymic…)."""
        made = cls()
        for record in records:
            made.people += 1
            if record.names:
                words = cls.classes(name_keys(record.names[0]))
                made.counts.update({(x, y) for i, x in enumerate(words) for y in words[i + 1:]})
                if len(words) == 1:
                    made.counts[(words[0],)] += 1
        return made

    def share(self, name: NameKeys) -> float:
        """The share of the registry holding this name's rarest pair of words (0 when
        unknown)."""
        words = self.classes(name)
        pairs: list[tuple[str, ...]] = [(x, y) for i, x in enumerate(words)
                                         for y in words[i + 1:]] or [tuple(words)]
        if not self.people or not pairs:
            return 0.0
        return min(self.counts[p] for p in pairs) / self.people


def name_level(a: Record, b: Record) -> tuple[str, NameKeys | None]:
    """The best level at which any name of ``a`` meets any name of ``b``, both ways, and the
    shorter of the two names that met (what the pair is known to share: "Магомед Басаев"
    meeting "Магомед Арсенович Басаев" is as common as "Магомед Басаев")."""
    best: tuple[int, str, NameKeys | None] = (0, "none", None)
    for x in a.names:
        kx = name_keys(x)
        for y in b.names:
            ky = name_keys(y)
            for match in (compare(kx, ky), compare(ky, kx)):
                rank = int(match.level or 0)
                if rank > best[0]:
                    shorter = kx if len(kx.tokens) <= len(ky.tokens) else ky
                    best = (rank, Level(rank).label, shorter)
    return best[1], best[2]


def dob_level(a: str, b: str) -> str | None:
    """How two dates of birth ("YYYY", "YYYY-MM" or "YYYY-MM-DD") agree; None if either is
    missing."""
    if not a or not b:
        return None
    pa, pb = a.split("-"), b.split("-")
    if pa == pb and len(pa) == 3:
        return "same"
    common = min(len(pa), len(pb))
    if pa[:common] == pb[:common]:
        return "partial"
    if len(pa) == len(pb) == 3:
        if pa[0] == pb[0] and pa[1] == pb[2] and pa[2] == pb[1]:
            return "swapped"
        if pa[1:] == pb[1:] and abs(int(pa[0]) - int(pb[0])) == 1:
            return "year_off"
    return "different"


def _place(text: str) -> set[str]:
    return {t.skeletons[0] for t in name_keys(text).tokens}


def weigh(a: Record, b: Record, frequency: NameFrequency | None = None) -> PairWeight:
    """The Fellegi–Sunter weight of a pair of records (see the module docstring)."""
    fields: list[FieldWeight] = []
    level, keys = name_level(a, b)
    m, u = NAME_LEVELS[level]
    if frequency is not None and keys is not None and level in {"exact", "likely"}:
        u = max(u, frequency.share(keys))
    fields.append(FieldWeight("name", level, _weight(m, u)))
    dob = dob_level(a.dob, b.dob)
    if dob is not None:
        fields.append(FieldWeight("dob", dob, _weight(*DOB_LEVELS[dob])))
    da, db = "".join(c for c in a.phone if c.isdigit()), "".join(
        c for c in b.phone if c.isdigit())
    if len(da) >= 5 and len(db) >= 5:
        phone = "same" if da[-10:] == db[-10:] else "different"
        fields.append(FieldWeight("phone", phone, _weight(*PHONE_LEVELS[phone])))
    if a.place and b.place:
        place = "same" if _place(a.place) == _place(b.place) else "different"
        fields.append(FieldWeight("place", place, _weight(*PLACE_LEVELS[place])))
    return PairWeight(round(sum(f.weight for f in fields), 2), tuple(fields))


PREFIX = 4


def blocking_keys(record: Record) -> set[tuple[str, str]]:
    """The keys that make two records a candidate pair: any two words of any name, each by
    its class (equivalence group, else each skeleton), by the first ``PREFIX`` letters of its
    skeleton or by its consonants, so word order, romanisation, a dropped patronymic and
    most single wrong letters still meet. A pair sharing no key is never weighed."""
    out: set[tuple[str, str]] = set()
    for text in record.names:
        tokens = name_keys(text).tokens
        classes = [({t.group} if t.group else set(t.skeletons))
                   | {"^" + s[:PREFIX] for s in t.skeletons} | {"~" + t.consonants}
                   for t in tokens]
        for i, first in enumerate(classes):
            for second in classes[i + 1:]:
                out |= {(min(x, y), max(x, y)) for x in first for y in second}
    return out
