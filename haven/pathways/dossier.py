"""The application dossier: one PDF a coordinator hands to an embassy, UNHCR or a sponsor.

The PDF is built here from plain values; which fields go in, who may export, and the audit
event for the export belong to the caller (the pathways services). A dossier carries the
personal data of a person at risk, so every page says so and says who exported it, when,
and under which export id: a copy found where it should not be can be traced to its export.

Rendering is pure and deterministic: the same ``DossierData`` gives the same bytes (the
creation date is the export time and the PDF file id is a hash of the content), no network
or system font is touched, and only the vendored DejaVu fonts (Latin and Cyrillic, Chechen
palochka included) are embedded.
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, Literal

from fpdf import FPDF, XPos, YPos

FONTS_DIR: Final = Path(__file__).parent / "fonts"
FONT: Final = "DejaVu"

Language = Literal["en", "ru"]

# Fixed labels, kept here rather than in gettext: the dossier's language is the reader's
# (chosen per export), not the language of the coordinator's session.
LABELS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "confidential": "CONFIDENTIAL — contains personal data of a person at risk",
        "organization": "Organization",
        "case_number": "Case number",
        "pathway": "Pathway",
        "country": "Destination country",
        "details": "Case details",
        "applicants": "Applicants",
        "documents": "Documents",
        "present": "present",
        "missing": "MISSING",
        "none": "None recorded.",
        "documents_summary": "{present} of {total} present",
        "ticked": "checked by hand",
        "empty": "—",
        "stamp": "Exported by {who} · {organization} · {at} · export {export}",
        "page": "page {n}/{total}",
    },
    "ru": {
        "confidential": (
            "КОНФИДЕНЦИАЛЬНО — содержит персональные данные человека, находящегося в опасности"
        ),
        "organization": "Организация",
        "case_number": "Номер дела",
        "pathway": "Правовой путь",
        "country": "Страна назначения",
        "details": "Сведения по делу",
        "applicants": "Заявители",
        "documents": "Документы",
        "present": "есть",
        "missing": "ОТСУТСТВУЕТ",
        "none": "Нет записей.",
        "documents_summary": "В наличии {present} из {total}",
        "ticked": "проверено вручную",
        "empty": "—",
        "stamp": "Экспорт: {who} · {organization} · {at} · номер экспорта {export}",
        "page": "стр. {n}/{total}",
    },
}

# The page-count placeholder fpdf2 substitutes at output time. It holds NUL characters,
# which _clean() removes from every caller-supplied string, so a value that happens to
# contain fpdf2's default "{nb}" is printed as written rather than replaced by a number.
_PAGE_COUNT_ALIAS: Final = "\x00nb\x00"
# Long identities in the stamp are shortened so the stamp always fits the footer.
_STAMP_PART_MAX: Final = 48

_MARGIN: Final = 15.0
_MISSING_GLYPHS_MESSAGE: Final = "Font %s is missing the following glyphs: %s"


class _WithholdMissingGlyphs(logging.Filter):
    """fpdf2 logs the characters a font lacks, which here are characters of a person's
    name or story; logs must carry no personal data, so keep only the font and a count."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == _MISSING_GLYPHS_MESSAGE and isinstance(record.args, tuple):
            font = record.args[0] if record.args else "?"
            record.msg = "Font %s is missing glyphs for some characters (withheld: personal data)"
            record.args = (font,)
        return True


logging.getLogger("fpdf.output").addFilter(_WithholdMissingGlyphs())
_FOOTER_HEIGHT: Final = 20.0


@dataclass(frozen=True)
class DossierData:
    """Everything printed in one dossier. Values may be of any length; Latin, Cyrillic
    (Chechen palochka included), Greek and common symbols print as written, characters the
    DejaVu fonts lack (e.g. CJK) print as empty boxes rather than failing the export."""

    title: str
    organization: str
    case_number: str
    pathway: str
    country: str
    fields: list[tuple[str, str]]
    applicants: list[tuple[str, str]]
    documents: list[tuple[str, str, bool]]
    exported_by: str
    exported_at: datetime
    export_id: str
    language: Language = "en"

    def __post_init__(self) -> None:
        if self.exported_at.tzinfo is None or self.exported_at.utcoffset() is None:
            raise ValueError("exported_at must be timezone-aware")
        if self.language not in LABELS:
            raise ValueError(f"language must be one of {sorted(LABELS)}, not {self.language!r}")


def stamp_text(data: DossierData) -> str:
    """The per-page identification line, without the page number, in the dossier's language
    (the exporter, organization and export id print as written)."""
    return LABELS[data.language]["stamp"].format(
        who=_shorten(data.exported_by), organization=_shorten(data.organization),
        at=format_timestamp(data.exported_at), export=_shorten(data.export_id))


def format_timestamp(moment: datetime) -> str:
    """The export time as printed on every page: ISO 8601 in UTC, to the second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def render_dossier(data: DossierData) -> bytes:
    """Render ``data`` as a PDF and return its bytes.

    Every page carries the confidentiality line (header; a Russian dossier says it in Russian
    and English) and the export stamp with "page n/N" (footer), in the dossier's language. Long values wrap, many fields flow onto further pages, empty lists
    print "None recorded". Output is byte-for-byte the same for the same input.
    """
    labels = LABELS[data.language]
    pdf = _DossierPDF(data, labels)
    pdf.render()
    return bytes(pdf.output())


class _DossierPDF(FPDF):
    def __init__(self, data: DossierData, labels: dict[str, str]) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.data = data
        self.labels = labels
        self.stamp = stamp_text(data)
        self.add_font(FONT, "", FONTS_DIR / "DejaVuSans.ttf")
        self.add_font(FONT, "B", FONTS_DIR / "DejaVuSans-Bold.ttf")
        self.set_margins(_MARGIN, _MARGIN, _MARGIN)
        self.set_auto_page_break(auto=True, margin=_FOOTER_HEIGHT + 4)
        self.alias_nb_pages(_PAGE_COUNT_ALIAS)
        # Metadata: only what the cover already shows, never a person's name by default.
        self.set_title(_clean(data.title))
        self.set_creator("Haven")
        self.set_lang(data.language)
        # Fixing the creation date also fixes the /ID, which fpdf2 hashes from the content
        # and this date: nothing else in the file depends on the clock.
        self.set_creation_date(data.exported_at.astimezone(UTC))

    # -- page furniture -------------------------------------------------------------

    def header(self) -> None:
        self.set_font(FONT, "B", 8)
        self.set_text_color(150, 0, 0)
        confidential = self.labels["confidential"]
        if confidential != LABELS["en"]["confidential"]:
            confidential = f"{confidential}\n{LABELS['en']['confidential']}"
        self.multi_cell(0, 4, confidential, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_draw_color(150, 0, 0)
        self.line(self.l_margin, self.y + 1, self.w - self.r_margin, self.y + 1)
        self.set_text_color(0, 0, 0)
        self.set_draw_color(0, 0, 0)
        self.ln(4)

    def footer(self) -> None:
        self.set_y(-_FOOTER_HEIGHT)
        self.set_draw_color(150, 150, 150)
        self.line(self.l_margin, self.y, self.w - self.r_margin, self.y)
        self.set_y(self.y + 1.5)
        self.set_font(FONT, "", 7)
        self.set_text_color(80, 80, 80)
        page = self.labels["page"].format(n=self.page_no(), total=_PAGE_COUNT_ALIAS)
        self.multi_cell(0, 3.5, f"{self.stamp} · {page}", align="C", new_x=XPos.LMARGIN,
                        new_y=YPos.NEXT)
        self.set_font(FONT, "B", 7)
        self.set_text_color(150, 0, 0)
        self.multi_cell(
            0, 3.5, self.labels["confidential"], align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
        self.set_text_color(0, 0, 0)

    # -- body -----------------------------------------------------------------------

    def render(self) -> None:
        data, labels = self.data, self.labels
        self.add_page()
        self.set_font(FONT, "B", 15)
        self._paragraph(_clean(data.title) or labels["empty"], 7)
        self.ln(2)
        for key, value in (
            ("organization", data.organization),
            ("case_number", data.case_number),
            ("pathway", data.pathway),
            ("country", data.country),
        ):
            self._meta_row(labels[key], value)

        self._section(labels["details"])
        if not data.fields:
            self._none()
        for label, value in data.fields:
            self._field(label, value)

        self._section(labels["applicants"])
        if not data.applicants:
            self._none()
        self.set_font(FONT, "", 10)
        for number, (name, relationship) in enumerate(data.applicants, start=1):
            line = f"{number}. {_clean(name) or labels['empty']}"
            if _clean(relationship):
                line += f" — {_clean(relationship)}"
            self._paragraph(line, 5.5)

        present = sum(1 for *_, is_present in data.documents if is_present)
        heading = labels["documents"]
        if data.documents:
            summary = labels["documents_summary"].format(
                present=present, total=len(data.documents)
            )
            heading = f"{heading} ({summary})"
        self._section(heading)
        if not data.documents:
            self._none()
        for label, doc, is_present in data.documents:
            mark, status = ("✓", labels["present"]) if is_present else ("✗", labels["missing"])
            line = f"{mark} {_clean(label) or labels['empty']}"
            if _clean(doc):
                line += f" ({_clean(doc)})"
            self.set_font(FONT, "" if is_present else "B", 10)
            self._paragraph(f"{line} — {status}", 5.5)

    def _paragraph(self, text: str, height: float) -> None:
        self.multi_cell(0, height, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def _meta_row(self, label: str, value: str) -> None:
        label_width = 45.0
        self.set_font(FONT, "B", 9)
        self.set_text_color(80, 80, 80)
        self.cell(label_width, 6, label)
        self.set_text_color(0, 0, 0)
        self.set_font(FONT, "", 10)
        self.multi_cell(
            0, 6, _clean(value) or self.labels["empty"], align="L",
            new_x=XPos.LMARGIN, new_y=YPos.NEXT,
        )

    def _section(self, heading: str) -> None:
        # A heading stranded at the foot of a page, its content overleaf, is moved over too.
        if self.will_page_break(20):
            self.add_page()
        self.ln(4)
        self.set_font(FONT, "B", 12)
        self._paragraph(heading, 7)
        self.line(self.l_margin, self.y, self.w - self.r_margin, self.y)
        self.ln(2)

    def _field(self, label: str, value: str) -> None:
        if self.will_page_break(10):
            self.add_page()
        self.set_font(FONT, "B", 9)
        self.set_text_color(80, 80, 80)
        self._paragraph(_clean(label) or self.labels["empty"], 4.5)
        self.set_text_color(0, 0, 0)
        self.set_font(FONT, "", 10)
        self._paragraph(_clean(value) or self.labels["empty"], 5)
        self.ln(1.5)

    def _none(self) -> None:
        self.set_font(FONT, "", 10)
        self.set_text_color(100, 100, 100)
        self._paragraph(self.labels["none"], 5.5)
        self.set_text_color(0, 0, 0)


def _clean(text: str) -> str:
    """Make caller text printable: one kind of newline, tabs as spaces, and no control,
    surrogate or paragraph-separator characters (they have no glyph and would corrupt the
    layout, or collide with the page-count placeholder)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    kept: list[str] = []
    for char in text:
        category = unicodedata.category(char)
        if char == "\n":
            kept.append(char)
        elif category in ("Zl", "Zp"):
            kept.append("\n")
        elif category not in ("Cc", "Cs"):
            kept.append(char)
    return "".join(kept).strip()


def _shorten(text: str) -> str:
    text = " ".join(_clean(text).split())
    if len(text) <= _STAMP_PART_MAX:
        return text
    return text[: _STAMP_PART_MAX - 1] + "…"
