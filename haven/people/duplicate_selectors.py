"""Reads of the duplicate review queue (``people.duplicates`` writes it)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from haven.access import policy
from haven.core.errors import NotFound
from haven.people.models import DuplicatePair, PairState


def open_count() -> int:
    """How many pairs wait for review, in every organization (for the sweep's summary)."""
    return DuplicatePair.objects.filter(state=PairState.OPEN).count()


LIMIT = 200


def duplicates_visible(actor: Any, state: str = PairState.OPEN, limit: int = LIMIT
                       ) -> list[DuplicatePair]:
    """The pairs in ``state`` that ``actor`` may review (both people visible), heaviest
    first, at most ``limit``."""
    qs = policy.duplicates_visible_to(actor, DuplicatePair.objects.filter(state=state))
    return list(qs.select_related("first", "second")[:max(1, limit)])


def duplicate_get(actor: Any, pair_id: UUID | str) -> DuplicatePair:
    """One pair ``actor`` may review, or NotFound (as for a pair that does not exist)."""
    pair = policy.duplicates_visible_to(actor, DuplicatePair.objects.filter(pk=pair_id)).first()
    if pair is None:
        raise NotFound("Not found.")
    return pair
