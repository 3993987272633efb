"""Recording and withdrawing consent, and the disclosure log's one writer."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from haven.audit.models import AuditEvent
from haven.audit.services import verify
from haven.cases.models import Case
from haven.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from haven.partners.models import (
    Consent,
    Disclosure,
    DisclosurePerson,
    GivenBy,
    Method,
    PartnerKind,
    Purpose,
)
from haven.partners.services import consent_record, consent_withdraw, log_disclosure
from tests.partners.conftest import child, make_agreement, make_partner, principal

FINGERPRINT = hashlib.sha256(b"package").hexdigest()


def give(actor: Any, person: Any, purpose: str = Purpose.SHARE, **extra: Any) -> Consent:
    return consent_record(actor=actor, person=person, purpose=purpose, method=Method.PHONE,
                          language="ru", **extra)


def test_consent_is_recorded_with_sealed_notes_and_an_audit_event(assigned: Case,
                                                                   caseworker: Any,
                                                                   partner: Any) -> None:
    person = principal(assigned)
    consent = give(caseworker, person, partner=partner, notes="Боится за сестру в Грозном")
    raw = bytes(Consent.objects.filter(pk=consent.pk).values_list("notes", flat=True).get())
    assert "Грозном".encode() not in raw
    assert raw
    again = Consent.objects.get(pk=consent.pk)
    assert again.notes == "Боится за сестру в Грозном"
    assert (again.taken_by, again.method, again.language) == (caseworker, Method.PHONE, "ru")
    event = AuditEvent.objects.get(action="consent.recorded")
    assert event.object_id == str(consent.pk)
    assert event.data["partner"] == str(partner.pk)
    assert event.data["purpose"] == "share"
    assert "Грозн" not in str(event.data)


@pytest.mark.parametrize(("extra", "field"), [
    ({"purpose": "everything"}, "purpose"),
    ({"method": "telepathy"}, "method"),
    ({"language": ""}, "language"),
    ({"language": "ru; DROP"}, "language"),
    ({"country": "XX"}, "country"),
    ({"partner_kind": "spy"}, "partner_kind"),
    ({"minor": True}, "given_by"),
    ({"given_by": GivenBy.GUARDIAN}, "guardian_name"),
    ({"notes": "x" * 5000}, "notes"),
    ({"expires_on": timezone.localdate() - timedelta(days=1)}, "expires_on"),
    ({"given_at": timezone.now() + timedelta(days=2)}, "given_at"),
])
def test_bad_consent_input_is_refused_and_nothing_written(assigned: Case, caseworker: Any,
                                                          extra: dict[str, Any],
                                                          field: str) -> None:
    arguments = {"purpose": Purpose.SHARE, "method": Method.IN_PERSON, "language": "ru",
                 **extra}
    with pytest.raises(ValidationFailed) as exc:
        consent_record(actor=caseworker, person=principal(assigned), **arguments)
    assert field in exc.value.fields
    assert not Consent.objects.exists()
    assert not AuditEvent.objects.filter(action="consent.recorded").exists()


def test_a_partner_of_another_kind_or_organization_is_refused(assigned: Case, caseworker: Any,
                                                              partner: Any,
                                                              other_org: Any) -> None:
    with pytest.raises(ValidationFailed) as exc:
        give(caseworker, principal(assigned), partner=partner, partner_kind=PartnerKind.SPONSOR)
    assert "partner_kind" in exc.value.fields
    foreign = make_partner(other_org, name="Elsewhere")
    with pytest.raises(ValidationFailed):
        give(caseworker, principal(assigned), partner=foreign)
    assert not Consent.objects.exists()


def test_only_the_cases_team_records_consent(assigned: Case, other_caseworker: Any,
                                             auditor: Any, outsider: Any) -> None:
    person = principal(assigned)
    with pytest.raises(NotFound):
        give(other_caseworker, person)
    with pytest.raises(Forbidden):
        give(auditor, person)
    with pytest.raises(NotFound):
        give(outsider, person)
    assert not Consent.objects.exists()


def test_a_minor_consent_needs_a_guardian_in_the_database_too(household: Case) -> None:
    kid = child(household)
    with pytest.raises(IntegrityError), transaction.atomic():
        Consent.objects.create(organization_id=kid.organization_id, person=kid,
                               purpose=Purpose.SHARE, method=Method.IN_PERSON, language="ru",
                               given_at=timezone.now(), minor=True, given_by=GivenBy.PERSON)


def test_a_guardians_consent_for_a_minor(household: Case, caseworker: Any) -> None:
    kid, parent = child(household), principal(household)
    consent = give(caseworker, kid, minor=True, given_by=GivenBy.GUARDIAN, guardian=parent)
    assert consent.guardian == parent
    named = give(caseworker, kid, minor=True, given_by=GivenBy.GUARDIAN,
                 guardian_name="Тётя Лейла")
    assert Consent.objects.get(pk=named.pk).guardian_name == "Тётя Лейла"
    with pytest.raises(ValidationFailed) as exc:
        give(caseworker, kid, minor=True, given_by=GivenBy.GUARDIAN, guardian=kid)
    assert "guardian" in exc.value.fields


def test_withdrawal_is_one_action_recorded_once(assigned: Case, caseworker: Any,
                                                other_caseworker: Any) -> None:
    consent = give(caseworker, principal(assigned))
    with pytest.raises(NotFound):
        consent_withdraw(actor=other_caseworker, consent=consent)
    consent_withdraw(actor=caseworker, consent=consent)
    assert consent.withdrawn_at is not None
    assert consent.withdrawn_by == caseworker
    with pytest.raises(Conflict):
        consent_withdraw(actor=caseworker, consent=consent)
    events = AuditEvent.objects.filter(action="consent.withdrawn")
    assert [e.object_id for e in events] == [str(consent.pk)]


# --- log_disclosure ------------------------------------------------------------------------------


def test_log_disclosure_records_who_what_whom_and_why(household: Case, caseworker: Any,
                                                      partner: Any, agreement: Any) -> None:
    parent, kid = principal(household), child(household)
    consent = give(caseworker, parent, partner=partner)
    give(caseworker, kid, minor=True, given_by=GivenBy.GUARDIAN, guardian=parent)
    disclosure = log_disclosure(
        caseworker, case=household, recipient="Rainbow Aid", purpose=Purpose.SHARE,
        people_fields={str(parent.pk): ["nationality", "legal_name"], kid.pk: ["birth_date"]},
        channel="age", fingerprint=FINGERPRINT, partner=partner, agreement=agreement)
    rows = {r.person_id: r for r in DisclosurePerson.objects.filter(disclosure=disclosure)}
    assert rows[parent.pk].fields == ["legal_name", "nationality"]
    assert rows[parent.pk].consent == consent
    assert rows[kid.pk].fields == ["birth_date"]
    assert (disclosure.partner, disclosure.agreement, disclosure.requested_by,
            disclosure.fingerprint, disclosure.channel) == (
        partner, agreement, caseworker, FINGERPRINT, "age")
    event = AuditEvent.objects.get(action="disclosure.logged")
    assert event.data == {"case": str(household.pk), "partner": str(partner.pk),
                          "agreement": str(agreement.pk), "purpose": "share", "channel": "age",
                          "people": 2, "fields": 3, "fingerprint": FINGERPRINT}
    assert verify().ok


def test_log_disclosure_without_partner_for_a_group_submission(
        assigned: Case, coordinator: Any, caseworker: Any, reference: dict[str, Any]) -> None:
    person = principal(assigned)
    pathway = next(iter(reference.values()))
    give(caseworker, person, Purpose.APPLY, pathway=pathway)
    disclosure = log_disclosure(coordinator, case=assigned, recipient="Embassy",
                                purpose=Purpose.APPLY, people_fields={person.pk: ["legal_name"]},
                                channel="group-submission", fingerprint=FINGERPRINT,
                                pathway=pathway)
    assert disclosure.people.get().person == person
    with pytest.raises(ValidationFailed):  # the consent names a pathway; none was asked about
        log_disclosure(coordinator, case=assigned, recipient="Embassy", purpose=Purpose.APPLY,
                       people_fields={person.pk: ["legal_name"]}, channel="group-submission",
                       fingerprint=FINGERPRINT)
    assert Disclosure.objects.count() == 1


def bad(case: Case, person: Any, partner: Any, agreement: Any) -> list[tuple[dict[str, Any], str]]:
    base: dict[str, Any] = {"case": case, "recipient": "Rainbow Aid", "purpose": Purpose.SHARE,
                            "people_fields": {person.pk: ["legal_name"]}, "channel": "age",
                            "fingerprint": FINGERPRINT, "partner": partner,
                            "agreement": agreement}
    return [
        ({**base, "purpose": "gossip"}, "purpose"),
        ({**base, "recipient": " "}, "recipient"),
        ({**base, "channel": "Carrier Pigeon!"}, "channel"),
        ({**base, "fingerprint": "abc"}, "fingerprint"),
        ({**base, "people_fields": {}}, "people_fields"),
        ({**base, "people_fields": {"not-a-uuid": ["legal_name"]}}, "people_fields"),
        ({**base, "people_fields": {person.pk: ["password"]}}, "people_fields"),
        ({**base, "people_fields": {person.pk: []}}, "people_fields"),
        ({**base, "people_fields": {person.pk: "legal_name"}}, "people_fields"),
        ({**base, "people_fields": {person.pk: ["story"]}}, "people_fields"),  # not agreed
        ({**base, "purpose": Purpose.APPLY}, "agreement"),
        ({**base, "partner": None}, "agreement"),
    ]


def test_log_disclosure_refuses_bad_input_and_writes_nothing(assigned: Case, caseworker: Any,
                                                            partner: Any,
                                                            agreement: Any) -> None:
    person = principal(assigned)
    give(caseworker, person, partner=partner)
    give(caseworker, person, Purpose.APPLY, partner=partner)
    for arguments, field in bad(assigned, person, partner, agreement):
        with pytest.raises(ValidationFailed) as exc:
            log_disclosure(caseworker, **arguments)
        assert field in exc.value.fields, (arguments, exc.value.fields)
    assert not Disclosure.objects.exists()
    assert not AuditEvent.objects.filter(action="disclosure.logged").exists()


@pytest.mark.parametrize("dates", [(30, -1, "ended"), (-5, 30, "not started")])
def test_an_agreement_out_of_its_dates_is_refused(assigned: Case, caseworker: Any,
                                                  partner: Any, dates: tuple[int, int, str]
                                                  ) -> None:
    started, days_left, why = dates
    person = principal(assigned)
    give(caseworker, person, partner=partner)
    agreement = make_agreement(partner, started=started, days_left=days_left)
    with pytest.raises(ValidationFailed) as exc:
        log_disclosure(caseworker, case=assigned, recipient="Rainbow Aid",
                       purpose=Purpose.SHARE, people_fields={person.pk: ["legal_name"]},
                       channel="age", fingerprint=FINGERPRINT, partner=partner,
                       agreement=agreement)
    assert why in exc.value.message
    assert not Disclosure.objects.exists()


def test_log_disclosure_refuses_a_person_without_consent_and_names_them_by_role(
        household: Case, caseworker: Any, partner: Any, other_caseworker: Any) -> None:
    parent, kid = principal(household), child(household)
    give(caseworker, parent, partner=partner)
    give(caseworker, kid, partner=partner)  # the child alone: a minor? not recorded as one
    withdrawn = give(caseworker, parent, Purpose.APPLY)
    consent_withdraw(actor=caseworker, consent=withdrawn)
    with pytest.raises(ValidationFailed) as exc:
        log_disclosure(caseworker, case=household, recipient="Rainbow Aid",
                       purpose=Purpose.APPLY, channel="age", fingerprint=FINGERPRINT,
                       people_fields={parent.pk: ["legal_name"], kid.pk: ["legal_name"]},
                       partner=partner)
    assert "Principal" in exc.value.message
    assert "Child" in exc.value.message
    assert "Хасан" not in exc.value.message
    with pytest.raises(NotFound):
        log_disclosure(other_caseworker, case=household, recipient="Rainbow Aid",
                       purpose=Purpose.SHARE, channel="age", fingerprint=FINGERPRINT,
                       people_fields={parent.pk: ["legal_name"]}, partner=partner)
    assert not Disclosure.objects.exists()


def test_a_person_of_another_case_cannot_be_slipped_in(assigned: Case, caseworker: Any,
                                                       operator: Any, partner: Any) -> None:
    from haven.cases import services as case_services

    stranger_case = case_services.case_open(actor=operator, legal_name="Иван Петров")
    stranger = principal(stranger_case)
    with pytest.raises(ValidationFailed) as exc:
        log_disclosure(caseworker, case=assigned, recipient="Rainbow Aid", purpose=Purpose.SHARE,
                       people_fields={stranger.pk: ["legal_name"]}, channel="age",
                       fingerprint=FINGERPRINT, partner=partner)
    assert "people_fields" in exc.value.fields
    assert not Disclosure.objects.exists()
