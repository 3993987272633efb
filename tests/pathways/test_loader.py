from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from haven.audit.models import AuditEvent
from haven.pathways import loader
from haven.pathways.models import Country, Pathway, PathwayStatus
from haven.pathways.services import pathway_update
from tests.pathways.conftest import FIXTURE

pytestmark = pytest.mark.django_db


def _snapshot() -> list[tuple[Any, ...]]:
    return list(Pathway.objects.order_by("slug").values_list(
        "slug", "name", "status", "version", "updated_at"))


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pathways.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_file_loads() -> None:
    report = loader.load_reference_data(loader.DEFAULT_PATH)
    assert not report.skipped
    assert Pathway.objects.filter(slug="ca-gar-referral").exists()
    assert Country.objects.filter(code="CA").exists()


def test_fixture_loads_every_field(reference: dict[str, Pathway]) -> None:
    de = reference["de-humanitarian"]
    assert de.country.code == "DE"
    assert de.name_ru == "Германия — гуманитарная виза"
    assert de.type == "humanitarian_visa"
    assert de.nationalities == ["RU"]
    assert de.requires_third_country is False
    assert de.documents_required == ["passport", "evidence"]
    assert de.eligibility_notes == "At risk in Russia."
    assert de.checklist[0] == {"doc_type": "passport", "label": "Valid passport",
                               "label_ru": "Загранпаспорт", "required": True}
    assert (de.processing_days_min, de.processing_days_typical,
            de.processing_days_max) == (14, 60, 365)
    assert de.cost == "75 EUR"
    assert de.status == PathwayStatus.OPEN
    assert str(de.status_since) == "2024-01-01"
    assert de.sources == [{"fact": "status", "url": "https://example.org/de",
                           "title": "Example source"}]
    assert de.uncertain == "Quota unknown."
    assert str(de.reviewed_on) == "2026-01-15"
    closed = reference["ar-closed"]
    assert closed.checklist == []
    assert closed.nationalities == []
    assert closed.referrer_kind == "none"


def test_loading_twice_changes_nothing_and_records_nothing(reference: dict[str, Pathway]) -> None:
    before = _snapshot()
    events = AuditEvent.objects.count()
    report = loader.load_reference_data(FIXTURE)
    assert not report.changed
    assert sorted(report.unchanged) == sorted(reference)
    assert _snapshot() == before
    assert AuditEvent.objects.count() == events


def test_a_load_that_changes_something_is_audited(reference: dict[str, Pathway],
                                                  tmp_path: Path) -> None:
    text = FIXTURE.read_text(encoding="utf-8").replace('cost: "75 EUR"', 'cost: "80 EUR"')
    report = loader.load_reference_data(_write(tmp_path, text))
    assert report.updated == ["de-humanitarian"]
    assert Pathway.objects.get(slug="de-humanitarian").cost == "80 EUR"
    event = AuditEvent.objects.get(action="pathways.loaded")
    assert event.data["updated"] == ["de-humanitarian"]


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("type: humanitarian_visa\n    referrer: \"nobody\"", "type: tourist_visa\n    referrer: \"nobody\"",
     'pathway "de-humanitarian": field "type": \'tourist_visa\' is not one of'),
    ("documents_required: [passport, evidence]", "documents_required: [passport, diploma]",
     'pathway "de-humanitarian": field "eligibility.documents_required"'),
    ("nationalities: [RU]\n      requires_third_country: false\n      documents_required: [passport, evidence]",
     "nationalities: [Russia]\n      requires_third_country: false\n      documents_required: [passport, evidence]",
     'pathway "de-humanitarian": field "eligibility.nationalities"'),
    ("country: CA", "country: XX", 'pathway "ca-sponsorship": field "country": \'XX\''),
    ("processing_days: {typical: 400, min: 200, max: 900}",
     "processing_days: {typical: 100, min: 200, max: 900}",
     'pathway "ca-sponsorship": field "processing_days": Days must be ordered'),
    ("url: \"https://example.org/ca\"", "url: \"http://example.org/ca\"",
     'pathway "ca-sponsorship": field "sources": Source 1: the address must start with https://'),
    ("status: paused", "status: sleeping", 'pathway "de-paused": field "status"'),
    ("  - slug: ge-ua-only", "  - slug: ge-visa-free", 'field "slug": used by two pathways'),
    ("    uncertain: \"Quota unknown.\"", "    uncertain: \"Quota unknown.\"\n    colour: red",
     'pathway "de-humanitarian": field "colour": unknown field'),
    ("requires_third_country: true", "requires_third_country: maybe",
     'pathway "ca-sponsorship": field "eligibility.requires_third_country": true or false'),
    ("version: 1", "version: 2", 'field "version": must be 1'),
    ("status_since: 2022-03-01", "status_since: 2026-02-01",
     'pathway "ge-visa-free": field "status_since": after the review date'),
])
def test_a_bad_file_is_refused_whole_naming_pathway_and_field(
        reference: dict[str, Pathway], tmp_path: Path, old: str, new: str, expected: str) -> None:
    text = FIXTURE.read_text(encoding="utf-8")
    assert old in text
    # Another, valid change in the same file must not be applied either.
    text = text.replace(old, new, 1).replace('cost: "75 EUR"', 'cost: "99 EUR"')
    before = _snapshot()
    events = AuditEvent.objects.count()
    with pytest.raises(loader.ReferenceDataError) as caught:
        loader.load_reference_data(_write(tmp_path, text))
    assert expected in caught.value.message, caught.value.message
    assert _snapshot() == before
    assert AuditEvent.objects.count() == events


def test_not_yaml_and_missing_file_are_refused(tmp_path: Path) -> None:
    with pytest.raises(loader.ReferenceDataError, match="not valid YAML"):
        loader.load_reference_data(_write(tmp_path, "pathways: [\n"))
    with pytest.raises(loader.ReferenceDataError, match="cannot read"):
        loader.load_reference_data(tmp_path / "missing.yaml")
    with pytest.raises(loader.ReferenceDataError, match="must be a mapping"):
        loader.load_reference_data(_write(tmp_path, "- 1\n"))


def test_every_error_is_listed(tmp_path: Path) -> None:
    text = FIXTURE.read_text(encoding="utf-8").replace("type: private_sponsorship",
                                                       "type: nope").replace(
        "status: paused", "status: nope")
    with pytest.raises(loader.ReferenceDataError) as caught:
        loader.parse(text)
    assert len(caught.value.errors) == 2


def test_an_edited_pathway_is_skipped_unless_forced(reference: dict[str, Pathway],
                                                    coordinator: Any, tmp_path: Path) -> None:
    pathway_update(actor=coordinator, pathway=reference["de-humanitarian"], cost="Free now")
    text = FIXTURE.read_text(encoding="utf-8").replace('cost: "75 EUR"', 'cost: "80 EUR"')
    path = _write(tmp_path, text)
    report = loader.load_reference_data(path)
    assert report.skipped == ["de-humanitarian"]
    assert Pathway.objects.get(slug="de-humanitarian").cost == "Free now"
    report = loader.load_reference_data(path, force=True)
    assert report.updated == ["de-humanitarian"]
    row = Pathway.objects.get(slug="de-humanitarian")
    assert row.cost == "80 EUR"
    assert row.edited_at is None
    assert row.edited_by is None


def test_a_pathway_missing_from_the_file_is_reported_and_kept(reference: dict[str, Pathway],
                                                             tmp_path: Path) -> None:
    text = FIXTURE.read_text(encoding="utf-8")
    text = text[:text.index("  - slug: ar-closed")]
    report = loader.load_reference_data(_write(tmp_path, text))
    assert report.not_in_file == ["ar-closed"]
    assert Pathway.objects.filter(slug="ar-closed").exists()


def test_command_reports_and_fails_clearly(reference: dict[str, Pathway], coordinator: Any,
                                           tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                           ) -> None:
    pathway_update(actor=coordinator, pathway=reference["de-humanitarian"], cost="Free now")
    text = FIXTURE.read_text(encoding="utf-8").replace('cost: "75 EUR"', 'cost: "80 EUR"')
    call_command("pathways", "load", str(_write(tmp_path, text)))
    out = capsys.readouterr().out
    assert "1 skipped" in out
    assert "de-humanitarian" in out
    bad = _write(tmp_path, text.replace("status: paused", "status: nope"))
    with pytest.raises(CommandError, match='pathway "de-paused": field "status"'):
        call_command("pathways", "load", str(bad))


def test_post_migrate_fills_a_fresh_database_only() -> None:
    from django.apps import apps

    from haven.pathways.apps import _load_reference_data

    Pathway.objects.all().delete()
    config = apps.get_app_config("pathways")
    _load_reference_data(config, plan=None)
    assert not Pathway.objects.exists()

    class Migration:
        app_label, name = "pathways", "0001_initial"

    _load_reference_data(config, plan=[(Migration(), False)])
    assert Pathway.objects.filter(slug="ca-gar-referral").exists()


def test_a_broken_shipped_file_does_not_stop_migrate(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    from django.apps import apps

    from haven.pathways.apps import _load_reference_data

    Pathway.objects.all().delete()
    monkeypatch.setattr(loader, "DEFAULT_PATH", _write(tmp_path, "version: 2\n"))

    class Migration:
        app_label, name = "pathways", "0001_initial"

    _load_reference_data(apps.get_app_config("pathways"), plan=[(Migration(), False)])
    assert not Pathway.objects.exists()
    assert "Reference data not loaded" in caplog.text
