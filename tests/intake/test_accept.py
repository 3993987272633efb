"""Inbox to case (issue 14, item 1): accepting opens the case and its person in one step,
proposes a likely existing case instead of a duplicate, links the conversation both ways, and
messages that arrive later reach the case's caseworker."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from haven.cases.models import Case, PersonProfile
from haven.cases.services import case_assign, case_open
from haven.intake import services
from haven.intake.models import Status
from haven.people import services as people_services
from haven.people.models import DuplicatePair, Person
from tests.accounts.helpers import api_reauthenticate
from tests.intake.conftest import SUBMISSION, reload, submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def done(intake_key: Any) -> services.Submitted:
    return submit(intake_key, contact="+7 928 000 11 22")


def _accept(client: Client, done: services.Submitted, **data: str) -> Any:
    return client.post(f"/inbox/{done.request.pk}/convert/", {"legal_name": "Иван Тестов",
                                                               **data})


def test_a_new_request_can_be_accepted_and_opens_its_case(
        done: services.Submitted, operator: Any, login: Callable[[Any], Client]) -> None:
    client = login(operator)
    page = client.get(f"/inbox/{done.request.pk}/").content.decode()
    assert 'data-testid="accept"' in page  # no reply needed first
    assert 'value="+7 928 000 11 22"' in page  # the phone, taken from the contact
    response = _accept(client, done, phone="+7 928 000 11 22")
    case = Case.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/cases/{case.pk}/"
    req = reload(done.request)
    assert req.status == Status.ACCEPTED
    assert req.case_id == case.pk
    person = Person.objects.get()
    profile = PersonProfile.objects.get(person=person)
    assert profile.story == SUBMISSION["story"]
    assert profile.contact_handle == "+7 928 000 11 22"
    assert profile.coarse_location == SUBMISSION["region"]
    case_page = client.get(f"/cases/{case.pk}/").content.decode()
    assert f"/inbox/{req.pk}/" in case_page  # the case links back to the conversation
    assert 'data-testid="case-conversation"' in case_page
    detail = client.get(f"/inbox/{req.pk}/").content.decode()
    assert f"/cases/{case.pk}/" in detail  # and the request to its case


def test_a_likely_existing_case_is_proposed_instead_of_a_duplicate(
        done: services.Submitted, operator: Any, login: Callable[[Any], Client]) -> None:
    existing = case_open(actor=operator, legal_name="Иван Тестов", phone="+79280001122")
    client = login(operator)
    page = client.get(f"/inbox/{done.request.pk}/").content.decode()
    assert existing.number in page  # found by the phone in the request's contact
    proposed = _accept(client, done)
    assert proposed.status_code == 409
    html = proposed.content.decode()
    assert existing.number in html
    assert "same name" in html or "same phone number" in html
    assert Case.objects.count() == 1
    assert reload(done.request).status == Status.NEW
    linked = client.post(f"/inbox/{done.request.pk}/convert/", {"link_case": str(existing.pk)})
    assert linked.status_code == 302
    assert linked["Location"] == f"/cases/{existing.pk}/"
    assert Person.objects.count() == 1
    assert reload(done.request).case_id == existing.pk


def test_create_anyway_opens_a_second_case(done: services.Submitted, operator: Any,
                                           login: Callable[[Any], Client]) -> None:
    case_open(actor=operator, legal_name="Иван Тестов")
    client = login(operator)
    assert _accept(client, done).status_code == 409
    assert _accept(client, done, create_anyway="on").status_code == 302
    assert Case.objects.count() == 2


def test_cases_the_operator_cannot_see_are_never_proposed(
        done: services.Submitted, operator: Any, coordinator: Any,
        login: Callable[[Any], Client]) -> None:
    hidden = case_open(actor=coordinator, legal_name="Иван Тестов", phone="+79280001122")
    client = login(operator)
    assert hidden.number not in client.get(f"/inbox/{done.request.pk}/").content.decode()
    response = _accept(client, done)
    assert response.status_code == 302
    assert hidden.number not in response.content.decode()
    refused = client.post(f"/inbox/{submit(done.request.intake_key).request.pk}/convert/",
                          {"link_case": str(hidden.pk)})
    assert refused.status_code == 404


def test_accept_without_a_name_is_refused_and_changes_nothing(
        done: services.Submitted, operator: Any, login: Callable[[Any], Client]) -> None:
    response = login(operator).post(f"/inbox/{done.request.pk}/convert/", {"legal_name": " "})
    assert response.status_code == 400
    assert "legal name" in response.content.decode()
    assert not Case.objects.exists()
    assert reload(done.request).status == Status.NEW


def test_messages_after_acceptance_reach_the_caseworker(
        *, done: services.Submitted, operator: Any, coordinator: Any, caseworker: Any,
        other_caseworker: Any, login: Callable[[Any], Client]) -> None:
    accepted = services.request_accept(actor=operator, request=done.request,
                                       legal_name="Иван Тестов")
    case_assign(actor=coordinator, case=accepted.case, assignee=caseworker)
    services.requester_message_send(request=done.request, body="I had to move. New place.")
    services.requester_message_send(request=done.request, body="Please answer soon.")
    worker = login(caseworker)
    start = worker.get("/").content.decode()
    assert 'data-testid="waiting-messages"' in start
    assert "2 messages waiting for an answer" in start
    assert accepted.case.number in start
    case_page = worker.get(f"/cases/{accepted.case.pk}/").content.decode()
    assert 'data-testid="case-waiting"' in case_page
    link = f"/inbox/case/{accepted.case.pk}/"
    assert link in case_page
    conversation = worker.get(link)
    assert conversation.status_code == 200
    assert "I had to move. New place." in conversation.content.decode()
    assert worker.post(link + "reply/", {"body": "We read you."}).status_code == 302
    assert "waiting-messages" not in worker.get("/").content.decode()
    # Another caseworker sees none of it.
    other = login(other_caseworker)
    assert other.get(link).status_code == 404
    assert other.post(link + "reply/", {"body": "x"}).status_code == 404
    assert "waiting-messages" not in other.get("/").content.decode()


def test_accepted_requests_with_new_messages_stay_in_the_default_inbox(
        done: services.Submitted, operator: Any, login: Callable[[Any], Client]) -> None:
    services.request_accept(actor=operator, request=done.request, legal_name="Иван Тестов")
    client = login(operator)
    assert f"/inbox/{done.request.pk}/" not in client.get("/inbox/").content.decode()
    services.requester_message_send(request=done.request, body="Still there?")
    inbox = client.get("/inbox/").content.decode()
    assert f"/inbox/{done.request.pk}/" in inbox
    assert reload(done.request).status == Status.ACCEPTED


def test_api_accept_proposes_then_links(done: services.Submitted, coordinator: Any) -> None:
    import json

    from haven.accounts import services as account_services

    existing = case_open(actor=coordinator, legal_name="Иван Тестов")
    raw, _ = account_services.token_create(actor=None, user=coordinator, name="t")
    client = Client(headers={"Authorization": f"Bearer {raw}"})
    url = f"/api/v1/requests/{done.request.pk}/convert"
    stale = client.post(url, json.dumps({"legal_name": "Иван Тестов"}),
                        content_type="application/json")
    assert stale.json()["code"] == "reauth_required"  # the story goes into the case
    assert reload(done.request).status != Status.ACCEPTED
    api_reauthenticate(client, coordinator)
    proposed = client.post(url, json.dumps({"legal_name": "Иван Тестов"}),
                           content_type="application/json")
    assert proposed.status_code == 409
    assert existing.number in proposed.json()["detail"]
    linked = client.post(url, json.dumps({"link_case": str(existing.pk)}),
                         content_type="application/json")
    assert linked.status_code == 200
    assert linked.json()["case_id"] == str(existing.pk)


def test_the_case_page_of_a_partial_view_finds_its_conversation(
        done: services.Submitted, operator: Any, login: Callable[[Any], Client]) -> None:
    """The case page hands the template a Projection for a partial view (the operator's);
    passing it to the ORM raised a TypeError and every such case page answered 500."""
    from haven.access import policy
    from haven.intake import selectors

    _accept(login(operator), done)
    case = Case.objects.get()
    seen = policy.project_case(operator, case)
    assert isinstance(seen, policy.Projection)
    req = selectors.case_request(actor=operator, case=seen)
    assert req is not None
    assert req.pk == done.request.pk


def test_accepting_a_request_looks_for_duplicates_once_committed(
        done: services.Submitted, operator: Any, coordinator: Any,
        django_capture_on_commit_callbacks: Any) -> None:
    """Issue 17, item 4: a request turned into a case is weighed against the people already
    there; a likely pair waits for review, nothing is merged."""
    known = people_services.person_create(actor=coordinator, legal_name="Иван Тестов",
                                          phone="8 928 000 11 22")
    with django_capture_on_commit_callbacks(execute=True):
        services.request_accept(actor=operator, request=done.request,
                                legal_name="Ivan Testov", phone="+7 928 000 11 22")
    pair = DuplicatePair.objects.get()
    new = Person.objects.exclude(pk=known.pk).get()
    assert {pair.first_id, pair.second_id} == {known.pk, new.pk}
    assert pair.state == "open"
    assert Person.objects.count() == 2
