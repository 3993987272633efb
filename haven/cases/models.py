"""Cases: a household in danger, its verification, risk, notes, tasks and documents.

Every value that could identify, locate or describe a person is an ``EncryptedTextField``.
Case-level records (verification narrative, risk details, notes, task titles, document
metadata) are sealed under the case's own data key; a person's profile under the person's
key, so erasing a person shreds their profile with them. Status values are ``TextChoices``
and change only through ``haven.cases.services``.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, ClassVar

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from haven.accounts.models import Organization, User
from haven.core.models import BaseModel
from haven.keyring.fields import EncryptedTextField
from haven.people.models import Person

# --- choices ------------------------------------------------------------------------------------


class Status(models.TextChoices):
    INTAKE = "intake", _("Intake")
    VERIFICATION = "verification", _("Verification")
    ACTIVE = "active", _("Active")
    READY = "ready_to_travel", _("Ready to travel")
    DEPARTED = "departed", _("Departed")
    ARRIVED = "arrived", _("Arrived")
    CLOSED = "closed", _("Closed")
    ON_HOLD = "on_hold", _("On hold")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    SUSPENDED = "suspended", _("Suspended (security)")


# The working path, in order; a paused case (on hold, suspended) resumes where it stood.
WORKING: tuple[Status, ...] = (
    Status.INTAKE, Status.VERIFICATION, Status.ACTIVE, Status.READY, Status.DEPARTED,
    Status.ARRIVED,
)
PAUSED: tuple[Status, ...] = (Status.ON_HOLD, Status.SUSPENDED)
OPEN: tuple[Status, ...] = (*WORKING, *PAUSED)
FORWARD: dict[Status, tuple[Status, ...]] = {
    Status.INTAKE: (Status.VERIFICATION,),
    Status.VERIFICATION: (Status.ACTIVE, Status.INTAKE),
    Status.ACTIVE: (Status.READY,),
    Status.READY: (Status.DEPARTED, Status.ACTIVE),
    # Back one step: a household that returned before arriving is ready to travel again, and a
    # departure or arrival recorded by mistake is corrected (pathways' journey undo uses these).
    Status.DEPARTED: (Status.ARRIVED, Status.READY),
    Status.ARRIVED: (Status.CLOSED, Status.DEPARTED),
}


def allowed_targets(status: str, paused_from: str = "") -> tuple[Status, ...]:
    """Every status a case in ``status`` may move to (before the service's guards).

    On hold, withdrawn and suspended (security) are reachable from every open status; a paused
    case resumes only to the status it was paused from; closed is final.
    """
    current = Status(status)
    if current in WORKING:
        return (*FORWARD[current], Status.ON_HOLD, Status.WITHDRAWN, Status.SUSPENDED)
    resume = (Status(paused_from),) if paused_from in WORKING else ()
    if current == Status.ON_HOLD:
        return (*resume, Status.SUSPENDED, Status.WITHDRAWN, Status.CLOSED)
    if current == Status.SUSPENDED:
        return (*resume, Status.WITHDRAWN, Status.CLOSED)
    if current == Status.WITHDRAWN:
        return (Status.CLOSED,)
    return ()


class CaseType(models.TextChoices):
    EVACUATION = "evacuation", _("Evacuation abroad")
    RELOCATION = "relocation", _("Relocation inside the country")
    SUPPORT = "support", _("Remote support")


class Priority(models.TextChoices):
    EMERGENCY = "emergency", _("Emergency")
    URGENT = "urgent", _("Urgent")
    NORMAL = "normal", _("Normal")


class RiskLevel(models.TextChoices):
    IMMINENT = "imminent", _("Imminent")
    HIGH = "high", _("High")
    MEDIUM = "medium", _("Medium")
    LOW = "low", _("Low")


class Outcome(models.TextChoices):
    VERIFIED = "verified", _("Verified")
    PARTIAL = "partial", _("Partially verified")
    UNVERIFIABLE = "unverifiable", _("Unverifiable")
    SUSPECT = "suspect", _("Suspect")


class ClosureReason(models.TextChoices):
    ARRIVED_SAFELY = "arrived_safely", _("Arrived safely")
    WITHDRAWN = "withdrawn", _("Withdrawn by the person")
    LOST_CONTACT = "lost_contact", _("Lost contact")
    NOT_ELIGIBLE = "not_eligible", _("Not eligible")
    DUPLICATE = "duplicate", _("Duplicate")
    SECURITY = "security", _("Security concern")
    OTHER = "other", _("Other")


CASE_NUMBER_RE = re.compile(r"^HV-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")


# --- the case ------------------------------------------------------------------------------------


class CaseQuerySet(models.QuerySet["Case"]):
    def open(self) -> CaseQuerySet:
        return self.filter(status__in=OPEN)


class Case(BaseModel):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="cases")
    number = models.CharField(max_length=16, unique=True)
    case_type = models.CharField(max_length=16, choices=CaseType.choices,
                                 default=CaseType.EVACUATION)
    priority = models.CharField(max_length=16, choices=Priority.choices, default=Priority.NORMAL)
    risk_level = models.CharField(max_length=16, choices=RiskLevel.choices, blank=True)
    triage_score = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.INTAKE)
    paused_from = models.CharField(max_length=16, choices=Status.choices, blank=True)
    verification_outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    assigned_to = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="assigned_cases")
    opened_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="opened_cases")
    closure_reason = models.CharField(max_length=16, choices=ClosureReason.choices, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    next_review = models.DateField(null=True, blank=True)
    summary = EncryptedTextField(_("summary"))
    # Bumped by every edit of priority, type or summary, so two people editing at once cannot
    # overwrite each other unseen (services.case_update(version=...)).
    version = models.PositiveIntegerField(default=1)

    objects: ClassVar[CaseQuerySet] = CaseQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["-triage_score", "-created_at"]
        # Lists read cases in the order of an index and stop after a page: the organization's
        # queue by triage (coordinators), a caseworker's own queue by triage, reviews by date.
        indexes = [
            models.Index(fields=["organization", "status", "-triage_score"]),
            models.Index(fields=["organization", "-triage_score", "-created_at"]),
            models.Index(fields=["organization", "assigned_to", "-triage_score", "-created_at"],
                         name="case_assignee_queue"),
            models.Index(fields=["organization", "next_review"], name="case_review_due"),
            models.Index(fields=["opened_by"]),
            # The start page's emergencies, the most recently changed first
            # (start_selectors.urgent_cases): each condition reads its own index range.
            models.Index(fields=["organization", "priority", "-updated_at"],
                         name="case_priority_recent"),
            models.Index(fields=["organization", "risk_level", "-updated_at"],
                         name="case_risk_recent"),
        ]

    def __str__(self) -> str:
        return self.number

    def keyring_owner(self) -> tuple[str, str]:
        return "cases.case", str(self.pk)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN


class Relationship(models.TextChoices):
    SELF = "self", _("Principal")
    SPOUSE = "spouse", _("Spouse")
    PARTNER = "partner", _("Partner")
    CHILD = "child", _("Child")
    PARENT = "parent", _("Parent")
    SIBLING = "sibling", _("Sibling")
    OTHER = "other", _("Other")


class Member(BaseModel):
    """One person of the case's household: relationship to the principal, whether they travel
    with the household, and which of their fields must not be disclosed to the other members
    (a member's orientation may be unknown to their own family)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="members")
    # Indexed with the case (member_person_case below), so a person's cases come from the
    # index alone.
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="memberships",
                               db_index=False)
    relationship = models.CharField(max_length=16, choices=Relationship.choices,
                                    default=Relationship.SELF)
    is_principal = models.BooleanField(default=False)
    travels_with = models.BooleanField(default=True)
    confidential_fields = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-is_principal", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["case", "person"], name="one_membership_per_case"),
        ]
        indexes = [models.Index(fields=["person", "case"], name="member_person_case")]

    def __str__(self) -> str:
        return f"member {self.pk}"

    @property
    def confidential_labels(self) -> list[str]:
        """The confidential fields as people read them ("Orientation…", not ``sogi``)."""
        return [str(PERSON_FIELDS.get(f, f)) for f in self.confidential]

    @property
    def confidential(self) -> list[str]:
        return [f for f in self.confidential_fields.split(",") if f]


def member_label(member: Member) -> str:
    """A member named by their place in the household, never by name (names are revealed
    one at a time, audited, on the case page)."""
    return str(member.get_relationship_display())


def member_labels(members: Any) -> dict[str, str]:
    """Labels of ``members`` by id, numbered where two share one ("Child 1", "Child 2")."""
    rows = list(members)
    counts: dict[str, int] = {}
    for m in rows:
        counts[member_label(m)] = counts.get(member_label(m), 0) + 1
    seen: dict[str, int] = {}
    out: dict[str, str] = {}
    for m in rows:
        label = member_label(m)
        if counts[label] > 1:
            seen[label] = seen.get(label, 0) + 1
            label = f"{label} {seen[label]}"
        out[str(m.pk)] = label
    return out


class PersonProfile(models.Model):
    """What a caseworker knows about a person beyond their names and phone.

    Sealed under the *person's* data key (``people.person``), so erasing the person shreds it.
    Aliases live in ``Person.other_names``, which is blind-indexed for search.
    """

    person = models.OneToOneField(Person, on_delete=models.CASCADE, primary_key=True,
                                  related_name="profile")
    birth_date = EncryptedTextField(_("birth date"))
    nationality = EncryptedTextField(_("nationality"))
    languages = EncryptedTextField(_("languages"))
    contact_handle = EncryptedTextField(_("secure contact"))
    duress_word = EncryptedTextField(_("duress word"))
    coarse_location = EncryptedTextField(_("coarse location"))
    story = EncryptedTextField(_("story"))
    sogi = EncryptedTextField(_("sexual orientation and gender identity"))
    health = EncryptedTextField(_("health"))
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)  # see Case.version

    def __str__(self) -> str:
        return f"profile of {self.person_id}"

    def keyring_owner(self) -> tuple[str, str]:
        return "people.person", str(self.person_id)


# Every field a caseworker may reveal, in display order, with its label.
PERSON_FIELDS: dict[str, Any] = {
    "legal_name": _("Legal name"),
    "other_names": _("Other names and aliases"),
    "phone": _("Phone"),
    "birth_date": _("Birth date"),
    "nationality": _("Nationality"),
    "languages": _("Languages"),
    "contact_handle": _("Secure contact"),
    "duress_word": _("Duress word"),
    "coarse_location": _("Coarse location"),
    "story": _("Story"),
    "sogi": _("Orientation and gender identity"),
    "health": _("Health"),
}
PROFILE_FIELDS = tuple(f for f in PERSON_FIELDS if f not in {"legal_name", "other_names", "phone"})


# --- verification and risk ----------------------------------------------------------------------


class VerificationState(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    AWAITING_APPROVAL = "awaiting_approval", _("Awaiting a coordinator's approval")
    CONCLUDED = "concluded", _("Concluded")


class Method(models.TextChoices):
    VIDEO_CALL = "video_call", _("Video call")
    DOCUMENTS = "documents", _("Identity documents")
    TRUSTED_REFERENCE = "reference", _("Reference from a trusted contact")
    STORY_CHECK = "story_check", _("Consistency of the story")
    OPEN_SOURCES = "open_sources", _("Open sources")


class Verification(BaseModel):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="verifications")
    verifier = models.ForeignKey(User, on_delete=models.PROTECT, related_name="verifications")
    requested_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    state = models.CharField(max_length=20, choices=VerificationState.choices,
                             default=VerificationState.REQUESTED)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    methods = models.CharField(max_length=200, blank=True)
    narrative = EncryptedTextField(_("narrative"))
    red_flags = EncryptedTextField(_("red flags"))
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["verifier", "state"]),
                   models.Index(fields=["state", "-created_at"], name="verification_queue")]

    def __str__(self) -> str:
        return f"verification {self.pk}"

    def keyring_owner(self) -> tuple[str, str]:
        return "cases.case", str(self.case_id)

    @property
    def method_list(self) -> list[str]:
        return [m for m in self.methods.split(",") if m]

    @property
    def method_labels(self) -> list[str]:
        """How it was checked, in words ("Video call", not ``video_call``)."""
        labels = dict(Method.choices)
        return [str(labels.get(m, m)) for m in self.method_list]


class RiskAssessment(BaseModel):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="risk_assessments")
    assessed_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    immediacy = models.CharField(max_length=16, choices=RiskLevel.choices)
    recommended_priority = models.CharField(max_length=16, choices=Priority.choices)
    next_review = models.DateField()
    threat_actors = EncryptedTextField(_("threat actors"))
    incidents = EncryptedTextField(_("incidents"))
    exit_obstacles = EncryptedTextField(_("exit obstacles"))

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"risk assessment {self.pk}"

    def keyring_owner(self) -> tuple[str, str]:
        return "cases.case", str(self.case_id)


# --- notes, tasks, documents, referrals ----------------------------------------------------------


class Visibility(models.TextChoices):
    TEAM = "team", _("Case team")
    VERIFIER = "verifier", _("Verifier and coordinators only")
    COORDINATOR = "coordinator", _("Coordinators only")


class Note(BaseModel):
    """Append-only: a note is never edited; a redaction blanks the body and is audited."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    visibility = models.CharField(max_length=16, choices=Visibility.choices,
                                  default=Visibility.TEAM)
    body = EncryptedTextField(_("note"))
    redacted_at = models.DateTimeField(null=True, blank=True)
    redacted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"note {self.pk}"

    def keyring_owner(self) -> tuple[str, str]:
        return "cases.case", str(self.case_id)


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class TaskOrigin(models.TextChoices):
    """What made a task; fixed when it is created. A person's own task has none."""

    PERSON = "", _("Made by a person")
    APPLICATION_DATE = "application_date", _("An application's interview or deadline")
    DETENTION = "detention", _("A detention on a journey")
    SHELTER = "shelter", _("A compromised shelter")


TASK_TRANSITIONS: dict[TaskStatus, tuple[TaskStatus, ...]] = {
    TaskStatus.OPEN: (TaskStatus.DONE, TaskStatus.CANCELLED),
    TaskStatus.DONE: (TaskStatus.OPEN,),
    TaskStatus.CANCELLED: (TaskStatus.OPEN,),
}


class TaskQuerySet(models.QuerySet["Task"]):
    def overdue(self, today: date | None = None) -> TaskQuerySet:
        return self.filter(status=TaskStatus.OPEN, due__lt=today or timezone.localdate())


class Task(BaseModel):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="tasks")
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    title = EncryptedTextField(_("task"))
    assignee = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="tasks")
    due = models.DateField(null=True, blank=True)
    priority = models.CharField(max_length=16, choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(max_length=16, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    completed_at = models.DateTimeField(null=True, blank=True)
    origin = models.CharField(max_length=16, choices=TaskOrigin.choices, default="",
                              blank=True, editable=False)

    objects: ClassVar[TaskQuerySet] = TaskQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["status", "due", "-created_at"]
        # Queues read tasks by (due, created): with created in the index, a day on which
        # thousands of tasks fall due is not read whole to sort out the first fifteen.
        indexes = [models.Index(fields=["assignee", "status", "due", "created_at"],
                                name="task_assignee_due"),
                   models.Index(fields=["case", "status"]),
                   models.Index(fields=["status", "due", "created_at"], name="task_due"),
                   # The open tasks of application dates in due order, the organization's
                   # and one caseworker's: the start page's "interviews and deadlines" walks
                   # these alone, not every open task (pathways.selectors.application_dates_due).
                   models.Index(fields=["due"], name="task_application_date_due",
                                condition=models.Q(status="open", origin="application_date")),
                   models.Index(fields=["assignee", "due"], name="task_application_date_mine",
                                condition=models.Q(status="open", origin="application_date")),
                   # Open emergency tasks, the newest and the most recently overdue, whoever
                   # they are assigned to (start_selectors.urgent_tasks: the start page).
                   models.Index(fields=["priority", "status", "-created_at"],
                                name="task_priority_recent"),
                   models.Index(fields=["priority", "status", "due"], name="task_priority_due")]

    def __str__(self) -> str:
        return f"task {self.pk}"

    def keyring_owner(self) -> tuple[str, str]:
        return "cases.case", str(self.case_id)

    @property
    def is_overdue(self) -> bool:
        return (self.status == TaskStatus.OPEN and self.due is not None
                and self.due < timezone.localdate())


class DocType(models.TextChoices):
    PASSPORT = "passport", _("Passport")
    ID_CARD = "id_card", _("Identity card")
    BIRTH_CERTIFICATE = "birth_certificate", _("Birth certificate")
    EVIDENCE = "evidence", _("Evidence of persecution")
    MEDICAL = "medical", _("Medical record")
    PHOTO = "photo", _("Photograph")
    TRAVEL_DOCUMENT = "travel_document", _("Refugee travel document")
    REFERRAL_LETTER = "referral_letter", _("Referral letter")
    SPONSOR_LETTER = "sponsor_letter", _("Sponsorship or host letter")
    APPLICATION_FORM = "application_form", _("Application form")
    RESIDENCE_PROOF = "residence_proof", _("Proof of stay in a third country")
    POLICE_CERTIFICATE = "police_certificate", _("Police certificate")
    TICKET = "ticket", _("Ticket or boarding pass")
    OTHER = "other", _("Other")


class Document(BaseModel):
    """A file of one person of a case, stored encrypted (keyring.files) under the case's key.

    ``person`` is whose document it is (a passport, a ticket): every new document names one,
    and documents from before that rule were given the case's principal. It stays nullable
    so that erasing a person leaves the case's record of the file. ``application`` is set
    when the file was made for one application (its form, a letter to that embassy); a
    document without one serves every application of its person.
    """

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="documents")
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    application = models.ForeignKey("pathways.Application", null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="documents")
    doc_type = models.CharField(max_length=20, choices=DocType.choices, default=DocType.OTHER)
    name = EncryptedTextField(_("file name"))
    content_type = EncryptedTextField(_("content type"))
    size = models.PositiveBigIntegerField()
    uploaded_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"document {self.pk}"

    def keyring_owner(self) -> tuple[str, str]:
        return "cases.case", str(self.case_id)


class SharedField(models.TextChoices):
    """What a referral may show a partner: never names, contacts, story or verification."""

    STATUS = "status", _("Status")
    PRIORITY = "priority", _("Priority")
    CASE_TYPE = "case_type", _("Case type")
    HOUSEHOLD_SIZE = "household_size", _("Household size")
    NATIONALITY = "nationality", _("Nationality")
    LANGUAGES = "languages", _("Languages")


class Referral(BaseModel):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="referrals")
    liaison = models.ForeignKey(User, on_delete=models.PROTECT, related_name="referrals")
    shared_fields = models.CharField(max_length=200, blank=True)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["liaison", "active"])]

    def __str__(self) -> str:
        return f"referral {self.pk}"

    @property
    def shared(self) -> list[str]:
        return [f for f in self.shared_fields.split(",") if f]

    @property
    def shared_labels(self) -> list[str]:
        """The shared fields as people read them."""
        labels = dict(SharedField.choices)
        return [str(labels.get(f, f)) for f in self.shared]
