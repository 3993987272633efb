"""The outcomes board."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from haven.access.decorators import requires
from haven.access.permissions import Perm
from haven.pathways import charts, selectors
from haven.pathways import forms as pw_forms
from haven.pathways.models import ApplicationStatus, Country

AS = ApplicationStatus


# --- outcomes ------------------------------------------------------------------------------------


def _percent(rate: float | None) -> float:
    return round(100 * rate, 1) if rate is not None else 0.0


@requires(Perm.OUTCOMES_READ)
@require_GET
def outcomes(request: HttpRequest) -> HttpResponse:
    countries = list(Country.objects.filter(pathways__isnull=False).distinct().order_by("name"))
    form = pw_forms.OutcomesFilterForm(request.GET or None, countries=countries)
    country = form.cleaned_data.get("country", "") if form.is_valid() else ""
    board = selectors.outcomes_board(actor=request.user, country=country)
    stage_names = [_("Applied"), _("Submitted"), _("Approved"),
                   _("Visa issued"), _("Travelled"), _("Arrived")]
    funnels = [{
        "row": row,
        "chart": charts.funnel_chart(
            list(zip(stage_names, [row.funnel[k] for k in selectors.FUNNEL], strict=True)),
            title=_("%(country)s: from case to arrival") % {"country": row.country_name},
            empty_text=_("No data")),
        "pathways": board.pathways_of(row.country),
    } for row in board.countries]
    decided = [r for r in board.pathways if r.approval_rate is not None]
    approval_chart = charts.bar_chart(
        [(r.pathway_name, _percent(r.approval_rate)) for r in decided],
        title=_("Approval rate by pathway"), unit="%", max_value=100,
        empty_text=_("No decisions yet"))
    timed = [r for r in board.pathways if r.median_days_to_decision is not None]
    days_chart = charts.bar_chart(
        [(r.pathway_name, float(r.median_days_to_decision or 0)) for r in timed],
        title=_("Median days to a decision by pathway"), unit=_("days"),
        empty_text=_("No decisions yet"))
    stages = [(s.value, s.label) for s in selectors.STAGES]

    def cells(row: selectors.OutcomeRow) -> dict[str, Any]:
        return {"row": row, "funnel": [(k, row.funnel[k]) for k in selectors.FUNNEL],
                "rate": _percent(row.approval_rate) if row.approval_rate is not None else None,
                "days": [row.median_days.get(s) for s, _label in stages]}

    return render(request, "pathways/outcomes.html", {
        "form": form, "board": board, "funnels": funnels, "approval_chart": approval_chart,
        "days_chart": days_chart, "stages": stages, "stage_names": stage_names,
        "country_rows": [cells(r) for r in board.countries],
        "pathway_rows": [cells(r) for r in board.pathways],
        "stuck": [(s, AS(s.stage).label) for s in board.stuck], "country": country,
    })
