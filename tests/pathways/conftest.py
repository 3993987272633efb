"""Fixtures for pathways: the invented reference file loaded, and a case ready to apply."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from haven.audit.models import AuditEvent
from haven.cases import services as case_services
from haven.cases.models import Case, DocType, Document, Member, Relationship
from haven.keyring import files
from haven.pathways import loader
from haven.pathways.models import Country, Pathway
from tests.cases.conftest import _fast_passwords, assigned, opened

__all__ = ["_fast_passwords", "assigned", "opened"]

FIXTURE = Path(__file__).resolve().parent / "fixture_pathways.yaml"


@pytest.fixture
def reference(db: None) -> dict[str, Pathway]:
    """Only the invented reference data of ``fixture_pathways.yaml`` (whatever ``migrate``
    loaded is removed first), with no audit event left from loading it."""
    Pathway.objects.all().delete()
    Country.objects.all().delete()
    loader.load_reference_data(FIXTURE)
    AuditEvent.objects.filter(action="pathways.loaded").delete()
    return {p.slug: p for p in Pathway.objects.select_related("country")}


def add_document(case: Case, actor: Any, doc_type: str, person: Any = None,
                 application: Any = None) -> Document:
    """A document of ``person`` (default: the case's principal) on ``case``."""
    if person is None:
        person = Member.objects.get(case=case, is_principal=True).person
    upload = files.EncryptedUpload(file_id=uuid.uuid4(), name=f"{doc_type}.pdf",
                                   content_type="application/pdf", size=10)
    made_for = {"application": application} if application is not None else {}
    return case_services.document_attach(actor=actor, case=case, upload=upload,
                                         doc_type=doc_type, person=person, **made_for)


@pytest.fixture
def household(assigned: Case, caseworker: Any) -> Case:
    """The assigned case with a spouse who travels too; the principal is Russian, the
    spouse's nationality is not recorded; a passport of the principal is on file."""
    case_services.member_add(actor=caseworker, case=assigned, legal_name="Зарема Хасанова",
                             relationship=Relationship.SPOUSE)
    principal = Member.objects.get(case=assigned, is_principal=True)
    case_services.profile_update(actor=caseworker, case=assigned, person=principal.person,
                                 nationality="Russian")
    add_document(assigned, caseworker, DocType.PASSPORT, principal.person)
    return assigned


def audit_count() -> int:
    return AuditEvent.objects.count()


def actions() -> list[str]:
    return list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))
