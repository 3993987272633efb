"""Blind candidate tokens of names: what the database keeps so that a search in any script
or spelling finds its candidates without the database ever holding a name or a key.

Each word of a person's legal and other names gives its matching keys (``names``): the
careful key, the skeletons and every skeleton with one letter left out (so that one wrong,
missing or extra letter still shares a token), the consonants and the group of equivalent
given names. Each key is HMAC'd by the key agent under a key derived from the keyring's
index root for the organization and the epoch (``<org>|namekey|<epoch>``), and only the
first ``TOKEN_BITS`` bits are kept: with about 2^18 possible tokens, an organization's
tokens collide with one another on purpose — a token names a bucket of unrelated keys, not
a key. Each person's tokens are padded with random ones to a multiple of ``PAD_TO`` so the
number of rows tells little about the length of a name. Search reads the people holding
the most of the query's tokens, then decrypts those candidates and scores them in memory.

What a copy of the table tells its reader is written in docs/keyring.md ("Name tokens").
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from haven.keyring import keys
from haven.people import names
from haven.people.models import NameIndexState, Person, PersonNameToken

TOKEN_BITS = 18
PAD_TO = 16
# A skeleton shorter than this gives no one-letter-less variants: "ali" less a letter is
# every two-letter name.
DELETION_MIN = 4


def _deletions(skeleton: str) -> set[str]:
    if len(skeleton) < DELETION_MIN:
        return set()
    return {skeleton[:i] + skeleton[i + 1:] for i in range(len(skeleton))}


def key_values(name: names.NameKeys, *, query: bool = False) -> set[str]:
    """The strings to be tokenised for a name: each kind of key in its own namespace, so a
    careful key and a skeleton that happen to be the same letters stay apart.

    A stored name gives its skeletons' one-letter-less variants; a query gives them too, so
    a substitution (both lose the same letter), a missing letter (the query's skeleton is a
    stored variant) and an extra letter (a query variant is the stored skeleton) all meet.
    Consonants are kept for every stored word but asked for only by Arabic-script query
    words, which write few vowels.
    """
    values: set[str] = set()
    for word in name.tokens:
        values.add(f"c:{word.careful}")
        for skeleton in word.skeletons:
            values.add(f"s:{skeleton}")
        values.update(f"s:{v}" for v in _deletions(word.skeletons[0]))
        if word.group is not None:
            values.add(f"g:{word.group}")
        if not query or word.script == "arabic":
            values.add(f"k:{word.consonants}")
    return values


def _truncate(digest: bytes) -> int:
    return int.from_bytes(digest[:4], "big") >> (32 - TOKEN_BITS)


def tokens_for(org: str, epoch: int, values: Sequence[str]) -> list[int]:
    """The truncated tokens of ``values`` for one organization and epoch (one agent call)."""
    digests = keys.blind_indexes(f"{org}|namekey|{epoch}", list(values))
    return [_truncate(d) for d in digests]


def state() -> NameIndexState:
    """The index's state row (created on first use)."""
    row, _ = NameIndexState.objects.get_or_create(pk=1, defaults={"rules": 0})
    return row


def live_epochs() -> list[int]:
    """The epochs search reads: the current one and, during a rebuild, the one being built."""
    row = state()
    return [row.epoch] if row.building is None else [row.epoch, row.building]


def person_names(person: Person) -> list[str]:
    """A person's names as separate strings (legal name, then each other name): other names
    are one per line, or separated by commas or semicolons."""
    others = [n.strip() for n in str(person.other_names or "").replace(";", "\n").replace(
        ",", "\n").splitlines()]
    return [str(person.legal_name or ""), *[n for n in others if n]]


def _padding(count: int) -> list[int]:
    missing = -count % PAD_TO
    return [secrets.randbelow(1 << TOKEN_BITS) for _ in range(missing)]


def token_rows(people: Iterable[Person], epochs: Sequence[int]) -> list[PersonNameToken]:
    """The token rows of ``people`` (names readable) in each of ``epochs``: one agent call per
    organization and epoch."""
    plan: list[tuple[Person, str, set[str]]] = []
    wanted: dict[str, set[str]] = {}
    for person in people:
        org = str(person.organization_id)
        values: set[str] = set()
        for text in person_names(person):
            values |= key_values(names.name_keys(text))
        plan.append((person, org, values))
        wanted.setdefault(org, set()).update(values)
    rows: list[PersonNameToken] = []
    for epoch in epochs:
        token_of: dict[tuple[str, str], int] = {}
        for org, values in wanted.items():
            ordered = sorted(values)
            token_of.update({(org, v): t for v, t in zip(
                ordered, tokens_for(org, epoch, ordered), strict=True)})
        for person, org, values in plan:
            own = sorted({token_of[(org, v)] for v in values})
            rows += [PersonNameToken(person=person, epoch=epoch, token=t)
                     for t in own + _padding(len(own))]
    return rows


def person_tokens_write(person: Person) -> None:
    """Replace one person's tokens in every live epoch; in the caller's transaction."""
    rows = token_rows([person], live_epochs())
    PersonNameToken.objects.filter(person=person).delete()
    PersonNameToken.objects.bulk_create(rows)


@dataclass(frozen=True)
class QueryTokens:
    """A query's tokens for each live epoch."""

    by_epoch: dict[int, list[int]]

    def __bool__(self) -> bool:
        return any(self.by_epoch.values())


def query_tokens(org: str, name: names.NameKeys) -> QueryTokens:
    """The tokens a search for ``name`` looks for, in each live epoch."""
    values = sorted(key_values(name, query=True))
    if not values:
        return QueryTokens({})
    return QueryTokens({epoch: sorted(set(tokens_for(org, epoch, values)))
                        for epoch in live_epochs()})


@dataclass(frozen=True)
class RebuildProgress:
    """How far a rebuild is: people done so far, people left when it started."""

    done: int
    total: int


def rebuild(*, rotate: bool, batch: int, progress: Any = None) -> tuple[int, bool]:
    """Write every person's tokens in a new epoch, then switch search to it and delete the old
    epoch's rows; returns (people written, whether a rebuild ran).

    Runs when ``rotate`` asks for a new HMAC key (after ``haven keys rotate``), when the
    rules (``names.RULES_VERSION``) changed since the current epoch was built, or when a
    previous rebuild was interrupted. Resumable: the epoch being built is remembered, people
    already holding its tokens are skipped, and person writes meanwhile write both epochs,
    so running it again finishes the job. Searches read both epochs until the switch.
    """
    row = state()
    if row.building is None:
        if not rotate and row.rules == names.RULES_VERSION:
            return 0, False
        row.building = row.epoch + 1
        row.save(update_fields=["building"])
    target = row.building
    pending = Person.objects.exclude(name_tokens__epoch=target).order_by("pk")
    total = pending.count()
    done = 0
    last = None
    while True:
        page = pending if last is None else pending.filter(pk__gt=last)
        people = list(page[:batch])
        if not people:
            break
        last = people[-1].pk
        readable = [p for p in keys.readable(people) if isinstance(p, Person)]
        rows = token_rows(readable, [target])
        with transaction.atomic():
            PersonNameToken.objects.filter(person__in=readable, epoch=target).delete()
            PersonNameToken.objects.bulk_create(rows, batch_size=5000)
        done += len(people)
        if progress is not None:
            progress(RebuildProgress(done, total))
    with transaction.atomic():
        NameIndexState.objects.filter(pk=row.pk).update(epoch=target, building=None,
                                                        rules=names.RULES_VERSION)
        PersonNameToken.objects.exclude(epoch=target).delete()
    return done, True
