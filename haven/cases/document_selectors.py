"""Reads of a person's documents on a case: which the actor may see, one of them, its stream."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models import QuerySet

from haven.access import policy
from haven.access.permissions import Perm
from haven.audit.services import record
from haven.cases.models import Case, DocType, Document
from haven.core.errors import NotFound
from haven.keyring import files, keys


def documents_visible(actor: Any, case: Case) -> QuerySet[Document]:
    """The case's documents ``actor`` may list and open (after ``document:read``): tickets
    say where and when the household travels, so only those who follow its journeys
    (``travel:read``) see them."""
    qs = case.documents.all()
    if not policy.has_perm(actor, Perm.TRAVEL_READ, case):
        qs = qs.exclude(doc_type=DocType.TICKET)
    return qs


def document_get(*, actor: Any, case: Case, document_id: UUID | str) -> Document:
    policy.require(actor, Perm.DOCUMENT_READ, case)
    doc = documents_visible(actor, case).filter(pk=document_id).first()
    if doc is None:
        raise NotFound("Not found.")
    return doc


def document_open(*, actor: Any, doc: Document) -> Any:
    """Stream a document decrypted; the download is recorded before the first byte leaves."""
    key = keys.data_key_for(doc.case)
    with transaction.atomic():
        record(actor=actor, action="document.downloaded", object_type="document",
               object_id=doc.pk, data={"case": str(doc.case_id)})
    return files.open_decrypted(data_key=key, owner=doc.keyring_owner(), file_id=doc.pk)
