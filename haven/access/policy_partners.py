"""Who may see and do what with consents, partners, agreements and disclosures (issue 18).

An area module of the one policy (``AccessConfig.AREA_POLICIES``): its object rules are
registered with ``policy.register_object_rule`` when the access app is ready, so
``policy.has_perm(user, perm, consent)`` asks them like any other.

- A **consent** is part of the person it belongs to: whoever may read that person (their
  case's team, coordinators) may read it; those with ``consent:record`` record and withdraw it.
- A **disclosure** is read by the team of its case (the caseworker), by coordinators and by
  auditors — the log names cases, partners and field names, never a person's data, so an
  auditor checking who received what reads it whole. A second staff member approves: someone
  with ``disclosure:approve`` who did not ask for it.
- **Partners and agreements** are the organization's register: every role with
  ``partner:read`` reads it (names, kinds, keys, agreements), coordinators change it. Partner
  contacts are shown to those who may change the register only.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import QuerySet

from haven.access import policy
from haven.access.permissions import Perm
from haven.cases.models import Case
from haven.people.models import Person

_QS = TypeVar("_QS", bound="QuerySet[Any]")


def _consent_rule(user: Any, perm: Perm, consent: Any) -> bool:
    """A consent is reachable exactly when its person is."""
    return policy.has_perm(user, Perm.PERSON_READ, consent.person)


def _sees_whole_log(user: Any) -> bool:
    perms = policy.role_perms(user)
    return Perm.CASE_SUPERVISE in perms or Perm.CASE_READ not in perms


def _disclosure_rule(user: Any, perm: Perm, disclosure: Any) -> bool:
    """The disclosure's case team; coordinators and auditors every disclosure of theirs."""
    if perm == Perm.DISCLOSURE_READ and _sees_whole_log(user):
        return True
    return policy.has_perm(user, Perm.CASE_READ, disclosure.case)


policy.register_object_rule("partners.Consent", _consent_rule)
policy.register_object_rule("partners.Disclosure", _disclosure_rule)


def consents_visible_to(user: Any, qs: _QS) -> _QS:
    """Consents of the people ``user`` may see, for roles with ``consent:read``."""
    if Perm.CONSENT_READ not in policy.role_perms(user):
        return qs.none()
    people = policy.people_visible_to(user, Person.objects.all()).values("pk")
    return qs.filter(organization_id=user.organization_id, person__in=people)


def disclosures_visible_to(user: Any, qs: _QS) -> _QS:
    """The disclosure log as ``user`` may read it (``_disclosure_rule``)."""
    if Perm.DISCLOSURE_READ not in policy.role_perms(user):
        return qs.none()
    qs = qs.filter(organization_id=user.organization_id)
    if _sees_whole_log(user):
        return qs
    return qs.filter(case__in=policy.cases_visible_to(user, Case.objects.all()).values("pk"))


def partners_visible_to(user: Any, qs: _QS) -> _QS:
    """The organization's partners and agreements, for roles with ``partner:read``."""
    return policy.org_scoped(user, Perm.PARTNER_READ, qs)


def may_see_partner_contacts(user: Any, partner: Any) -> bool:
    """Who to call at a partner is known to those who keep the register (coordinators)."""
    return policy.has_perm(user, Perm.PARTNER_MANAGE, partner)


def may_approve_disclosure(user: Any, disclosure: Any) -> bool:
    """A disclosure leaves only with a second person's approval: someone allowed to approve
    who did not ask for it."""
    return (policy.has_perm(user, Perm.DISCLOSURE_APPROVE, disclosure)
            and disclosure.requested_by_id != user.pk)
