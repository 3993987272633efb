"""Outcome figures: per-pathway outcomes and the outcomes board, aggregates of the actor's organization computed in SQL (grouped counts, and medians read from per-day histograms), so they cost a handful of queries whatever the size of the organization."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from haven.access import policy
from haven.access.permissions import Perm
from haven.pathways.models import (
    FINAL,
    PENDING_DECISION,
    TRAVELLED,
    Application,
    ApplicationEvent,
    ApplicationStatus,
    Decision,
    Pathway,
    Travel,
    TravelStatus,
)

AS = ApplicationStatus
STUCK_ROWS = 10


# --- outcomes ------------------------------------------------------------------------------------


def _median(histogram: Counter[int]) -> float | None:
    """The median of the values counted in ``histogram`` (value → how many times)."""
    total = sum(histogram.values())
    if not total:
        return None
    middle = ((total - 1) // 2, total // 2)  # 0-based ranks of the middle one or two
    picked: list[int] = []
    seen = 0
    for value in sorted(histogram):
        count = histogram[value]
        picked += [value for rank in middle if seen <= rank < seen + count]
        seen += count
    return sum(picked) / 2


def _histograms(qs: QuerySet[Any], groups: list[str], value: str
                ) -> dict[tuple[Any, ...], Counter[int]]:
    """How many rows hold each ``value``, per group of ``groups``: one grouped query over an
    index, returning one row per distinct (group, value) — a few thousand at most, since the
    values are whole days — instead of every row. Medians are read from these, and a
    destination's histogram is the sum of its pathways' ones, so it needs no query of its own.
    """
    out: dict[tuple[Any, ...], Counter[int]] = defaultdict(Counter)
    for *key, number, n in (qs.filter(**{f"{value}__isnull": False}).order_by()
                            .values_list(*groups, value).annotate(n=Count("pk"))):
        out[tuple(key)][number] += n
    return dict(out)


@dataclass
class PathwayOutcome:
    """What happened to this organization's applications on one pathway."""

    applications: int = 0
    approved: int = 0
    refused: int = 0
    pending: int = 0
    median_days_to_decision: float | None = None

    @property
    def decided(self) -> int:
        return self.approved + self.refused

    @property
    def approval_rate(self) -> float | None:
        """Approved among decided applications (a split decision counts as approved)."""
        return self.approved / self.decided if self.decided else None


def pathway_outcomes(*, actor: Any, pathways: Iterable[Any] | None = None
                     ) -> dict[Any, PathwayOutcome]:
    """Per pathway id: applications, approved, refused, pending a decision (submitted,
    interview, information requested, deferred), approval rate and median days from
    submission to decision — of the actor's organization only. Two grouped queries."""
    if not (policy.has_perm(actor, Perm.APPLICATION_READ)
            or policy.has_perm(actor, Perm.OUTCOMES_READ)):
        return {}
    qs = Application.objects.filter(organization_id=actor.organization_id)
    if pathways is not None:
        qs = qs.filter(pathway_id__in=[getattr(p, "pk", p) for p in pathways])
    out: dict[Any, PathwayOutcome] = defaultdict(PathwayOutcome)
    for row in qs.order_by().values("pathway_id").annotate(
            n=Count("pk"), approved=Count("pk", filter=Q(decision=Decision.APPROVED)),
            refused=Count("pk", filter=Q(decision=Decision.REFUSED)),
            pending=Count("pk", filter=Q(status__in=PENDING_DECISION))):
        out[row["pathway_id"]] = PathwayOutcome(
            applications=row["n"], approved=row["approved"], refused=row["refused"],
            pending=row["pending"])
    for (pathway_id,), histogram in _histograms(qs.exclude(decision=""), ["pathway_id"],
                                                "decision_days").items():
        out[pathway_id].median_days_to_decision = _median(histogram)
    return dict(out)


# --- the outcomes board --------------------------------------------------------------------------

FUNNEL = ("cases", "submitted", "approved", "visa_issued", "travelled", "arrived")
STAGES = (AS.DRAFT, AS.COLLECTING_DOCUMENTS, AS.READY_FOR_REVIEW, AS.SUBMITTED,
          AS.INTERVIEW_SCHEDULED, AS.INFORMATION_REQUESTED, AS.DEFERRED, AS.APPROVED,
          AS.VISA_ISSUED)


@dataclass
class OutcomeRow:
    """One line of the board: a destination (``pathway`` None) or one of its pathways."""

    country: str
    country_name: str
    pathway: str = ""
    pathway_name: str = ""
    funnel: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FUNNEL, 0))
    approved: int = 0
    refused: int = 0
    median_days_to_decision: float | None = None
    median_days: dict[str, float] = field(default_factory=dict)

    @property
    def approval_rate(self) -> float | None:
        decided = self.approved + self.refused
        return self.approved / decided if decided else None


@dataclass
class StuckCase:
    case_number: str
    pathway: str
    stage: str
    days: int


@dataclass
class OutcomesBoard:
    countries: list[OutcomeRow]
    pathways: list[OutcomeRow]
    stuck: list[StuckCase]
    # True when the actor may see the figures but not the cases behind them (an auditor).
    stuck_withheld: bool = False

    def pathways_of(self, country: str) -> list[OutcomeRow]:
        return [row for row in self.pathways if row.country == country]


def _board_rows(org: Any, group: str) -> dict[Any, OutcomeRow]:
    """The funnel, decisions and medians of the organization, grouped by ``group`` (a path
    from an application to the pathway or its country). Every figure is a grouped query."""
    apps = Application.objects.filter(organization_id=org).order_by()
    rows: dict[Any, OutcomeRow] = {}

    def row(key: Any) -> OutcomeRow:
        return rows.setdefault(key, OutcomeRow(country="", country_name=""))

    for r in apps.values(group).annotate(
            cases=Count("case_id", distinct=True),
            approved=Count("pk", filter=Q(decision=Decision.APPROVED)),
            refused=Count("pk", filter=Q(decision=Decision.REFUSED))):
        target = row(r[group])
        target.funnel["cases"] = r["cases"]
        target.approved, target.refused = r["approved"], r["refused"]
    reach = {AS.SUBMITTED: "submitted", AS.APPROVED: "approved", AS.VISA_ISSUED: "visa_issued"}
    events = ApplicationEvent.objects.filter(organization_id=org).order_by()
    # Events carry the pathway too, so the same path groups them.
    for r in events.filter(to_status__in=list(reach)).values(group, "to_status").annotate(
            cases=Count("application__case_id", distinct=True)):
        row(r[group]).funnel[reach[AS(r["to_status"])]] = r["cases"]
    travels = Travel.objects.filter(organization_id=org, application__isnull=False).order_by()
    travel_group = f"application__{group}"
    for r in travels.values(travel_group).annotate(
            travelled=Count("case_id", distinct=True, filter=Q(status__in=TRAVELLED)),
            arrived=Count("case_id", distinct=True, filter=Q(status=TravelStatus.ARRIVED))):
        target = row(r[travel_group])
        target.funnel["travelled"], target.funnel["arrived"] = r["travelled"], r["arrived"]
    return rows


def _board_medians(org: Any, by_pathway: dict[Any, OutcomeRow],
                   by_country: dict[Any, OutcomeRow], country_of: dict[Any, Any]) -> None:
    """Median days to decision and per stage, for pathways and (summing their histograms)
    destinations: two grouped queries."""
    decisions = _histograms(Application.objects.filter(organization_id=org).exclude(
        decision=""), ["pathway_id"], "decision_days")
    stages = _histograms(ApplicationEvent.objects.filter(organization_id=org).exclude(
        from_status=""), ["pathway_id", "from_status"], "days_in_previous")
    merged_decisions: dict[Any, Counter[int]] = defaultdict(Counter)
    for (pathway_id,), histogram in decisions.items():
        by_pathway[pathway_id].median_days_to_decision = _median(histogram)
        merged_decisions[country_of[pathway_id]] += histogram
    merged_stages: dict[tuple[Any, str], Counter[int]] = defaultdict(Counter)
    for (pathway_id, stage), histogram in stages.items():
        by_pathway[pathway_id].median_days[stage] = _median(histogram) or 0.0
        merged_stages[country_of[pathway_id], stage] += histogram
    for country_id, histogram in merged_decisions.items():
        by_country[country_id].median_days_to_decision = _median(histogram)
    for (country_id, stage), histogram in merged_stages.items():
        by_country[country_id].median_days[stage] = _median(histogram) or 0.0


def outcomes_board(*, actor: Any, country: str = "") -> OutcomesBoard:
    """Per destination and per pathway, for the actor's organization: the funnel from case
    to arrival (distinct cases with an application → submitted → approved → visa issued →
    travelled → arrived; a stage counts a case once it was *reached*, whatever happened
    after), approvals and refusals (approval rate = approved / decided), the median days to
    a decision and in each stage, and the cases stuck longest in a stage that is not final
    (case number, pathway, stage, days — no names). Travel counts only journeys linked to
    an application of the pathway. Eleven grouped queries in all; only aggregates leave
    the database, apart from the ``STUCK_ROWS`` stuck cases.

    The figures go to every role with ``outcomes:read``; the stuck cases, which name cases,
    only as far as ``policy.outcomes_stuck_visible_to`` lets the actor see them (an auditor
    gets none: ``stuck_withheld``).
    """
    policy.require(actor, Perm.OUTCOMES_READ)
    org = actor.organization_id
    pathways = {p.pk: p for p in Pathway.objects.select_related("country")}
    by_pathway = _board_rows(org, "pathway_id")
    by_country = _board_rows(org, "pathway__country_id")
    countries = {p.country_id: p.country for p in pathways.values()}
    _board_medians(org, by_pathway, by_country, {p.pk: p.country_id for p in pathways.values()})
    pathway_rows = []
    for key, row in by_pathway.items():
        pathway = pathways[key]
        row.country, row.country_name = pathway.country.code, pathway.country.name
        row.pathway, row.pathway_name = pathway.slug, pathway.name
        pathway_rows.append(row)
    country_rows = []
    for key, row in by_country.items():
        row.country, row.country_name = countries[key].code, countries[key].name
        country_rows.append(row)
    if country:
        pathway_rows = [r for r in pathway_rows if r.country == country.upper()]
        country_rows = [r for r in country_rows if r.country == country.upper()]
    pathway_rows.sort(key=lambda r: (r.country_name, -r.funnel["cases"], r.pathway))
    country_rows.sort(key=lambda r: (-r.funnel["cases"], r.country_name))
    today = timezone.localdate()
    stuck_qs = (policy.outcomes_stuck_visible_to(actor, Application.objects.filter(
        organization_id=org)).exclude(status__in=FINAL).order_by("stage_since", "case__number")
        .values_list("case__number", "pathway__slug", "status", "stage_since"))
    if country:
        stuck_qs = stuck_qs.filter(pathway__country__code=country.upper())
    stuck = [StuckCase(case_number=number, pathway=slug, stage=status,
                       days=(today - since).days)
             for number, slug, status, since in stuck_qs[:STUCK_ROWS]]
    return OutcomesBoard(countries=country_rows, pathways=pathway_rows, stuck=stuck,
                         stuck_withheld=not policy.has_perm(actor, Perm.APPLICATION_READ))


def stage_label(stage: str) -> str:
    return str(AS(stage).label)
