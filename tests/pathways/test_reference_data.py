"""The shipped reference data (haven/pathways/data/pathways.yaml) keeps its schema: these
checks are pure Python, so a coordinator's edit that breaks the file fails here before the
loader ever sees it."""

from __future__ import annotations

import datetime
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

DATA = Path(__file__).resolve().parents[2] / "haven" / "pathways" / "data" / "pathways.yaml"

PATHWAY_TYPES = {
    "unhcr_resettlement", "government_assisted_referral", "private_sponsorship",
    "humanitarian_visa", "national_visa", "visa_free_asylum", "asylum_visa",
    "family_reunification", "refugee_program_referral",
}
REFERRER_KINDS = {
    "none", "unhcr", "referral_organization", "sponsor", "host_organization", "family",
    "government",
}
STATUSES = {"open", "paused", "closed"}
DOC_TYPES = {
    "passport", "id_card", "birth_certificate", "evidence", "medical", "photo",
    "travel_document", "referral_letter", "sponsor_letter", "application_form",
    "residence_proof", "police_certificate", "other",
}
PATHWAY_KEYS = {
    "slug", "country", "name", "name_ru", "type", "referrer", "referrer_kind", "eligibility",
    "checklist", "processing_days", "cost", "status", "status_since", "sources", "uncertain",
}
ELIGIBILITY_KEYS = {"nationalities", "requires_third_country", "documents_required", "notes"}
CHECKLIST_KEYS = {"doc_type", "label", "label_ru", "required"}
SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
COUNTRY_CODE = re.compile(r"^[A-Z]{2}$")
CYRILLIC = re.compile(r"[\u0400-\u04FF]")

DOCUMENT: dict[str, Any] = yaml.safe_load(DATA.read_text(encoding="utf-8"))
PATHWAYS: list[dict[str, Any]] = DOCUMENT["pathways"]
COUNTRY_CODES = {country["code"] for country in DOCUMENT["countries"]}


def by_slug() -> list[Any]:
    return [pytest.param(pathway, id=str(pathway.get("slug"))) for pathway in PATHWAYS]


def is_text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def test_header_version_and_review_date() -> None:
    assert set(DOCUMENT) == {"version", "reviewed", "countries", "pathways"}
    assert DOCUMENT["version"] == 1
    assert isinstance(DOCUMENT["reviewed"], datetime.date)
    assert DATA.read_text(encoding="utf-8").startswith("#"), "the file explains itself first"


def test_countries_are_unique_and_named_in_both_languages() -> None:
    codes = [country["code"] for country in DOCUMENT["countries"]]
    assert len(codes) == len(set(codes))
    for country in DOCUMENT["countries"]:
        assert set(country) == {"code", "name", "name_ru"}
        assert COUNTRY_CODE.match(country["code"]), country
        assert is_text(country["name"])
        assert CYRILLIC.search(country["name_ru"]), country


def test_slugs_are_unique() -> None:
    slugs = [pathway["slug"] for pathway in PATHWAYS]
    assert len(slugs) == len(set(slugs))
    assert 10 <= len(slugs) <= 14


def test_every_country_has_a_pathway() -> None:
    assert {pathway["country"] for pathway in PATHWAYS} == COUNTRY_CODES


@pytest.mark.parametrize("pathway", by_slug())
def test_pathway_fields_and_enums(pathway: dict[str, Any]) -> None:
    assert set(pathway) == PATHWAY_KEYS
    assert SLUG.match(pathway["slug"])
    assert pathway["country"] in COUNTRY_CODES
    assert pathway["type"] in PATHWAY_TYPES
    assert pathway["referrer_kind"] in REFERRER_KINDS
    assert pathway["status"] in STATUSES
    for key in ("name", "referrer", "cost", "uncertain"):
        assert is_text(pathway[key]), key
    assert CYRILLIC.search(pathway["name_ru"])


@pytest.mark.parametrize("pathway", by_slug())
def test_eligibility(pathway: dict[str, Any]) -> None:
    eligibility = pathway["eligibility"]
    assert set(eligibility) == ELIGIBILITY_KEYS
    assert isinstance(eligibility["nationalities"], list)
    assert all(COUNTRY_CODE.match(code) for code in eligibility["nationalities"])
    assert isinstance(eligibility["requires_third_country"], bool)
    assert set(eligibility["documents_required"]) <= DOC_TYPES
    assert is_text(eligibility["notes"])


@pytest.mark.parametrize("pathway", by_slug())
def test_checklist(pathway: dict[str, Any]) -> None:
    checklist = pathway["checklist"]
    assert checklist
    for item in checklist:
        assert set(item) == CHECKLIST_KEYS, item
        assert item["doc_type"] in DOC_TYPES
        assert is_text(item["label"])
        assert CYRILLIC.search(item["label_ru"]), item
        assert isinstance(item["required"], bool)
    required = {item["doc_type"] for item in checklist if item["required"]}
    assert set(pathway["eligibility"]["documents_required"]) == required


@pytest.mark.parametrize("pathway", by_slug())
def test_processing_days_are_ordered(pathway: dict[str, Any]) -> None:
    days = pathway["processing_days"]
    assert set(days) == {"typical", "min", "max"}
    assert all(isinstance(value, int) and not isinstance(value, bool) for value in days.values())
    assert 0 <= days["min"] <= days["typical"] <= days["max"]


@pytest.mark.parametrize("pathway", by_slug())
def test_status_date_is_not_after_review(pathway: dict[str, Any]) -> None:
    since = pathway["status_since"]
    assert isinstance(since, datetime.date)
    assert since <= DOCUMENT["reviewed"]


@pytest.mark.parametrize("pathway", by_slug())
def test_every_pathway_is_sourced_over_https(pathway: dict[str, Any]) -> None:
    sources = pathway["sources"]
    assert sources
    for source in sources:
        assert set(source) == {"fact", "url", "title"}, source
        assert is_text(source["fact"])
        assert is_text(source["title"])
        url = urlparse(source["url"])
        assert url.scheme == "https", source["url"]
        assert url.netloc, source["url"]


def test_a_status_change_is_sourced() -> None:
    for pathway in PATHWAYS:
        if pathway["status"] != "open":
            facts = " ".join(source["fact"] for source in pathway["sources"])
            assert "status" in facts, pathway["slug"]
