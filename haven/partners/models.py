"""Consent, partners, agreements and the disclosure log (docs/partners.md).

A **consent** says what one person (for a minor: their guardian) agreed to: one ``Purpose``,
narrowed to a named partner, a kind of partner, a pathway or a country, given in person, by
phone or through the intake, taken by a staff member on a date, in a language, until an
expiry. Withdrawal stamps ``withdrawn_at`` and takes effect at once: every check reads
``withdrawn_at`` (``selectors.live_consents``). Its notes are sealed under the person's data
key, so erasing the person shreds them too.

A **partner** is an organization or government body outside Haven (no account): its contacts
are sealed under its own data key, its age public key is public by design. An **agreement**
is a data-sharing agreement with one partner: purpose, the fields it allows, how long the
partner may keep the data, its dates and the signed document (an encrypted file).

A **disclosure** is one sharing of named fields of named people with a recipient, under an
agreement and each person's consent, logged for good with the SHA-256 of the package.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from haven.accounts.models import Organization, User
from haven.cases.models import Case
from haven.core.models import BaseModel
from haven.keyring.fields import EncryptedTextField
from haven.pathways.models import Pathway
from haven.people.models import Person


class Purpose(models.TextChoices):
    """What a person may agree to: one consent, one purpose."""

    RECORD = "record", _("Recording their data")
    VERIFY = "verify", _("Verification")
    SHELTER = "shelter", _("Shelter")
    APPLY = "apply", _("Applications to countries or pathways")
    SHARE = "share", _("Sharing with partners")
    STATISTICS = "statistics", _("Being counted in statistics")


class Method(models.TextChoices):
    IN_PERSON = "in_person", _("In person")
    PHONE = "phone", _("By phone")
    INTAKE = "intake", _("Through the intake")


class GivenBy(models.TextChoices):
    PERSON = "person", _("The person")
    GUARDIAN = "guardian", _("Their guardian")


class PartnerKind(models.TextChoices):
    ORGANIZATION = "organization", _("Receiving organization")
    SPONSOR = "sponsor", _("Sponsor")
    INTERNATIONAL = "international", _("International organization (such as UNHCR)")
    GOVERNMENT = "government", _("Government body or embassy")


class Partner(BaseModel):
    """An organization or government body Haven discloses to or receives referrals from.
    ``contacts`` are sealed under the partner's own data key; ``public_key`` is an age
    recipient (``age1…``), public by nature."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT,
                                     related_name="partners")
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=PartnerKind.choices)
    country = models.CharField(_("country"), max_length=2, blank=True)
    contacts = EncryptedTextField(_("contacts"))
    public_key = models.CharField(_("public key"), max_length=100, blank=True)
    active = models.BooleanField(default=True)
    # Incoming referrals: the SHA-256 of the partner's link secret (the secret is shown once).
    referral_secret_hash = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"],
                                               name="one_partner_name_per_org")]

    def __str__(self) -> str:
        return self.name


class Agreement(BaseModel):
    """A data-sharing agreement with one partner. ``allowed_fields``: the person fields
    (``cases.models.PERSON_FIELDS``) the partner may receive. The signed document is an
    encrypted file (``keyring.files``) under the partner's data key."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="agreements")
    title = models.CharField(_("title"), max_length=200)
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose.choices)
    allowed_fields = models.JSONField(default=list)
    retention_days = models.PositiveIntegerField(_("retention (days)"))
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    document_id = models.UUIDField(null=True, blank=True)
    document_name = EncryptedTextField(_("document name"))
    document_size = models.PositiveBigIntegerField(default=0)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["-starts_on", "title"]

    def __str__(self) -> str:
        return self.title

    def keyring_owner(self) -> tuple[str, str]:
        return "partners.partner", str(self.partner_id)


class ConsentQuerySet(models.QuerySet["Consent"]):
    """Consents; ``policy_partners.consents_visible_to`` decides who sees which."""


class Consent(BaseModel):
    """What one person agreed to, for one purpose, within a scope (see the module). A blank
    scope field covers everything of that dimension; a filled one narrows the consent."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose.choices)
    partner = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="consents")
    partner_kind = models.CharField(_("kind of partner"), max_length=16,
                                    choices=PartnerKind.choices, blank=True)
    pathway = models.ForeignKey(Pathway, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+")
    country = models.CharField(_("country"), max_length=2, blank=True)
    method = models.CharField(_("how it was given"), max_length=16, choices=Method.choices)
    minor = models.BooleanField(_("the person is a minor"), default=False)
    given_by = models.CharField(_("given by"), max_length=16, choices=GivenBy.choices,
                                default=GivenBy.PERSON)
    guardian = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    guardian_name = EncryptedTextField(_("guardian"))
    taken_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    given_at = models.DateTimeField(_("given at"))
    language = models.CharField(_("language"), max_length=35)
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    notes = EncryptedTextField(_("notes"))

    objects: ClassVar[ConsentQuerySet] = ConsentQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["-given_at"]
        indexes = [models.Index(fields=["person", "purpose"], name="consent_person_purpose")]
        constraints = [
            # A minor's consent is given by their guardian, never by the minor alone.
            models.CheckConstraint(condition=models.Q(minor=False) | models.Q(given_by="guardian"),
                                   name="consent_minor_by_guardian"),
        ]

    def __str__(self) -> str:
        return f"consent {self.pk}"

    def keyring_owner(self) -> tuple[str, str]:
        return "people.person", str(self.person_id)


class DisclosureState(models.TextChoices):
    PENDING = "pending", _("Waiting for approval")
    SENT = "sent", _("Sent")
    REFUSED = "refused", _("Refused by the approver")
    CANCELLED = "cancelled", _("Cancelled")


class DisclosureQuerySet(models.QuerySet["Disclosure"]):
    """Disclosures; ``policy_partners.disclosures_visible_to`` decides who sees which."""


class Disclosure(BaseModel):
    """One sharing of named fields of named people (``DisclosurePerson``) with a recipient.
    A logged disclosure is never edited: answers and notifications hang off it."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="disclosures")
    partner = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="disclosures")
    agreement = models.ForeignKey(Agreement, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="disclosures")
    recipient = models.CharField(_("recipient"), max_length=200)
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose.choices)
    pathway = models.ForeignKey(Pathway, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+")
    country = models.CharField(max_length=2, blank=True)
    channel = models.CharField(_("channel"), max_length=32)
    state = models.CharField(max_length=16, choices=DisclosureState.choices,
                             default=DisclosureState.SENT)
    fingerprint = models.CharField(max_length=64, blank=True)
    requested_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL,
                                     related_name="+")
    approved_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[DisclosureQuerySet] = DisclosureQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "created_at"], name="disclosure_org"),
                   models.Index(fields=["case", "created_at"], name="disclosure_case")]

    def __str__(self) -> str:
        return f"disclosure {self.pk}"


class DisclosurePerson(models.Model):
    """Which fields of which person one disclosure holds, and the consent that allowed it."""

    disclosure = models.ForeignKey(Disclosure, on_delete=models.CASCADE, related_name="people")
    # Erasing a person (``people.services.person_erase``) keeps the log's row without them.
    person = models.ForeignKey(Person, null=True, on_delete=models.SET_NULL,
                               related_name="disclosures")
    fields = models.JSONField(default=list)
    consent = models.ForeignKey(Consent, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="disclosures")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["disclosure", "person"],
                                               name="one_row_per_disclosed_person")]
        indexes = [models.Index(fields=["person", "disclosure"], name="disclosed_person")]

    def __str__(self) -> str:
        return f"disclosed person {self.pk}"
