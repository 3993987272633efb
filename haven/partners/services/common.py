"""Validation shared by the partners services."""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext as _

from haven.cases.models import PERSON_FIELDS
from haven.core.errors import ValidationFailed
from haven.pathways.models import Country

COUNTRY_RE = re.compile(r"[A-Z]{2}")


def country_code(value: str, field: str = "country") -> str:
    """An upper-case ISO code of a known destination country, or "" for none."""
    value = (value or "").strip().upper()
    if not value:
        return ""
    if not COUNTRY_RE.fullmatch(value) or not Country.objects.filter(code=value).exists():
        raise ValidationFailed(_("Unknown country."),
                               fields={field: [_("Give the two-letter code of a known "
                                                 "destination country.")]})
    return value


def field_names(values: Any, field: str) -> list[str]:
    """Distinct person fields (``cases.models.PERSON_FIELDS``), in the catalogue's order."""
    if isinstance(values, str) or not isinstance(values, (list, tuple, set, frozenset)):
        raise ValidationFailed(_("The fields must be a list."),
                               fields={field: [_("Give a list of field names.")]})
    wanted = set(values)
    unknown = sorted(str(v) for v in wanted if v not in PERSON_FIELDS)
    if unknown:
        raise ValidationFailed(_("Unknown field: %(v)s.") % {"v": ", ".join(unknown)},
                               fields={field: [_("Unknown: %(v)s.") % {"v": ", ".join(unknown)}]})
    return [f for f in PERSON_FIELDS if f in wanted]
