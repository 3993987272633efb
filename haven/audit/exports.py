"""CSV exports of the lists people take into spreadsheets: one writer for all of them.

A list's export view chooses its rows through the same selectors as its page (the access
policy's object rules) and its columns through the policy's field rules, then hands both to
``csv_response``, which writes the file and records one audit event. What the writer adds:

- **No formulas.** A cell that starts with ``= + - @``, a tab or a carriage return is read by
  spreadsheets as a formula (``=HYPERLINK(...)`` in a task title would run when the file is
  opened); such text cells get a leading ``'`` so they are shown as typed. Numbers that
  Haven computed (counts, scores) are written as numbers.
- **Cyrillic that Excel reads.** UTF-8 with a byte-order mark: without it Excel opens a
  UTF-8 file in the machine's legacy code page and shows Russian names as mojibake.
- **Headers in the reader's language** (the column labels are translated strings).
- **An audit event, not a copy.** ``list.exported`` names the list, the filters and the
  number of rows; never a row's content, and of a search only what kind it was (a name
  typed into the case search must not end up in the log).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from haven.audit.services import record

BOM = "\ufeff"
# Leading characters that make a spreadsheet evaluate a cell (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# An export is a file for a person to read, not a backup: past this many rows it stops, and
# the audit event says so (``capped``).
MAX_ROWS = 10_000

# The lists that can be exported, by the name their audit events carry.
LISTS: dict[str, Any] = {
    "applications": _("Applications"),
    "cases": _("Cases"),
    "outcomes": _("Outcomes"),
    "tasks": _("Tasks"),
}


@dataclass(frozen=True)
class Column:
    """One column: its translated ``label`` and how a row gives its ``value``."""

    label: Any
    value: Callable[[Any], Any]


def cell(value: Any) -> str | int | float:
    """``value`` as a CSV cell that a spreadsheet shows and never evaluates."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, (int, float, Decimal)):
        return value if not isinstance(value, Decimal) else float(value)
    if isinstance(value, datetime):
        text = timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if timezone.is_aware(
            value) else value.strftime("%Y-%m-%d %H:%M")
    elif isinstance(value, date):
        text = value.isoformat()
    else:
        text = str(value)
    if text.startswith(FORMULA_STARTS):
        text = "'" + text
    return text


def write_csv(columns: list[Column], rows: Iterable[Any]) -> tuple[str, int]:
    """The CSV text (with its byte-order mark) and the number of rows written."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out)
    writer.writerow([cell(str(c.label)) for c in columns])
    count = 0
    for row in rows:
        writer.writerow([cell(c.value(row)) for c in columns])
        count += 1
    return out.getvalue(), count


def csv_response(*, actor: Any, list_name: str, columns: list[Column], rows: Iterable[Any],
                 filters: Mapping[str, Any] | None = None, capped: bool = False
                 ) -> HttpResponse:
    """``rows`` as a CSV download named after ``list_name`` and today, recorded as one
    ``list.exported`` event (the list, the non-empty ``filters``, the row count). ``filters``
    must hold codes and ids only, never text a person typed."""
    if list_name not in LISTS:
        raise ValueError(f"unknown list {list_name!r}")
    text, count = write_csv(columns, rows)
    data: dict[str, Any] = {"list": list_name, **{k: v for k, v in (filters or {}).items()
                                                  if v not in (None, "", [])},
                            "rows": count}
    if capped:
        data["capped"] = True
    with transaction.atomic():
        record(actor=actor, action="list.exported", object_type="list", object_id=list_name,
               data=data)
    response = HttpResponse(text.encode("utf-8"), content_type="text/csv; charset=utf-8")
    filename = f"haven-{list_name}-{timezone.localdate().isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def capped(rows: Iterable[Any]) -> tuple[list[Any], bool]:
    """At most ``MAX_ROWS`` of ``rows`` (a queryset is sliced, not read whole), and whether
    there were more."""
    taken = list(rows[:MAX_ROWS + 1] if hasattr(rows, "__getitem__") else rows)
    return taken[:MAX_ROWS], len(taken) > MAX_ROWS
