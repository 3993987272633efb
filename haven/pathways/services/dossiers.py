"""Dossier exports: a caseworker asks, a coordinator approves and downloads.

A dossier is the most dangerous thing Haven produces — a PDF with a person's identity and
story that leaves the server. So: only coordinators export, only right after proving who they
are again, every export is recorded with who, when and which fields (never the values), and
the PDF is made in memory at download time and never written to disk or stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from haven.access import policy
from haven.access.permissions import Perm
from haven.audit.services import record
from haven.cases.models import PERSON_FIELDS, PROFILE_FIELDS, Document, PersonProfile
from haven.cases.services.common import choice
from haven.core.errors import Conflict, Forbidden, ValidationFailed
from haven.keyring import keys
from haven.pathways import dossier
from haven.pathways.models import (
    DOSSIER_APPLICATION_FIELDS,
    DOSSIER_FIELDS,
    DOSSIER_PERSON_FIELDS,
    Application,
    DossierExport,
    DossierState,
)
from haven.pathways.selectors import application_checklist


class ReauthenticationRequired(Forbidden):
    """The action needs the password and a fresh code again (older than the window)."""

    code = "reauth_required"


class DossierLanguage:
    values = ("en", "ru")


def _fields(fields: Iterable[str]) -> str:
    wanted = [f for f in dict.fromkeys(fields) if f]
    unknown = [f for f in wanted if f not in DOSSIER_FIELDS]
    if unknown:
        raise ValidationFailed(_("Not a valid choice."), fields={"fields": [
            _("Unknown: %(v)s.") % {"v": ", ".join(unknown)}]})
    if not wanted:
        raise ValidationFailed(_("Choose what the dossier shows."),
                               fields={"fields": [_("Choose at least one field.")]})
    return ",".join(f for f in DOSSIER_FIELDS if f in wanted)


def dossier_request(*, actor: Any, application: Application, fields: Iterable[str],
                    language: str = "en") -> DossierExport:
    """Ask a coordinator for a dossier of ``application`` showing ``fields``."""
    policy.require(actor, Perm.DOSSIER_REQUEST, application)
    chosen = _fields(fields)
    choice(language, DossierLanguage, "language")
    with transaction.atomic():
        export = DossierExport.objects.create(
            organization_id=application.organization_id, case_id=application.case_id,
            application=application, fields=chosen, language=language, requested_by=actor)
        record(actor=actor, action="dossier.requested", object_type="dossier_export",
               object_id=export.pk, data={"case": str(application.case_id),
                                          "application": str(application.pk),
                                          "fields": export.field_list, "language": language})
    return export


def _decide(actor: Any, export: DossierExport, state: DossierState) -> DossierExport:
    policy.require(actor, Perm.DOSSIER_APPROVE, export)
    with transaction.atomic():
        locked = DossierExport.objects.select_for_update().get(pk=export.pk)
        if locked.state != DossierState.REQUESTED:
            raise Conflict(_("This request was already decided (%(state)s).") % {
                "state": DossierState(locked.state).label.lower()})
        locked.state = state
        locked.decided_by = actor
        locked.decided_at = timezone.now()
        locked.save(update_fields=["state", "decided_by", "decided_at", "updated_at"])
        record(actor=actor, action=f"dossier.{state}", object_type="dossier_export",
               object_id=locked.pk, data={"case": str(locked.case_id),
                                          "application": str(locked.application_id)})
    export.refresh_from_db()
    return export


def dossier_approve(*, actor: Any, export: DossierExport) -> DossierExport:
    """Approve a caseworker's request; the PDF is made when a coordinator downloads it."""
    return _decide(actor, export, DossierState.APPROVED)


def dossier_decline(*, actor: Any, export: DossierExport) -> DossierExport:
    return _decide(actor, export, DossierState.DECLINED)


def reauthenticated_recently(reauthenticated_at: datetime | float | None) -> bool:
    """Was the password and a code checked within ``HAVEN_REAUTH_MINUTES``? Takes the
    moment (or the session's timestamp, ``accounts.services.SESSION_REAUTH_AT``)."""
    if reauthenticated_at is None:
        return False
    if not isinstance(reauthenticated_at, datetime):
        reauthenticated_at = datetime.fromtimestamp(float(reauthenticated_at),
                                                    tz=timezone.get_current_timezone())
    age = timezone.now() - reauthenticated_at
    return timedelta(0) <= age <= timedelta(minutes=settings.HAVEN_REAUTH_MINUTES)


@dataclass(frozen=True)
class DossierFile:
    export: DossierExport
    content: bytes
    filename: str


def dossier_export(*, actor: Any, application: Application,
                   reauthenticated_at: datetime | float | None,
                   fields: Iterable[str] | None = None, language: str | None = None,
                   export: DossierExport | None = None) -> DossierFile:
    """Make the dossier PDF of ``application`` in memory and record the export.

    Coordinators only, within ``HAVEN_REAUTH_MINUTES`` of re-authenticating. Either
    downloads an approved request (``export``: its fields and language, unless given) or
    exports directly (a new export record, so every PDF carries an export id). The PDF is
    stamped with the exporter, the organization, the time and the export id on every page,
    and is never stored: the caller streams ``content`` and drops it.
    """
    policy.require(actor, Perm.DOSSIER_EXPORT, application)
    if not reauthenticated_recently(reauthenticated_at):
        raise ReauthenticationRequired(
            _("Confirm your password and a fresh code before exporting a dossier."))
    if export is not None:
        if export.application_id != application.pk:
            raise ValidationFailed(_("That request is for another application."),
                                   fields={"export": [_("Not this application's request.")]})
        if export.state not in (DossierState.APPROVED, DossierState.DOWNLOADED):
            raise Conflict(_("This request is %(state)s: only an approved request can be "
                             "downloaded.") % {"state": DossierState(export.state).label.lower()})
    chosen = _fields(fields if fields is not None else (export.field_list if export else []))
    language = language or (export.language if export else "en")
    choice(language, DossierLanguage, "language")
    now = timezone.now()
    with transaction.atomic():
        if export is None:
            export = DossierExport.objects.create(
                organization_id=application.organization_id, case_id=application.case_id,
                application=application, fields=chosen, language=language,
                requested_by=actor, decided_by=actor, decided_at=now,
                state=DossierState.APPROVED)
        locked = DossierExport.objects.select_for_update().get(pk=export.pk)
        locked.state = DossierState.DOWNLOADED
        locked.downloaded_by = actor
        locked.downloaded_at = now
        locked.downloads += 1
        locked.save(update_fields=["state", "downloaded_by", "downloaded_at", "downloads",
                                   "updated_at"])
        # Labels (fields, relationships) in the dossier's language, not the exporter's.
        with translation.override(language):
            data = dossier_data(actor=actor, application=application,
                                fields=chosen.split(","), language=language, export=locked,
                                at=now)
        content = dossier.render_dossier(data)
        record(actor=actor, action="dossier.exported", object_type="dossier_export",
               object_id=locked.pk,
               data={"case": str(application.case_id), "application": str(application.pk),
                     "fields": chosen.split(","), "language": language,
                     "download": locked.downloads})
    export.refresh_from_db()
    return DossierFile(export=export, content=content,
                       filename=f"dossier-{application.case.number}-{str(export.pk)[:8]}.pdf")


def dossier_data(*, actor: Any, application: Application, fields: list[str], language: str,
                 export: DossierExport, at: datetime) -> dossier.DossierData:
    """The plain values printed in the dossier: the chosen fields of each applicant and of
    the application, the checklist's documents (present or missing), and the stamp."""
    case = application.case
    pathway = application.pathway
    applicants = list(application.applicants.select_related("member", "member__person")
                      .order_by("-member__is_principal", "created_at"))
    persons = [a.member.person for a in applicants]
    profiles = {p.person_id: p for p in PersonProfile.objects.filter(person__in=persons)}
    keys.prefetch([application, *persons, *profiles.values()])
    rows: list[tuple[str, str]] = []
    names: list[tuple[str, str]] = []
    for n, applicant in enumerate(applicants, 1):
        person = applicant.member.person
        name = str(person.legal_name) if "legal_name" in fields else f"#{n}"
        names.append((name, str(applicant.member.get_relationship_display())))
        profile = profiles.get(person.pk)
        for field in fields:
            if field not in DOSSIER_PERSON_FIELDS or field == "legal_name":
                continue
            source = profile if field in PROFILE_FIELDS else person
            value = str(getattr(source, field)) if source is not None else ""
            rows.append((f"{PERSON_FIELDS[field]} (#{n})", value))
    for field in fields:
        if field in DOSSIER_APPLICATION_FIELDS:
            value = getattr(application, field)
            rows.append((str(DOSSIER_APPLICATION_FIELDS[field]),
                         value.isoformat() if hasattr(value, "isoformat") else str(value or "")))
    checklist = application_checklist(application)
    docs = {d.pk: d for d in Document.objects.filter(
        pk__in=[c.document_id for i in checklist.items for c in i.cells if c.document_id])}
    keys.prefetch(docs.values())
    labels = dossier.LABELS["ru" if language == "ru" else "en"]
    # One line per applicant and item, numbered like the applicants above.
    documents = [(item.label_for(language) + (f" (#{n})" if len(item.cells) > 1 else ""),
                  str(docs[cell.document_id].name) if cell.document_id in docs
                  else labels["ticked"] if cell.ticked_at else item.doc_type,
                  cell.done)
                 for item in checklist.items for n, cell in enumerate(item.cells, 1)]
    country = pathway.country
    return dossier.DossierData(
        title=("Досье" if language == "ru" else "Dossier"),
        organization=case.organization.name,
        case_number=case.number,
        pathway=(pathway.name_ru or pathway.name) if language == "ru" else pathway.name,
        country=(country.name_ru or country.name) if language == "ru" else country.name,
        fields=rows, applicants=names, documents=documents,
        exported_by=actor.username, exported_at=at, export_id=str(export.pk),
        language="ru" if language == "ru" else "en")
