"""The consent rule of ``haven.partners.selectors`` (the contract with issues 19 and 21)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from haven.cases.models import Case
from haven.partners import selectors
from haven.partners.models import Consent, GivenBy, Method, PartnerKind, Purpose
from haven.partners.services import consent_record, consent_withdraw
from haven.people.models import Person
from tests.partners.conftest import child, make_partner, principal


def give(actor: Any, person: Person, purpose: str = Purpose.SHARE, **scope: Any) -> Consent:
    return consent_record(actor=actor, person=person, purpose=purpose, method=Method.IN_PERSON,
                          language="ru", **scope)


def test_no_consent_allows_nothing(assigned: Case, partner: Any) -> None:
    person = principal(assigned)
    for purpose in Purpose.values:
        assert not selectors.consent_allows(person, purpose)
    assert not selectors.consent_allows(person, Purpose.SHARE, partner=partner)


def test_a_named_partner_covers_that_partner_only(assigned: Case, caseworker: Any,
                                                  partner: Any, org: Any) -> None:
    person = principal(assigned)
    other = make_partner(org, name="Other Aid")
    give(caseworker, person, partner=partner)
    assert selectors.consent_allows(person, Purpose.SHARE, partner=partner)
    assert not selectors.consent_allows(person, Purpose.SHARE, partner=other)
    assert not selectors.consent_allows(person, Purpose.SHARE)  # the question is wider
    assert not selectors.consent_allows(person, Purpose.APPLY, partner=partner)


def test_a_kind_of_partner_covers_every_partner_of_that_kind(assigned: Case, caseworker: Any,
                                                            org: Any, partner: Any) -> None:
    person = principal(assigned)
    sponsor = make_partner(org, name="Sponsor circle", kind=PartnerKind.SPONSOR)
    give(caseworker, person, partner_kind=PartnerKind.SPONSOR)
    assert selectors.consent_allows(person, Purpose.SHARE, partner=sponsor)
    assert not selectors.consent_allows(person, Purpose.SHARE, partner=partner)


def test_an_open_consent_covers_any_partner_pathway_and_country(
        assigned: Case, caseworker: Any, partner: Any, reference: dict[str, Any]) -> None:
    person = principal(assigned)
    pathway = next(iter(reference.values()))
    give(caseworker, person)
    assert selectors.consent_allows(person, Purpose.SHARE)
    assert selectors.consent_allows(person, Purpose.SHARE, partner=partner, pathway=pathway,
                                    country=pathway.country.code)


def test_a_country_covers_its_pathways_and_a_pathway_only_itself(
        assigned: Case, caseworker: Any, reference: dict[str, Any]) -> None:
    person = principal(assigned)
    pathways = list(reference.values())
    first = pathways[0]
    same_country = [p for p in pathways[1:] if p.country_id == first.country_id]
    elsewhere = next(p for p in pathways if p.country_id != first.country_id)
    give(caseworker, person, Purpose.APPLY, country=first.country.code)
    assert selectors.consent_allows(person, Purpose.APPLY, pathway=first)
    assert selectors.consent_allows(person, Purpose.APPLY, country=first.country.code.lower())
    assert not selectors.consent_allows(person, Purpose.APPLY, pathway=elsewhere)
    assert not selectors.consent_allows(person, Purpose.APPLY)
    other = principal(assigned)  # same person, a consent for one pathway of another purpose
    give(caseworker, other, Purpose.VERIFY, pathway=elsewhere)
    assert selectors.consent_allows(other, Purpose.VERIFY, pathway=elsewhere)
    assert not selectors.consent_allows(other, Purpose.VERIFY, country=elsewhere.country.code)
    for p in same_country:
        assert not selectors.consent_allows(other, Purpose.VERIFY, pathway=p)


def test_withdrawal_and_expiry_take_effect_at_once(assigned: Case, caseworker: Any) -> None:
    person = principal(assigned)
    consent = give(caseworker, person, Purpose.STATISTICS)
    assert selectors.consent_allows(person, Purpose.STATISTICS)
    consent_withdraw(actor=caseworker, consent=consent)
    assert not selectors.consent_allows(person, Purpose.STATISTICS)
    today = timezone.localdate()
    give(caseworker, person, Purpose.STATISTICS, expires_on=today)
    assert selectors.consent_allows(person, Purpose.STATISTICS)  # holds through its last day
    Consent.objects.filter(withdrawn_at__isnull=True).update(expires_on=today - timedelta(days=1))
    assert not selectors.consent_allows(person, Purpose.STATISTICS)


def test_a_consent_dated_ahead_is_not_yet_live(assigned: Case, caseworker: Any) -> None:
    person = principal(assigned)
    give(caseworker, person, Purpose.RECORD, given_at=timezone.now() + timedelta(minutes=3))
    assert not selectors.consent_allows(person, Purpose.RECORD)


def test_a_minor_counts_only_with_the_guardians_consent(household: Case,
                                                        caseworker: Any) -> None:
    kid, parent = child(household), principal(household)
    give(caseworker, kid, Purpose.SHELTER, minor=True, given_by=GivenBy.GUARDIAN,
         guardian=parent)
    assert selectors.consent_allows(kid, Purpose.SHELTER)
    # What the minor says alone does not count while the record says they are a minor...
    alone = Consent.objects.create(
        organization_id=kid.organization_id, person=kid, purpose=Purpose.VERIFY,
        method=Method.IN_PERSON, language="ru", given_at=timezone.now() - timedelta(days=1),
        given_by=GivenBy.PERSON)
    assert not selectors.consent_allows(kid, Purpose.VERIFY)
    # ...and counts once a newer record says they came of age.
    give(caseworker, kid, Purpose.RECORD)
    assert selectors.consent_allows(kid, Purpose.VERIFY)
    assert alone.minor is False


def test_people_with_consent_agrees_with_consent_allows(household: Case, caseworker: Any,
                                                        partner: Any,
                                                        django_assert_num_queries: Any) -> None:
    kid, parent = child(household), principal(household)
    give(caseworker, parent, Purpose.STATISTICS)
    give(caseworker, kid, Purpose.STATISTICS, partner=partner)  # scoped: not for statistics
    everyone = Person.objects.filter(pk__in=[kid.pk, parent.pk])
    with django_assert_num_queries(1):
        counted = list(selectors.people_with_consent(everyone, Purpose.STATISTICS))
    assert counted == [parent]
    for person in everyone:
        assert (person in counted) == selectors.consent_allows(person, Purpose.STATISTICS)
    assert list(selectors.people_with_consent(everyone, Purpose.APPLY)) == []


@pytest.mark.parametrize("purpose", Purpose.values)
def test_every_purpose_is_its_own(assigned: Case, caseworker: Any, purpose: str) -> None:
    person = principal(assigned)
    give(caseworker, person, purpose)
    assert [p for p in Purpose.values if selectors.consent_allows(person, p)] == [purpose]
