"""Helpers shared by the pathways services."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from haven.cases.models import Case, Member
from haven.core.errors import ValidationFailed


def not_future(value: date | None, field: str) -> date:
    """``value`` (today when None), refused when it lies in the future: a stage is recorded
    when it happened, never ahead of time."""
    today = timezone.localdate()
    if value is None:
        return today
    if value > today:
        raise ValidationFailed(_("That date is in the future."),
                               fields={field: [_("Choose today or an earlier date.")]})
    return value


def members_of(case: Case, members: Iterable[Any] | None, field: str = "members") -> list[Member]:
    """The case's members named by ``members`` (Member rows or their ids); when None, those
    who travel with the household. Refused when empty or when one is not on the case."""
    rows = list(Member.objects.filter(case=case).select_related("person"))
    if members is None:
        chosen = [m for m in rows if m.travels_with]
    else:
        wanted = {str(getattr(m, "pk", m)) for m in members}
        chosen = [m for m in rows if str(m.pk) in wanted]
        if len(chosen) != len(wanted):
            raise ValidationFailed(_("That person is not on this case."),
                                   fields={field: [_("Choose members of the case.")]})
    if not chosen:
        raise ValidationFailed(_("Choose at least one member of the case."),
                               fields={field: [_("Choose at least one member of the case.")]})
    return chosen
