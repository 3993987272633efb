"""The shared form template (core/_form.html, core/_field.html) on public and staff forms: an
error summary that takes the focus and links each error to its field, ids for every
description an input names, radio groups as fieldsets, and "Error:" in the page title
(issue 16)."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client

from haven.intake.models import IntakeKey
from tests.intake.conftest import _intake_settings, form_token, plain_key

__all__ = ["_intake_settings", "plain_key"]  # fixtures of the intake tests, used here too

Login = Callable[[Any], Client]


class Page(HTMLParser):
    """The parts of a page the checks read: every element's attributes, the title."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []
        self._in_title = False
        self.title = ""
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))
        self._in_title = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data

    def ids(self) -> list[str]:
        return [a["id"] for _, a in self.elements if "id" in a]

    def by_id(self, id_: str) -> tuple[str, dict[str, str]]:
        found = [(t, a) for t, a in self.elements if a.get("id") == id_]
        assert len(found) == 1, (id_, found)
        return found[0]


def assert_accessible_errors(html: str) -> Page:
    """What every page sent back with errors must hold."""
    page = Page(html)
    ids = page.ids()
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicated, duplicated
    summaries = [a for t, a in page.elements if "error-summary" in a.get("class", "").split()]
    assert summaries, "no error summary"
    first = summaries[0]
    assert first["role"] == "alert"
    assert first["tabindex"] == "-1"
    assert "autofocus" in first
    assert sum("autofocus" in a for _, a in page.elements) == 1
    # Every aria-describedby and aria-labelledby names ids that exist on the page.
    for _, attrs in page.elements:
        for name in ("aria-describedby", "aria-labelledby"):
            for ref in attrs.get(name, "").split():
                assert ref in ids, f"{name}={ref!r} names no element"
    # Every link of the summary leads to an element that can take the focus.
    links = re.findall(r'class="error-summary".*?</div>', html, re.S)[0]
    targets = re.findall(r'href="#([^"]+)"', links)
    assert targets
    for target in targets:
        tag, _ = page.by_id(target)
        assert tag in {"input", "select", "textarea"}, (target, tag)
    assert page.title.startswith("Error:") or page.title.startswith("Ошибка:"), page.title
    return page


def test_intake_form_errors_are_summarised_linked_and_described(plain_key: IntakeKey) -> None:
    client = Client()
    response = client.post("/intake/ask/", {"form_token": form_token(client)})
    assert response.status_code == 400
    html = response.content.decode()
    page = assert_accessible_errors(html)
    contact = page.by_id("id_contact")[1]
    assert contact["aria-describedby"] == "id_contact_helptext id_contact_error"
    assert contact["aria-invalid"] == "true"
    assert page.by_id("id_contact_error")[0] == "p"
    assert page.by_id("id_contact_helptext")[0] == "small"
    # The urgency radios are a fieldset; its error is tied to the group, its link to a radio.
    groups = [a for t, a in page.elements if t == "fieldset"]
    assert [g["aria-describedby"] for g in groups] == ["id_urgency_error"]
    assert 'href="#id_urgency_0"' in html
    assert re.search(r'<legend>How urgent is it\?</legend>', html)


def test_intake_errors_in_russian(plain_key: IntakeKey) -> None:
    client = Client(headers={"accept-language": "ru"})
    response = client.post("/intake/ask/", {"form_token": form_token(client)})
    page = assert_accessible_errors(response.content.decode())
    assert page.title.startswith("Ошибка:")
    assert "Есть ошибки" in response.content.decode()


def test_the_page_without_errors_has_no_summary_and_a_plain_title(plain_key: IntakeKey) -> None:
    html = Client().get("/intake/ask/").content.decode()
    page = Page(html)
    assert "error-summary" not in html
    assert "autofocus" not in html
    assert not page.title.startswith("Error:")
    assert page.by_id("id_contact")[1]["aria-describedby"] == "id_contact_helptext"
    assert 'href="#main"' in html  # the skip link


def test_wrong_codename_is_a_field_error_with_a_summary(plain_key: IntakeKey) -> None:
    response = Client().get("/intake/return/?failed=1")
    html = response.content.decode()
    page = assert_accessible_errors(html)
    assert page.by_id("id_codename")[1]["aria-describedby"] == (
        "id_codename_helptext id_codename_error")
    assert 'href="#id_codename"' in html
    assert "codename" in Page(html).title.lower() or page.title.startswith("Error:")


def test_staff_form_errors_use_the_same_summary(coordinator: Any, login: Login) -> None:
    response = login(coordinator).post("/cases/new/", {"legal_name": ""})
    assert response.status_code in (200, 400)
    assert_accessible_errors(response.content.decode())


def test_staff_login_errors_use_the_same_summary(db: None) -> None:
    response = Client().post("/accounts/login/", {"username": "nobody", "password": "x"})
    html = response.content.decode()
    page = Page(html)
    assert page.title.startswith("Error:"), page.title
    assert "error-summary" in html


@pytest.mark.parametrize("path", ["/", "/cases/", "/shelters/", "/pathways/", "/audit/"])
def test_staff_pages_have_unique_ids_and_a_skip_link(path: str, coordinator: Any,
                                                     login: Login) -> None:
    html = login(coordinator).get(path).content.decode()
    ids = Page(html).ids()
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    assert 'class="skip" href="#main"' in html


def test_the_case_page_gives_each_form_its_own_ids(coordinator: Any, caseworker: Any,
                                                   login: Login) -> None:
    """The case page holds a dozen forms; two of them asked for an assignee and two for a
    priority, all as ``id_assignee`` / ``id_priority`` (issue 16)."""
    from haven.cases import services as cases

    case = cases.case_open(actor=coordinator, legal_name="Тест Тестов")
    cases.case_assign(actor=coordinator, case=case, assignee=caseworker)
    html = login(coordinator).get(f"/cases/{case.pk}/").content.decode()
    page = Page(html)
    ids = page.ids()
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    assert page.by_id("assign_assignee")[0] == "select"
    assert page.by_id("update_priority")[0] == "select"
    assert "id_priority" not in ids
    # Every label still points at its own control.
    labels = re.findall(r'<label for="([^"]+)"', html)
    assert labels
    for target in labels:
        page.by_id(target)
    # Masked values are text a screen reader reads, not an aria-label on a plain span.
    assert "hidden — reveal to show" in html
    assert 'class="masked" aria-label' not in html


def test_own_ids_renames_only_ids_not_what_is_posted() -> None:
    from django import forms

    from haven.core.forms import own_ids

    class One(forms.Form):
        priority = forms.CharField()

    context = own_ids({"assign_form": One(), "update_form": One({"priority": "x"}), "n": 1})
    first, second = context["assign_form"], context["update_form"]
    assert 'id="assign_priority"' in str(first["priority"])
    assert 'id="update_priority"' in str(second["priority"])
    assert 'name="priority"' in str(second["priority"])
    assert second.is_valid()
