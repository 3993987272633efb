from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from haven.audit.models import AuditEvent
from haven.intake import services
from haven.intake.models import Message, Status
from tests.intake.conftest import reload

pytestmark = pytest.mark.django_db


def test_operator_reads_replies_and_triages(submitted: services.Submitted, operator: Any,
                                            login: Callable[[Any], Client]) -> None:
    client = login(operator)
    req = submitted.request
    listing = client.get("/inbox/")
    assert listing.status_code == 200
    assert f"/inbox/{req.pk}/" in listing.content.decode()
    detail = client.get(f"/inbox/{req.pk}/")
    assert "They came to my flat" in detail.content.decode()
    assert AuditEvent.objects.filter(action="request.read").exists()
    assert client.post(f"/inbox/{req.pk}/reply/", {"body": "We hear you."}).status_code == 302
    assert Message.objects.filter(request=req).count() == 1
    assert client.post(f"/inbox/{req.pk}/transition/", {"to": "needs_info"}).status_code == 302
    assert reload(req).status == Status.NEEDS_INFO
    refused = client.post(f"/inbox/{req.pk}/transition/", {"to": "new"}, follow=True)
    assert "nothing was changed" in refused.content.decode()
    assert reload(req).status == Status.NEEDS_INFO
    assert client.post(f"/inbox/{req.pk}/convert/", {"legal_name": "Имя Фамилия"}
                       ).status_code == 302
    assert reload(req).status == Status.ACCEPTED


@pytest.mark.parametrize("role", ["caseworker", "auditor", "liaison", "verifier"])
def test_roles_without_permission_are_refused(plain_submitted: services.Submitted, role: str,
                                              request: Any,
                                              login: Callable[[Any], Client]) -> None:
    client = login(request.getfixturevalue(role))
    pk = plain_submitted.request.pk
    assert client.get("/inbox/").status_code == 403
    assert client.get(f"/inbox/{pk}/").status_code == 403
    assert client.post(f"/inbox/{pk}/reply/", {"body": "x"}).status_code == 403
    assert client.post(f"/inbox/{pk}/transition/", {"to": "spam"}).status_code == 403
    assert reload(plain_submitted.request).status == Status.NEW


def test_other_organization_gets_404(plain_submitted: services.Submitted, outsider: Any,
                                     login: Callable[[Any], Client]) -> None:
    client = login(outsider)
    pk = plain_submitted.request.pk
    assert client.get(f"/inbox/{pk}/").status_code == 404
    assert client.post(f"/inbox/{pk}/transition/", {"to": "spam"}).status_code == 404
    assert str(pk) not in client.get("/inbox/").content.decode()


def test_anonymous_is_sent_to_login(plain_submitted: services.Submitted) -> None:
    assert Client().get("/inbox/").status_code == 302


# --- re-authentication before a request is shown decrypted (issue 13, item 5) ------------------


def _stale(client: Client) -> None:
    from haven.accounts.services import SESSION_REAUTH_AT

    session = client.session
    session[SESSION_REAUTH_AT] = 0
    session.save()


def _reauthenticate(client: Client, user: Any, next_url: str) -> Any:
    from haven.accounts.models import SealedTOTPDevice
    from tests.accounts.helpers import code_for, forget_used_code
    from tests.factories.accounts import PASSWORD

    forget_used_code(user)
    device = SealedTOTPDevice.objects.get(user=user, confirmed=True)
    return client.post("/accounts/reauth/", {"password": PASSWORD, "code": code_for(device),
                                             "next": next_url})


def test_request_pages_show_the_story_only_after_reauthentication(
        submitted: services.Submitted, operator: Any, login: Callable[[Any], Client]) -> None:
    from haven.intake.models import RequestGroup
    from tests.intake.conftest import submit

    req = submitted.request
    for _copy in range(4):  # near-identical copies: the inbox groups them
        submit(req.intake_key)
    services.requests_screen(actor=operator)
    group = RequestGroup.objects.first()
    assert group is not None
    client = login(operator)
    _stale(client)
    reads = AuditEvent.objects.filter(action="request.read").count()
    pages = [f"/inbox/{req.pk}/", f"/inbox/groups/{group.pk}/"]
    for url in pages:
        refused = client.get(url)
        assert refused.status_code == 302, url
        assert refused["Location"].startswith("/accounts/reauth/?next=")
        assert b"They came" not in refused.content
        assert b"safe_contact" not in refused.content
    accept = client.post(f"/inbox/{req.pk}/convert/", {"legal_name": "Имя Фамилия",
                                                       "next": f"/inbox/{req.pk}/"})
    assert accept.status_code == 302
    assert accept["Location"] == f"/accounts/reauth/?next=%2Finbox%2F{req.pk}%2F"
    assert reload(req).status == Status.NEW
    assert AuditEvent.objects.filter(action="request.read").count() == reads
    assert _reauthenticate(client, operator, pages[0])["Location"] == pages[0]
    for url in pages:
        shown = client.get(url).content.decode()
        assert "They came to my flat" in shown, url
        assert "safe_contact_42" in shown, url


def test_a_case_conversation_asks_its_caseworker_to_reauthenticate(
        submitted: services.Submitted, operator: Any, coordinator: Any, caseworker: Any,
        login: Callable[[Any], Client]) -> None:
    from haven.cases import services as case_services

    accepted = services.request_accept(actor=operator, request=submitted.request,
                                       legal_name="Имя Фамилия")
    case_services.case_assign(actor=coordinator, case=accepted.case, assignee=caseworker)
    client = login(caseworker)
    url = f"/inbox/case/{accepted.case.pk}/"
    assert "They came to my flat" in client.get(url).content.decode()
    _stale(client)
    refused = client.get(url)
    assert refused.status_code == 302
    assert refused["Location"].startswith("/accounts/reauth/?next=")
    assert b"They came" not in refused.content
