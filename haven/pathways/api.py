"""/api/v1 for pathways, applications, dossier requests, travel and the outcomes board.

Thin callers of ``haven.pathways.selectors`` and ``haven.pathways.services``: the same policy,
validation and audit as the pages. Where to apply is ``GET /pathways/suggestions/{case_id}``
(``/cases/{case_id}/…`` belongs to the cases router). Sensitive values (where a file was
submitted, a journey's route) appear only in an object's own document, never in lists; a
route is withheld until arrival from anyone but coordinators and the assigned caseworker,
and each reading of it is recorded. Dossier PDFs are not exported over the API (see
``DOSSIER_NO_EXPORT``).
"""


from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import Field

from haven.access.decorators import api_actor, api_requires
from haven.access.permissions import Perm
from haven.accounts.models import User
from haven.cases import selectors as case_selectors
from haven.cases.models import Case, Relationship
from haven.cases.models import Status as CaseStatus
from haven.cases.services.common import KEEP
from haven.core.errors import NotFound, ValidationFailed
from haven.keyring import keys
from haven.pathways import selectors, services
from haven.pathways.models import (
    TRAVEL_TRANSITIONS,
    ApplicantOutcome,
    Application,
    ApplicationDate,
    ApplicationEvent,
    ApplicationStatus,
    Arrival,
    BookingMode,
    DateKind,
    Decision,
    DossierExport,
    DossierState,
    Pathway,
    PathwayStatus,
    PathwayType,
    ReferrerKind,
    StatusObtained,
    Travel,
    TravelStatus,
    TravelStep,
    application_targets,
)
from haven.pathways.services.bookings import TIMES

pathways_router = Router(tags=["pathways"])
applications_router = Router(tags=["applications"])
dossiers_router = Router(tags=["dossiers"])
travel_router = Router(tags=["travel"])
outcomes_router = Router(tags=["outcomes"])

# Past this an offset means nothing and overflows the database's integers (as for cases).
MAX_OFFSET = 10_000_000

DOSSIER_NO_EXPORT = (
    "The dossier PDF itself is **not** available over the API: exporting it requires the "
    "coordinator to have confirmed their password and a fresh one-time code in the browser "
    f"within the last {settings.HAVEN_REAUTH_MINUTES} minutes, which a bearer token cannot "
    "prove. Approve here if you like, then download the PDF from the application's page.")



def _case(actor: User, case_id: UUID) -> Case:
    return case_selectors.case_get(actor=actor, pk=case_id)


def _application(actor: User, application_id: UUID) -> Application:
    return selectors.application_get(actor=actor, pk=application_id)


def _application_ref(actor: User, application_id: UUID | None, field: str) -> Application | None:
    """An application named in a body: unknown or invisible is a field error, not a 404."""
    if application_id is None:
        return None
    found = selectors.application_list(actor=actor).filter(pk=application_id).first()
    if found is None:
        raise ValidationFailed(_("No such application."),
                               fields={field: [_("No such application.")]})
    return found


def _page(qs: QuerySet[Any], limit: int, offset: int) -> list[Any]:
    return list(qs[offset: offset + limit])


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


@pathways_router.get("", response=list[PathwayOut],
                     summary="Reference pathways by country and name; filter by country, "
                             "status, type")
@api_requires(Perm.PATHWAY_READ)
def pathway_list(request: HttpRequest, filters: Query[PathwayFilter]) -> list[PathwayOut]:
    f = filters
    qs = selectors.pathway_list(actor=api_actor(request), country=f.country,
                                status=f.status or "", kind=f.type or "")
    return [PathwayOut(**_pathway(p)) for p in _page(qs, f.limit, f.offset)]


@pathways_router.get(
    "/suggestions/{case_id}", response=list[PathwaySuggestionOut],
    summary="Where this case could apply: pathways ranked, with reasons and outcomes here",
    description="Open pathways first, then paused (then closed, when asked); within each by "
                "score, then typical processing days. Each comes with its reasons (fit, "
                "misfit, unknown) and this organization's observed outcomes on it. The "
                "ranking reads the household's nationalities and documents, so it takes "
                "`application:read` and a case the token's user may see.")
@api_requires(Perm.APPLICATION_READ)
def pathway_suggestions(request: HttpRequest, case_id: UUID, filters: Query[SuggestionFilter]
                        ) -> list[PathwaySuggestionOut]:
    actor = api_actor(request)
    fits = selectors.pathway_ranking(actor=actor, case=_case(actor, case_id),
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


@pathways_router.get("/{slug}", response=PathwayDetailOut,
                     summary="One pathway with its checklist, sources and what is uncertain")
@api_requires(Perm.PATHWAY_READ)
def pathway_get(request: HttpRequest, slug: str) -> PathwayDetailOut:
    return _pathway_detail(selectors.pathway_get(actor=api_actor(request), slug=slug))


@pathways_router.patch(
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


# --- schemas: applications -----------------------------------------------------------------------


class ApplicationFilter(Schema):
    case: UUID | None = Field(default=None, description="Only this case's applications")
    status: ApplicationStatus | None = None
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


class ApplicationIn(Schema):
    case_id: UUID
    pathway: str = Field(min_length=1, max_length=80, description="The pathway's slug")
    members: list[UUID] | None = Field(default=None, max_length=100, description=(
        "Member ids of the case (from GET /cases/{id}); leave it out for every member who "
        "travels with the household."))
    follows_id: UUID | None = Field(default=None, description=(
        "An earlier application of the same case that was refused, withdrawn or expired."))
    on: date | None = Field(default=None, description="The day the work began (default "
                            "today; never in the future)")


class ApplicationOut(Schema):
    id: UUID
    case_id: UUID
    case_number: str
    pathway: str = Field(description="The pathway's slug")
    country: str
    status: ApplicationStatus
    stage_since: date = Field(description="The day the current status was entered")
    next: list[ApplicationStatus] = Field(description="Where it may move from here")
    submitted_on: date | None
    decision: Decision | None
    decided_on: date | None
    decision_days: int | None
    valid_from: date | None
    valid_until: date | None
    follows_id: UUID | None
    created_at: datetime
    version: int = Field(description="Send it back with an edit: an edit made on top of an "
                                     "older version is refused with 409 `stale`.")


class ApplicantOut(Schema):
    member_id: UUID
    person_id: UUID
    relationship: Relationship
    is_principal: bool
    outcome: ApplicantOutcome


class ApplicationDateOut(Schema):
    id: UUID
    kind: DateKind
    on: date
    label: str
    task_id: UUID | None


class ChecklistCellOut(Schema):
    member_id: UUID
    done: bool
    source: str = Field(description=(
        "document: this applicant's own document of the type is on the case; hand: ticked "
        "by hand (ticked_by_id, ticked_at); empty: missing"))
    document_id: UUID | None
    ticked_by_id: UUID | None
    ticked_at: datetime | None


class ChecklistItemOut(Schema):
    doc_type: str
    label: str
    label_ru: str
    required: bool
    done: bool = Field(description="Done for every applicant")
    document_id: UUID | None = Field(description="One applicant's document of the type")
    applicants: list[ChecklistCellOut] = Field(description="The item for each applicant")


class ChecklistOut(Schema):
    percent: int = Field(description="(Applicant, required item) pairs done — all items when "
                                     "none is required — rounded down")
    items: list[ChecklistItemOut]


class ChecklistTickIn(Schema):
    member_id: UUID = Field(description="An applicant (member id)")
    doc_type: str = Field(min_length=1, max_length=20, description="An item of the pathway's "
                          "checklist")
    done: bool = Field(description="true ticks the item for the applicant, false unticks it")


class ApplicationDetailOut(ApplicationOut):
    submitted_to: str
    external_reference: str
    refusal_reasons: str
    applicants: list[ApplicantOut]
    dates: list[ApplicationDateOut]
    checklist: ChecklistOut


class ApplicationUpdateIn(Schema):
    """Only the fields sent change; an empty text or null clears it."""

    submitted_to: str | None = Field(default=None, max_length=300)
    external_reference: str | None = Field(default=None, max_length=300)
    refusal_reasons: str | None = Field(default=None, max_length=5000)
    valid_from: date | None = None
    valid_until: date | None = None
    version: int | None = Field(default=None, ge=0, description=(
        "The version this edit was made on (from GET). If the application changed since (an "
        "edit or a move), nothing is saved and the answer is 409 with code `stale`; leave it "
        "out to overwrite."))


class ApplicationTransitionIn(Schema):
    """``to`` and the details that step takes; a detail of another step is refused (400)."""

    to: ApplicationStatus
    on: date | None = Field(default=None, description="The day it happened (default today; "
                            "never in the future, never before the current stage began)")
    submitted_to: str | None = Field(default=None, max_length=300, description="→ submitted")
    external_reference: str | None = Field(default=None, max_length=300,
                                           description="→ submitted")
    interview_on: date | None = Field(default=None, description="→ interview_scheduled "
                                      "(required unless an interview date is open)")
    interview_label: str | None = Field(default=None, max_length=300)
    deadline: date | None = Field(default=None, description="→ information_requested")
    deadline_label: str | None = Field(default=None, max_length=300)
    outcomes: dict[UUID, Literal["approved", "refused", "withdrawn"]] | None = Field(
        default=None, description=(
            "→ approved / refused: member id → that applicant's outcome (a split decision). "
            "Applicants left out take the decision's own outcome; an application is approved "
            "when at least one applicant is."))
    refusal_reasons: str | None = Field(default=None, max_length=5000,
                                        description="→ approved / refused")
    valid_from: date | None = Field(default=None, description="→ visa_issued (required)")
    valid_until: date | None = Field(default=None, description="→ visa_issued (required)")


class ApplicationDateIn(Schema):
    kind: DateKind
    on: date
    label: str | None = Field(default=None, max_length=300, description="What is due")
    date_id: UUID | None = Field(default=None, description=(
        "Move this date of the application (and its open task) instead of adding one"))


class ApplicationEventOut(Schema):
    from_status: ApplicationStatus | None
    to_status: ApplicationStatus
    on: date
    days_in_previous: int | None
    actor_id: UUID | None
    created_at: datetime


def _application_out(application: Application) -> dict[str, Any]:
    return {
        "id": application.pk, "case_id": application.case_id,
        "case_number": application.case.number, "pathway": application.pathway.slug,
        "country": application.pathway.country.code, "status": application.status,
        "stage_since": application.stage_since,
        "next": list(application_targets(application.status)),
        "submitted_on": application.submitted_on,
        "decision": application.decision or None, "decided_on": application.decided_on,
        "decision_days": application.decision_days, "valid_from": application.valid_from,
        "valid_until": application.valid_until, "follows_id": application.follows_id,
        "created_at": application.created_at, "version": application.version,
    }


def _date_out(entry: ApplicationDate) -> ApplicationDateOut:
    return ApplicationDateOut(id=entry.pk, kind=DateKind(entry.kind), on=entry.on,
                              label=str(entry.label), task_id=entry.task_id)


def _application_detail(application: Application) -> ApplicationDetailOut:
    application = (Application.objects.select_related("case", "pathway", "pathway__country")
                   .get(pk=application.pk))
    dates = list(application.dates.order_by("on", "created_at"))
    keys.prefetch([application, *dates])
    applicants = [ApplicantOut(member_id=a.member_id, person_id=a.member.person_id,
                               relationship=Relationship(a.member.relationship),
                               is_principal=a.member.is_principal,
                               outcome=ApplicantOutcome(a.outcome))
                  for a in application.applicants.select_related("member")]
    checklist = selectors.application_checklist(application)
    return ApplicationDetailOut(
        **_application_out(application), submitted_to=str(application.submitted_to),
        external_reference=str(application.external_reference),
        refusal_reasons=str(application.refusal_reasons), applicants=applicants,
        dates=[_date_out(d) for d in dates],
        checklist=_checklist(checklist))


def _checklist(checklist: selectors.Checklist) -> ChecklistOut:
    return ChecklistOut(percent=checklist.percent, items=[ChecklistItemOut(
        doc_type=i.doc_type, label=i.label, label_ru=i.label_ru, required=i.required,
        done=i.done, document_id=i.document_id, applicants=[ChecklistCellOut(
            member_id=c.member_id, done=c.done, source=c.source, document_id=c.document_id,
            ticked_by_id=c.ticked_by_id, ticked_at=c.ticked_at) for c in i.cells])
        for i in checklist.items])


# --- applications --------------------------------------------------------------------------------


@applications_router.get("", response=list[ApplicationOut],
                         summary="Applications on visible cases, newest first")
@api_requires(Perm.APPLICATION_READ)
def application_list(request: HttpRequest, filters: Query[ApplicationFilter]
                     ) -> list[ApplicationOut]:
    actor = api_actor(request)
    f = filters
    case = _case(actor, f.case) if f.case is not None else None
    qs = selectors.application_list(actor=actor, case=case, status=f.status or "")
    return [ApplicationOut(**_application_out(a)) for a in _page(qs, f.limit, f.offset)]


@applications_router.post("", response={201: ApplicationDetailOut},
                          summary="Open a draft application of a case on a pathway")
@api_requires(Perm.APPLICATION_CREATE)
def application_create(request: HttpRequest, payload: ApplicationIn
                       ) -> Status[ApplicationDetailOut]:
    actor = api_actor(request)
    case = _case(actor, payload.case_id)
    pathway = selectors.pathway_list(actor=actor).filter(slug=payload.pathway).first()
    if pathway is None:
        raise ValidationFailed(_("No such pathway."), fields={"pathway": [_("No such pathway.")]})
    application = services.application_create(
        actor=actor, case=case, pathway=pathway, members=payload.members,
        follows=_application_ref(actor, payload.follows_id, "follows_id"), on=payload.on)
    return Status(201, _application_detail(application))


@applications_router.get("/{application_id}", response=ApplicationDetailOut,
                         summary="One application: applicants' outcomes, dates, checklist")
@api_requires(Perm.APPLICATION_READ)
def application_get(request: HttpRequest, application_id: UUID) -> ApplicationDetailOut:
    return _application_detail(_application(api_actor(request), application_id))


@applications_router.patch(
    "/{application_id}", response=ApplicationDetailOut,
    summary="Correct an application's details outside a move",
    description="Where and under which reference it was submitted, the refusal reasons, the "
                "visa's validity. Only the fields sent change; send the version you read to "
                "be told (409 `stale`) when someone changed it meanwhile.")
@api_requires(Perm.APPLICATION_UPDATE)
def application_update(request: HttpRequest, application_id: UUID, payload: ApplicationUpdateIn
                       ) -> ApplicationDetailOut:
    actor = api_actor(request)
    application = _application(actor, application_id)
    sent = payload.model_dump(exclude_unset=True)
    version = sent.pop("version", None)
    changes: dict[str, Any] = {
        name: (sent[name] or "") if name in ("submitted_to", "external_reference",
                                            "refusal_reasons") else sent[name]
        for name in sent}
    return _application_detail(services.application_update(
        actor=actor, application=application, version=version, **changes))


@applications_router.post(
    "/{application_id}/transition", response=ApplicationDetailOut,
    summary="Move an application one step (409 with what is allowed if not)",
    description="Each step takes its own details: submitted (submitted_to, "
                "external_reference), interview_scheduled (interview_on, interview_label: "
                "makes or moves the interview task), information_requested (deadline, "
                "deadline_label: a deadline task), approved/refused (outcomes per applicant, "
                "refusal_reasons), visa_issued (valid_from, valid_until).")
@api_requires(Perm.APPLICATION_TRANSITION)
def application_transition(request: HttpRequest, application_id: UUID,
                           payload: ApplicationTransitionIn) -> ApplicationDetailOut:
    actor = api_actor(request)
    application = _application(actor, application_id)
    details = payload.model_dump(exclude={"to", "outcomes"})
    return _application_detail(services.application_transition(
        actor=actor, application=application, to=payload.to,
        outcomes=dict(payload.outcomes) if payload.outcomes else None, **details))


@applications_router.post(
    "/{application_id}/dates", response={200: ApplicationDateOut, 201: ApplicationDateOut},
    summary="Add an interview or a deadline (201), or move one (200); its task follows")
@api_requires(Perm.APPLICATION_UPDATE)
def application_date(request: HttpRequest, application_id: UUID, payload: ApplicationDateIn
                     ) -> Status[ApplicationDateOut]:
    actor = api_actor(request)
    application = _application(actor, application_id)
    entry = None
    if payload.date_id is not None:
        entry = ApplicationDate.objects.filter(application=application,
                                               pk=payload.date_id).first()
        if entry is None:
            raise NotFound(_("Not found."))
    saved = services.application_date_set(actor=actor, application=application,
                                          kind=payload.kind, on=payload.on,
                                          label=payload.label, entry=entry)
    return Status(200 if entry is not None else 201, _date_out(saved))


@applications_router.post(
    "/{application_id}/checklist", response=ChecklistOut,
    summary="Tick or untick one checklist item for one applicant by hand (who and when are "
            "kept)")
@api_requires(Perm.APPLICATION_UPDATE)
def checklist_tick(request: HttpRequest, application_id: UUID, payload: ChecklistTickIn
                   ) -> ChecklistOut:
    actor = api_actor(request)
    application = _application(actor, application_id)
    services.checklist_tick(actor=actor, application=application, member=payload.member_id,
                            doc_type=payload.doc_type, done=payload.done)
    return _checklist(selectors.application_checklist(application))


@applications_router.get("/{application_id}/history", response=list[ApplicationEventOut],
                         summary="The stages the application went through, oldest first")
@api_requires(Perm.APPLICATION_READ)
def application_history(request: HttpRequest, application_id: UUID
                        ) -> list[ApplicationEventOut]:
    application = _application(api_actor(request), application_id)
    return [_event(e) for e in selectors.application_history(application)]


def _event(event: ApplicationEvent) -> ApplicationEventOut:
    return ApplicationEventOut(
        from_status=ApplicationStatus(event.from_status) if event.from_status else None,
        to_status=ApplicationStatus(event.to_status), on=event.on,
        days_in_previous=event.days_in_previous, actor_id=event.actor_id,
        created_at=event.created_at)


# --- dossiers ------------------------------------------------------------------------------------


class DossierIn(Schema):
    application_id: UUID
    fields: list[str] = Field(max_length=50, description=(
        "What the dossier shows: person fields (legal_name, date_of_birth, …) and "
        "submitted_to, external_reference, submitted_on. At least one."))
    language: Literal["en", "ru"] = "en"


class DossierFilter(Schema):
    state: DossierState | Literal[""] = Field(default=DossierState.REQUESTED, description=(
        "Empty: every state"))
    application: UUID | None = None
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


class DossierOut(Schema):
    id: UUID
    case_id: UUID
    application_id: UUID
    state: DossierState
    fields: list[str]
    language: str
    requested_by_id: UUID | None
    decided_by_id: UUID | None
    decided_at: datetime | None
    downloaded_at: datetime | None
    downloads: int
    created_at: datetime


def _dossier(export: DossierExport) -> DossierOut:
    return DossierOut(id=export.pk, case_id=export.case_id,
                      application_id=export.application_id,
                      state=DossierState(export.state), fields=export.field_list,
                      language=export.language, requested_by_id=export.requested_by_id,
                      decided_by_id=export.decided_by_id, decided_at=export.decided_at,
                      downloaded_at=export.downloaded_at, downloads=export.downloads,
                      created_at=export.created_at)


def _dossier_get(actor: User, dossier_id: UUID) -> DossierExport:
    export = selectors.dossier_exports(actor=actor, state="").filter(pk=dossier_id).first()
    if export is None:
        raise NotFound(_("Not found."))
    return export


@dossiers_router.post("", response={201: DossierOut}, description=DOSSIER_NO_EXPORT,
                      summary="Ask a coordinator for a dossier of an application")
@api_requires(Perm.DOSSIER_REQUEST)
def dossier_request(request: HttpRequest, payload: DossierIn) -> Status[DossierOut]:
    actor = api_actor(request)
    export = services.dossier_request(actor=actor,
                                      application=_application(actor, payload.application_id),
                                      fields=payload.fields, language=payload.language)
    return Status(201, _dossier(export))


@dossiers_router.get("", response=list[DossierOut], description=DOSSIER_NO_EXPORT,
                     summary="Dossier requests, oldest first (by default those awaiting a "
                             "decision)")
@api_requires(Perm.DOSSIER_REQUEST)
def dossier_list(request: HttpRequest, filters: Query[DossierFilter]) -> list[DossierOut]:
    actor = api_actor(request)
    f = filters
    application = _application(actor, f.application) if f.application is not None else None
    qs = selectors.dossier_exports(actor=actor, state=f.state, application=application)
    return [_dossier(e) for e in _page(qs, f.limit, f.offset)]


@dossiers_router.post("/{dossier_id}/approve", response=DossierOut,
                      description=DOSSIER_NO_EXPORT,
                      summary="Approve a dossier request (coordinators)")
@api_requires(Perm.DOSSIER_APPROVE)
def dossier_approve(request: HttpRequest, dossier_id: UUID) -> DossierOut:
    actor = api_actor(request)
    return _dossier(services.dossier_approve(actor=actor, export=_dossier_get(actor, dossier_id)))


@dossiers_router.post("/{dossier_id}/decline", response=DossierOut,
                      summary="Decline a dossier request (coordinators)")
@api_requires(Perm.DOSSIER_APPROVE)
def dossier_decline(request: HttpRequest, dossier_id: UUID) -> DossierOut:
    actor = api_actor(request)
    return _dossier(services.dossier_decline(actor=actor, export=_dossier_get(actor, dossier_id)))


# --- travel --------------------------------------------------------------------------------------


class TravelFilter(Schema):
    case: UUID | None = Field(default=None, description="Only this case's journeys")
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


class TravelIn(Schema):
    case_id: UUID
    members: list[UUID] | None = Field(default=None, max_length=100, description=(
        "Member ids of the case; leave it out for every member who travels with the "
        "household."))
    application_id: UUID | None = Field(default=None, description="Travelling on this "
                                        "application's visa")
    depart_on: date | None = None
    route: str = Field(default="", max_length=2000)
    transit_points: str = Field(default="", max_length=2000)
    escort: str = Field(default="", max_length=300)


class TravelUpdateIn(Schema):
    """Only the fields sent change; null clears."""

    depart_on: date | None = None
    route: str | None = Field(default=None, max_length=2000)
    transit_points: str | None = Field(default=None, max_length=2000)
    escort: str | None = Field(default=None, max_length=300)


class TravelTransitionIn(Schema):
    """``to``; a move to ``arrived`` also takes the arrival (country and status_obtained
    required). Detained raises an emergency task for the case's caseworker."""

    to: TravelStatus
    country: str | None = Field(default=None, max_length=2, description="→ arrived: ISO code")
    arrived_on: date | None = Field(default=None, description="→ arrived (default today)")
    status_obtained: StatusObtained | None = Field(default=None, description="→ arrived")
    receiving_partner: str | None = Field(default=None, max_length=300,
                                          description="→ arrived: partner or sponsor")
    follow_up_on: date | None = Field(default=None, description=(
        "→ arrived: makes a follow-up task for the caseworker"))


class ArrivalOut(Schema):
    country: str
    arrived_on: date
    status_obtained: StatusObtained
    receiving_partner: str | None = Field(description=(
        "The receiving partner or sponsor: in the journey's own document, null in lists"))
    follow_up_on: date | None
    follow_up_task_id: UUID | None


class TravelStepOut(Schema):
    id: UUID
    from_status: TravelStatus
    to_status: TravelStatus
    actor_id: UUID | None
    created_at: datetime
    case_status: list[CaseStatus] = Field(description="The statuses the case walked through "
                                          "(empty: the case did not move)")
    case_left: CaseStatus | None = Field(description="The case's status when its lifecycle "
                                         "did not lead where the journey went")
    placements_ended: int
    tasks_closed: int
    tasks_created: int


class TravelOut(Schema):
    id: UUID
    case_id: UUID
    application_id: UUID | None
    status: TravelStatus
    next: list[TravelStatus] = Field(description="Where it may move from here")
    members: list[UUID] = Field(description="Member ids of the case on this journey")
    depart_on: date | None
    departed_at: datetime | None
    ended_at: datetime | None
    created_at: datetime
    arrival: ArrivalOut | None
    last_step: TravelStepOut | None = Field(default=None, description=(
        "The latest move, which `POST /travel/{id}/undo` takes back, with what it changed "
        "(null in lists, and when there is nothing to undo)"))


class BookingIn(Schema):
    mode: BookingMode = BookingMode.FLIGHT
    carrier: str = Field(default="", max_length=300)
    number: str = Field(default="", max_length=300, description="Flight or train number")
    departs_from: str = Field(default="", max_length=300)
    arrives_in: str = Field(default="", max_length=300)
    departs_at: datetime | None = Field(default=None, description=(
        "Local time printed on the ticket (a time zone, if sent, is ignored)"))
    arrives_at: datetime | None = Field(default=None, description="Local time at arrival")
    reference: str = Field(default="", max_length=300, description="Booking reference")
    ticket_ids: list[UUID] = Field(default=[], max_length=50, description=(
        "Ticket documents of travellers (uploaded with `POST /cases/{id}/documents` and "
        "`doc_type=ticket`)"))


class BookingPatchIn(Schema):
    """Only the fields sent change; ``ticket_ids`` replaces the list."""

    mode: BookingMode | None = None
    carrier: str | None = Field(default=None, max_length=300)
    number: str | None = Field(default=None, max_length=300)
    departs_from: str | None = Field(default=None, max_length=300)
    arrives_in: str | None = Field(default=None, max_length=300)
    departs_at: datetime | None = None
    arrives_at: datetime | None = None
    reference: str | None = Field(default=None, max_length=300)
    ticket_ids: list[UUID] | None = Field(default=None, max_length=50)


class BookingOut(Schema):
    id: UUID
    mode: BookingMode
    carrier: str
    number: str
    departs_from: str
    arrives_in: str
    departs_at: str = Field(description="YYYY-MM-DDTHH:MM local, or empty")
    arrives_at: str = Field(description="YYYY-MM-DDTHH:MM local, or empty")
    reference: str
    ticket_ids: list[UUID]


class TravelRouteOut(Schema):
    route: str
    transit_points: str
    escort: str


class TravelDetailOut(TravelOut):
    route: TravelRouteOut | None = Field(description=(
        "Null when withheld: until arrival only coordinators and the case's assigned "
        "caseworker see it (each reading is recorded)."))
    bookings: list[BookingOut] | None = Field(description=(
        "Carrier, numbers, times, references and tickets: shown with the route, to the same "
        "people; null when withheld."))


def _arrival_of(travel: Travel) -> Arrival | None:
    try:
        return travel.arrival
    except Arrival.DoesNotExist:
        return None


def _arrival(arrival: Arrival, *, partner: bool) -> ArrivalOut:
    if partner:
        keys.prefetch([arrival])
    return ArrivalOut(country=arrival.country.code, arrived_on=arrival.arrived_on,
                      status_obtained=StatusObtained(arrival.status_obtained),
                      receiving_partner=str(arrival.receiving_partner) if partner else None,
                      follow_up_on=arrival.follow_up_on,
                      follow_up_task_id=arrival.follow_up_task_id)


def _travel(travel: Travel, *, partner: bool = False) -> dict[str, Any]:
    arrival = _arrival_of(travel)
    return {"id": travel.pk, "case_id": travel.case_id, "application_id": travel.application_id,
            "status": TravelStatus(travel.status),
            "next": list(TRAVEL_TRANSITIONS[TravelStatus(travel.status)]),
            "members": [m.pk for m in travel.members.all()], "depart_on": travel.depart_on,
            "departed_at": travel.departed_at, "ended_at": travel.ended_at,
            "created_at": travel.created_at,
            "arrival": _arrival(arrival, partner=partner) if arrival is not None else None}


def _step(step: TravelStep | None) -> TravelStepOut | None:
    if step is None:
        return None
    effects = step.effects
    return TravelStepOut(
        id=step.pk, from_status=TravelStatus(step.from_status),
        to_status=TravelStatus(step.to_status), actor_id=step.actor_id,
        created_at=step.created_at,
        case_status=[CaseStatus(s) for s in effects.get("case") or []],
        case_left=CaseStatus(effects["case_left"]) if effects.get("case_left") else None,
        placements_ended=len(effects.get("placements") or []),
        tasks_closed=len(effects.get("closed") or []),
        tasks_created=len(effects.get("created") or []))


def _travel_out(actor: User, travel_id: Any) -> TravelOut:
    travel = selectors.travel_get(actor=actor, pk=travel_id)
    return TravelOut(**_travel(travel),
                     last_step=_step(selectors.travel_last_step(actor=actor, travel=travel)))


def _booking(view: selectors.BookingView) -> BookingOut:
    return BookingOut(id=view.booking.pk, mode=BookingMode(view.mode), carrier=view.carrier,
                      number=view.number, departs_from=view.departs_from,
                      arrives_in=view.arrives_in, departs_at=view.departs_at,
                      arrives_at=view.arrives_at, reference=view.reference,
                      ticket_ids=[d.pk for d in view.tickets])


def _booking_view(actor: User, travel: Travel, booking_id: Any) -> BookingOut:
    route = selectors.travel_route(actor=actor, travel=travel)
    found = [b for b in (route.bookings if route else []) if b.booking.pk == booking_id]
    if not found:
        raise NotFound(_("Not found."))
    return _booking(found[0])


@travel_router.get("", response=list[TravelOut],
                   summary="Journeys on visible cases, newest first (routes are never listed)")
@api_requires(Perm.TRAVEL_READ)
def travel_list(request: HttpRequest, filters: Query[TravelFilter]) -> list[TravelOut]:
    actor = api_actor(request)
    f = filters
    case = _case(actor, f.case) if f.case is not None else None
    qs = selectors.travel_list(actor=actor, case=case).prefetch_related("members")
    return [TravelOut(**_travel(t)) for t in _page(qs, f.limit, f.offset)]


@travel_router.post("", response={201: TravelOut},
                    summary="Plan a journey for some or all of a case's members")
@api_requires(Perm.TRAVEL_MANAGE)
def travel_plan(request: HttpRequest, payload: TravelIn) -> Status[TravelOut]:
    actor = api_actor(request)
    case = _case(actor, payload.case_id)
    application = _application_ref(actor, payload.application_id, "application_id")
    travel = services.travel_plan(actor=actor, case=case, members=payload.members,
                                  application=application, depart_on=payload.depart_on,
                                  route=payload.route, transit_points=payload.transit_points,
                                  escort=payload.escort)
    return Status(201, _travel_out(actor, travel.pk))


@travel_router.get("/{travel_id}", response=TravelDetailOut,
                   summary="One journey; its route only for those who may see it (recorded)")
@api_requires(Perm.TRAVEL_READ)
def travel_get(request: HttpRequest, travel_id: UUID) -> TravelDetailOut:
    actor = api_actor(request)
    travel = selectors.travel_get(actor=actor, pk=travel_id)
    route = selectors.travel_route(actor=actor, travel=travel)
    return TravelDetailOut(
        **_travel(travel, partner=True),
        last_step=_step(selectors.travel_last_step(actor=actor, travel=travel)),
        route=TravelRouteOut(route=route.route, transit_points=route.transit_points,
                             escort=route.escort) if route is not None else None,
        bookings=[_booking(b) for b in route.bookings] if route is not None else None)


@travel_router.patch("/{travel_id}", response=TravelOut,
                     summary="Change a journey that has not ended (only the fields sent)")
@api_requires(Perm.TRAVEL_MANAGE)
def travel_update(request: HttpRequest, travel_id: UUID, payload: TravelUpdateIn) -> TravelOut:
    actor = api_actor(request)
    travel = selectors.travel_get(actor=actor, pk=travel_id)
    sent = payload.model_dump(exclude_unset=True)
    changes: dict[str, Any] = {name: (sent[name] or "") if name != "depart_on" else sent[name]
                               for name in sent}
    services.travel_update(actor=actor, travel=travel,
                           depart_on=changes.get("depart_on", KEEP),
                           route=changes.get("route", KEEP),
                           transit_points=changes.get("transit_points", KEEP),
                           escort=changes.get("escort", KEEP))
    return _travel_out(actor, travel.pk)


@travel_router.post(
    "/{travel_id}/transition", response=TravelOut,
    summary="Move a journey (409 with what is allowed if not); arrived takes the arrival",
    description="One transaction moves everything that follows: leaving moves the case to "
                "departed and ends the travellers' shelter placements; detained raises one "
                "emergency task, due today, for the case's caseworker and makes the case an "
                "emergency; release or return closes it; arrived records the arrival "
                "(country, status obtained, receiving partner, follow-up date → a follow-up "
                "task), cancels the visa's interview and deadline tasks and, once every "
                "travelling member has arrived, moves the case to arrived and back to normal "
                "priority. `last_step` says what changed; `POST /travel/{id}/undo` takes it "
                "back.")
@api_requires(Perm.TRAVEL_MANAGE)
def travel_transition(request: HttpRequest, travel_id: UUID, payload: TravelTransitionIn
                      ) -> TravelOut:
    actor = api_actor(request)
    travel = selectors.travel_get(actor=actor, pk=travel_id)
    services.travel_transition(
        actor=actor, travel=travel, to=payload.to, country=payload.country,
        arrived_on=payload.arrived_on, status_obtained=payload.status_obtained,
        receiving_partner=payload.receiving_partner, follow_up_on=payload.follow_up_on)
    return _travel_out(actor, travel.pk)


@travel_router.post(
    "/{travel_id}/undo", response=TravelOut,
    summary="Take back the journey's latest move (recorded by mistake) and what it changed",
    description="The journey returns to its previous status; the case's status and priority, "
                "the tasks and the arrival go back as they were; placements the move ended "
                "are restored while their bed is still free. 409 when there is nothing to "
                "undo.")
@api_requires(Perm.TRAVEL_MANAGE)
def travel_undo(request: HttpRequest, travel_id: UUID) -> TravelOut:
    actor = api_actor(request)
    services.travel_undo(actor=actor, travel=selectors.travel_get(actor=actor, pk=travel_id))
    return _travel_out(actor, travel_id)


@travel_router.post("/{travel_id}/bookings", response={201: BookingOut},
                    summary="Add a booking to a journey (sealed; for those who may see the "
                            "route)")
@api_requires(Perm.TRAVEL_MANAGE)
def booking_add(request: HttpRequest, travel_id: UUID, payload: BookingIn) -> Status[BookingOut]:
    actor = api_actor(request)
    travel = selectors.travel_get(actor=actor, pk=travel_id)
    values = payload.model_dump(exclude={"ticket_ids"})
    booking = services.booking_add(actor=actor, travel=travel, tickets=payload.ticket_ids,
                                   **values)
    return Status(201, _booking_view(actor, travel, booking.pk))


@travel_router.patch("/{travel_id}/bookings/{booking_id}", response=BookingOut,
                     summary="Change a booking (only the fields sent)")
@api_requires(Perm.TRAVEL_MANAGE)
def booking_update(request: HttpRequest, travel_id: UUID, booking_id: UUID,
                   payload: BookingPatchIn) -> BookingOut:
    actor = api_actor(request)
    travel = selectors.travel_get(actor=actor, pk=travel_id)
    booking = selectors.booking_get(actor=actor, travel=travel, pk=booking_id)
    sent = payload.model_dump(exclude_unset=True)
    tickets = sent.pop("ticket_ids", None)
    # null clears a text or a time; a null kind of transport leaves it as it is.
    values = {k: "" if v is None and k not in TIMES else v for k, v in sent.items()
              if not (k == "mode" and v is None)}
    services.booking_update(actor=actor, booking=booking,
                            tickets=KEEP if tickets is None else tickets, **values)
    return _booking_view(actor, travel, booking.pk)


@travel_router.delete("/{travel_id}/bookings/{booking_id}", response={204: None},
                      summary="Remove a booking (its tickets stay on the case)")
@api_requires(Perm.TRAVEL_MANAGE)
def booking_remove(request: HttpRequest, travel_id: UUID, booking_id: UUID) -> Status[None]:
    actor = api_actor(request)
    travel = selectors.travel_get(actor=actor, pk=travel_id)
    services.booking_remove(actor=actor, booking=selectors.booking_get(
        actor=actor, travel=travel, pk=booking_id))
    return Status(204, None)


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


@outcomes_router.get("", response=OutcomesOut,
                     summary="The outcomes board: this organization's aggregates, no names")
@api_requires(Perm.OUTCOMES_READ)
def outcomes(request: HttpRequest, filters: Query[OutcomesFilter]) -> OutcomesOut:
    board = selectors.outcomes_board(actor=api_actor(request), country=filters.country)
    return OutcomesOut(countries=[_row(r) for r in board.countries],
                       pathways=[_row(r) for r in board.pathways],
                       stuck=[StuckOut(case_number=s.case_number, pathway=s.pathway,
                                       stage=ApplicationStatus(s.stage), days=s.days)
                              for s in board.stuck])
