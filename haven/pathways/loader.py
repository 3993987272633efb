"""Reference data: validate ``pathways.yaml`` and load it into countries and pathways.

The file is reviewed by people, so the loader is strict and says exactly what is wrong:
every error names the pathway (its slug, or its position) and the field. The whole file is
checked before anything is written; a file with any error changes nothing.

Loading upserts by country code and pathway slug and is idempotent: a second load of the
same file changes nothing and writes no audit event. A pathway a coordinator edited in the
app (``edited_at`` set) is skipped — and reported — unless ``force`` is given, so a reload
never silently undoes an edit. A pathway missing from the file is reported and left in
place: applications refer to it.

``clean_pathway`` is also the validation of ``services.pathway_update``, so a pathway edited
in the app obeys the same rules as one loaded from the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeGuard
from urllib.parse import urlparse

import yaml
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from haven.audit.services import record
from haven.cases.models import DocType
from haven.core.errors import ValidationFailed
from haven.pathways.models import Country, Pathway, PathwayStatus, PathwayType, ReferrerKind

DEFAULT_PATH = Path(__file__).resolve().parent / "data" / "pathways.yaml"
SCHEMA_VERSION = 1
MAX_FILE = 2_000_000
MAX_NAME = 300
MAX_TEXT = 10_000
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")

TOP_KEYS = {"version", "reviewed", "countries", "pathways"}
COUNTRY_KEYS = {"code", "name", "name_ru"}
PATHWAY_KEYS = {"slug", "country", "name", "name_ru", "type", "referrer", "referrer_kind",
                "eligibility", "checklist", "processing_days", "cost", "status",
                "status_since", "sources", "uncertain"}
PATHWAY_REQUIRED = {"slug", "country", "name", "type", "status", "sources"}
ELIGIBILITY_KEYS = {"nationalities", "requires_third_country", "documents_required", "notes"}
CHECKLIST_KEYS = {"doc_type", "label", "label_ru", "required"}
SOURCE_KEYS = {"fact", "url", "title"}
DAYS_KEYS = {"typical", "min", "max"}

# The model fields of a pathway that the file (and an edit in the app) sets.
PATHWAY_FIELDS = ("country", "name", "name_ru", "type", "referrer", "referrer_kind",
                  "nationalities", "requires_third_country", "documents_required",
                  "eligibility_notes", "checklist", "processing_days_typical",
                  "processing_days_min", "processing_days_max", "cost", "status",
                  "status_since", "sources", "uncertain")


class ReferenceDataError(ValidationFailed):
    """The reference file is not valid; ``errors`` lists every problem, each naming the
    pathway and the field. Nothing was loaded."""

    def __init__(self, errors: list[str]) -> None:
        shown = errors[:50]
        more = len(errors) - len(shown)
        lines = "\n".join(f"  - {e}" for e in shown)
        tail = f"\n  … and {more} more." if more else ""
        super().__init__(
            _("The reference data file is not valid; nothing was loaded:") + f"\n{lines}{tail}")
        self.errors = errors


# --- checking one pathway's values (shared with the edit service) -------------------------------


def _is_text(value: Any) -> TypeGuard[str]:
    return isinstance(value, str)


class _Bad(Exception):
    """One field's value is not valid; the message says what it must be."""


def _name(value: Any, *, required: bool) -> str:
    if not _is_text(value) or len(value.strip()) > MAX_NAME:
        raise _Bad(_("Text of at most %(n)d characters.") % {"n": MAX_NAME})
    if required and not value.strip():
        raise _Bad(_("This field is required."))
    return str(value).strip()


def _long_text(value: Any) -> str:
    value = "" if value is None else value
    if not _is_text(value) or len(value) > MAX_TEXT:
        raise _Bad(_("Text of at most %(n)d characters.") % {"n": MAX_TEXT})
    return str(value).strip()


def _one_of(choices: Any) -> Any:
    def check(value: Any) -> str:
        if value not in choices.values:
            raise _Bad(_("%(value)r is not one of: %(options)s.") % {
                "value": value, "options": ", ".join(choices.values)})
        return str(value)
    return check


def _country(value: Any) -> Country:
    if not isinstance(value, Country):
        raise _Bad(_("Choose a known country."))
    return value


def _nationalities(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(
            isinstance(v, str) and COUNTRY_RE.match(v) for v in value):
        raise _Bad(_("A list of two-letter ISO country codes (empty: any)."))
    return list(dict.fromkeys(value))


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Bad(_("true or false."))
    return value


def _doc_types(value: Any) -> list[str]:
    unknown = [v for v in value if v not in DocType.values] if isinstance(value, list) else None
    if unknown is None or unknown:
        raise _Bad(_("A list of document types (%(options)s); unknown: %(unknown)s.") % {
            "options": ", ".join(DocType.values),
            "unknown": ", ".join(map(str, unknown or [value]))})
    return list(dict.fromkeys(value))


def _days(value: Any) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                              or not 0 <= value <= 10_000):
        raise _Bad(_("A whole number of days between 0 and 10000, or nothing."))
    return value


def _since(value: Any) -> date | None:
    if value is not None and (not isinstance(value, date) or value > timezone.localdate()):
        raise _Bad(_("A date (YYYY-MM-DD) not in the future."))
    return value


_CHECKS: dict[str, Any] = {
    "country": _country,
    "name": lambda v: _name(v, required=True),
    "name_ru": lambda v: _name(v, required=False),
    "referrer": _long_text,
    "eligibility_notes": _long_text,
    "cost": _long_text,
    "uncertain": _long_text,
    "type": _one_of(PathwayType),
    "referrer_kind": _one_of(ReferrerKind),
    "status": _one_of(PathwayStatus),
    "nationalities": _nationalities,
    "requires_third_country": _boolean,
    "documents_required": _doc_types,
    "processing_days_typical": _days,
    "processing_days_min": _days,
    "processing_days_max": _days,
    "status_since": _since,
}


def clean_pathway(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Check model-field values of a pathway; return them cleaned and the errors by field.

    Only the keys present are checked (an edit may change a few fields). Lists of codes are
    de-duplicated in order, text is stripped; ``country`` must already be a ``Country``.
    """
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}

    def bad(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    for name, value in values.items():
        if name == "checklist":
            items = _clean_checklist(value, bad)
            if items is not None:
                cleaned[name] = items
        elif name == "sources":
            sources = _clean_sources(value, bad)
            if sources is not None:
                cleaned[name] = sources
        elif name not in _CHECKS:
            bad(name, _("Unknown field."))
        else:
            try:
                cleaned[name] = _CHECKS[name](value)
            except _Bad as exc:
                bad(name, str(exc))
    days = [cleaned.get(f"processing_days_{k}") for k in ("min", "typical", "max")]
    low, typical, high = days
    if low is not None and typical is not None and high is not None \
            and not low <= typical <= high:
        bad("processing_days_typical", _("Days must be ordered: min ≤ typical ≤ max."))
    return cleaned, errors


def _clean_checklist(value: Any, bad: Any) -> list[dict[str, Any]] | None:
    if not isinstance(value, list):
        bad("checklist", _("A list of items."))
        return None
    items: list[dict[str, Any]] = []
    for n, item in enumerate(value, 1):
        if not isinstance(item, dict) or set(item) - CHECKLIST_KEYS or "doc_type" not in item \
                or "label" not in item:
            bad("checklist", _("Item %(n)d needs doc_type and label (and may have label_ru, "
                                "required).") % {"n": n})
            continue
        if item["doc_type"] not in DocType.values:
            bad("checklist", _("Item %(n)d: %(value)r is not a document type.") % {
                "n": n, "value": item["doc_type"]})
            continue
        label, label_ru = item.get("label"), item.get("label_ru", "")
        required = item.get("required", True)
        if not _is_text(label) or not label.strip() or len(label) > MAX_NAME \
                or not _is_text(label_ru) or len(label_ru) > MAX_NAME:
            bad("checklist", _("Item %(n)d: labels must be text of at most %(max)d "
                                "characters.") % {"n": n, "max": MAX_NAME})
            continue
        if not isinstance(required, bool):
            bad("checklist", _("Item %(n)d: required is true or false.") % {"n": n})
            continue
        items.append({"doc_type": item["doc_type"], "label": label.strip(),
                      "label_ru": label_ru.strip(), "required": required})
    return items


def _clean_sources(value: Any, bad: Any) -> list[dict[str, str]] | None:
    if not isinstance(value, list) or not value:
        bad("sources", _("At least one public source is required."))
        return None
    sources: list[dict[str, str]] = []
    for n, source in enumerate(value, 1):
        if not isinstance(source, dict) or set(source) != SOURCE_KEYS or not all(
                _is_text(source[k]) and source[k].strip() for k in SOURCE_KEYS):
            bad("sources", _("Source %(n)d needs fact, url and title.") % {"n": n})
            continue
        url = urlparse(source["url"].strip())
        if url.scheme != "https" or not url.netloc:
            bad("sources", _("Source %(n)d: the address must start with https://.") % {"n": n})
            continue
        sources.append({k: source[k].strip() for k in ("fact", "url", "title")})
    return sources


# --- parsing the file ----------------------------------------------------------------------------


@dataclass
class ReferenceData:
    """A validated file: countries by code, pathways as model-field values by slug (with
    ``country`` as its code)."""

    reviewed: date
    countries: dict[str, dict[str, str]]
    pathways: dict[str, dict[str, Any]]


def _where(index: int, raw: Any) -> str:
    slug = raw.get("slug") if isinstance(raw, dict) else None
    return (f'pathway "{slug}"' if isinstance(slug, str) and slug
            else f"pathway #{index + 1}")


def _pathway_values(raw: dict[str, Any], where: str, errors: list[str]) -> dict[str, Any]:
    """The YAML shape of one pathway turned into model-field values (country stays a code)."""
    values: dict[str, Any] = {k: raw[k] for k in ("name", "type", "status") if k in raw}
    values["name_ru"] = raw.get("name_ru", "")
    values["referrer"] = raw.get("referrer", "")
    values["referrer_kind"] = raw.get("referrer_kind", ReferrerKind.NONE.value)
    values["cost"] = raw.get("cost", "")
    values["uncertain"] = raw.get("uncertain", "")
    values["status_since"] = raw.get("status_since")
    values["checklist"] = raw.get("checklist", [])
    values["sources"] = raw.get("sources", [])
    eligibility = raw.get("eligibility", {}) or {}
    if not isinstance(eligibility, dict):
        errors.append(f'{where}: field "eligibility": a mapping of '
                      f"{', '.join(sorted(ELIGIBILITY_KEYS))}.")
        eligibility = {}
    for key in sorted(set(eligibility) - ELIGIBILITY_KEYS):
        errors.append(f'{where}: field "eligibility.{key}": unknown field.')
    values["nationalities"] = eligibility.get("nationalities", [])
    values["requires_third_country"] = eligibility.get("requires_third_country", False)
    values["documents_required"] = eligibility.get("documents_required", [])
    values["eligibility_notes"] = eligibility.get("notes", "")
    days = raw.get("processing_days")
    if days is None:
        days = {}
    if not isinstance(days, dict) or set(days) - DAYS_KEYS:
        errors.append(f'{where}: field "processing_days": a mapping of typical, min and max.')
        days = {}
    for key in ("typical", "min", "max"):
        values[f"processing_days_{key}"] = days.get(key)
    return values


_YAML_NAMES = {
    "nationalities": "eligibility.nationalities",
    "requires_third_country": "eligibility.requires_third_country",
    "documents_required": "eligibility.documents_required",
    "eligibility_notes": "eligibility.notes",
    "processing_days_typical": "processing_days",
    "processing_days_min": "processing_days.min",
    "processing_days_max": "processing_days.max",
}


def _parse_countries(raw_countries: Any, errors: list[str]) -> dict[str, dict[str, str]]:
    countries: dict[str, dict[str, str]] = {}
    if not isinstance(raw_countries, list) or not raw_countries:
        errors.append('field "countries": a non-empty list.')
        return countries
    for n, raw in enumerate(raw_countries):
        code = raw.get("code") if isinstance(raw, dict) else None
        where = f'country "{code}"' if isinstance(code, str) else f"country #{n + 1}"
        if not isinstance(raw, dict):
            errors.append(f"{where}: a mapping of code, name and name_ru.")
            continue
        errors.extend(f'{where}: field "{key}": unknown field.'
                      for key in sorted(map(str, set(raw) - COUNTRY_KEYS)))
        name, name_ru = raw.get("name"), raw.get("name_ru", "")
        if not isinstance(code, str) or not COUNTRY_RE.match(code):
            errors.append(f'{where}: field "code": a two-letter ISO code in capitals.')
        elif code in countries:
            errors.append(f'{where}: field "code": listed twice.')
        elif not _is_text(name) or not name.strip() or len(name) > 100:
            errors.append(f'{where}: field "name": text of 1–100 characters.')
        elif not _is_text(name_ru) or len(name_ru) > 100:
            errors.append(f'{where}: field "name_ru": text of at most 100 characters.')
        else:
            countries[code] = {"name": name.strip(), "name_ru": name_ru.strip()}
    return countries


def _parse_pathway(n: int, raw: Any, countries: dict[str, dict[str, str]], reviewed: Any,
                   errors: list[str]) -> tuple[str, dict[str, Any]] | None:
    where = _where(n, raw)
    if not isinstance(raw, dict):
        errors.append(f"{where}: a mapping.")
        return None
    errors.extend(f'{where}: field "{key}": unknown field.'
                  for key in sorted(map(str, set(raw) - PATHWAY_KEYS)))
    errors.extend(f'{where}: field "{key}": required.'
                  for key in sorted(PATHWAY_REQUIRED - set(raw)))
    slug = raw.get("slug")
    if not isinstance(slug, str) or not SLUG_RE.match(slug) or len(slug) > 80:
        errors.append(f'{where}: field "slug": lowercase letters, digits and dashes.')
        return None
    values = _pathway_values(raw, where, errors)
    code = raw.get("country")
    if code not in countries:
        errors.append(f'{where}: field "country": {code!r} is not listed under countries.')
    checkable = {k: v for k, v in values.items()
                 if k in raw or k not in {"name", "type", "status"}}
    cleaned, field_errors = clean_pathway(checkable)
    errors.extend(f'{where}: field "{_YAML_NAMES.get(name, name)}": {message}'
                  for name, messages in field_errors.items() for message in messages)
    since = values.get("status_since")
    if isinstance(reviewed, date) and isinstance(since, date) and since > reviewed:
        errors.append(f'{where}: field "status_since": after the review date {reviewed}.')
    cleaned["country"] = code
    return slug, cleaned


def parse(text: str) -> ReferenceData:
    """Validate the whole file; raise ``ReferenceDataError`` listing every problem."""
    if len(text) > MAX_FILE:
        raise ReferenceDataError([f"the file is larger than {MAX_FILE} characters"])
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ReferenceDataError([f"not valid YAML: {exc}"]) from None
    if not isinstance(doc, dict):
        raise ReferenceDataError(["the file must be a mapping with version, reviewed, "
                                  "countries and pathways"])
    errors = [f'field "{key}": unknown field.' for key in sorted(map(str, set(doc) - TOP_KEYS))]
    if doc.get("version") != SCHEMA_VERSION:
        errors.append(f'field "version": must be {SCHEMA_VERSION}, not {doc.get("version")!r}.')
    reviewed = doc.get("reviewed")
    if not isinstance(reviewed, date):
        errors.append('field "reviewed": the date the file was last reviewed (YYYY-MM-DD).')
    countries = _parse_countries(doc.get("countries"), errors)
    pathways: dict[str, dict[str, Any]] = {}
    raw_pathways = doc.get("pathways")
    if not isinstance(raw_pathways, list):
        errors.append('field "pathways": a list.')
        raw_pathways = []
    for n, raw in enumerate(raw_pathways):
        parsed = _parse_pathway(n, raw, countries, reviewed, errors)
        if parsed is None:
            continue
        slug, cleaned = parsed
        if slug in pathways:
            errors.append(f'{_where(n, raw)}: field "slug": used by two pathways.')
        pathways[slug] = cleaned
    if errors:
        raise ReferenceDataError(errors)
    assert isinstance(reviewed, date)  # noqa: S101 - checked above
    return ReferenceData(reviewed=reviewed, countries=countries, pathways=pathways)


# --- loading -------------------------------------------------------------------------------------


@dataclass
class LoadReport:
    """What a load did, by slug (countries by code)."""

    countries_created: list[str] = field(default_factory=list)
    countries_updated: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    not_in_file: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.countries_created or self.countries_updated or self.created
                    or self.updated)


def _same(row: Pathway, values: dict[str, Any]) -> bool:
    for name, value in values.items():
        current = row.country.code if name == "country" else getattr(row, name)
        if current != value:
            return False
    return True


def load_reference_data(path: Path | str = DEFAULT_PATH, *, actor: Any = None,
                        force: bool = False, using: str = "default") -> LoadReport:
    """Validate the file at ``path`` and upsert its countries and pathways.

    Nothing is written unless the whole file is valid. Pathways edited in the app are skipped
    (listed in ``skipped``) unless ``force``, which overwrites them and clears the edit stamp.
    One ``pathways.loaded`` audit event is recorded when anything changed.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReferenceDataError([f"cannot read {path}: {exc}"]) from None
    data = parse(text)
    report = LoadReport()
    now = timezone.now()
    with transaction.atomic(using=using):
        countries = {c.code: c for c in Country.objects.using(using).select_for_update()}
        for code, values in data.countries.items():
            country = countries.get(code)
            if country is None:
                countries[code] = Country.objects.using(using).create(code=code, **values)
                report.countries_created.append(code)
            elif (country.name, country.name_ru) != (values["name"], values["name_ru"]):
                country.name, country.name_ru = values["name"], values["name_ru"]
                country.save(update_fields=["name", "name_ru", "updated_at"])
                report.countries_updated.append(code)
        existing = {p.slug: p for p in Pathway.objects.using(using).select_for_update()
                    .select_related("country")}
        for slug, values in data.pathways.items():
            row = existing.get(slug)
            if row is None:
                Pathway.objects.using(using).create(
                    slug=slug, reviewed_on=data.reviewed, loaded_at=now,
                    **{**values, "country": countries[values["country"]]})
                report.created.append(slug)
                continue
            if _same(row, values) and row.reviewed_on == data.reviewed:
                report.unchanged.append(slug)
                continue
            if row.edited_at is not None and not force:
                report.skipped.append(slug)
                continue
            for name, value in values.items():
                setattr(row, name, countries[value] if name == "country" else value)
            row.reviewed_on = data.reviewed
            row.loaded_at = now
            row.edited_at = None
            row.edited_by = None
            row.version += 1
            row.save()
            report.updated.append(slug)
        report.not_in_file = sorted(set(existing) - set(data.pathways))
        if report.changed:
            record(actor=actor, action="pathways.loaded", object_type="pathway",
                   data={"reviewed": data.reviewed.isoformat(), "created": report.created,
                         "updated": report.updated, "skipped": report.skipped,
                         "countries": report.countries_created + report.countries_updated,
                         "force": force})
    return report
