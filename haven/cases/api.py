"""/api/v1/cases and /api/v1/tasks: the same services, policy and audit as the pages.

Person fields are never in a case document; ``POST …/people/{person_id}/reveal`` returns one
value and records the reveal, exactly like the page's reveal button.
"""

from datetime import date, datetime
from typing import Any
from uuid import UUID

from django.http import HttpRequest, StreamingHttpResponse
from ninja import Query, Router, Schema, Status
from pydantic import Field

from haven.access import policy
from haven.access.decorators import api_actor, api_requires
from haven.access.permissions import Perm
from haven.accounts.models import User
from haven.cases import document_selectors, selectors, services
from haven.cases.models import (
    Case,
    CaseType,
    ClosureReason,
    DocType,
    Document,
    Method,
    Note,
    Outcome,
    Priority,
    Relationship,
    RiskLevel,
    Visibility,
)
from haven.cases.models import Status as CaseStatus
from haven.core.errors import ValidationFailed
from haven.housing import selectors as housing_selectors
from haven.housing import services as housing_services
from haven.housing.models import EndReason, PlacementStatus
from haven.keyring import files, keys
from haven.pathways.selectors import application_list

router = Router(tags=["cases"])


def _case(request: HttpRequest, case_id: UUID) -> Case:
    return selectors.case_get(actor=api_actor(request), pk=case_id)


def colleague_ref(actor: User, user_id: UUID | None, field: str) -> User | None:
    if user_id is None:
        return None
    user = User.objects.filter(pk=user_id, organization_id=actor.organization_id).first()
    if user is None:
        raise ValidationFailed("No such colleague.", fields={field: ["No such colleague."]})
    return user


# --- schemas ------------------------------------------------------------------------------------


# Past this an offset means nothing and overflows the database's integers (found by fuzzing).
MAX_OFFSET = 10_000_000

class CaseIn(Schema):
    legal_name: str = Field(min_length=1, max_length=300)
    other_names: str = Field(default="", max_length=1000)
    phone: str = Field(default="", max_length=64)
    case_type: CaseType = CaseType.EVACUATION
    priority: Priority = Priority.NORMAL
    summary: str = Field(default="", max_length=2000)


class CaseFilter(Schema):
    q: str = Field(default="", max_length=200,
                   description="A case number, or a name or phone number in any script")
    status: str = Field(default="", max_length=20)
    priority: str = Field(default="", max_length=20)
    risk: str = Field(default="", max_length=20)
    assignee: str = Field(default="", max_length=40, description="A user id, `me` or `none`")
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


WITHHELD = " Null when the token's role does not see it (docs/cases.md, “Who sees what”)."


class CaseOut(Schema):
    """A case as the token's user may see it: every field outside their projection is null
    (an operator gets no risk, triage, verification outcome or review date; a partner liaison
    only the id, the number and what the referral shares)."""

    id: UUID
    number: str
    status: CaseStatus | None = Field(description="The status." + WITHHELD)
    paused_from: str | None = Field(description="Where an on-hold or suspended case resumes."
                                    + WITHHELD)
    case_type: CaseType | None = Field(description="The type." + WITHHELD)
    priority: Priority | None = Field(description="The priority." + WITHHELD)
    risk_level: str | None = Field(description="The latest risk assessment's level." + WITHHELD)
    triage_score: int | None = Field(description="Higher is more urgent." + WITHHELD)
    verification_outcome: str | None = Field(description="The verification's finding."
                                             + WITHHELD)
    assigned_to_id: UUID | None = Field(description="The caseworker (null when unassigned)."
                                        + WITHHELD)
    opened_by_id: UUID | None = Field(description="Who opened it." + WITHHELD)
    next_review: date | None = Field(description="The next risk review." + WITHHELD)
    created_at: datetime | None = Field(description="When it was opened." + WITHHELD)
    version: int | None = Field(description="Send it back with an edit: an edit made on top of "
                                "an older version is refused with 409 `stale`." + WITHHELD)


class CaseUpdateIn(Schema):
    priority: Priority | None = None
    case_type: CaseType | None = None
    summary: str | None = Field(default=None, max_length=2000)
    version: int | None = Field(default=None, ge=0, description=(
        "The version this edit was made on (from GET). If the case changed since, nothing is "
        "saved and the answer is 409 with code `stale`; leave it out to overwrite."))


class MemberOut(Schema):
    id: UUID
    person_id: UUID
    relationship: Relationship
    is_principal: bool
    travels_with: bool
    confidential: list[str] | None = Field(description="Fields not to be disclosed to the "
                                           "other members." + WITHHELD)


class SharedOut(Schema):
    """What a referral shares with a partner liaison; a field it does not share is null."""

    status: CaseStatus | None = None
    priority: Priority | None = None
    case_type: CaseType | None = None
    household_size: int | None = Field(default=None, description="Members who travel.")
    nationality: str | None = Field(default=None, description="The principal's.")
    languages: str | None = Field(default=None, description="The principal's.")


class CaseDetailOut(CaseOut):
    members: list[MemberOut] = Field(default=[], description="The household; empty for a "
                                     "partner liaison, who sees no person.")
    shared: SharedOut | None = Field(default=None, description="For a partner liaison: "
                                     "the fields the referral shares. Null for staff.")


class TransitionIn(Schema):
    to: CaseStatus
    closure_reason: ClosureReason | None = None


class AssignIn(Schema):
    assignee_id: UUID | None = Field(description="A caseworker or coordinator; null unassigns.")


class MemberIn(Schema):
    legal_name: str = Field(min_length=1, max_length=300)
    other_names: str = Field(default="", max_length=1000)
    phone: str = Field(default="", max_length=64)
    relationship: Relationship = Relationship.OTHER
    travels_with: bool = True
    confidential_fields: list[str] = []


class RevealIn(Schema):
    field: str = Field(min_length=1, max_length=32, description="legal_name, phone, story, …")


class RevealOut(Schema):
    field: str
    value: str


class VerificationRequestIn(Schema):
    verifier_id: UUID


class VerificationSubmitIn(Schema):
    outcome: Outcome
    methods: list[Method] = Field(description="At least one.")
    narrative: str = Field(min_length=1, max_length=20000)
    red_flags: str = Field(default="", max_length=20000)


class ApproveIn(Schema):
    approve: bool = True


class VerificationOut(Schema):
    id: UUID
    state: str
    outcome: str | None = Field(description="The finding." + WITHHELD)
    verifier_id: UUID


class RiskIn(Schema):
    immediacy: RiskLevel
    recommended_priority: Priority
    next_review: date
    threat_actors: str = Field(default="", max_length=20000)
    incidents: str = Field(default="", max_length=20000)
    exit_obstacles: str = Field(default="", max_length=20000)


class NoteIn(Schema):
    body: str = Field(min_length=1, max_length=20000)
    visibility: Visibility = Visibility.TEAM


class NoteOut(Schema):
    id: UUID
    visibility: Visibility
    author_id: UUID | None
    body: str
    redacted: bool
    created_at: datetime


class PlacementIn(Schema):
    person_id: UUID
    shelter_id: UUID
    planned_in: date | None = None


class PlacementOut(Schema):
    id: UUID
    shelter_id: UUID
    person_id: UUID
    status: PlacementStatus
    end_reason: str


class PlacementsIn(Schema):
    person_ids: list[UUID] = Field(max_length=50, description=(
        "Members of the case (person ids) placed together in one shelter: all of them, or "
        "none when the shelter has too few free places."))
    shelter_id: UUID
    planned_in: date | None = None


class DocumentOut(Schema):
    id: UUID
    doc_type: DocType
    person_id: UUID | None = Field(description="Whose document (a member of the case)")
    application_id: UUID | None = Field(description="The application it was made for; null: "
                                        "any application of its person may use it")
    name: str
    content_type: str
    size: int
    uploaded_by_id: UUID | None
    created_at: datetime


class DocumentUploadQuery(Schema):
    person_id: UUID = Field(description="Whose document: a member of the case (person id)")
    doc_type: DocType = DocType.OTHER
    application_id: UUID | None = Field(default=None, description=(
        "An application of the case the document was made for (its form, a letter to that "
        "embassy); leave it out for a document every application may use"))


class PlacementTransitionIn(Schema):
    to: PlacementStatus
    end_reason: EndReason | None = None


def _case_out(actor: User, case: Case, shared: dict[str, Any] | None = None) -> CaseOut:
    """``case`` through the actor's projection (``policy.project_case``): withheld fields null."""
    shown = policy.project_case(actor, case, shared=list(shared or {}))
    return CaseOut(**{name: getattr(shown, name) for name in CaseOut.model_fields})


def _detail(actor: User, case: Case) -> CaseDetailOut:
    if policy.case_view_of(actor) == policy.CaseView.REFERRAL:
        view = selectors.case_view(actor=actor, case=case)
        return CaseDetailOut(**_case_out(actor, case, view.shared).model_dump(),
                             shared=SharedOut(**view.shared))
    fields = policy.MEMBER_FIELDS[policy.case_view_of(actor)]
    members = [policy.project(m, fields) for m in selectors.case_members(actor=actor, case=case)]
    return CaseDetailOut(**_case_out(actor, case).model_dump(), members=[
        MemberOut(id=m.id, person_id=m.person_id, relationship=Relationship(m.relationship),
                  is_principal=m.is_principal, travels_with=m.travels_with,
                  confidential=m.confidential) for m in members])


def _verification(actor: User, verification: Any) -> VerificationOut:
    shown = policy.project(verification, policy.VERIFICATION_FIELDS[policy.case_view_of(actor)])
    return VerificationOut(id=shown.id, state=shown.state, outcome=shown.outcome,
                           verifier_id=shown.verifier_id)


def _note(note: Note) -> NoteOut:
    return NoteOut(id=note.pk, visibility=Visibility(note.visibility), author_id=note.author_id,
                   body=note.body, redacted=note.redacted_at is not None,
                   created_at=note.created_at)


# --- cases --------------------------------------------------------------------------------------


@router.get("", response=list[CaseOut],
            summary="List your cases, most urgent first; search by name or phone (any script) "
                    "or number; filters on fields your role does not see are ignored")
@api_requires(Perm.CASE_READ)
def case_list(request: HttpRequest, filters: Query[CaseFilter]) -> list[CaseOut]:
    f = filters
    actor = api_actor(request)
    qs = selectors.case_list(actor=actor, q=f.q, status=f.status, priority=f.priority,
                             risk=f.risk, assignee=f.assignee)
    cases = list(qs[f.offset: f.offset + f.limit])
    shared = selectors.referral_shared(actor=actor, cases=cases)
    return [_case_out(actor, case, shared.get(case.pk)) for case in cases]


@router.post("", response={201: CaseDetailOut}, summary="Open a case with its principal")
@api_requires(Perm.CASE_CREATE)
def case_open(request: HttpRequest, payload: CaseIn) -> Status[CaseDetailOut]:
    actor = api_actor(request)
    case = services.case_open(actor=actor, **payload.model_dump())
    return Status(201, _detail(actor, case))


@router.get("/{case_id}", response=CaseDetailOut,
            summary="One case with its household (person fields are never included)")
@api_requires(Perm.CASE_READ)
def case_get(request: HttpRequest, case_id: UUID) -> CaseDetailOut:
    return _detail(api_actor(request), _case(request, case_id))


@router.patch("/{case_id}", response=CaseOut,
              summary="Change priority, type or summary (409 `stale` if edited meanwhile)")
@api_requires(Perm.CASE_UPDATE)
def case_update(request: HttpRequest, case_id: UUID, payload: CaseUpdateIn) -> CaseOut:
    actor = api_actor(request)
    return _case_out(actor, services.case_update(actor=actor, case=_case(request, case_id),
                                                 **payload.dict(exclude_unset=True)))


@router.post("/{case_id}/transition", response=CaseOut,
             summary="Move a case along its lifecycle (409 with the reason if not allowed)")
@api_requires(Perm.CASE_TRANSITION)
def case_transition(request: HttpRequest, case_id: UUID, payload: TransitionIn) -> CaseOut:
    actor = api_actor(request)
    return _case_out(actor, services.case_transition(
        actor=actor, case=_case(request, case_id), to=payload.to,
        closure_reason=payload.closure_reason or ""))


@router.post("/{case_id}/assign", response=CaseOut, summary="Assign or reassign the caseworker")
@api_requires(Perm.CASE_ASSIGN)
def case_assign(request: HttpRequest, case_id: UUID, payload: AssignIn) -> CaseOut:
    actor = api_actor(request)
    case = _case(request, case_id)
    return _case_out(actor, services.case_assign(
        actor=actor, case=case, assignee=colleague_ref(actor, payload.assignee_id, "assignee_id")))


@router.post("/{case_id}/members", response={201: MemberOut}, summary="Add a household member")
@api_requires(Perm.CASE_UPDATE)
def member_add(request: HttpRequest, case_id: UUID, payload: MemberIn) -> Status[MemberOut]:
    actor = api_actor(request)
    member = services.member_add(actor=actor, case=_case(request, case_id),
                                 **payload.model_dump())
    shown = policy.project(member, policy.MEMBER_FIELDS[policy.case_view_of(actor)])
    return Status(201, MemberOut(id=member.pk, person_id=member.person_id,
                                 relationship=Relationship(member.relationship),
                                 is_principal=member.is_principal,
                                 travels_with=member.travels_with,
                                 confidential=shown.confidential))


@router.post("/{case_id}/people/{person_id}/reveal", response=RevealOut,
             summary="Reveal one sensitive value of a member (recorded in the audit log)")
@api_requires(Perm.PERSON_REVEAL)
def person_reveal(request: HttpRequest, case_id: UUID, person_id: UUID, payload: RevealIn
                  ) -> RevealOut:
    actor = api_actor(request)
    case = _case(request, case_id)
    member = selectors.member_get(actor=actor, case=case, person_id=person_id)
    value = services.person_reveal(actor=actor, case=case, person=member.person,
                                   field=payload.field)
    return RevealOut(field=payload.field, value=value)


@router.post("/{case_id}/verification", response={201: VerificationOut},
             summary="Send the case to a verifier (not the person who opened it)")
@api_requires(Perm.VERIFICATION_REQUEST)
def verification_request(request: HttpRequest, case_id: UUID, payload: VerificationRequestIn
                         ) -> Status[VerificationOut]:
    actor = api_actor(request)
    verification = services.verification_request(
        actor=actor, case=_case(request, case_id),
        verifier=colleague_ref(actor, payload.verifier_id, "verifier_id"))
    return Status(201, _verification(actor, verification))


@router.post("/{case_id}/verification/{verification_id}/submit", response=VerificationOut,
             summary="The verifier's finding; “verified” then awaits a coordinator's approval")
@api_requires(Perm.VERIFICATION_SUBMIT)
def verification_submit(request: HttpRequest, case_id: UUID, verification_id: UUID,
                        payload: VerificationSubmitIn) -> VerificationOut:
    actor = api_actor(request)
    case = _case(request, case_id)
    verification = selectors.verification_get(case=case, verification_id=verification_id)
    return _verification(actor, services.verification_submit(
        actor=actor, verification=verification, outcome=payload.outcome,
        methods=[str(m) for m in payload.methods], narrative=payload.narrative,
        red_flags=payload.red_flags))


@router.post("/{case_id}/verification/{verification_id}/approve", response=VerificationOut,
             summary="A second person (a coordinator) approves “verified”, or returns it")
@api_requires(Perm.VERIFICATION_APPROVE)
def verification_approve(request: HttpRequest, case_id: UUID, verification_id: UUID,
                         payload: ApproveIn) -> VerificationOut:
    actor = api_actor(request)
    case = _case(request, case_id)
    verification = selectors.verification_get(case=case, verification_id=verification_id)
    return _verification(actor, services.verification_approve(
        actor=actor, verification=verification, approve=payload.approve))


@router.post("/{case_id}/risk", response={201: CaseOut}, summary="Record a risk assessment")
@api_requires(Perm.RISK_ASSESS)
def risk_assess(request: HttpRequest, case_id: UUID, payload: RiskIn) -> Status[CaseOut]:
    actor = api_actor(request)
    case = _case(request, case_id)
    services.risk_assess(actor=actor, case=case, **payload.model_dump())
    case.refresh_from_db()
    return Status(201, _case_out(actor, case))


@router.get("/{case_id}/notes", response=list[NoteOut],
            summary="The notes the token's user may read on this case (reading is recorded)")
@api_requires(Perm.NOTE_READ)
def note_list(request: HttpRequest, case_id: UUID) -> list[NoteOut]:
    view = selectors.case_view(actor=api_actor(request), case=_case(request, case_id))
    return [_note(n) for n in view.notes]


@router.post("/{case_id}/notes", response={201: NoteOut}, summary="Append a note")
@api_requires(Perm.NOTE_CREATE)
def note_add(request: HttpRequest, case_id: UUID, payload: NoteIn) -> Status[NoteOut]:
    note = services.note_add(actor=api_actor(request), case=_case(request, case_id),
                             body=payload.body, visibility=payload.visibility)
    return Status(201, _note(note))


@router.post("/{case_id}/notes/{note_id}/redact", response=NoteOut,
             summary="Redact a note for good (recorded)")
@api_requires(Perm.NOTE_REDACT)
def note_redact(request: HttpRequest, case_id: UUID, note_id: UUID) -> NoteOut:
    actor = api_actor(request)
    case = _case(request, case_id)
    note = selectors.note_get(actor=actor, case=case, note_id=note_id)
    return _note(services.note_redact(actor=actor, note=note))


@router.post("/{case_id}/placements", response={201: PlacementOut},
             summary="Plan a member's placement in a shelter (409 when it is full)")
@api_requires(Perm.PLACEMENT_MANAGE)
def placement_add(request: HttpRequest, case_id: UUID, payload: PlacementIn
                  ) -> Status[PlacementOut]:
    actor = api_actor(request)
    case = _case(request, case_id)
    member = selectors.member_get(actor=actor, case=case, person_id=payload.person_id)
    shelter = housing_selectors.shelter_get(actor=actor, pk=payload.shelter_id)
    placement = housing_services.placement_create(actor=actor, case=case, person=member.person,
                                                  shelter=shelter, planned_in=payload.planned_in)
    return Status(201, PlacementOut.model_validate(placement, from_attributes=True))


@router.post("/{case_id}/placements/{placement_id}/transition", response=PlacementOut,
             summary="Move in, or end a placement with a reason")
@api_requires(Perm.PLACEMENT_MANAGE)
def placement_transition(request: HttpRequest, case_id: UUID, placement_id: UUID,
                         payload: PlacementTransitionIn) -> Any:
    actor = api_actor(request)
    placement = housing_selectors.placement_get(actor=actor, case=_case(request, case_id),
                                                placement_id=placement_id)
    return housing_services.placement_transition(actor=actor, placement=placement,
                                                 to=payload.to,
                                                 end_reason=payload.end_reason or "")


@router.post("/{case_id}/placements/group", response={201: list[PlacementOut]},
             summary="Place several members together in one shelter (all or none; 409 when "
                     "it has too few free places)")
@api_requires(Perm.PLACEMENT_MANAGE)
def placements_add(request: HttpRequest, case_id: UUID, payload: PlacementsIn
                   ) -> Status[list[PlacementOut]]:
    actor = api_actor(request)
    case = _case(request, case_id)
    persons = [selectors.member_get(actor=actor, case=case, person_id=pid).person
               for pid in payload.person_ids]
    shelter = housing_selectors.shelter_get(actor=actor, pk=payload.shelter_id)
    placed = housing_services.placements_create(actor=actor, case=case, persons=persons,
                                                shelter=shelter, planned_in=payload.planned_in)
    return Status(201, [PlacementOut.model_validate(p, from_attributes=True) for p in placed])


# --- documents ----------------------------------------------------------------------------------


def _one_upload(request: HttpRequest) -> files.EncryptedUpload:
    uploads = [u for u in request.FILES.getlist("file") if isinstance(u, files.EncryptedUpload)]
    if len(uploads) != 1 or len(request.FILES) != 1:
        raise ValidationFailed("Send exactly one file, in the multipart field `file`.")
    return uploads[0]


def _document(doc: Document) -> DocumentOut:
    return DocumentOut(id=doc.pk, doc_type=DocType(doc.doc_type), person_id=doc.person_id,
                       application_id=doc.application_id, name=str(doc.name),
                       content_type=str(doc.content_type), size=doc.size,
                       uploaded_by_id=doc.uploaded_by_id, created_at=doc.created_at)


@router.get("/{case_id}/documents", response=list[DocumentOut],
            summary="The case's documents, newest first: whose each is, and for which "
                    "application (tickets only for those who follow the case's journeys)")
@api_requires(Perm.DOCUMENT_READ)
def document_list(request: HttpRequest, case_id: UUID) -> list[DocumentOut]:
    actor = api_actor(request)
    case = _case(request, case_id)
    policy.require(actor, Perm.DOCUMENT_READ, case)
    docs = list(document_selectors.documents_visible(actor, case).order_by("-created_at"))
    keys.prefetch(docs)
    return [_document(d) for d in docs]


@router.post(
    "/{case_id}/documents", response={201: DocumentOut},
    summary="Upload a person's document (multipart field `file`), encrypted as it streams in",
    description="Send the file as `multipart/form-data` in the field `file`; say whose it is "
                "(`person_id`), its type and, optionally, the application it was made for in "
                "the query string, so the file is sealed before any of it is read.")
@api_requires(Perm.DOCUMENT_UPLOAD)
def document_upload(request: HttpRequest, case_id: UUID, query: Query[DocumentUploadQuery]
                    ) -> Status[DocumentOut]:
    actor = api_actor(request)
    case = _case(request, case_id)
    member = case.members.select_related("person").filter(person_id=query.person_id).first()
    application = None
    if query.application_id is not None:
        application = application_list(actor=actor, case=case).filter(
            pk=query.application_id).first()
        if application is None:
            raise ValidationFailed("No such application on this case.",
                                   fields={"application_id": ["No such application."]})
    handler = files.EncryptingUploadHandler(request, data_key=keys.data_key_for(case),
                                            owner=case.keyring_owner())
    request.upload_handlers = [handler]
    try:
        doc = services.document_attach(actor=actor, case=case, upload=_one_upload(request),
                                       person=member.person if member else None,
                                       doc_type=query.doc_type, application=application)
    except BaseException:
        handler.abort()
        raise
    return Status(201, _document(doc))


@router.get("/{case_id}/documents/{document_id}",
            summary="Download a document, decrypted as it streams (recorded)")
@api_requires(Perm.DOCUMENT_READ)
def document_download(request: HttpRequest, case_id: UUID, document_id: UUID
                      ) -> StreamingHttpResponse:
    actor = api_actor(request)
    doc = document_selectors.document_get(actor=actor, case=_case(request, case_id),
                                 document_id=document_id)
    response = StreamingHttpResponse(document_selectors.document_open(actor=actor, doc=doc),
                                     content_type="application/octet-stream")
    response["Content-Length"] = str(doc.size)
    response["Content-Disposition"] = f'attachment; filename="{doc.pk}"'
    return response


