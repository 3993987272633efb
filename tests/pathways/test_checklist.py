"""Ticking a checklist item by hand, per applicant: who and when, audited."""

from __future__ import annotations

from typing import Any

import pytest

from haven.audit.models import AuditEvent
from haven.cases.models import Case, DocType, Member
from haven.core.errors import Forbidden, NotFound, ValidationFailed
from haven.pathways import selectors, services
from haven.pathways.models import Application, ChecklistTick, Pathway

pytestmark = pytest.mark.django_db


@pytest.fixture
def application(household: Case, caseworker: Any, reference: dict[str, Pathway]) -> Application:
    return services.application_create(actor=caseworker, case=household,
                                       pathway=reference["de-humanitarian"])


def test_a_tick_is_one_applicants_and_keeps_who_and_when(application: Application,
                                                         caseworker: Any) -> None:
    spouse = Member.objects.get(case=application.case, is_principal=False)
    assert services.checklist_tick(actor=caseworker, application=application, member=spouse,
                                   doc_type=DocType.PASSPORT, done=True)
    # Ticking twice changes nothing and records nothing more.
    assert not services.checklist_tick(actor=caseworker, application=application,
                                       member=spouse.pk, doc_type=DocType.PASSPORT, done=True)
    tick = ChecklistTick.objects.get()
    assert (tick.applicant.member, tick.ticked_by) == (spouse, caseworker)
    event = AuditEvent.objects.get(action="application.checklist_ticked")
    assert event.data == {"case": str(application.case_id), "member": str(spouse.pk),
                          "doc_type": "passport", "done": True}
    # The principal's passport is a document, the spouse's a tick: both done.
    (passport,) = [i for i in selectors.application_checklist(application).items
                   if i.doc_type == DocType.PASSPORT]
    assert [c.source for c in passport.cells] == ["document", "hand"]
    assert services.checklist_tick(actor=caseworker, application=application, member=spouse,
                                   doc_type=DocType.PASSPORT, done=False)
    assert not ChecklistTick.objects.exists()
    assert AuditEvent.objects.filter(action="application.checklist_ticked").count() == 2


def test_a_tick_must_name_an_applicant_and_an_item(application: Application, caseworker: Any,
                                                   coordinator: Any, operator: Any,
                                                   other_caseworker: Any) -> None:
    from haven.cases import services as case_services

    principal = Member.objects.get(case=application.case, is_principal=True)
    stranger = case_services.case_open(actor=coordinator, legal_name="Иван").members.get()
    with pytest.raises(ValidationFailed) as caught:
        services.checklist_tick(actor=caseworker, application=application, member=stranger,
                                doc_type=DocType.MEDICAL, done=True)
    assert set(caught.value.fields) == {"member", "doc_type"}
    with pytest.raises(Forbidden):
        services.checklist_tick(actor=operator, application=application, member=principal,
                                doc_type=DocType.PASSPORT, done=True)
    with pytest.raises(NotFound):
        services.checklist_tick(actor=other_caseworker, application=application,
                                member=principal, doc_type=DocType.PASSPORT, done=True)
    assert not ChecklistTick.objects.exists()
    assert not AuditEvent.objects.filter(action="application.checklist_ticked").exists()
