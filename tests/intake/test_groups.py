"""Junk that staff remove in bulk: alike requests grouped while unsealed, one decision for a
group, audited; and the inbox pages for it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from haven.audit.models import AuditEvent
from haven.core.errors import Conflict, NotFound, Sealed, ValidationFailed
from haven.intake import selectors, services
from haven.intake.budget import Ticket
from haven.intake.models import IntakeKey, Request, RequestGroup, Status
from haven.keyring import intake_crypto
from tests.intake.conftest import reload, submit

pytestmark = pytest.mark.django_db

JUNK = "Win a prize now! Click the link and send your bank details to claim the reward today."


def _flood(key: IntakeKey, n: int) -> list[Request]:
    return [submit(key, story=f"{JUNK} #{i}", contact=f"bot{i}@example.org").request
            for i in range(n)]


def _genuine(key: IntakeKey) -> list[Request]:
    return [submit(key, story=story).request for story in (
        "My family found out about my partner and says they will take me to the village.",
        "Police came to my work and asked about the group chat. I am hiding at a friend's.",
    )]


def test_screening_groups_a_flood_and_leaves_genuine_requests_alone(
        intake_key: IntakeKey, operator: Any) -> None:
    junk = _flood(intake_key, 30)
    genuine = _genuine(intake_key)
    done = services.requests_screen(actor=operator)
    assert done.screened == 32
    assert done.grouped == 30
    assert done.groups == 1
    group = RequestGroup.objects.get()
    assert {r.pk for r in group.requests.all()} == {r.pk for r in junk}
    for req in genuine:
        assert reload(req).group_id is None
        assert reload(req).screened_at is not None
    event = AuditEvent.objects.get(action="requests.screened")
    assert event.data == {"screened": 32, "grouped": 30, "groups_made": 1}
    # The inbox shows the flood as one row and the genuine ones on their own.
    assert {r.pk for r in selectors.request_list(user=operator)} == {r.pk for r in genuine}
    rows = list(selectors.group_list(user=operator))
    assert [(g.pk, g.size) for g in rows] == [(group.pk, 30)]


def test_later_copies_join_the_existing_group(intake_key: IntakeKey, operator: Any) -> None:
    _flood(intake_key, 5)
    services.requests_screen(actor=operator)
    more = _flood(intake_key, 3)
    assert services.requests_screen(actor=operator).groups == 0
    group = RequestGroup.objects.get()
    assert all(reload(r).group_id == group.pk for r in more)
    assert services.requests_screen(actor=operator).screened == 0  # each is screened once


def test_a_later_copy_groups_with_an_earlier_one_screened_alone(intake_key: IntakeKey,
                                                               operator: Any) -> None:
    (first,) = _flood(intake_key, 1)
    services.requests_screen(actor=operator)
    assert reload(first).group_id is None
    (second,) = _flood(intake_key, 1)
    services.requests_screen(actor=operator)
    assert reload(first).group_id is not None
    assert reload(first).group_id == reload(second).group_id


def test_requests_of_one_browser_session_are_grouped(intake_key: IntakeKey,
                                                     operator: Any) -> None:
    visit = intake_crypto.visit_new()
    one = services.request_submit(intake_key=intake_key, contact="a", region="b",
                                  story="First text about one thing.", urgency="days",
                                  language="en", ticket=Ticket(visit=visit, seq=0, nonce="n1"))
    two = services.request_submit(intake_key=intake_key, contact="c", region="d",
                                  story="Entirely unrelated second text.", urgency="days",
                                  language="en", ticket=Ticket(visit=visit, seq=1, nonce="n2"))
    services.requests_screen(actor=operator)
    assert reload(one.request).group_id is not None
    assert reload(one.request).group_id == reload(two.request).group_id


def test_screening_needs_an_unsealed_server(sealed_intake: list[str], intake_key: IntakeKey,
                                            operator: Any) -> None:
    _flood(intake_key, 3)
    with pytest.raises(Sealed):
        services.requests_screen(actor=operator)
    assert not RequestGroup.objects.exists()
    assert not Request.objects.filter(screened_at__isnull=False).exists()


def test_one_decision_closes_the_whole_group_and_is_audited(intake_key: IntakeKey,
                                                            operator: Any) -> None:
    junk = _flood(intake_key, 12)
    genuine = _genuine(intake_key)
    services.requests_screen(actor=operator)
    group = RequestGroup.objects.get()
    seen = max(r.created_at for r in junk)
    closed = services.request_group_close(actor=operator, group=group, to=Status.SPAM,
                                          seen_until=seen)
    assert closed == 12
    assert Request.objects.filter(status=Status.SPAM).count() == 12
    assert all(reload(r).status == Status.NEW for r in genuine)
    per_request = AuditEvent.objects.filter(action="request.transitioned")
    assert per_request.count() == 12
    assert {e.data["group"] for e in per_request} == {str(group.pk)}
    decision = AuditEvent.objects.get(action="request_group.closed")
    assert decision.data == {"to": "spam", "requests": 12}
    assert decision.actor_id == str(operator.pk)
    group.refresh_from_db()
    assert group.decided_to == "spam"
    assert group.decided_by == operator
    assert selectors.group_list(user=operator).count() == 0
    with pytest.raises(Conflict):
        services.request_group_close(actor=operator, group=group, to=Status.SPAM,
                                     seen_until=timezone.now())


def test_a_request_that_joined_after_the_look_is_not_closed(intake_key: IntakeKey,
                                                            operator: Any) -> None:
    junk = _flood(intake_key, 4)
    services.requests_screen(actor=operator)
    seen = max(r.created_at for r in junk)
    (late,) = _flood(intake_key, 1)
    Request.objects.filter(pk=late.pk).update(created_at=seen + timedelta(seconds=5))
    services.requests_screen(actor=operator)
    group = RequestGroup.objects.get()
    assert reload(late).group_id == group.pk
    assert services.request_group_close(actor=operator, group=group, to=Status.DUPLICATE,
                                        seen_until=seen) == 4
    assert reload(late).status == Status.NEW


def test_group_decisions_are_checked(intake_key: IntakeKey, operator: Any, caseworker: Any,
                                     outsider: Any) -> None:
    from haven.core.errors import Forbidden

    _flood(intake_key, 3)
    services.requests_screen(actor=operator)
    group = RequestGroup.objects.get()
    with pytest.raises(ValidationFailed):
        services.request_group_close(actor=operator, group=group, to=Status.ACCEPTED,
                                     seen_until=timezone.now())
    with pytest.raises(Forbidden):
        services.request_group_close(actor=caseworker, group=group, to=Status.SPAM,
                                     seen_until=timezone.now())
    with pytest.raises(NotFound):
        services.request_group_close(actor=outsider, group=group, to=Status.SPAM,
                                     seen_until=timezone.now())
    assert Request.objects.filter(status=Status.NEW).count() == 3


def test_a_request_taken_out_of_its_group_stays_out(intake_key: IntakeKey,
                                                    operator: Any) -> None:
    junk = _flood(intake_key, 3)
    services.requests_screen(actor=operator)
    services.request_ungroup(actor=operator, request=junk[0])
    assert reload(junk[0]).group_id is None
    assert AuditEvent.objects.filter(action="request.ungrouped").count() == 1
    _flood(intake_key, 1)
    services.requests_screen(actor=operator)
    assert reload(junk[0]).group_id is None
    with pytest.raises(Conflict):
        services.request_ungroup(actor=operator, request=reload(junk[0]))


def test_inbox_pages_show_the_group_and_close_it_in_one_post(
        intake_key: IntakeKey, operator: Any, login: Callable[[Any], Client]) -> None:
    _flood(intake_key, 25)
    genuine = _genuine(intake_key)
    client = login(operator)
    inbox = client.get("/inbox/").content.decode()
    group = RequestGroup.objects.get()
    assert f"/inbox/groups/{group.pk}/" in inbox
    assert inbox.count('data-testid="request-row"') == 2
    page = client.get(f"/inbox/groups/{group.pk}/")
    html = page.content.decode()
    assert JUNK in html  # the first of them, to look at before deciding
    assert "A group of 25 alike requests" in html
    seen = RequestGroup.objects.get().requests.order_by("-created_at").first()
    assert seen is not None
    response = client.post(f"/inbox/groups/{group.pk}/close/", {
        "to": "spam", "seen_until": seen.created_at.isoformat()})
    assert response.status_code == 302
    assert Request.objects.filter(status=Status.SPAM).count() == 25
    assert all(reload(r).status == Status.NEW for r in genuine)
    assert f"/inbox/groups/{group.pk}/" not in client.get("/inbox/").content.decode()


@pytest.mark.parametrize("role", ["caseworker", "auditor", "liaison", "verifier"])
def test_group_pages_refuse_roles_without_the_inbox(intake_key: IntakeKey, operator: Any,
                                                    role: str, request: Any,
                                                    login: Callable[[Any], Client]) -> None:
    _flood(intake_key, 3)
    services.requests_screen(actor=operator)
    group = RequestGroup.objects.get()
    client = login(request.getfixturevalue(role))
    assert client.get(f"/inbox/groups/{group.pk}/").status_code == 403
    assert client.post(f"/inbox/groups/{group.pk}/close/", {
        "to": "spam", "seen_until": timezone.now().isoformat()}).status_code == 403
    assert Request.objects.filter(status=Status.NEW).count() == 3


def test_another_organization_gets_404_for_a_group(intake_key: IntakeKey, operator: Any,
                                                   outsider: Any,
                                                   login: Callable[[Any], Client]) -> None:
    _flood(intake_key, 3)
    services.requests_screen(actor=operator)
    group = RequestGroup.objects.get()
    client = login(outsider)
    assert client.get(f"/inbox/groups/{group.pk}/").status_code == 404
    assert client.post(f"/inbox/groups/{group.pk}/close/", {
        "to": "spam", "seen_until": timezone.now().isoformat()}).status_code == 404
