"""CSV exports of the case list and the task list (``haven.audit.exports`` writes them).

Rows come from the same selectors as the pages (``case_search`` with the list's filters,
``task_list``), so the object rules are the pages' own; columns follow the user's projection
of a case (``policy.case_fields``): a partner liaison gets the case number and the fields
their referral shares, an operator what following up needs, a case's team everything the
list shows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from haven.access import policy
from haven.access.decorators import requires
from haven.access.permissions import Perm
from haven.audit.exports import Column, capped, csv_response
from haven.cases import forms as case_forms
from haven.cases import selectors
from haven.cases.models import CASE_NUMBER_RE, SharedField, TaskStatus
from haven.cases.views import case_filters
from haven.keyring import keys

PREFETCH = 500  # records whose keys one agent round trip fetches


def _search_kind(q: str) -> str:
    """What kind of search the export followed, for its audit event (never the text)."""
    q = q.strip()
    if not q:
        return ""
    return "case_number" if CASE_NUMBER_RE.match(q.upper()) else "name_or_phone"


# (case field the projection must show, label, value of a projected case and its household size)
_CASE_COLUMNS: list[tuple[str, Any, Any]] = [
    ("number", _("Case"), lambda c, n: c.number),
    ("status", _("Status"), lambda c, n: c.get_status_display()),
    ("priority", _("Priority"), lambda c, n: c.get_priority_display()),
    ("case_type", _("Type"), lambda c, n: c.get_case_type_display()),
    ("risk_level", _("Risk"), lambda c, n: c.get_risk_level_display()),
    ("triage_score", _("Triage"), lambda c, n: c.triage_score),
    ("next_review", _("Next review"), lambda c, n: c.next_review),
    ("assigned_to", _("Caseworker"), lambda c, n: c.assigned_to.username if c.assigned_to
     else ""),
    ("created_at", _("Opened"), lambda c, n: c.created_at.date()),
]


def _case_columns(user: Any, shared: dict[Any, dict[str, Any]]) -> list[Column]:
    view = policy.case_view_of(user)
    fields = policy.case_fields(user)
    columns = [Column(label, _of_case(get)) for name, label, get in _CASE_COLUMNS
               if name in fields]
    if view in (policy.CaseView.FULL, policy.CaseView.OPENER):
        columns.insert(4, Column(_("People"), _household_size))
    if view == policy.CaseView.REFERRAL:
        wanted = {name for values in shared.values() for name in values}
        columns += [Column(field.label, _shared_value(shared, field.value))
                    for field in SharedField if field.value in wanted]
    return columns


Row = tuple[Any, int]  # a projected case and its household size


def _of_case(get: Callable[[Any, int], Any]) -> Callable[[Row], Any]:
    return lambda row: get(row[0], row[1])


def _household_size(row: Row) -> int:
    return row[1]


def _shared_value(shared: dict[Any, dict[str, Any]], name: str) -> Callable[[Row], Any]:
    """A shared field's value as the list shows it; blank where this case's referral does
    not share it."""
    return lambda row: selectors.shared_display(name, shared.get(row[0].pk, {}).get(name, ""))


@requires(Perm.CASE_READ)
@require_GET
def case_export(request: HttpRequest) -> HttpResponse:
    """The case list as CSV: the list's filters, rows and projection."""
    user = request.user
    _form, filters = case_filters(request)
    cases, more = capped(selectors.case_search(actor=user, **filters).cases)
    shared = selectors.referral_shared(actor=user, cases=cases)
    sizes = selectors.household_sizes(cases) if policy.case_view_of(user) in (
        policy.CaseView.FULL, policy.CaseView.OPENER) else {}
    rows = [(policy.project_case(user, case, shared=list(shared.get(case.pk, {}))),
             sizes.get(case.pk, 0)) for case in cases]
    logged = {k: v for k, v in filters.items() if k != "q"}
    return csv_response(actor=user, list_name="cases", columns=_case_columns(user, shared),
                        rows=rows, filters={**logged, "search": _search_kind(filters["q"])},
                        capped=more)


_TASK_COLUMNS = [
    Column(_("Task"), lambda t: t.title),
    Column(_("Case"), lambda t: t.case.number),
    Column(_("Priority"), lambda t: t.get_priority_display()),
    Column(_("Status"), lambda t: t.get_status_display()),
    Column(_("Due"), lambda t: t.due),
    Column(_("Done on"), lambda t: t.completed_at),
]


@requires(Perm.TASK_READ)
@require_GET
def task_export(request: HttpRequest) -> HttpResponse:
    """My tasks as CSV, open or done as on the page."""
    form = case_forms.TaskFilterForm(request.GET or None)
    status = (form.cleaned_data.get("status") if form.is_valid() else "") or TaskStatus.OPEN
    tasks, more = capped(selectors.task_list(actor=request.user, status=status))
    for start in range(0, len(tasks), PREFETCH):
        keys.prefetch(tasks[start:start + PREFETCH])
    return csv_response(actor=request.user, list_name="tasks", columns=_TASK_COLUMNS,
                        rows=tasks, filters={"status": status}, capped=more)
