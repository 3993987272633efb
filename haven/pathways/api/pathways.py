"""/api/v1/pathways: the reference list, one pathway, its edits, and where a case may apply
(``GET /pathways/suggestions/{case_id}``)."""

from datetime import date, datetime
from typing import Any
from uuid import UUID

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from haven.access.decorators import api_actor, api_reauth, api_requires
from haven.access.permissions import Perm
from haven.pathways import selectors, services
from haven.pathways.api.common import MAX_OFFSET, case_for, page
from haven.pathways.models import (
    ApplicationStatus,
    Pathway,
    PathwayStatus,
    PathwayType,
    ReferrerKind,
)

router = Router(tags=["pathways"])


# --- schemas: pathways ---------------------------------------------------------------------------


class PathwayChecklistEntry(Schema):
    doc_type: str = Field(max_length=40, description="A document type of the case "
                          "(passport, evidence, …).")
    label: str = Field(max_length=300)
    label_ru: str = Field(default="", max_length=300)
    required: bool = True


class PathwaySource(Schema):
    fact: str = Field(max_length=300)
    url: str = Field(max_length=2000, description="https:// only.")
    title: str = Field(max_length=300)


class PathwayFilter(Schema):
    country: str = Field(default="", max_length=2, description="ISO 3166 alpha-2 code")
    status: PathwayStatus | None = None
    type: PathwayType | None = None
    limit: int = Field(default=100, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


class PathwayOut(Schema):
    slug: str
    country: str = Field(description="ISO 3166 alpha-2; ZZ: a state chosen by UNHCR")
    country_name: str
    name: str
    name_ru: str
    type: PathwayType
    referrer: str
    referrer_kind: ReferrerKind
    nationalities: list[str] = Field(description="ISO codes; empty: any nationality")
    requires_third_country: bool
    documents_required: list[str]
    processing_days_typical: int | None
    processing_days_min: int | None
    processing_days_max: int | None
    cost: str
    status: PathwayStatus
    status_since: date | None
    version: int = Field(description="Send it back with an edit: an edit made on top of an "
                                     "older version is refused with 409 `stale`.")


class PathwayDetailOut(PathwayOut):
    eligibility_notes: str
    checklist: list[PathwayChecklistEntry]
    sources: list[PathwaySource]
    uncertain: str
    reviewed_on: date | None
    loaded_at: datetime | None
    edited_at: datetime | None = Field(description="Set by an edit in the app: reloading the "
                                       "reference file then leaves this pathway alone.")
    edited_by_id: UUID | None


class PathwayUpdateIn(Schema):
    """Only the fields sent change; they are checked by the reference file's own rules."""

    country: str | None = Field(default=None, max_length=2, description="ISO code")
    name: str | None = Field(default=None, max_length=300)
    name_ru: str | None = Field(default=None, max_length=300)
    type: PathwayType | None = None
    referrer: str | None = Field(default=None, max_length=5000)
    referrer_kind: ReferrerKind | None = None
    nationalities: list[str] | None = Field(default=None, max_length=300)
    requires_third_country: bool | None = None
    documents_required: list[str] | None = Field(default=None, max_length=50)
    eligibility_notes: str | None = Field(default=None, max_length=5000)
    checklist: list[PathwayChecklistEntry] | None = Field(default=None, max_length=100)
    processing_days_typical: int | None = Field(default=None, ge=0, le=10_000)
    processing_days_min: int | None = Field(default=None, ge=0, le=10_000)
    processing_days_max: int | None = Field(default=None, ge=0, le=10_000)
    cost: str | None = Field(default=None, max_length=5000)
    status: PathwayStatus | None = None
    status_since: date | None = None
    sources: list[PathwaySource] | None = Field(default=None, max_length=50)
    uncertain: str | None = Field(default=None, max_length=5000)
    version: int | None = Field(default=None, ge=0, description=(
        "The version this edit was made on (from GET). If the pathway changed since, nothing "
        "is saved and the answer is 409 with code `stale`; leave it out to overwrite."))


class SuggestionFilter(Schema):
    include_closed: bool = Field(default=False, description="Add closed pathways, last.")
    in_third_country: bool | None = Field(default=None, description=(
        "Is the household outside the country of persecution? Leave it out to read it from "
        "the case (departed, or a proof of stay on file)."))


class ReasonOut(Schema):
    text: str
    kind: str = Field(description="fit, misfit or unknown")


class PathwayOutcomeOut(Schema):
    applications: int
    approved: int
    refused: int
    pending: int
    approval_rate: float | None = Field(description="Approved among decided (a split "
                                        "decision counts as approved); null when none decided.")
    median_days_to_decision: float | None


class CaseApplicationRef(Schema):
    id: UUID
    status: ApplicationStatus


class PathwaySuggestionOut(Schema):
    pathway: PathwayOut
    score: int
    reasons: list[ReasonOut]
    outcome: PathwayOutcomeOut = Field(description="This organization's applications on it.")
    applications: list[CaseApplicationRef] = Field(description="This case's own applications "
                                                   "on the pathway, newest first.")


def _pathway(pathway: Pathway) -> dict[str, Any]:
    return {
        "slug": pathway.slug, "country": pathway.country.code,
        "country_name": pathway.country.name, "name": pathway.name, "name_ru": pathway.name_ru,
        "type": pathway.type, "referrer": pathway.referrer,
        "referrer_kind": pathway.referrer_kind, "nationalities": list(pathway.nationalities),
        "requires_third_country": pathway.requires_third_country,
        "documents_required": list(pathway.documents_required),
        "processing_days_typical": pathway.processing_days_typical,
        "processing_days_min": pathway.processing_days_min,
        "processing_days_max": pathway.processing_days_max, "cost": pathway.cost,
        "status": pathway.status, "status_since": pathway.status_since,
        "version": pathway.version,
    }


def _pathway_detail(pathway: Pathway) -> PathwayDetailOut:
    return PathwayDetailOut(
        **_pathway(pathway), eligibility_notes=pathway.eligibility_notes,
        checklist=[PathwayChecklistEntry(**item) for item in pathway.checklist],
        sources=[PathwaySource(**source) for source in pathway.sources],
        uncertain=pathway.uncertain, reviewed_on=pathway.reviewed_on,
        loaded_at=pathway.loaded_at, edited_at=pathway.edited_at,
        edited_by_id=pathway.edited_by_id)


# --- pathways ------------------------------------------------------------------------------------


@router.get("", response=list[PathwayOut],
                     summary="Reference pathways by country and name; filter by country, "
                             "status, type")
@api_requires(Perm.PATHWAY_READ)
def pathway_list(request: HttpRequest, filters: Query[PathwayFilter]) -> list[PathwayOut]:
    f = filters
    qs = selectors.pathway_list(actor=api_actor(request), country=f.country,
                                status=f.status or "", kind=f.type or "")
    return [PathwayOut(**_pathway(p)) for p in page(qs, f.limit, f.offset)]


@router.get(
    "/suggestions/{case_id}", response=list[PathwaySuggestionOut],
    summary="Where this case could apply: pathways ranked, with reasons and outcomes here",
    description="Open pathways first, then paused (then closed, when asked); within each by "
                "score, then typical processing days. Each comes with its reasons (fit, "
                "misfit, unknown) and this organization's observed outcomes on it. The "
                "ranking reads the household's nationalities and documents, so it takes "
                "`application:read`, a case the token's user may see and, as the page, a "
                "re-authenticated token.")
@api_reauth
@api_requires(Perm.APPLICATION_READ)
def pathway_suggestions(request: HttpRequest, case_id: UUID, filters: Query[SuggestionFilter]
                        ) -> list[PathwaySuggestionOut]:
    actor = api_actor(request)
    fits = selectors.pathway_ranking(actor=actor, case=case_for(actor, case_id),
                                     in_third_country=filters.in_third_country,
                                     include_closed=filters.include_closed)
    return [PathwaySuggestionOut(
        pathway=PathwayOut(**_pathway(fit.pathway)), score=fit.score,
        reasons=[ReasonOut(text=r.text, kind=r.kind) for r in fit.reasons],
        outcome=PathwayOutcomeOut(
            applications=fit.outcome.applications, approved=fit.outcome.approved,
            refused=fit.outcome.refused, pending=fit.outcome.pending,
            approval_rate=fit.outcome.approval_rate,
            median_days_to_decision=fit.outcome.median_days_to_decision),
        applications=[CaseApplicationRef(id=a.pk, status=ApplicationStatus(a.status))
                      for a in fit.applications]) for fit in fits]


@router.get("/{slug}", response=PathwayDetailOut,
                     summary="One pathway with its checklist, sources and what is uncertain")
@api_requires(Perm.PATHWAY_READ)
def pathway_get(request: HttpRequest, slug: str) -> PathwayDetailOut:
    return _pathway_detail(selectors.pathway_get(actor=api_actor(request), slug=slug))


@router.patch(
    "/{slug}", response=PathwayDetailOut,
    summary="Correct a pathway's facts (coordinators; 409 `stale` if edited meanwhile)",
    description="Checked by the reference file's rules. The edit is audited and stamps the "
                "pathway, so a reload of the reference file no longer overwrites it. "
                "Reference data is global: every organization on this server sees the edit.")
@api_requires(Perm.PATHWAY_UPDATE)
def pathway_update(request: HttpRequest, slug: str, payload: PathwayUpdateIn
                   ) -> PathwayDetailOut:
    actor = api_actor(request)
    pathway = selectors.pathway_get(actor=actor, slug=slug)
    changes = payload.model_dump(exclude_unset=True, mode="python")
    version = changes.pop("version", None)
    return _pathway_detail(services.pathway_update(actor=actor, pathway=pathway,
                                                   version=version, **changes))
