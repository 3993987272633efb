"""CSV exports of the applications and the outcome figures (``haven.audit.exports``).

Applications come from ``selectors.application_list`` (the policy's object rule: the
applications of the cases the user may see), with the columns the application page shows
its readers and none of the encrypted fields. The outcomes export is the board's per-pathway
figures: aggregates, which every role with ``outcomes:read`` sees (an auditor too); the
board's "stuck" rows that name cases are not part of it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from haven.access.decorators import requires
from haven.access.permissions import Perm
from haven.audit.exports import Column, capped, csv_response
from haven.pathways import forms as pw_forms
from haven.pathways import selectors
from haven.pathways.models import ApplicationStatus, Country


def _local(record: Any) -> str:
    """A pathway's or country's name in the reader's language (reference data)."""
    russian = get_language() == "ru" and bool(getattr(record, "name_ru", ""))
    return str(record.name_ru if russian else record.name)


_APPLICATION_COLUMNS = [
    Column(_("Case"), lambda a: a.case.number),
    Column(_("Destination"), lambda a: _local(a.pathway.country)),
    Column(_("Pathway"), lambda a: _local(a.pathway)),
    Column(_("Status"), lambda a: a.get_status_display()),
    Column(_("In this status since"), lambda a: a.stage_since),
    Column(_("Submitted on"), lambda a: a.submitted_on),
    Column(_("Decision"), lambda a: a.get_decision_display()),
    Column(_("Decided on"), lambda a: a.decided_on),
    Column(_("Started"), lambda a: a.created_at),
]


@requires(Perm.APPLICATION_READ)
@require_GET
def application_export(request: HttpRequest) -> HttpResponse:
    """The applications of the cases the user may see, newest first; ``?status=`` one stage."""
    status = request.GET.get("status", "")
    if status not in ApplicationStatus.values:
        status = ""
    applications, more = capped(selectors.application_list(actor=request.user, status=status))
    return csv_response(actor=request.user, list_name="applications",
                        columns=_APPLICATION_COLUMNS, rows=applications,
                        filters={"status": status}, capped=more)


def _funnel_value(key: str) -> Callable[[selectors.OutcomeRow], int]:
    return lambda row: row.funnel[key]


def _outcome_columns() -> list[Column]:
    funnel = dict(zip(selectors.FUNNEL, [_("Applied"), _("Submitted"), _("Approved"),
                                         _("Visa issued"), _("Travelled"), _("Arrived")],
                      strict=True))
    return [
        Column(_("Destination"), lambda r: r.country_name),
        Column(_("Pathway"), lambda r: r.pathway_name),
        *[Column(label, _funnel_value(key)) for key, label in funnel.items()],
        Column(_("Decisions: approved"), lambda r: r.approved),
        Column(_("Decisions: refused"), lambda r: r.refused),
        Column(_("Approval rate"), lambda r: (round(100 * r.approval_rate)
                                              if r.approval_rate is not None else None)),
        Column(_("Median days to decision"), lambda r: r.median_days_to_decision),
    ]


@requires(Perm.OUTCOMES_READ)
@require_GET
def outcomes_export(request: HttpRequest) -> HttpResponse:
    """The outcome figures per pathway (``?country=`` one destination), as on the board."""
    countries = list(Country.objects.filter(pathways__isnull=False).distinct().order_by("name"))
    form = pw_forms.OutcomesFilterForm(request.GET or None, countries=countries)
    country = form.cleaned_data.get("country", "") if form.is_valid() else ""
    board = selectors.outcomes_board(actor=request.user, country=country)
    return csv_response(actor=request.user, list_name="outcomes", columns=_outcome_columns(),
                        rows=board.pathways, filters={"country": country})
