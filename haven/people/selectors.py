"""Reads of people. Every read starts from ``policy.people_visible_to`` (a person is visible
exactly when one of their cases is); reading identifying fields is recorded in the audit log
(ids only)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from haven.access import policy
from haven.access.permissions import Perm
from haven.audit.services import record
from haven.core.errors import NotFound
from haven.keyring import files, keys, normalize
from haven.people import name_index, names
from haven.people.models import IndexKind, Person, PersonFile, PersonIndex, PersonNameToken

MAX_RESULTS = 50
RARITY_SCAN = 5000
# A ranked search decrypts and scores at most this many candidates: the visible people
# holding the most of the query's name tokens.
CANDIDATES = 300


def people_visible(actor: Any) -> QuerySet[Person]:
    """The people ``actor`` may see (``policy.people_visible_to``)."""
    return policy.people_visible_to(actor, Person.objects.all())


def person_get(*, actor: Any, person_id: UUID | str) -> Person:
    """One visible person, or NotFound (the same answer as for a person who does not exist)."""
    person = people_visible(actor).filter(pk=person_id).first()
    if person is None:
        raise NotFound("Not found.")
    return person


@dataclass(frozen=True)
class PersonSearch:
    """A name or phone search through the blind index, in the two shapes callers need.

    Digests are keyed per organization, so they match only its people, and the values are
    never decrypted. ``queries`` finds the people: with one word, a range of the
    (kind, digest, person) index; with several, from the rarest word's range, each person
    checked for the other words in the (person, kind, digest) index, which stops after
    ``limit`` matches — unless even the rarest word is common (``common``: at least
    ``RARITY_SCAN`` people, "Magomed Magomedov" in a large organization), when the words'
    ranges are intersected instead (``IN`` a subquery: a merge of two index ranges, both
    read from the index alone in person order, about 12 ms for 30,000 and 55,000 entries on
    PostgreSQL), where checking person by person would cost a lookup for each of them. ``matches(person)`` is the same test for one person
    whose id is the expression ``person`` (an ``OuterRef``), for a caller that checks a page
    of rows.
    """

    names: tuple[bytes, ...]
    phone: bytes | None
    common: bool = False

    def queries(self) -> list[QuerySet[Any]]:
        """The matches as subqueries of ``person_id`` values: by name, and by phone number
        when the query looks like one. Each is fast on its own; an OR of them is not (the
        database would check every row against both)."""

        def token(digest: bytes) -> QuerySet[Any]:
            return PersonIndex.objects.filter(kind=IndexKind.NAME, digest=digest).values_list(
                "person_id", flat=True)

        rarest, *others = self.names
        found = token(rarest)
        for digest in others:
            found = found.filter(person_id__in=token(digest)) if self.common else found.filter(
                Exists(PersonIndex.objects.filter(person_id=OuterRef("person_id"),
                                                  kind=IndexKind.NAME, digest=digest)))
        if self.phone is None:
            return [found]
        return [found, PersonIndex.objects.filter(kind=IndexKind.PHONE, digest=self.phone
                                                  ).values_list("person_id", flat=True)]

    def person_ids(self, limit: int | None = None) -> list[UUID]:
        """The matching people's ids, each once: at most ``limit`` of each query's."""
        ids: list[UUID] = []
        for query in self.queries():
            ids += list(query if limit is None else query[:limit])
        return list(dict.fromkeys(ids))

    def matches(self, person: Any) -> Q:
        condition = Q()
        for digest in self.names:
            condition &= Q(Exists(PersonIndex.objects.filter(person_id=person,
                                                             kind=IndexKind.NAME, digest=digest)))
        if self.phone is not None:
            condition |= Q(Exists(PersonIndex.objects.filter(person_id=person,
                                                             kind=IndexKind.PHONE,
                                                             digest=self.phone)))
        return condition


def person_search(actor: Any, q: str, *, rank: bool = True) -> PersonSearch | None:
    """People of the actor's organization whose blind index holds every name token of ``q``
    (or its phone digits); None = no query. The one search path: other apps (cases) call this
    instead of building index digests themselves.

    ``rank``: order several words rarest first by counting the organization's index entries
    of each — what a search from the index needs. A search inside one's own cases
    (``PersonSearch.matches``) does not, and must not: the count covers people the actor may
    not see, and the time it takes would tell how common a name is among them.
    """
    org = str(actor.organization_id)
    words = normalize.tokens(q)
    digits = normalize.phone_digits(q)
    if not words:
        return None
    phone = None
    if len(digits) >= 5 and len(digits) * 2 >= len(q.replace(" ", "")):
        (phone,) = keys.blind_indexes(f"{org}|phone", [digits])
    names = list(dict.fromkeys(keys.blind_indexes(f"{org}|name", words)))
    if len(names) == 1 or not rank:
        return PersonSearch(tuple(names), phone)
    # The rarest token first: a search starts from it ("Magomed Rarename" reads the few
    # Rarenames, not every Magomed). Counting stops at RARITY_SCAN index entries.
    counts = {digest: PersonIndex.objects.filter(kind=IndexKind.NAME, digest=digest)
              .values("person_id")[:RARITY_SCAN].count() for digest in names}
    names.sort(key=counts.__getitem__)
    return PersonSearch(tuple(names), phone, common=counts[names[0]] >= RARITY_SCAN)


def people_matching(actor: Any, q: str) -> QuerySet[Person]:
    """The visible people whose blind index holds every word of ``q`` (or its phone number).

    A coordinator, who sees everyone of the organization, is answered from the index. Anyone
    else searches inside the people they may see, each checked for the words
    (``PersonSearch.matches``), so a match they may not see is never read, counted or timed:
    the answer is the one they would get if that person did not exist.
    """
    everyone = policy.has_perm(actor, Perm.CASE_SUPERVISE)
    search = person_search(actor, q, rank=everyone)
    qs = people_visible(actor)
    if search is None:
        return qs.none()
    if everyone:
        return qs.filter(pk__in=search.person_ids())
    return qs.filter(search.matches(OuterRef("pk")))


def person_ids_matching(actor: Any, q: str) -> list[UUID] | None:
    """The ids of ``people_matching`` as a list; None = no query."""
    if not normalize.tokens(q):
        return None
    return list(people_matching(actor, q).values_list("pk", flat=True))


@dataclass(frozen=True)
class Ranked:
    """A visible person a name search found, with how well the name matches."""

    person: Person
    match: names.Match


def _looks_like_phone(q: str) -> bool:
    digits = normalize.phone_digits(q)
    return len(digits) >= 5 and len(digits) * 2 >= len(q.replace(" ", ""))


def _candidates(actor: Any, query: names.NameKeys) -> list[Person]:
    """The visible people holding the most of the query's name tokens, at most
    ``CANDIDATES``. The visible people come first: the token rows are read only for them
    (a coordinator's are the organization's people; anyone else's, the people of their
    cases, passed as a list), so a person the actor may not see is never a candidate."""
    tokens = name_index.query_tokens(str(actor.organization_id), query)
    if not tokens:
        return []
    wanted = Q()
    for epoch, values in tokens.by_epoch.items():
        wanted |= Q(epoch=epoch, token__in=values)
    visible = people_visible(actor)
    if policy.has_perm(actor, Perm.CASE_SUPERVISE):
        rows = PersonNameToken.objects.filter(wanted, person__in=visible.values("pk"))
    else:
        rows = PersonNameToken.objects.filter(
            wanted, person_id__in=list(visible.values_list("pk", flat=True)))
    best = (rows.values("person_id").annotate(n=Count("token", distinct=True))
            .order_by("-n", "person_id").values_list("person_id", flat=True)[:CANDIDATES])
    return list(visible.filter(pk__in=list(best)))


def people_ranked(*, actor: Any, q: str, limit: int = MAX_RESULTS) -> list[Ranked]:
    """The visible people whose names match ``q`` in any script, spelling, word order, with
    or without a patronymic or with one wrong letter, best first: exact matches, then likely,
    then possible (``names.compare``), each level by score.

    Always inside the people the actor may see (``_candidates``); the candidates' names are
    decrypted in memory for scoring and never leave this function (the caller decides what
    to show). A person whose key was destroyed (being erased) is left out.
    """
    query = names.name_keys(q)
    if not query:
        return []
    people = [p for p in keys.readable(_candidates(actor, query)) if isinstance(p, Person)]
    found: list[Ranked] = []
    for person in people:
        matches = [names.compare(query, names.name_keys(text))
                   for text in name_index.person_names(person)]
        best = max(matches, key=lambda m: (m.level or 0, m.score))
        if best.level is not None:
            found.append(Ranked(person, best))
    found.sort(key=lambda r: (-(r.match.level or 0), -r.match.score, str(r.person.pk)))
    return found[:max(1, limit)]


def person_ids_ranked(actor: Any, q: str, limit: int = MAX_RESULTS) -> list[UUID]:
    """The ids of ``people_ranked``, best first."""
    return [r.person.pk for r in people_ranked(actor=actor, q=q, limit=limit)]


@dataclass(frozen=True)
class PersonRow:
    """A person as a list shows it; identifying fields are None without ``person:reveal``."""

    id: UUID
    created_at: Any
    legal_name: str | None
    other_names: str | None
    phone: str | None
    match: names.MatchLabel | None = None
    why: str | None = None


def person_list(*, actor: Any, q: str = "", limit: int = MAX_RESULTS) -> list[PersonRow]:
    """The people the actor may see, newest first; with ``q``, a phone number (exact, through
    the blind index) or a name in any spelling, ranked (``people_ranked``) with its match
    level and why.

    The database is searched through blind indexes and tokens only, inside the visible
    people. Data keys for the page are unwrapped in one agent call. Names are only shown to
    roles with ``person:reveal``, and a page that reveals names is recorded with the ids
    shown.
    """
    size = max(1, min(limit, MAX_RESULTS))
    levels: dict[Any, names.Match] = {}
    if not q.strip():
        people = list(people_visible(actor).order_by("-created_at")[:size])
    elif _looks_like_phone(q):
        people = list(people_matching(actor, q).order_by("-created_at")[:size])
    else:
        ranked = people_ranked(actor=actor, q=q, limit=size)
        people = [r.person for r in ranked]
        levels = {r.person.pk: r.match for r in ranked}

    def row(p: Person, shown: bool) -> PersonRow:
        m = levels.get(p.pk)
        level = m.level.label if m is not None and m.level is not None else None
        if not shown:
            return PersonRow(p.pk, p.created_at, None, None, None, level,
                             m.why if m else None)
        return PersonRow(p.pk, p.created_at, p.legal_name, p.other_names, p.phone, level,
                         m.why if m else None)

    reveal = policy.has_perm(actor, Perm.PERSON_REVEAL)
    if not reveal:
        return [row(p, False) for p in people]
    keys.prefetch(people)
    rows = [row(p, True) for p in people]
    if rows:
        with transaction.atomic():
            record(actor=actor, action="person.revealed", object_type="person",
                   data={"ids": [str(r.id) for r in rows], "search": bool(q.strip())})
    return rows


def person_file_get(*, actor: Any, person_id: UUID | str, file_id: UUID | str) -> PersonFile:
    """One file of a visible person (``policy.person_files_visible_to``) that the actor may
    open (``person:reveal`` on the person); else NotFound, as for a missing file."""
    person = person_get(actor=actor, person_id=person_id)
    doc = policy.person_files_visible_to(actor, PersonFile.objects.filter(
        person=person, pk=file_id)).select_related("person").first()
    if doc is None:
        raise NotFound("Not found.")
    policy.require(actor, Perm.PERSON_REVEAL, doc)
    return doc


def person_file_open(*, actor: Any, doc: PersonFile) -> Iterator[bytes]:
    """Stream a file decrypted; the download is recorded before the first byte leaves."""
    key = keys.data_key_for(doc.person)
    with transaction.atomic():
        record(actor=actor, action="person.file_downloaded", object_type="person_file",
               object_id=doc.pk, data={"person": str(doc.person_id)})
    return files.open_decrypted(data_key=key, owner=doc.keyring_owner(), file_id=doc.pk)
