"""The disclosure log: every sharing of people's data with someone outside Haven."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from haven.access import policy
from haven.access.permissions import Perm
from haven.audit.services import record
from haven.cases.models import Case, Member, member_labels
from haven.cases.services.common import choice, text
from haven.core.errors import ValidationFailed
from haven.partners.models import (
    Agreement,
    Consent,
    Disclosure,
    DisclosurePerson,
    DisclosureState,
    Partner,
    Purpose,
)
from haven.partners.selectors import covering_consents
from haven.partners.services.common import country_code, field_names

CHANNEL_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
FINGERPRINT_RE = re.compile(r"[0-9a-f]{64}")


def agreement_problem(agreement: Agreement, *, partner: Any, purpose: str) -> str:
    """Why ``agreement`` does not cover a disclosure to ``partner`` for ``purpose`` today,
    or "" when it does."""
    today = timezone.localdate()
    if partner is None or agreement.partner_id != partner.pk:
        return _("The agreement is with another partner.")
    if agreement.ended_at is not None or (agreement.ends_on is not None
                                          and agreement.ends_on < today):
        return _("The agreement has ended.")
    if agreement.starts_on > today:
        return _("The agreement has not started yet.")
    if agreement.purpose != purpose:
        return _("The agreement covers another purpose.")
    return ""


def _person_ids(people_fields: Mapping[Any, Sequence[str]]) -> dict[uuid.UUID, Sequence[str]]:
    if not isinstance(people_fields, Mapping) or not people_fields:
        raise ValidationFailed(_("Name at least one person and their fields."),
                               fields={"people_fields": [_("Nobody to disclose.")]})
    out: dict[uuid.UUID, Sequence[str]] = {}
    for key, fields in people_fields.items():
        try:
            out[key if isinstance(key, uuid.UUID) else uuid.UUID(str(key))] = fields
        except ValueError:
            raise ValidationFailed(_("Not a person of this case."),
                                   fields={"people_fields": [_("Not a person id.")]}) from None
    return out


def _check_links(case: Case, partner: Partner | None, agreement: Agreement | None,
                 purpose: str) -> None:
    if partner is not None and partner.organization_id != case.organization_id:
        raise ValidationFailed(_("Not found."), fields={"partner": [_("Not found.")]})
    if agreement is not None:
        problem = agreement_problem(agreement, partner=partner, purpose=purpose)
        if problem:
            raise ValidationFailed(problem, fields={"agreement": [problem]})


def log_disclosure(actor: Any, *, case: Case, recipient: str, purpose: str,
                   people_fields: Mapping[Any, Sequence[str]], channel: str, fingerprint: str,
                   partner: Partner | None = None, agreement: Agreement | None = None,
                   pathway: Any = None, country: str = "") -> Disclosure:
    """Write one entry of the disclosure log, in the caller's transaction, with its audit
    event (ids, counts and the fingerprint; nothing personal).

    ``recipient``: a display label; ``people_fields``: person id -> the field names disclosed
    (``cases.models.PERSON_FIELDS``); ``channel``: "age", "link", "group-submission"…;
    ``fingerprint``: the SHA-256 hex of the package. Refused (``ValidationFailed``, nothing
    written) unless every person is a member of ``case`` with a live consent for ``purpose``
    covering ``partner``, ``pathway`` and ``country`` (``selectors.consent_allows``), and,
    when an ``agreement`` is named, it is the partner's, live, for ``purpose``, and allows
    every field. The consents relied on are locked until the caller commits, so a withdrawal
    at the same moment waits and then lists this disclosure as affected.
    """
    policy.require(actor, Perm.DISCLOSURE_REQUEST, case)
    choice(purpose, Purpose, "purpose")
    recipient = text(recipient, "recipient", maximum=200, required=True)
    if not isinstance(channel, str) or not CHANNEL_RE.fullmatch(channel):
        raise ValidationFailed(_("Unknown channel."),
                               fields={"channel": [_("A short name such as “age”.")]})
    if not isinstance(fingerprint, str) or not FINGERPRINT_RE.fullmatch(fingerprint):
        raise ValidationFailed(_("The fingerprint is not a SHA-256."),
                               fields={"fingerprint": [_("64 lower-case hex digits.")]})
    country = country_code(country)
    _check_links(case, partner, agreement, purpose)
    wanted = {pid: field_names(fields, "people_fields") for pid, fields
              in _person_ids(people_fields).items()}
    members = {m.person_id: m for m in Member.objects.filter(case=case, person_id__in=wanted)
               .select_related("person")}
    if set(members) != set(wanted) or not all(wanted.values()):
        raise ValidationFailed(_("Every person disclosed must be on this case, with at least "
                                 "one field."),
                               fields={"people_fields": [_("Not a person of this case, or "
                                                           "no field.")]})
    if agreement is not None:
        extra = sorted({f for fields in wanted.values() for f in fields}
                       - set(agreement.allowed_fields))
        if extra:
            message = _("The agreement does not allow: %(f)s.") % {"f": ", ".join(extra)}
            raise ValidationFailed(message, fields={"people_fields": [message]})
    labels = member_labels(Member.objects.filter(case=case))
    with transaction.atomic():
        consents: dict[uuid.UUID, Consent] = {}
        missing = []
        for pid, member in members.items():
            found = covering_consents(member.person, purpose, partner=partner, pathway=pathway,
                                      country=country).select_for_update(of=("self",)).first()
            if found is None:
                missing.append(labels.get(str(member.pk), "?"))
            else:
                consents[pid] = found
        if missing:
            message = _("No live consent for this disclosure from: %(who)s.") % {
                "who": ", ".join(sorted(missing))}
            raise ValidationFailed(message, fields={"consent": [message]})
        now = timezone.now()
        disclosure = Disclosure.objects.create(
            organization_id=case.organization_id, case=case, partner=partner,
            agreement=agreement, recipient=recipient, purpose=purpose, pathway=pathway,
            country=country, channel=channel, state=DisclosureState.SENT,
            fingerprint=fingerprint, requested_by=actor, sent_at=now)
        DisclosurePerson.objects.bulk_create(
            DisclosurePerson(disclosure=disclosure, person_id=pid, fields=wanted[pid],
                             consent=consents[pid]) for pid in members)
        record(actor=actor, action="disclosure.logged", object_type="disclosure",
               object_id=disclosure.pk,
               data={"case": str(case.pk), "partner": str(partner.pk if partner else ""),
                     "agreement": str(agreement.pk if agreement else ""), "purpose": purpose,
                     "channel": channel, "people": len(members),
                     "fields": sum(len(f) for f in wanted.values()),
                     "fingerprint": fingerprint})
    return disclosure
