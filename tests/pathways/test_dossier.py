from __future__ import annotations

import io
import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from haven.pathways.dossier import DossierData, render_dossier

EXPORTED_AT = datetime(2026, 11, 25, 13, 5, 9, tzinfo=timezone(timedelta(hours=3)))
STAMP_TIME = "2026-11-25T10:05:09Z"


def make(**overrides: object) -> DossierData:
    data = DossierData(
        title="Dossier: humanitarian admission",
        organization="Northern Lights Evacuation",
        case_number="HV-2026-0042",
        pathway="Germany — §22 AufenthG admission",
        country="Germany",
        fields=[
            ("Full name", "Магомед Хасанов"),
            ("Language", "Нохчийн мотт — Хьо муха ву? Ӏаьржа"),
            ("Story", "Detained in Argun in 2017.\nReleased after 11 days."),
        ],
        applicants=[("Магомед Хасанов", "principal applicant"), ("Zarema Kh.", "sister")],
        documents=[
            ("Passport", "passport_scan.pdf", True),
            ("Birth certificate", "birth_certificate", False),
        ],
        exported_by="Aminat K.",
        exported_at=EXPORTED_AT,
        export_id="exp_7Q2M9",
        language="en",
    )
    return replace(data, **overrides)  # type: ignore[arg-type]


def pages_text(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def squash(text: str) -> str:
    return "".join(text.split())


def test_stamp_and_confidential_line_on_every_page() -> None:
    fields = [(f"Field {i}", f"Value number {i}") for i in range(200)]
    texts = pages_text(render_dossier(make(fields=fields)))

    assert len(texts) > 3
    for number, text in enumerate(texts, start=1):
        assert "Exported by Aminat K." in text
        assert "Northern Lights Evacuation" in text
        assert STAMP_TIME in text
        assert "export exp_7Q2M9" in text
        assert f"page {number}/{len(texts)}" in text
        assert "CONFIDENTIAL — contains personal data of a person at risk" in text


def test_many_fields_break_pages_and_all_are_printed_in_order() -> None:
    fields = [(f"Field {i}", f"Value number {i}") for i in range(200)]
    text = "\n".join(pages_text(render_dossier(make(fields=fields))))

    positions = [text.index(f"Value number {i}\n") for i in range(200)]
    assert positions == sorted(positions)


def test_cyrillic_and_chechen_values_round_trip() -> None:
    text = "\n".join(pages_text(render_dossier(make())))

    assert "Магомед Хасанов" in text
    assert "Нохчийн мотт — Хьо муха ву? Ӏаьржа" in text
    assert "Detained in Argun in 2017.\nReleased after 11 days." in text


def test_documents_are_marked_present_or_missing() -> None:
    text = "\n".join(pages_text(render_dossier(make())))

    assert "Documents (1 of 2 present)" in text
    assert "✓ Passport (passport_scan.pdf) — present" in text
    assert "✗ Birth certificate (birth_certificate) — MISSING" in text


def test_applicants_are_listed_with_relationship() -> None:
    text = "\n".join(pages_text(render_dossier(make())))

    assert "1. Магомед Хасанов — principal applicant" in text
    assert "2. Zarema Kh. — sister" in text


def test_russian_labels() -> None:
    text = "\n".join(pages_text(render_dossier(make(language="ru"))))

    for label in ("Организация", "Номер дела", "Страна назначения", "Сведения по делу",
                  "Заявители", "В наличии 1 из 2", "ОТСУТСТВУЕТ"):
        assert label in text
    assert "КОНФИДЕНЦИАЛЬНО — содержит персональные данные" in text
    assert "Экспорт: Aminat K." in text
    assert "номер экспорта exp_7Q2M9" in text
    assert "стр. 1/1" in text
    assert "Case details" not in text
    assert "Exported by" not in text
    assert "page 1/1" not in text


def test_same_input_gives_same_bytes() -> None:
    data = make(fields=[(f"Field {i}", f"Значение {i}") for i in range(60)])

    assert render_dossier(data) == render_dossier(data)


def test_different_export_gives_different_bytes() -> None:
    assert render_dossier(make()) != render_dossier(make(export_id="exp_other"))


def test_metadata_title_creator_and_creation_date() -> None:
    reader = PdfReader(io.BytesIO(render_dossier(make())))

    assert reader.metadata is not None
    assert reader.metadata.title == "Dossier: humanitarian admission"
    assert reader.metadata.creator == "Haven"
    assert reader.metadata.creation_date == EXPORTED_AT.astimezone(UTC)


def test_empty_lists_and_values_render() -> None:
    data = make(fields=[], applicants=[], documents=[], title="", pathway="", country="")
    texts = pages_text(render_dossier(data))

    assert len(texts) == 1
    assert texts[0].count("None recorded.") == 3
    assert "Exported by Aminat K." in texts[0]


def test_long_unbroken_value_wraps_without_loss() -> None:
    value = "Х" * 700 + " " + "word " * 500
    text = "\n".join(pages_text(render_dossier(make(fields=[("Long", value)]))))

    assert squash(value) in squash(text)


def test_page_count_alias_in_a_value_is_printed_as_written() -> None:
    text = pages_text(render_dossier(make(fields=[("Note", "literally {nb} pages")])))[0]

    assert "literally {nb} pages" in text


def test_control_characters_are_dropped() -> None:
    text = pages_text(render_dossier(make(fields=[("Note", "a\x00b\x07c\r\nd\te")])))[0]

    assert "abc\nd    e" in text


def test_naive_export_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        make(exported_at=datetime(2026, 11, 25, 10, 0))  # noqa: DTZ001 - the naive time is the point


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="language"):
        make(language="de")


# Latin (to Latin Extended-B) and Cyrillic (to U+0525): every letter, digit, punctuation and
# symbol there has a glyph in the vendored DejaVu Sans.
covered_text = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=0x20, max_codepoint=0x24F, categories=["L", "N", "P", "S", "Zs"]),
        st.characters(min_codepoint=0x400, max_codepoint=0x525, categories=["L", "N", "P", "S", "Zs"]),
    ),
    min_size=1,
    max_size=200,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=covered_text, label=covered_text)
def test_any_covered_text_renders_and_reads_back(value: str, label: str) -> None:
    texts = pages_text(render_dossier(make(fields=[(label[:60], value)])))

    assert squash(value) in squash(texts[0])


def test_overlong_identities_are_shortened_in_the_stamp() -> None:
    data = make(exported_by="Aminat " + "K" * 300, organization="Org " + "O" * 300)
    texts = pages_text(render_dossier(data))

    for text in texts:
        assert "Exported by Aminat KKK" in text
        assert "…" in text
        assert "export exp_7Q2M9" in text
        assert "page 1/1" in text


def test_characters_missing_from_the_font_are_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="fpdf"):
        render_dossier(make(fields=[("Note", "漢字 secret")]))

    assert caplog.records, "fpdf2 still reports the missing glyphs"
    assert "漢" not in caplog.text
    assert "withheld" in caplog.text
