"""Reads of consents and the disclosure log.

The consent rule (``consent_allows``, ``people_with_consent``; the contract with issues 19
and 21 in docs/partners.md):

- **Live**: given (``given_at`` not in the future), not withdrawn, and not expired (a consent
  holds through its ``expires_on`` day, in the server's time zone).
- **A minor's consent is their guardian's**: whether a person is a minor is what their most
  recent consent record says (``Consent.minor``); while it says so, only consents given by a
  guardian count, and a consent the minor gave alone counts for nothing.
- **Scope**: a consent has one purpose, and may narrow it to a named partner, a kind of
  partner, a pathway and a country. A blank scope covers anything of that dimension; a filled
  one covers only a question that names a matching value: a consent for "Rainbow Aid" covers
  sharing with Rainbow Aid, not with an unnamed partner; a consent for kind "sponsor" covers
  every sponsor; a consent for Germany covers every German pathway (the country asked about
  is ``country`` or, when only a pathway is named, the pathway's country).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from haven.partners.models import Consent, GivenBy
from haven.people.models import Person


def _live() -> Q:
    now = timezone.now()
    return (Q(withdrawn_at__isnull=True) & Q(given_at__lte=now)
            & (Q(expires_on__isnull=True) | Q(expires_on__gte=timezone.localdate())))


def _scope(*, partner: Any, pathway: Any, country: str) -> Q:
    if partner is not None:
        scope = (Q(partner__isnull=True) | Q(partner=partner)) & (
            Q(partner_kind="") | Q(partner_kind=partner.kind))
    else:
        scope = Q(partner__isnull=True) & Q(partner_kind="")
    scope &= (Q(pathway__isnull=True) | Q(pathway=pathway)) if pathway is not None else Q(
        pathway__isnull=True)
    asked = (country or (pathway.country.code if pathway is not None else "")).upper()
    scope &= (Q(country="") | Q(country=asked)) if asked else Q(country="")
    return scope


def _counting(qs: QuerySet[Consent]) -> QuerySet[Consent]:
    """Drop the consents a minor gave alone (see the module)."""
    latest = Consent.objects.filter(person=OuterRef("person")).order_by(
        "-given_at", "-created_at").values("minor")[:1]
    return qs.annotate(minor_now=Subquery(latest)).filter(
        Q(given_by=GivenBy.GUARDIAN) | Q(minor_now=False))


def covering_consents(person: Person | Any, purpose: str, *, partner: Any = None,
                      pathway: Any = None, country: str = "") -> QuerySet[Consent]:
    """The live consents of ``person`` that allow ``purpose`` within the scope asked about,
    newest first (the rule of this module)."""
    person_id: Any = getattr(person, "pk", person)
    qs = Consent.objects.filter(_live(), _scope(partner=partner, pathway=pathway,
                                                country=country),
                                person_id=person_id, purpose=purpose)
    return _counting(qs).order_by("-given_at", "-created_at")


def consent_allows(person: Person | Any, purpose: str, *, partner: Any = None,
                   pathway: Any = None, country: str = "") -> bool:
    """True if and only if ``person`` has a live consent for ``purpose`` whose scope covers
    the partner, pathway and country asked about (the rule of this module). Withdrawal and
    expiry take effect at once: nothing is cached."""
    return covering_consents(person, purpose, partner=partner, pathway=pathway,
                             country=country).exists()


def people_with_consent(qs: QuerySet[Person], purpose: str) -> QuerySet[Person]:
    """The people of ``qs`` for whom ``consent_allows(person, purpose)`` holds — a consent for
    ``purpose`` with no scope named — in one query (statistics count only them)."""
    live = Consent.objects.filter(_live(), _scope(partner=None, pathway=None, country=""),
                                  person=OuterRef("pk"), purpose=purpose)
    return qs.filter(Exists(_counting(live)))
