"""/api/v1/outcomes: the outcomes board."""

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from haven.access.decorators import api_actor, api_requires
from haven.access.permissions import Perm
from haven.pathways import selectors
from haven.pathways.models import ApplicationStatus

router = Router(tags=["outcomes"])


# --- the outcomes board --------------------------------------------------------------------------


class OutcomesFilter(Schema):
    country: str = Field(default="", max_length=2, description="Only this destination")


class OutcomeRowOut(Schema):
    country: str
    country_name: str
    pathway: str = Field(description="The pathway's slug; empty on a destination's row")
    pathway_name: str
    funnel: dict[str, int] = Field(description="Distinct cases that reached each stage: "
                                   "cases, submitted, approved, visa_issued, travelled, arrived")
    approved: int
    refused: int
    approval_rate: float | None
    median_days_to_decision: float | None
    median_days: dict[str, float] = Field(description="Median days spent in each stage")


class StuckOut(Schema):
    case_number: str
    pathway: str
    stage: ApplicationStatus
    days: int


class OutcomesOut(Schema):
    countries: list[OutcomeRowOut]
    pathways: list[OutcomeRowOut]
    stuck: list[StuckOut] = Field(description="Cases stuck longest in a stage that is not "
                                  "final (numbers only, no names), among the cases the "
                                  "token's user may see: empty for an auditor")


def _row(row: selectors.OutcomeRow) -> OutcomeRowOut:
    return OutcomeRowOut(country=row.country, country_name=row.country_name,
                         pathway=row.pathway, pathway_name=row.pathway_name,
                         funnel=dict(row.funnel), approved=row.approved, refused=row.refused,
                         approval_rate=row.approval_rate,
                         median_days_to_decision=row.median_days_to_decision,
                         median_days={str(k): v for k, v in row.median_days.items()})


@router.get("", response=OutcomesOut,
                     summary="The outcomes board: this organization's aggregates, no names")
@api_requires(Perm.OUTCOMES_READ)
def outcomes(request: HttpRequest, filters: Query[OutcomesFilter]) -> OutcomesOut:
    board = selectors.outcomes_board(actor=api_actor(request), country=filters.country)
    return OutcomesOut(countries=[_row(r) for r in board.countries],
                       pathways=[_row(r) for r in board.pathways],
                       stuck=[StuckOut(case_number=s.case_number, pathway=s.pathway,
                                       stage=ApplicationStatus(s.stage), days=s.days)
                              for s in board.stuck])
