"""/api/v1/applications: a case's attempts on a pathway, their dates, checklist and history."""

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import Field

from haven.access.decorators import api_actor, api_requires
from haven.access.permissions import Perm
from haven.cases.models import Relationship
from haven.core.errors import NotFound, ValidationFailed
from haven.keyring import keys
from haven.pathways import selectors, services
from haven.pathways.api.common import MAX_OFFSET, application_for, application_ref, case_for, page
from haven.pathways.models import (
    ApplicantOutcome,
    Application,
    ApplicationDate,
    ApplicationEvent,
    ApplicationStatus,
    DateKind,
    Decision,
    application_targets,
)

router = Router(tags=["applications"])


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


@router.get("", response=list[ApplicationOut],
                         summary="Applications on visible cases, newest first")
@api_requires(Perm.APPLICATION_READ)
def application_list(request: HttpRequest, filters: Query[ApplicationFilter]
                     ) -> list[ApplicationOut]:
    actor = api_actor(request)
    f = filters
    case = case_for(actor, f.case) if f.case is not None else None
    qs = selectors.application_list(actor=actor, case=case, status=f.status or "")
    return [ApplicationOut(**_application_out(a)) for a in page(qs, f.limit, f.offset)]


@router.post("", response={201: ApplicationDetailOut},
                          summary="Open a draft application of a case on a pathway")
@api_requires(Perm.APPLICATION_CREATE)
def application_create(request: HttpRequest, payload: ApplicationIn
                       ) -> Status[ApplicationDetailOut]:
    actor = api_actor(request)
    case = case_for(actor, payload.case_id)
    pathway = selectors.pathway_list(actor=actor).filter(slug=payload.pathway).first()
    if pathway is None:
        raise ValidationFailed(_("No such pathway."), fields={"pathway": [_("No such pathway.")]})
    application = services.application_create(
        actor=actor, case=case, pathway=pathway, members=payload.members,
        follows=application_ref(actor, payload.follows_id, "follows_id"), on=payload.on)
    return Status(201, _application_detail(application))


@router.get("/{application_id}", response=ApplicationDetailOut,
                         summary="One application: applicants' outcomes, dates, checklist")
@api_requires(Perm.APPLICATION_READ)
def application_get(request: HttpRequest, application_id: UUID) -> ApplicationDetailOut:
    return _application_detail(application_for(api_actor(request), application_id))


@router.patch(
    "/{application_id}", response=ApplicationDetailOut,
    summary="Correct an application's details outside a move",
    description="Where and under which reference it was submitted, the refusal reasons, the "
                "visa's validity. Only the fields sent change; send the version you read to "
                "be told (409 `stale`) when someone changed it meanwhile.")
@api_requires(Perm.APPLICATION_UPDATE)
def application_update(request: HttpRequest, application_id: UUID, payload: ApplicationUpdateIn
                       ) -> ApplicationDetailOut:
    actor = api_actor(request)
    application = application_for(actor, application_id)
    sent = payload.model_dump(exclude_unset=True)
    version = sent.pop("version", None)
    changes: dict[str, Any] = {
        name: (sent[name] or "") if name in ("submitted_to", "external_reference",
                                            "refusal_reasons") else sent[name]
        for name in sent}
    return _application_detail(services.application_update(
        actor=actor, application=application, version=version, **changes))


@router.post(
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
    application = application_for(actor, application_id)
    details = payload.model_dump(exclude={"to", "outcomes"})
    return _application_detail(services.application_transition(
        actor=actor, application=application, to=payload.to,
        outcomes=dict(payload.outcomes) if payload.outcomes else None, **details))


@router.post(
    "/{application_id}/dates", response={200: ApplicationDateOut, 201: ApplicationDateOut},
    summary="Add an interview or a deadline (201), or move one (200); its task follows")
@api_requires(Perm.APPLICATION_UPDATE)
def application_date(request: HttpRequest, application_id: UUID, payload: ApplicationDateIn
                     ) -> Status[ApplicationDateOut]:
    actor = api_actor(request)
    application = application_for(actor, application_id)
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


@router.post(
    "/{application_id}/checklist", response=ChecklistOut,
    summary="Tick or untick one checklist item for one applicant by hand (who and when are "
            "kept)")
@api_requires(Perm.APPLICATION_UPDATE)
def checklist_tick(request: HttpRequest, application_id: UUID, payload: ChecklistTickIn
                   ) -> ChecklistOut:
    actor = api_actor(request)
    application = application_for(actor, application_id)
    services.checklist_tick(actor=actor, application=application, member=payload.member_id,
                            doc_type=payload.doc_type, done=payload.done)
    return _checklist(selectors.application_checklist(application))


@router.get("/{application_id}/history", response=list[ApplicationEventOut],
                         summary="The stages the application went through, oldest first")
@api_requires(Perm.APPLICATION_READ)
def application_history(request: HttpRequest, application_id: UUID
                        ) -> list[ApplicationEventOut]:
    application = application_for(api_actor(request), application_id)
    return [_event(e) for e in selectors.application_history(application)]


def _event(event: ApplicationEvent) -> ApplicationEventOut:
    return ApplicationEventOut(
        from_status=ApplicationStatus(event.from_status) if event.from_status else None,
        to_status=ApplicationStatus(event.to_status), on=event.on,
        days_in_previous=event.days_in_previous, actor_id=event.actor_id,
        created_at=event.created_at)
