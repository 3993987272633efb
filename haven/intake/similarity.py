"""Which requests are nearly the same: a MinHash (bottom-k) sketch of each request's words,
computed in memory from the decrypted request and never stored.

A flood is the same text sent many times, or a template with a few words changed. Each
request's text (contact, place, story) is folded (NFKC, case, digits to one sign) and cut into
overlapping three-word shingles; its sketch is the ``SKETCH`` smallest hashes of those
shingles, which estimates the Jaccard similarity of two shingle sets (Broder's bottom-k
MinHash: exact for texts with fewer shingles than the sketch). Two requests with an
estimated similarity of ``THRESHOLD`` or more are grouped; so are requests with the same
lineage tag (sent from one browser session).

Candidates are found through each sketch's few smallest hashes, and a cluster keeps only one
member per index entry, so ten thousand copies of one text cost ten thousand comparisons,
not fifty million. Python's ``hash`` (SipHash, keyed per process) is enough here: sketches
live only within one screening run in one process.
"""

from __future__ import annotations

import heapq
import re
import unicodedata
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

SKETCH = 64
THRESHOLD = 0.6
CANDIDATE_KEYS = 4
_MASK = (1 << 64) - 1
_WORD = re.compile(r"\w+")
_DIGITS = re.compile(r"\d+")

Sketch = tuple[int, ...]
K = TypeVar("K", bound=Hashable)


def words(text: str) -> list[str]:
    """The text's words, folded: compatibility forms, case, ё as е, every number as one sign
    (a flood numbering its copies is still one flood)."""
    folded = unicodedata.normalize("NFKC", text).casefold().replace("ё", "е")
    return _WORD.findall(_DIGITS.sub("#", folded))


def sketch(text: str) -> Sketch:
    """The bottom-``SKETCH`` hashes of the text's three-word shingles, in ascending order."""
    found = words(text)
    shingles = {" ".join(found[i:i + 3]) for i in range(max(1, len(found) - 2))}
    return tuple(sorted(heapq.nsmallest(SKETCH, {hash(s) & _MASK for s in shingles})))


def similarity(a: Sketch, b: Sketch) -> float:
    """Estimated Jaccard similarity of the shingle sets behind two sketches."""
    if not a or not b:
        return 1.0 if a == b else 0.0
    seen_a, seen_b = set(a), set(b)
    union = heapq.nsmallest(SKETCH, seen_a | seen_b)
    return sum(1 for h in union if h in seen_a and h in seen_b) / len(union)


@dataclass(frozen=True)
class Item(Generic[K]):
    key: K
    sketch: Sketch | None  # None: known only by its lineage (not decrypted in this run)
    lineage: bytes | None


def clusters(items: Sequence[Item[K]], threshold: float = THRESHOLD) -> list[list[K]]:
    """Groups of two or more items that are alike (by text, transitively) or share a lineage;
    each group's keys in the order the items were given."""
    parent = list(range(len(items)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)

    by_lineage: dict[bytes, int] = {}
    index: dict[int, list[int]] = {}
    for i, item in enumerate(items):
        if item.lineage is not None:
            union(i, by_lineage.setdefault(item.lineage, i))
        if item.sketch is None:
            continue
        keys = item.sketch[:CANDIDATE_KEYS]
        for h in keys:
            for j in index.get(h, ()):
                if find(i) != find(j) and similarity(item.sketch, items[j].sketch or ()
                                                     ) >= threshold:
                    union(i, j)
        for h in keys:
            entries = index.setdefault(h, [])
            # One entry per cluster is enough to be found: a flood of one text stays one
            # comparison per new copy.
            if all(find(j) != find(i) for j in entries):
                entries.append(i)
    groups: dict[int, list[K]] = {}
    for i, item in enumerate(items):
        groups.setdefault(find(i), []).append(item.key)
    return [keys for keys in groups.values() if len(keys) > 1]
