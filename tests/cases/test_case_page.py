"""The case page reads as people do: staff by name, codes as labels, one reveal for a whole
person, the closure reason asked only when closing or withdrawing, and every detail of a
person (names and phone included) editable behind re-authentication."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from haven.accounts import services as account_services
from haven.audit.models import AuditEvent
from haven.cases import selectors, services
from haven.cases.models import Case, ClosureReason, Method, Outcome, Relationship, Status
from haven.core.errors import HavenError, ValidationFailed
from haven.housing import services as housing_services
from haven.people.models import Person

Login = Callable[[Any], Client]


def _page(client: Client, case: Case) -> str:
    response = client.get(f"/cases/{case.pk}/")
    assert response.status_code == 200
    return str(response.content.decode())


def _section(page: str, name: str) -> str:
    match = re.search(rf'<section class="card" id="{name}".*?</section>', page, re.S)
    assert match, name
    return match.group(0)


# --- people, not ids ----------------------------------------------------------------------------


def test_history_names_people_and_labels_codes_and_leaves_out_page_views(
        opened: Case, operator: Any, verifier: Any, coordinator: Any, login: Login) -> None:
    verification = services.verification_request(actor=operator, case=opened, verifier=verifier)
    services.verification_submit(actor=verifier, verification=verification,
                                 outcome=Outcome.PARTIAL,
                                 methods=[Method.VIDEO_CALL, Method.STORY_CHECK],
                                 narrative="Checked by video call")
    client = login(coordinator)
    _page(client, opened)
    page = _page(client, opened)
    history = _section(page, "history")
    assert AuditEvent.objects.filter(action="case.viewed", object_id=str(opened.pk)).count() == 2
    assert "case.viewed" not in history
    assert "Case page viewed" not in history
    assert "<td>verifier</td>" in history
    assert "<td>operator</td>" in history
    assert "Sent to verification" in history
    assert "Verifier: verifier" in history
    assert str(verifier.pk)[:4] not in history
    verification_card = _section(page, "verification")
    assert "Video call, Consistency of the story" in verification_card
    assert "video_call" not in page
    assert "story_check" not in page


def test_members_are_called_by_relationship_and_confidential_fields_by_label(
        assigned: Case, caseworker: Any, login: Login) -> None:
    services.member_add(actor=caseworker, case=assigned, legal_name="Залина",
                        relationship=Relationship.CHILD, confidential_fields=["sogi"])
    services.member_add(actor=caseworker, case=assigned, legal_name="Ахмед",
                        relationship=Relationship.CHILD)
    people = _section(_page(login(caseworker), assigned), "people")
    assert "Principal" in people
    assert "Child 1" in people
    assert "Child 2" in people
    assert "Orientation and gender identity" in people
    assert ": sogi" not in people


def test_placements_name_the_member_and_label_their_dates(
        assigned: Case, caseworker: Any, coordinator: Any, login: Login) -> None:
    shelter = housing_services.shelter_create(actor=coordinator, code_name="Birch",
                                              address="x", capacity=3)
    person = assigned.members.get().person
    housing_services.placement_create(actor=caseworker, case=assigned, person=person,
                                      shelter=shelter, planned_in=timezone.localdate())
    housing = _section(_page(login(caseworker), assigned), "housing")
    assert "<td>Principal</td>" in housing
    assert str(person.pk)[:8] not in housing
    assert f"planned {timezone.localdate():%Y-%m-%d}" in housing


# --- moving a case: the closure reason only where it is needed ----------------------------------


def test_status_moves_are_buttons_and_only_closing_and_withdrawing_ask_why(
        assigned: Case, caseworker: Any, login: Login) -> None:
    client = login(caseworker)
    status = _section(_page(client, assigned), "status")
    assert 'name="to" value="ready_to_travel">Mark ready to travel</button>' in status
    assert 'name="to" value="on_hold">Put on hold</button>' in status
    # One reason field, in the withdraw form only (an active case cannot be closed).
    assert status.count('name="closure_reason"') == 1
    assert re.search(r'value="withdrawn">\s*<div class="field"><label for="reason-withdrawn">',
                     status)
    response = client.post(f"/cases/{assigned.pk}/transition/", {"to": Status.ON_HOLD})
    assert response.status_code == 302
    paused = _section(_page(client, assigned), "status")
    assert "Resume (back to “Active”)" in paused
    assert paused.count('name="closure_reason"') == 2  # withdraw, close


def test_withdrawing_keeps_its_reason_and_closing_needs_one(
        assigned: Case, coordinator: Any, login: Login) -> None:
    client = login(coordinator)
    client.post(f"/cases/{assigned.pk}/transition/",
                {"to": Status.WITHDRAWN, "closure_reason": ClosureReason.WITHDRAWN})
    assigned.refresh_from_db()
    assert assigned.status == Status.WITHDRAWN
    assert assigned.closure_reason == ClosureReason.WITHDRAWN
    refused = client.post(f"/cases/{assigned.pk}/transition/", {"to": Status.CLOSED})
    assert refused.status_code == 400
    assert "Choose a closure reason." in refused.content.decode()
    closing = _section(refused.content.decode(), "status")
    assert f'<option value="{ClosureReason.WITHDRAWN}" selected>' in closing
    bad = client.post(f"/cases/{assigned.pk}/transition/",
                      {"to": Status.CLOSED, "closure_reason": "bored"})
    assert bad.status_code == 400
    assert Case.objects.get(pk=assigned.pk).status == Status.WITHDRAWN


def test_withdrawal_reason_must_be_a_known_one(assigned: Case, coordinator: Any) -> None:
    with pytest.raises(ValidationFailed) as refused:
        services.case_transition(actor=coordinator, case=assigned, to=Status.WITHDRAWN,
                                 closure_reason="bored")
    assert "closure_reason" in refused.value.fields
    assert Case.objects.get(pk=assigned.pk).status == Status.ACTIVE


# --- one reveal for a whole person --------------------------------------------------------------


def test_one_action_reveals_every_field_and_records_one_event(
        assigned: Case, caseworker: Any, login: Login) -> None:
    client = login(caseworker)
    person = assigned.members.get().person
    services.profile_update(actor=caseworker, case=assigned, person=person,
                            nationality="Russian", story="They came at night")
    page = _page(client, assigned)
    member = re.search(r'<article class="member".*?</article>', _section(page, "people"), re.S)
    assert member is not None
    # One reveal per person, not one per field (the other button: "stays behind").
    assert member.group(0).count("<button") == 2
    reveal = f'action="/cases/{assigned.pk}/people/{person.pk}/reveal/"'
    assert member.group(0).count(reveal) == 1
    before = AuditEvent.objects.filter(action="person.revealed").count()
    response = client.post(f"/cases/{assigned.pk}/people/{person.pk}/reveal/", {"field": "all"})
    assert response.status_code == 200
    shown = _section(response.content.decode(), "people")
    for value in ("Магомед Хасанов", "Маго", "+7 928 000 11 22", "Russian",
                  "They came at night"):
        assert value in shown
    events = AuditEvent.objects.filter(action="person.revealed").order_by("seq")
    assert events.count() == before + 1
    last = events.last()
    assert last is not None
    assert last.data["fields"][:3] == ["legal_name", "other_names", "phone"]
    assert len(last.data["fields"]) == 12
    partial = client.post(f"/cases/{assigned.pk}/people/{person.pk}/reveal/", {"field": "all"},
                          headers={"HX-Request": "true"})
    assert partial.content.decode().startswith('<dl class="kv masked-fields">')
    assert "Магомед Хасанов" in partial.content.decode()
    # The button goes with it (htmx swaps its place out of band): no second reveal by mistake.
    assert f'<span id="reveal-{person.pk}" hx-swap-oob="true"></span>' in partial.content.decode()


def test_reveal_all_needs_the_permission(opened: Case, operator: Any) -> None:
    person = opened.members.get().person
    with pytest.raises(HavenError):
        services.person_reveal_all(actor=operator, case=opened, person=person)
    assert not AuditEvent.objects.filter(action="person.revealed").exists()


# --- edit details: names and phone too, behind re-authentication -------------------------------


def test_edit_details_shows_and_saves_names_and_phone(
        assigned: Case, caseworker: Any, login: Login) -> None:
    client = login(caseworker)
    person = assigned.members.get().person
    url = f"/cases/{assigned.pk}/people/{person.pk}/"
    form = client.get(url).content.decode()
    assert 'name="legal_name"' in form
    assert 'value="Магомед Хасанов"' in form
    assert 'value="Маго"' in form
    assert 'value="+7 928 000 11 22"' in form
    version = int(re.search(r'name="version" value="(\d+)"', form).group(1))  # type: ignore[union-attr]
    saved = client.post(url, {"version": version, "legal_name": "Магомед Исаев",
                              "other_names": "Маго, Magomed Isaev",
                              "phone": "+7 928 111 22 33", "nationality": "Russian"})
    assert saved.status_code == 302
    fresh = Person.objects.get(pk=person.pk)
    assert (fresh.legal_name, fresh.phone) == ("Магомед Исаев", "+7 928 111 22 33")
    found = selectors.case_search(actor=caseworker, q="Исаев").cases
    assert list(found) == [assigned]
    assert list(selectors.case_search(actor=caseworker, q="Хасанов").cases) == []
    event = AuditEvent.objects.filter(action="person.profile_updated").latest("seq")
    assert set(event.data["fields"]) == {"legal_name", "other_names", "phone", "nationality"}
    assert "Исаев" not in str(event.data)


def test_edit_details_refuses_an_empty_legal_name(assigned: Case, caseworker: Any,
                                                   login: Login) -> None:
    person = assigned.members.get().person
    response = login(caseworker).post(f"/cases/{assigned.pk}/people/{person.pk}/",
                                      {"legal_name": "  ", "phone": "12"})
    assert response.status_code == 400
    assert Person.objects.get(pk=person.pk).legal_name == "Магомед Хасанов"


def test_edit_details_asks_to_reauthenticate_before_showing_values(
        assigned: Case, caseworker: Any, login: Login) -> None:
    client = login(caseworker)
    session = client.session
    session[account_services.SESSION_REAUTH_AT] = 0
    session.save()
    person = assigned.members.get().person
    url = f"/cases/{assigned.pk}/people/{person.pk}/"
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauth/")
    assert not AuditEvent.objects.filter(action="person.revealed").exists()
    # What was typed is saved even past the window: nothing decrypted is shown by saving.
    posted = client.post(url, {"version": 0, "legal_name": "Магомед Исаев"})  # no profile yet
    assert posted.status_code == 302
    assert Person.objects.get(pk=person.pk).legal_name == "Магомед Исаев"
