"""Fixtures for consent and partners: an assigned case with a household, the invented
pathway reference data, and a partner with an agreement."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from haven.cases import services as case_services
from haven.cases.models import Case, Member, Relationship
from haven.keyring import keys
from haven.partners.models import Agreement, Partner, PartnerKind, Purpose
from haven.people.models import Person
from tests.cases.conftest import _fast_passwords, api, assigned, opened
from tests.pathways.conftest import reference

__all__ = ["_fast_passwords", "api", "assigned", "opened", "reference"]


def make_partner(org: Any, name: str = "Rainbow Aid", kind: str = PartnerKind.ORGANIZATION,
                 public_key: str = "", contacts: str = "") -> Partner:
    partner = Partner(organization=org, name=name, kind=kind, public_key=public_key)
    keys.data_key_create(partner)
    partner.contacts = contacts
    partner.save()
    return partner


def make_agreement(partner: Partner, *, purpose: str = Purpose.SHARE,
                   fields: tuple[str, ...] = ("legal_name", "birth_date", "nationality"),
                   days_left: int | None = 365, started: int = 30) -> Agreement:
    today = timezone.localdate()
    return Agreement.objects.create(
        organization_id=partner.organization_id, partner=partner, title="Referral agreement",
        purpose=purpose, allowed_fields=list(fields), retention_days=180,
        starts_on=today - timedelta(days=started),
        ends_on=None if days_left is None else today + timedelta(days=days_left))


@pytest.fixture
def partner(org: Any, unsealed: list[str]) -> Partner:
    return make_partner(org, contacts="Anna, +49 30 1234567, anna@rainbow.example")


@pytest.fixture
def agreement(partner: Partner) -> Agreement:
    return make_agreement(partner)


@pytest.fixture
def household(assigned: Case, caseworker: Any) -> Case:
    """The assigned case with a child."""
    case_services.member_add(actor=caseworker, case=assigned, legal_name="Амина Хасанова",
                             relationship=Relationship.CHILD)
    return assigned


def principal(case: Case) -> Person:
    return Member.objects.get(case=case, is_principal=True).person


def child(case: Case) -> Person:
    return Member.objects.get(case=case, relationship=Relationship.CHILD).person
