"""A Russian dossier is Russian throughout, whatever the language of the exporter's session."""

from __future__ import annotations

import io
from typing import Any

from django.utils import timezone, translation
from pypdf import PdfReader

from haven.cases.models import Case
from haven.pathways import services
from haven.pathways.models import Application, Pathway


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _application(reference: dict[str, Pathway], household: Case, caseworker: Any
                 ) -> Application:
    return services.application_create(actor=caseworker, case=household,
                                       pathway=reference["de-humanitarian"])


def test_russian_dossier_has_russian_labels_from_an_english_session(
        reference: dict[str, Pathway], household: Case, caseworker: Any,
        coordinator: Any) -> None:
    application = _application(reference, household, caseworker)
    with translation.override("en"):
        result = services.dossier_export(
            actor=coordinator, application=application, language="ru",
            fields=["legal_name", "nationality", "external_reference"],
            reauthenticated_at=timezone.now())
    text = _text(result.content)
    for russian in ("Гражданство (#1)", "Основной заявитель", "Супруг(а)",
                    "Германия — гуманитарная виза", "Экспорт: coordinator", "стр. 1/1"):
        assert russian in text, russian
    for english in ("Nationality", "Principal", "Spouse", "Exported by", "page 1/1"):
        assert english not in text, english
    assert translation.get_language() != "ru"  # the session's language is left as it was


def test_english_dossier_stays_english_from_a_russian_session(
        reference: dict[str, Pathway], household: Case, caseworker: Any,
        coordinator: Any) -> None:
    application = _application(reference, household, caseworker)
    with translation.override("ru"):
        result = services.dossier_export(
            actor=coordinator, application=application, language="en",
            fields=["legal_name", "nationality"], reauthenticated_at=timezone.now())
    text = _text(result.content)
    assert "Nationality (#1)" in text
    assert "Exported by coordinator" in text
    assert "Гражданство" not in text
