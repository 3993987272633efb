"""/api/v1/people: create, search, erase, and encrypted documents."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from django.http import HttpRequest, StreamingHttpResponse
from ninja import Router, Schema, Status
from pydantic import Field

from haven.access import policy
from haven.access.decorators import api_actor, api_reauth, api_requires
from haven.access.permissions import Perm
from haven.core.errors import ValidationFailed
from haven.keyring import files, keys
from haven.people import duplicate_selectors, duplicates, names, selectors, services
from haven.people.models import DuplicatePair

router = Router(tags=["people"])


class PersonIn(Schema):
    legal_name: str = Field(min_length=1, max_length=300)
    other_names: str = Field(default="", max_length=1000)
    phone: str = Field(default="", max_length=64)


class PersonOut(Schema):
    id: UUID
    created_at: datetime
    legal_name: str | None = Field(description="Null unless the token's user may reveal names.")
    other_names: str | None
    phone: str | None
    match: names.MatchLabel | None = Field(
        default=None, description="With a name search: exact (same letters), likely (the "
        "evidence says this is the person: another romanisation, an equivalent given name, "
        "one wrong letter) or possible (a similar name, shown, not claimed).")
    why: str | None = Field(default=None, description="With a name search: the evidence for "
                            "each word of the query, e.g. \"zelimhan: same skeleton\".")


class CreatedOut(Schema):
    id: UUID
    created_at: datetime


class FileOut(Schema):
    id: UUID
    size: int


class FieldWeightOut(Schema):
    field: str = Field(description="name, dob, phone or place")
    level: str = Field(description="How the two records agree on the field, e.g. likely, "
                       "swapped, same, different")
    weight: float = Field(description="The field's Fellegi–Sunter weight (log2 m/u)")


class DuplicateOut(Schema):
    id: UUID
    first: UUID
    second: UUID
    weight: float
    fields: list[FieldWeightOut]
    state: str = Field(description="open, same or different")
    kept: UUID | None = Field(description="With state same: the record kept.")
    decided_at: datetime | None


class DecisionIn(Schema):
    decision: Literal["same", "different"]
    keep: UUID | None = Field(default=None, description="With same: the record to keep "
                              "(default the older one). Nothing is deleted.")


def _pair_out(pair: DuplicatePair) -> DuplicateOut:
    return DuplicateOut(id=pair.pk, first=pair.first_id, second=pair.second_id,
                        weight=pair.weight, fields=[FieldWeightOut(**f) for f in pair.fields],
                        state=pair.state, kept=pair.kept_id, decided_at=pair.decided_at)


@router.get("/duplicates", response=list[DuplicateOut],
            summary="The duplicate review queue: pairs of people who may be one person, "
                    "heaviest first, with each field's weight (ids only, no names)")
@api_requires(Perm.CASE_SUPERVISE)
def duplicate_list(request: HttpRequest, state: str = "open") -> list[DuplicateOut]:
    return [_pair_out(p) for p in duplicate_selectors.duplicates_visible(api_actor(request), state)]


@router.post("/duplicates/{pair_id}/decide", response=DuplicateOut,
             summary="Decide a pair: same person (linked, nothing deleted) or different people "
                     "(never proposed again)")
@api_requires(Perm.CASE_SUPERVISE)
def duplicate_decide(request: HttpRequest, pair_id: UUID, payload: DecisionIn) -> DuplicateOut:
    actor = api_actor(request)
    pair = duplicate_selectors.duplicate_get(actor, pair_id)
    keep = None
    if payload.keep is not None:
        keep = next((p for p in (pair.first, pair.second) if p.pk == payload.keep), None)
        if keep is None:
            raise ValidationFailed("The record kept must be one of the pair.",
                                   fields={"keep": ["One of the two people."]})
    return _pair_out(duplicates.duplicate_decide(actor=actor, pair=pair,
                                                 decision=payload.decision, keep=keep))


@router.post("/duplicates/{pair_id}/undo", response=DuplicateOut,
             summary="Undo a decision: the pair is open again; the decision stays in the audit log")
@api_requires(Perm.CASE_SUPERVISE)
def duplicate_undo(request: HttpRequest, pair_id: UUID) -> DuplicateOut:
    actor = api_actor(request)
    pair = duplicate_selectors.duplicate_get(actor, pair_id)
    return _pair_out(duplicates.duplicate_undo(actor=actor, pair=pair))


@router.post("", response={201: CreatedOut}, summary="Register a person")
@api_requires(Perm.PERSON_CREATE)
def person_create(request: HttpRequest, payload: PersonIn) -> Status[CreatedOut]:
    person = services.person_create(actor=api_actor(request), legal_name=payload.legal_name,
                                    other_names=payload.other_names, phone=payload.phone)
    return Status(201, CreatedOut(id=person.pk, created_at=person.created_at))


@router.get("", response=list[PersonOut],
            summary="List or search the people of your cases: a phone number, or a name in any "
                    "script or spelling, ranked best first with a match level; names and phones "
                    "decrypted, so the token must have re-authenticated")
@api_reauth
@api_requires(Perm.PERSON_READ)
def person_list(request: HttpRequest, q: str = "") -> list[PersonOut]:
    rows = selectors.person_list(actor=api_actor(request), q=q[:200])
    return [PersonOut(id=r.id, created_at=r.created_at, legal_name=r.legal_name,
                      other_names=r.other_names, phone=r.phone, match=r.match, why=r.why)
            for r in rows]


@router.delete("/{person_id}", response={204: None}, summary="Erase a person (crypto-shred)")
@api_requires(Perm.PERSON_ERASE)
def person_erase(request: HttpRequest, person_id: UUID) -> Status[None]:
    actor = api_actor(request)
    services.person_erase(actor=actor, person=selectors.person_get(actor=actor, person_id=person_id))
    return Status(204, None)


def _one_upload(request: HttpRequest) -> files.EncryptedUpload:
    uploads = [u for u in request.FILES.getlist("file") if isinstance(u, files.EncryptedUpload)]
    if len(uploads) != 1 or len(request.FILES) != 1:
        raise ValidationFailed("Send exactly one file, in the multipart field `file`.")
    return uploads[0]


@router.post("/{person_id}/files", response={201: FileOut},
             summary="Upload a document about a person of one of your cases (multipart field "
                     "`file`), encrypted as it streams in")
@api_requires(Perm.DOCUMENT_UPLOAD)
def person_file_upload(request: HttpRequest, person_id: UUID) -> Status[FileOut]:
    actor = api_actor(request)
    person = selectors.person_get(actor=actor, person_id=person_id)
    policy.require(actor, Perm.DOCUMENT_UPLOAD, person)  # before a byte is stored
    handler = files.EncryptingUploadHandler(request, data_key=keys.data_key_for(person),
                                            owner=person.keyring_owner())
    request.upload_handlers = [handler]
    try:
        doc = services.person_file_attach(actor=actor, person=person, upload=_one_upload(request))
    except BaseException:
        handler.abort()
        raise
    return Status(201, FileOut(id=doc.pk, size=doc.size))


@router.get("/{person_id}/files/{file_id}", summary="Download a document, decrypted as it streams")
@api_requires(Perm.PERSON_REVEAL)
def person_file_download(request: HttpRequest, person_id: UUID, file_id: UUID
                         ) -> StreamingHttpResponse:
    actor = api_actor(request)
    doc = selectors.person_file_get(actor=actor, person_id=person_id, file_id=file_id)
    response = StreamingHttpResponse(selectors.person_file_open(actor=actor, doc=doc),
                                     content_type="application/octet-stream")
    response["Content-Length"] = str(doc.size)
    response["Content-Disposition"] = f'attachment; filename="{doc.pk}"'
    return response
