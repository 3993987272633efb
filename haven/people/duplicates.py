"""The duplicate review queue: people who may be the same person, weighed field by field
(``names.linkage``), for a reviewer to decide. Nothing is ever merged automatically, and a
decision deletes nothing: "same person" links the two records and names the one kept,
"different people" is remembered so the pair is never proposed again, and either can be
undone. Every proposal, decision and undo is in the audit log (ids and weights, never a
value).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from haven.access import policy
from haven.access.permissions import Perm
from haven.audit.services import record
from haven.cases.models import PersonProfile
from haven.core.errors import ValidationFailed
from haven.keyring import keys
from haven.people import name_index
from haven.people.models import DuplicatePair, PairState, Person, PersonNameToken
from haven.people.names import linkage

# A person is weighed against at most this many people of their organization: those sharing
# the most of their name tokens.
CANDIDATES = 50
# At least this many tokens in common to be weighed at all (padding shares one by chance).
MIN_SHARED = 2
SWEEP_BATCH = 200


def _record_of(person: Person, profile: PersonProfile | None) -> linkage.Record:
    """What linkage reads of a person, decrypted in memory only."""
    dob = place = ""
    if profile is not None:
        dob, place = str(profile.birth_date or ""), str(profile.coarse_location or "")
    return linkage.Record(names=tuple(name_index.person_names(person)),
                          phone=str(person.phone or ""), dob=dob, place=place)


def _records(people: list[Person]) -> dict[Any, linkage.Record]:
    readable = [p for p in keys.readable(people) if isinstance(p, Person)]
    profiles = {p.person_id: p for p in keys.readable(
        PersonProfile.objects.filter(person__in=readable)) if isinstance(p, PersonProfile)}
    return {p.pk: _record_of(p, profiles.get(p.pk)) for p in readable}


def _candidates(person: Person) -> list[Person]:
    """The people of ``person``'s organization sharing the most of their name tokens."""
    epochs = name_index.live_epochs()
    own = PersonNameToken.objects.filter(person=person, epoch__in=epochs).values("token")
    best = (PersonNameToken.objects
            .filter(epoch__in=epochs, token__in=own,
                    person__organization_id=person.organization_id)
            .exclude(person=person).values("person_id")
            .annotate(n=Count("token", distinct=True)).filter(n__gte=MIN_SHARED)
            .order_by("-n", "person_id").values_list("person_id", flat=True)[:CANDIDATES])
    return list(Person.objects.filter(pk__in=list(best)))


def _ordered(a: Person, b: Person) -> tuple[Person, Person]:
    return (a, b) if a.pk.int < b.pk.int else (b, a)


def duplicates_find(actor: Any, person: Person) -> list[DuplicatePair]:
    """Weigh ``person`` against the likely candidates of their organization and queue each
    pair at least ``linkage.THRESHOLD`` heavy; returns the pairs queued or re-weighed.

    A pair already decided (same or different) is left as it is: "different people" is
    never asked again. Reads and decrypts only in memory; ``actor`` (None for a sweep) is
    who the audit log names for each new proposal. Whoever triggers it sees nothing of it.
    """
    candidates = _candidates(person)
    if not candidates:
        return []
    records = _records([person, *candidates])
    mine = records.get(person.pk)
    if mine is None:
        return []
    queued: list[DuplicatePair] = []
    for other in candidates:
        theirs = records.get(other.pk)
        if theirs is None:
            continue
        weight = linkage.weigh(mine, theirs)
        if not weight.likely_duplicate:
            continue
        first, second = _ordered(person, other)
        fields = [{"field": f.field, "level": f.level, "weight": round(f.weight, 2)}
                  for f in weight.fields]
        with transaction.atomic():
            pair = DuplicatePair.objects.select_for_update().filter(
                first=first, second=second).first()
            if pair is not None and pair.state != PairState.OPEN:
                continue
            if pair is None:
                pair = DuplicatePair.objects.create(
                    organization_id=person.organization_id, first=first, second=second,
                    weight=weight.total, fields=fields)
                record(actor=actor, action="people.duplicate_proposed",
                       object_type="duplicate_pair", object_id=pair.pk,
                       organization_id=person.organization_id,
                       data={"first": str(first.pk), "second": str(second.pk),
                             "weight": weight.total})
            else:
                pair.weight, pair.fields = weight.total, fields
                pair.save(update_fields=["weight", "fields", "updated_at"])
        queued.append(pair)
    return queued


def duplicates_sweep(*, batch: int = SWEEP_BATCH, after: str | None = None,
                     progress: Callable[[int, int, str], None] | None = None) -> int:
    """Run ``duplicates_find`` for every person, in id order, ``batch`` at a time; returns
    the number of people weighed. Resumable: ``after`` is the last id a previous run
    reported through ``progress(done, total, last_id)``."""
    if batch < 1:
        raise ValidationFailed(_("The batch size must be at least 1."),
                               fields={"batch": [_("At least 1.")]})
    pending = Person.objects.order_by("pk")
    if after:
        try:
            pending = pending.filter(pk__gt=UUID(after))
        except ValueError:
            raise ValidationFailed(_("Not a person id."),
                                   fields={"after": [_("A person id.")]}) from None
    total, done, last = pending.count(), 0, None
    while True:
        page = list((pending if last is None else pending.filter(pk__gt=last))[:batch])
        if not page:
            break
        for person in page:
            duplicates_find(None, person)
        done, last = done + len(page), page[-1].pk
        if progress is not None:
            progress(done, total, str(last))
    return done


def duplicate_decide(*, actor: Any, pair: DuplicatePair, decision: str,
                     keep: Person | None = None) -> DuplicatePair:
    """Record a reviewer's decision on an open pair: ``same`` (link the two, keeping
    ``keep``, by default the older record; nothing is deleted) or ``different`` (never
    proposed again). Coordinators who may see both people (``policy``)."""
    policy.require(actor, Perm.CASE_SUPERVISE, pair)
    if decision not in {PairState.SAME, PairState.DIFFERENT}:
        raise ValidationFailed(_("Decide “same” or “different”."),
                               fields={"decision": [_("Choose same or different.")]})
    if keep is not None and keep.pk not in {pair.first_id, pair.second_id}:
        raise ValidationFailed(_("The record kept must be one of the pair."),
                               fields={"keep": [_("One of the two people.")]})
    with transaction.atomic():
        locked = DuplicatePair.objects.select_for_update().get(pk=pair.pk)
        if locked.state != PairState.OPEN:
            raise ValidationFailed(_("This pair was already decided."),
                                   fields={"decision": [_("Already decided.")]})
        if decision == PairState.SAME:
            if keep is None:
                older = min((locked.first, locked.second), key=lambda p: p.created_at)
                keep = older
            locked.kept = keep
        locked.state, locked.decided_by, locked.decided_at = decision, actor, timezone.now()
        locked.save(update_fields=["state", "kept", "decided_by", "decided_at", "updated_at"])
        record(actor=actor, action="people.duplicate_decided", object_type="duplicate_pair",
               object_id=locked.pk, data={"decision": decision, "kept": str(
                   locked.kept_id or ""), "weight": locked.weight})
    return locked


def duplicate_undo(*, actor: Any, pair: DuplicatePair) -> DuplicatePair:
    """Reopen a decided pair: the link (or the "different" answer) is undone, the decision
    stays in the audit log."""
    policy.require(actor, Perm.CASE_SUPERVISE, pair)
    with transaction.atomic():
        locked = DuplicatePair.objects.select_for_update().get(pk=pair.pk)
        if locked.state == PairState.OPEN:
            raise ValidationFailed(_("This pair is not decided."),
                                   fields={"decision": [_("Not decided.")]})
        previous = locked.state
        locked.state, locked.kept, locked.decided_by, locked.decided_at = (
            PairState.OPEN, None, None, None)
        locked.save(update_fields=["state", "kept", "decided_by", "decided_at", "updated_at"])
        record(actor=actor, action="people.duplicate_undone", object_type="duplicate_pair",
               object_id=locked.pk, data={"was": previous})
    return locked
