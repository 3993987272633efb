"""Recording and withdrawing consent."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from haven.access import policy
from haven.access.permissions import Perm
from haven.audit.services import record
from haven.cases.services.common import choice, text
from haven.core.errors import Conflict, ValidationFailed
from haven.keyring import keys
from haven.partners.models import Consent, GivenBy, Method, PartnerKind, Purpose
from haven.partners.services.common import country_code
from haven.people.models import Person

LANGUAGE_RE = re.compile(r"[^\W\d_][^\W\d_ -]*(?:[ -][^\W\d_]+)*")
MAX_NOTES = 4000
# A consent dated a little ahead is a clock off by a minute, not a consent from the future.
CLOCK_SLACK = timedelta(minutes=5)


def _language(value: str) -> str:
    value = text(value, "language", maximum=35, required=True)
    if not LANGUAGE_RE.fullmatch(value):
        raise ValidationFailed(_("Give the language as a name or a code, such as “ru”."),
                               fields={"language": [_("Letters only, such as “ru” or "
                                                      "“Chechen”.")]})
    return value


def _same_org(obj: Any, person: Person, field: str) -> None:
    if obj is not None and obj.organization_id != person.organization_id:
        raise ValidationFailed(_("Not found."), fields={field: [_("Not found.")]})


def consent_record(*, actor: Any, person: Person, purpose: str, method: str, language: str,
                   given_at: datetime | None = None, expires_on: date | None = None,
                   partner: Any = None, partner_kind: str = "", pathway: Any = None,
                   country: str = "", minor: bool = False, given_by: str = GivenBy.PERSON,
                   guardian: Person | None = None, guardian_name: str = "",
                   notes: str = "") -> Consent:
    """Record what ``person`` agreed to: one purpose within a scope (``selectors``), how and
    when it was given, in which language, until when. A minor's consent is given by their
    guardian — a person of the organization (``guardian``) or named (``guardian_name``,
    sealed). ``notes`` are sealed under the person's data key."""
    policy.require(actor, Perm.CONSENT_RECORD, person)
    choice(purpose, Purpose, "purpose")
    choice(method, Method, "method")
    choice(given_by, GivenBy, "given_by")
    if partner_kind:
        choice(partner_kind, PartnerKind, "partner_kind")
    language = _language(language)
    notes = text(notes, "notes", maximum=MAX_NOTES)
    guardian_name = text(guardian_name, "guardian_name", maximum=200)
    country = country_code(country)
    now = timezone.now()
    given_at = given_at or now
    errors: dict[str, list[str]] = {}
    if given_at > now + CLOCK_SLACK:
        errors["given_at"] = [_("A consent cannot be dated in the future.")]
    if expires_on is not None and expires_on < timezone.localdate(given_at):
        errors["expires_on"] = [_("The expiry is before the day the consent was given.")]
    _same_org(partner, person, "partner")
    if partner is not None and partner_kind and partner.kind != partner_kind:
        errors["partner_kind"] = [_("The named partner is of another kind.")]
    if pathway is not None and country and pathway.country.code != country:
        errors["country"] = [_("The pathway leads to another country.")]
    if minor and given_by != GivenBy.GUARDIAN:
        errors["given_by"] = [_("A minor's consent is given by their guardian.")]
    if given_by == GivenBy.GUARDIAN and guardian is None and not guardian_name:
        errors["guardian_name"] = [_("Name the guardian who gave the consent.")]
    _same_org(guardian, person, "guardian")
    if guardian is not None and guardian.pk == person.pk:
        errors["guardian"] = [_("A person cannot be their own guardian.")]
    if errors:
        raise ValidationFailed(_("The consent is not valid: see the fields."), fields=errors)
    with transaction.atomic():
        consent = Consent(organization_id=person.organization_id, person=person,
                          purpose=purpose, method=method, language=language,
                          given_at=given_at, expires_on=expires_on, partner=partner,
                          partner_kind=partner_kind, pathway=pathway, country=country,
                          minor=minor, given_by=given_by, guardian=guardian, taken_by=actor)
        consent.__dict__[keys.DK_ATTR] = keys.data_key_for(person)
        consent.notes = notes
        consent.guardian_name = guardian_name
        consent.save()
        record(actor=actor, action="consent.recorded", object_type="consent",
               object_id=consent.pk,
               data={"person": str(person.pk), "purpose": purpose, "method": method,
                     "partner": str(partner.pk if partner else ""),
                     "pathway": str(pathway.pk if pathway else ""),
                     "partner_kind": partner_kind, "minor": minor, "given_by": given_by,
                     "expires_on": expires_on.isoformat() if expires_on else ""})
    return consent


def consent_withdraw(*, actor: Any, consent: Consent) -> Consent:
    """Withdraw a consent: one action, in effect at once — every check reads
    ``withdrawn_at``, so the next disclosure, statistic or application that depended on it is
    refused. The row stays, so the log can still say what was allowed when."""
    policy.require(actor, Perm.CONSENT_RECORD, consent)
    with transaction.atomic():
        locked = Consent.objects.select_for_update().get(pk=consent.pk)
        if locked.withdrawn_at is not None:
            raise Conflict(_("This consent was already withdrawn."))
        locked.withdrawn_at = timezone.now()
        locked.withdrawn_by = actor
        locked.save(update_fields=["withdrawn_at", "withdrawn_by", "updated_at"])
        record(actor=actor, action="consent.withdrawn", object_type="consent",
               object_id=locked.pk,
               data={"person": str(locked.person_id), "purpose": locked.purpose})
    consent.refresh_from_db()
    return consent
