"""/api/v1/dossiers: dossier export requests and their approval. The PDFs are not exported
over the API (``DOSSIER_NO_EXPORT``)."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import Field

from haven.access.decorators import api_actor, api_requires
from haven.access.permissions import Perm
from haven.accounts.models import User
from haven.core.errors import NotFound
from haven.pathways import selectors, services
from haven.pathways.api.common import MAX_OFFSET, application_for, page
from haven.pathways.models import DossierExport, DossierState

router = Router(tags=["dossiers"])


DOSSIER_NO_EXPORT = (
    "The dossier PDF itself is **not** available over the API: exporting it requires the "
    "coordinator to have confirmed their password and a fresh one-time code in the browser "
    f"within the last {settings.HAVEN_REAUTH_MINUTES} minutes, which a bearer token cannot "
    "prove. Approve here if you like, then download the PDF from the application's page.")


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


@router.post("", response={201: DossierOut}, description=DOSSIER_NO_EXPORT,
                      summary="Ask a coordinator for a dossier of an application")
@api_requires(Perm.DOSSIER_REQUEST)
def dossier_request(request: HttpRequest, payload: DossierIn) -> Status[DossierOut]:
    actor = api_actor(request)
    export = services.dossier_request(actor=actor,
                                      application=application_for(actor, payload.application_id),
                                      fields=payload.fields, language=payload.language)
    return Status(201, _dossier(export))


@router.get("", response=list[DossierOut], description=DOSSIER_NO_EXPORT,
                     summary="Dossier requests, oldest first (by default those awaiting a "
                             "decision)")
@api_requires(Perm.DOSSIER_REQUEST)
def dossier_list(request: HttpRequest, filters: Query[DossierFilter]) -> list[DossierOut]:
    actor = api_actor(request)
    f = filters
    application = application_for(actor, f.application) if f.application is not None else None
    qs = selectors.dossier_exports(actor=actor, state=f.state, application=application)
    return [_dossier(e) for e in page(qs, f.limit, f.offset)]


@router.post("/{dossier_id}/approve", response=DossierOut,
                      description=DOSSIER_NO_EXPORT,
                      summary="Approve a dossier request (coordinators)")
@api_requires(Perm.DOSSIER_APPROVE)
def dossier_approve(request: HttpRequest, dossier_id: UUID) -> DossierOut:
    actor = api_actor(request)
    return _dossier(services.dossier_approve(actor=actor, export=_dossier_get(actor, dossier_id)))


@router.post("/{dossier_id}/decline", response=DossierOut,
                      summary="Decline a dossier request (coordinators)")
@api_requires(Perm.DOSSIER_APPROVE)
def dossier_decline(request: HttpRequest, dossier_id: UUID) -> DossierOut:
    actor = api_actor(request)
    return _dossier(services.dossier_decline(actor=actor, export=_dossier_get(actor, dossier_id)))
