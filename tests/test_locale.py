"""The Russian catalog is complete: every translatable string in code and templates has a
translation, none is fuzzy, and placeholders survive translation."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import polib
import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import translation

import haven

SOURCE = Path(haven.__file__).parent
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|\{[a-z_]+\}|\{\{ ?[a-z_.]+ ?\}\}")


def _catalog() -> polib.POFile:
    return polib.pofile(str(SOURCE / "locale" / "ru" / "LC_MESSAGES" / "django.po"))


def test_every_russian_entry_is_translated_and_not_fuzzy() -> None:
    po = _catalog()
    untranslated = [e.msgid for e in po.untranslated_entries()]
    fuzzy = [e.msgid for e in po.fuzzy_entries()]
    assert not untranslated, f"untranslated: {untranslated[:10]}"
    assert not fuzzy, f"fuzzy: {fuzzy[:10]}"


def test_translations_keep_their_placeholders() -> None:
    for entry in _catalog().translated_entries():
        if entry.msgid_plural:
            continue
        assert sorted(PLACEHOLDER.findall(entry.msgid)) == sorted(
            PLACEHOLDER.findall(entry.msgstr)
        ), entry.msgid


def test_catalog_covers_every_string_in_the_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Re-extract the strings from a copy of the source and check nothing new is missing."""
    copy = tmp_path / "haven"
    shutil.copytree(SOURCE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    monkeypatch.chdir(copy)
    with override_settings(LOCALE_PATHS=[copy / "locale"]):
        call_command("makemessages", locale=["ru"], verbosity=0, no_obsolete=True)
    fresh = polib.pofile(str(copy / "locale" / "ru" / "LC_MESSAGES" / "django.po"))
    missing = [e.msgid for e in fresh.untranslated_entries()] + [
        e.msgid for e in fresh.fuzzy_entries()
    ]
    assert not missing, f"strings without a Russian translation: {missing[:15]}"


def test_pages_render_in_russian(client: object, db: None) -> None:
    with translation.override("ru"):
        response = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="ru")  # type: ignore[attr-defined]
    assert response.status_code == 200
    assert "Войти" in response.content.decode() or "Вход" in response.content.decode()
