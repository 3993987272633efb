"""Requests for help from the public intake site, and the messages of each conversation.

Nothing a requester wrote is stored in the clear: ``Request.payload`` and every message are
padded sealed boxes (``haven.keyring.intake_crypto``). What is in the clear is what triage
needs while the server is sealed: status, coarse urgency, and times.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from haven.accounts.models import Organization, User
from haven.core.models import BaseModel


class IntakeKey(BaseModel):
    """An organization's intake key pair (public half here; private half derived from a
    keyring data key of this row) and the scrypt salt, r and p for its codenames.

    ``kdf_log2_n`` is the scrypt cost in force when the key was made. Each request stores the
    cost its own codename was hashed with (``Request.kdf_log2_n``); new codenames get
    ``HAVEN_INTAKE_KDF_LOG2_N``, so the cost can change without breaking codenames already
    given out.
    """

    organization = models.OneToOneField(Organization, on_delete=models.PROTECT,
                                        related_name="intake_key")
    public_key = models.BinaryField(max_length=32)
    kdf_salt = models.BinaryField(max_length=32)
    kdf_log2_n = models.PositiveSmallIntegerField()
    kdf_r = models.PositiveSmallIntegerField(default=8)
    kdf_p = models.PositiveSmallIntegerField(default=1)

    def __str__(self) -> str:
        return f"intake key {self.pk}"


class Status(models.TextChoices):
    NEW = "new", _("new")
    TRIAGED = "triaged", _("triaged")
    NEEDS_INFO = "needs_info", _("needs information")
    ACCEPTED = "accepted", _("accepted (case)")
    REFERRED = "referred", _("referred out")
    DECLINED = "declined", _("declined")
    DUPLICATE = "duplicate", _("duplicate")
    SUSPICIOUS = "suspicious", _("suspicious")
    SPAM = "spam", _("spam")


OPEN_STATUSES = (Status.NEW, Status.TRIAGED, Status.NEEDS_INFO)
# Destroyed after HAVEN_INTAKE_RETENTION_DAYS (`haven purge`).
PURGEABLE_STATUSES = (Status.DECLINED, Status.DUPLICATE, Status.SPAM)
CLOSING_STATUSES = (Status.DECLINED, Status.DUPLICATE, Status.SUSPICIOUS, Status.SPAM)
TRANSITIONS: dict[str, tuple[str, ...]] = {
    Status.NEW: (Status.TRIAGED, Status.ACCEPTED, *CLOSING_STATUSES),
    Status.TRIAGED: (Status.NEEDS_INFO, Status.ACCEPTED, Status.REFERRED, *CLOSING_STATUSES),
    Status.NEEDS_INFO: (Status.TRIAGED, Status.ACCEPTED, Status.REFERRED, *CLOSING_STATUSES),
    Status.ACCEPTED: (),
    Status.REFERRED: (),
    Status.DECLINED: (),
    Status.DUPLICATE: (),
    Status.SUSPICIOUS: (),
    Status.SPAM: (),
}


class Urgency(models.TextChoices):
    NOW = "now", _("I am in danger now")
    DAYS = "days", _("Within days")
    WEEKS = "weeks", _("Within weeks")
    UNSURE = "unsure", _("I am not sure")


URGENCY_RANK = {Urgency.NOW: 0, Urgency.DAYS: 1, Urgency.UNSURE: 2, Urgency.WEEKS: 3}


class RequestGroup(BaseModel):
    """Requests found alike while the server was unsealed (nearly the same text, or sent from
    the same browser session), so that staff can close a flood with one decision.

    Only the grouping is stored, never what made the requests alike: the similarity is
    computed in memory from the decrypted requests (``haven.intake.similarity``).
    """

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT,
                                      related_name="intake_groups")
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_to = models.CharField(max_length=16, blank=True)

    def __str__(self) -> str:
        return f"request group {self.pk}"


class RequestQuerySet(models.QuerySet["Request"]):
    def inbox_order(self) -> RequestQuerySet:
        """Most urgent first, newest first within an urgency."""
        return self.order_by("urgency_rank", "-created_at")


class Request(BaseModel):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT,
                                     related_name="intake_requests")
    intake_key = models.ForeignKey(IntakeKey, on_delete=models.PROTECT, related_name="requests")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    urgency = models.CharField(max_length=8, choices=Urgency.choices)
    urgency_rank = models.PositiveSmallIntegerField()
    lookup_tag = models.BinaryField(max_length=32, unique=True)
    # The scrypt cost (log2 N) this request's codename was hashed with (docs/intake.md).
    kdf_log2_n = models.PositiveSmallIntegerField()
    reply_public_key = models.BinaryField(max_length=32)
    payload = models.BinaryField()
    closed_at = models.DateTimeField(null=True, blank=True)
    awaiting_staff = models.BooleanField(default=True)
    person_id = models.UUIDField(null=True, blank=True)
    # The case this request became (services.request_accept); its caseworker follows the
    # conversation from there.
    case = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="intake_requests")
    # Holding under a flood (docs/intake.md): keyed hashes of the visitor's random cookie and
    # of the form token's nonce. Neither names anyone; the form tag makes a token single-use.
    lineage_tag = models.BinaryField(max_length=16, null=True, blank=True)
    form_tag = models.BinaryField(max_length=16, null=True, blank=True, unique=True)
    group = models.ForeignKey(RequestGroup, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="requests")
    screened_at = models.DateTimeField(null=True, blank=True)
    # Staff took it out of its group: it is not grouped again.
    apart = models.BooleanField(default=False)

    objects = RequestQuerySet.as_manager()

    class Meta:
        indexes = [
            # A visitor's budget: their accepted requests of the last day.
            models.Index(fields=["lineage_tag", "created_at"]),
            # New requests not yet compared with the others (similarity.screen).
            models.Index(fields=["organization", "status", "screened_at"]),
            models.Index(fields=["group", "status"]),
            models.Index(fields=["organization", "status", "urgency_rank", "-created_at"]),
            models.Index(fields=["status", "closed_at"]),
            # A codename log-in tries every cost in use by the key (services.requester_login).
            models.Index(fields=["intake_key", "kdf_log2_n"]),
        ]

    def __str__(self) -> str:
        return f"request {self.pk}"


class Direction(models.TextChoices):
    IN = "in", _("from the person")
    OUT = "out", _("from us")


class Message(BaseModel):
    """One message of a conversation, sealed twice: to the organization and to the person."""

    request = models.ForeignKey(Request, on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(max_length=4, choices=Direction.choices)
    asks_for_info = models.BooleanField(default=False)
    for_org = models.BinaryField()
    for_requester = models.BinaryField()
    author = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"message {self.pk}"


class RequesterSession(models.Model):
    """A person logged in with their codename: the reply private key, sealed under a key that
    only their cookie holds. Expires after a short idle time."""

    lookup = models.CharField(max_length=64, primary_key=True)
    request = models.ForeignKey(Request, on_delete=models.CASCADE, related_name="+")
    sealed_key = models.BinaryField()
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return "requester session"


class CodenameHandoff(models.Model):
    """A new codename on its way from the form's POST to the one page that shows it
    (post/redirect/get): sealed under a key that only the person's cookie holds, deleted
    when shown, forgotten after a few minutes if never shown."""

    lookup = models.CharField(max_length=64, primary_key=True)
    sealed = models.BinaryField()
    language = models.CharField(max_length=8, blank=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return "codename handoff"
