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
