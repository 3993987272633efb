"""Pure rules of a case, without the database: its triage score, a new case number, and the
parse of a partial birth date."""

from __future__ import annotations

import re
import secrets
from datetime import date
from typing import Any

from django.utils import timezone

from haven.cases.models import Priority, RiskLevel

PRIORITY_WEIGHT = {Priority.EMERGENCY: 100, Priority.URGENT: 50, Priority.NORMAL: 0}


RISK_WEIGHT = {RiskLevel.IMMINENT: 40, RiskLevel.HIGH: 25, RiskLevel.MEDIUM: 10, RiskLevel.LOW: 0}


def triage_score(priority: str, risk_level: str, members: int = 1) -> int:
    """Higher is more urgent: priority dominates, then risk, then household size (capped).

    Lists order by it, so emergencies always come first and, among equals, the greater danger.
    """
    return (PRIORITY_WEIGHT.get(Priority(priority), 0)
            + (RISK_WEIGHT.get(RiskLevel(risk_level), 0) if risk_level else 5)
            + min(max(members, 1), 6) - 1)


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_case_number(rand: Any = None) -> str:
    """``HV-XXXX-XXXX`` from a random source: never derived from a name, date or sequence."""
    pick = rand.choice if rand is not None else secrets.choice
    chars = "".join(pick(_CROCKFORD) for _ in range(8))
    return f"HV-{chars[:4]}-{chars[4:]}"


PARTIAL_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


def parse_partial_date(text: str) -> tuple[int, int | None, int | None] | None:
    """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` as parts; None when it is not a real date."""
    match = PARTIAL_DATE_RE.match(text.strip())
    if match is None:
        return None
    year, month, day = (int(g) if g else None for g in match.groups())
    assert year is not None  # noqa: S101 - the pattern requires it
    try:
        date(year, month or 1, day or 1)
    except ValueError:
        return None
    if not 1900 <= year <= timezone.now().year:
        return None
    return year, month, day
