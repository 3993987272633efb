"""Destinations, legal pathways, applications, travel and arrival.

Countries and pathways are *reference data*: global (not per organization), loaded from the
reviewed file ``haven/pathways/data/pathways.yaml`` by ``haven pathways load`` and editable by
coordinators (an edit stamps ``edited_at``/``edited_by`` so a reload does not silently undo
it). Everything a case does on a pathway — applications, travel, arrival, dossier exports —
belongs to the case's organization and is visible exactly when the case is
(``policy.case_records_visible_to``).

What could locate or identify a person is an ``EncryptedTextField`` sealed under the case's
data key: the authority an application went to (an embassy names a city), its external
reference, refusal reasons, a journey's route, transit points and escort, and the receiving
partner. Status values change only through ``haven.pathways.services``.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from haven.accounts.models import Organization, User
from haven.cases.models import PERSON_FIELDS, Case, Member, Task
from haven.core.models import BaseModel
from haven.keyring.fields import EncryptedTextField

# --- reference data -----------------------------------------------------------------------------


class PathwayType(models.TextChoices):
    UNHCR_RESETTLEMENT = "unhcr_resettlement", _("UNHCR resettlement referral")
    GOVERNMENT_ASSISTED_REFERRAL = "government_assisted_referral", _(
        "Government-assisted refugee referral")
    PRIVATE_SPONSORSHIP = "private_sponsorship", _("Private or community sponsorship")
    HUMANITARIAN_VISA = "humanitarian_visa", _("Humanitarian visa")
    NATIONAL_VISA = "national_visa", _("National visa for a limited time")
    VISA_FREE_ASYLUM = "visa_free_asylum", _("Visa-free entry, then an asylum claim")
    ASYLUM_VISA = "asylum_visa", _("Visa to claim asylum")
    FAMILY_REUNIFICATION = "family_reunification", _("Family reunification")
    REFUGEE_PROGRAM_REFERRAL = "refugee_program_referral", _("Refugee program referral")


class ReferrerKind(models.TextChoices):
    NONE = "none", _("No referral needed")
    UNHCR = "unhcr", _("UNHCR")
    REFERRAL_ORGANIZATION = "referral_organization", _("A referral organization")
    SPONSOR = "sponsor", _("A sponsor")
    HOST_ORGANIZATION = "host_organization", _("A host organization")
    FAMILY = "family", _("Family in the destination country")
    GOVERNMENT = "government", _("A government")


class PathwayStatus(models.TextChoices):
    OPEN = "open", _("Open")
    PAUSED = "paused", _("Paused")
    CLOSED = "closed", _("Closed")


class Country(BaseModel):
    """A destination country (ISO 3166 alpha-2; ``ZZ`` stands for "a state chosen by UNHCR")."""

    code = models.CharField(max_length=2, unique=True)
    name = models.CharField(max_length=100)
    name_ru = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "countries"

    def __str__(self) -> str:
        return self.name


class PathwayQuerySet(models.QuerySet["Pathway"]):
    """Pathways; ``policy.pathways_visible_to`` decides who sees them."""


class Pathway(BaseModel):
    """A legal route into a country, with what it needs and where each fact comes from.

    ``checklist`` is a list of ``{doc_type, label, label_ru, required}``; ``sources`` a list of
    ``{fact, url, title}``; ``nationalities`` ISO codes (empty: any nationality);
    ``documents_required`` values of ``cases.DocType``.
    """

    slug = models.SlugField(max_length=80, unique=True)
    country = models.ForeignKey(Country, on_delete=models.PROTECT, related_name="pathways")
    name = models.CharField(max_length=300)
    name_ru = models.CharField(max_length=300, blank=True)
    type = models.CharField(max_length=32, choices=PathwayType.choices)
    referrer = models.TextField(blank=True)
    referrer_kind = models.CharField(max_length=24, choices=ReferrerKind.choices,
                                     default=ReferrerKind.NONE)
    nationalities = models.JSONField(default=list, blank=True)
    requires_third_country = models.BooleanField(default=False)
    documents_required = models.JSONField(default=list, blank=True)
    eligibility_notes = models.TextField(blank=True)
    checklist = models.JSONField(default=list, blank=True)
    processing_days_typical = models.PositiveIntegerField(null=True, blank=True)
    processing_days_min = models.PositiveIntegerField(null=True, blank=True)
    processing_days_max = models.PositiveIntegerField(null=True, blank=True)
    cost = models.TextField(blank=True)
    status = models.CharField(max_length=8, choices=PathwayStatus.choices,
                              default=PathwayStatus.OPEN)
    status_since = models.DateField(null=True, blank=True)
    sources = models.JSONField(default=list, blank=True)
    uncertain = models.TextField(blank=True)
    # When the reference file this row came from was last reviewed, and when it was loaded.
    reviewed_on = models.DateField(null=True, blank=True)
    loaded_at = models.DateTimeField(null=True, blank=True)
    # Set by an edit in the app: a reload then leaves the row alone unless forced.
    edited_at = models.DateTimeField(null=True, blank=True)
    edited_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    version = models.PositiveIntegerField(default=1)

    objects: ClassVar[PathwayQuerySet] = PathwayQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["country__name", "name"]
        indexes = [models.Index(fields=["status", "country"])]

    def __str__(self) -> str:
        return self.slug


# --- applications --------------------------------------------------------------------------------


class ApplicationStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    COLLECTING_DOCUMENTS = "collecting_documents", _("Collecting documents")
    READY_FOR_REVIEW = "ready_for_review", _("Ready for review")
    SUBMITTED = "submitted", _("Submitted")
    INTERVIEW_SCHEDULED = "interview_scheduled", _("Interview scheduled")
    INFORMATION_REQUESTED = "information_requested", _("Information requested")
    DEFERRED = "deferred", _("Deferred")
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Refused")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    VISA_ISSUED = "visa_issued", _("Visa issued")
    USED = "used", _("Visa used")
    EXPIRED = "expired", _("Visa expired")


AS = ApplicationStatus
# Every move an application may make; nothing else is allowed. Withdrawn is reachable from
# every state that is not final; an information request returns to where the file stood
# (submitted, or interview scheduled); a deferred file is taken up again as submitted.
APPLICATION_TRANSITIONS: dict[ApplicationStatus, tuple[ApplicationStatus, ...]] = {
    AS.DRAFT: (AS.COLLECTING_DOCUMENTS, AS.WITHDRAWN),
    AS.COLLECTING_DOCUMENTS: (AS.READY_FOR_REVIEW, AS.WITHDRAWN),
    AS.READY_FOR_REVIEW: (AS.SUBMITTED, AS.COLLECTING_DOCUMENTS, AS.WITHDRAWN),
    AS.SUBMITTED: (AS.INTERVIEW_SCHEDULED, AS.INFORMATION_REQUESTED, AS.APPROVED, AS.REFUSED,
                   AS.DEFERRED, AS.WITHDRAWN),
    AS.INTERVIEW_SCHEDULED: (AS.INFORMATION_REQUESTED, AS.APPROVED, AS.REFUSED, AS.DEFERRED,
                             AS.WITHDRAWN),
    AS.INFORMATION_REQUESTED: (AS.SUBMITTED, AS.INTERVIEW_SCHEDULED, AS.REFUSED, AS.WITHDRAWN),
    AS.DEFERRED: (AS.SUBMITTED, AS.WITHDRAWN),
    AS.APPROVED: (AS.VISA_ISSUED, AS.WITHDRAWN),
    AS.VISA_ISSUED: (AS.USED, AS.EXPIRED, AS.WITHDRAWN),
    AS.REFUSED: (),
    AS.WITHDRAWN: (),
    AS.USED: (),
    AS.EXPIRED: (),
}
FINAL: tuple[ApplicationStatus, ...] = tuple(
    s for s, targets in APPLICATION_TRANSITIONS.items() if not targets)
# Before the authority has the file / waiting for its decision / decided in the person's favour.
PREPARING: tuple[ApplicationStatus, ...] = (AS.DRAFT, AS.COLLECTING_DOCUMENTS,
                                            AS.READY_FOR_REVIEW)
PENDING_DECISION: tuple[ApplicationStatus, ...] = (AS.SUBMITTED, AS.INTERVIEW_SCHEDULED,
                                                   AS.INFORMATION_REQUESTED, AS.DEFERRED)
GRANTED: tuple[ApplicationStatus, ...] = (AS.APPROVED, AS.VISA_ISSUED, AS.USED, AS.EXPIRED)


def application_targets(status: str) -> tuple[ApplicationStatus, ...]:
    """Every status an application in ``status`` may move to."""
    return APPLICATION_TRANSITIONS[ApplicationStatus(status)]


class ApplicantOutcome(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Refused")
    WITHDRAWN = "withdrawn", _("Withdrawn")


_M = TypeVar("_M", bound=models.Model)


class Decision(models.TextChoices):
    """The authority's answer to the application as a whole: approved when at least one
    applicant was approved (a split decision is approved), refused when none was."""

    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Refused")


class CaseRecordQuerySet(models.QuerySet[_M]):
    """Records of a case (applications, travels, dossier exports): visible when the case is
    (``policy.case_records_visible_to``)."""

class ApplicationQuerySet(CaseRecordQuerySet["Application"]):
    """See ``CaseRecordQuerySet``."""


class Application(BaseModel):
    """A case's attempt on a pathway, for some or all of its members (``applicants``).

    ``organization`` repeats the case's so that the outcome figures are read from this table's
    own indexes; ``stage_since`` is when the current status was entered (the day it happened,
    which may be earlier than the day it was recorded), ``decision_days`` the days from
    submission to decision, kept at decision time so medians need no date arithmetic in SQL.
    """

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT,
                                     related_name="applications")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="applications")
    pathway = models.ForeignKey(Pathway, on_delete=models.PROTECT, related_name="applications")
    follows = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="followed_by")
    status = models.CharField(max_length=24, choices=ApplicationStatus.choices,
                              default=ApplicationStatus.DRAFT)
    stage_since = models.DateField()
    submitted_to = EncryptedTextField(_("submitted to"))
    external_reference = EncryptedTextField(_("external reference"))
    refusal_reasons = EncryptedTextField(_("refusal reasons"))
    submitted_on = models.DateField(null=True, blank=True)
    decision = models.CharField(max_length=16, choices=Decision.choices, blank=True)
    decided_on = models.DateField(null=True, blank=True)
    decision_days = models.PositiveIntegerField(null=True, blank=True)
    valid_from = models.DateField(null=True, blank=True)
    valid_until = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    # Bumped by every change (details or status): an edit made on an older one is refused.
    version = models.PositiveIntegerField(default=1)

    objects: ClassVar[ApplicationQuerySet] = ApplicationQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["organization", "pathway", "status"],
                         name="application_outcomes"),
            models.Index(fields=["organization", "pathway", "decision", "decision_days"],
                         name="application_decisions"),
            models.Index(fields=["organization", "status", "stage_since"],
                         name="application_stuck"),
            models.Index(fields=["case", "status"]),
        ]

    def __str__(self) -> str:
        return f"application {self.pk}"

    def keyring_owner(self) -> tuple[str, str]:
        return "cases.case", str(self.case_id)

    @property
    def is_final(self) -> bool:
        return self.status in FINAL


class ApplicationApplicant(BaseModel):
    """One member of the case on an application, with their own outcome: a family can get a
    split decision."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE,
                                    related_name="applicants")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="applications")
    outcome = models.CharField(max_length=16, choices=ApplicantOutcome.choices,
                               default=ApplicantOutcome.PENDING)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["application", "member"],
                                    name="one_applicant_row_per_member"),
        ]

    def __str__(self) -> str:
        return f"applicant {self.pk}"


class ApplicationEvent(BaseModel):
    """One stage entered: the history behind "median days per stage".

    ``on`` is the day it happened (a caseworker may record a decision a few days late),
    ``days_in_previous`` the whole days spent in ``from_status`` — stored at write time so the
    outcome board computes medians in SQL over an index instead of pairing rows in Python.
    """

    application = models.ForeignKey(Application, on_delete=models.CASCADE,
                                    related_name="events")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    pathway = models.ForeignKey(Pathway, on_delete=models.PROTECT, related_name="+")
    from_status = models.CharField(max_length=24, choices=ApplicationStatus.choices, blank=True)
    to_status = models.CharField(max_length=24, choices=ApplicationStatus.choices)
    on = models.DateField()
    days_in_previous = models.PositiveIntegerField(null=True, blank=True)
    actor = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["on", "created_at"]
        indexes = [
            models.Index(fields=["application", "on"]),
            models.Index(fields=["organization", "pathway", "to_status"],
                         name="application_event_reach"),
            models.Index(fields=["organization", "pathway", "from_status", "days_in_previous"],
                         name="application_event_days"),
        ]

    def __str__(self) -> str:
        return f"{self.from_status or '-'} → {self.to_status}"


class DateKind(models.TextChoices):
    INTERVIEW = "interview", _("Interview")
    DEADLINE = "deadline", _("Deadline")


class ApplicationDate(BaseModel):
    """An interview or a deadline of an application; each keeps one task for the case's
    caseworker, due that day, which moves with the date instead of being duplicated."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE,
                                    related_name="dates")
    kind = models.CharField(max_length=16, choices=DateKind.choices)
    on = models.DateField()
    label = EncryptedTextField(_("what is due"))
    task = models.ForeignKey(Task, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")

    class Meta:
        ordering = ["on", "created_at"]
        indexes = [models.Index(fields=["application", "kind", "on"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.on}"

    def keyring_owner(self) -> tuple[str, str]:
        return "cases.case", str(self.application.case_id)


# --- travel and arrival --------------------------------------------------------------------------


class TravelStatus(models.TextChoices):
    PLANNING = "planning", _("Planning")
    BOOKED = "booked", _("Booked")
    IN_TRANSIT = "in_transit", _("In transit")
    ARRIVED = "arrived", _("Arrived")
    ABORTED = "aborted", _("Aborted")
    DETAINED = "detained", _("Detained")


TS = TravelStatus
# Detention can happen at the airport before boarding (booked) or on the way; a released
# traveller continues (in transit) or gives up (aborted). Arrived and aborted are final.
TRAVEL_TRANSITIONS: dict[TravelStatus, tuple[TravelStatus, ...]] = {
    TS.PLANNING: (TS.BOOKED, TS.ABORTED),
    TS.BOOKED: (TS.IN_TRANSIT, TS.PLANNING, TS.DETAINED, TS.ABORTED),
    TS.IN_TRANSIT: (TS.ARRIVED, TS.DETAINED, TS.ABORTED),
    TS.DETAINED: (TS.IN_TRANSIT, TS.ABORTED),
    TS.ARRIVED: (),
    TS.ABORTED: (),
}
# Travels that have left: counted as "travelled" on the outcome board.
TRAVELLED: tuple[TravelStatus, ...] = (TS.IN_TRANSIT, TS.DETAINED, TS.ARRIVED)


class TravelQuerySet(CaseRecordQuerySet["Travel"]):
    """See ``CaseRecordQuerySet``."""


class Travel(BaseModel):
    """A journey of some or all of a case's members, optionally on an application's visa."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT,
                                     related_name="travels")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="travels")
    application = models.ForeignKey(Application, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="travels")
    members = models.ManyToManyField(Member, related_name="travels")
    status = models.CharField(max_length=16, choices=TravelStatus.choices,
                              default=TravelStatus.PLANNING)
    depart_on = models.DateField(null=True, blank=True)
    route = EncryptedTextField(_("route"))
    transit_points = EncryptedTextField(_("transit points"))
    escort = EncryptedTextField(_("escort"))
    departed_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")

    objects: ClassVar[TravelQuerySet] = TravelQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "status"]),
                   models.Index(fields=["case", "status"])]

    def __str__(self) -> str:
        return f"travel {self.pk}"

    def keyring_owner(self) -> tuple[str, str]:
        return "cases.case", str(self.case_id)


class BookingMode(models.TextChoices):
    FLIGHT = "flight", _("Flight")
    TRAIN = "train", _("Train")
    BUS = "bus", _("Bus or coach")
    FERRY = "ferry", _("Ferry")
    CAR = "car", _("Car")
    OTHER = "other", _("Other")


class Booking(BaseModel):
    """One leg booked for a journey: carrier, flight or train number, places and times, the
    booking reference, and the ticket documents of its travellers.

    Everything but the kind of transport is sealed under the case's key: a flight number and a
    time say where the household will be, as the route does, so bookings are shown only with
    the route (``policy.may_see_route``) and their reading is recorded with it. Times are kept
    as ISO text inside the ciphertext (``YYYY-MM-DDTHH:MM``, local to the place), so no clear
    column dates a departure; a journey has a handful of bookings, sorted after decryption.
    """

    travel = models.ForeignKey(Travel, on_delete=models.CASCADE, related_name="bookings")
    mode = models.CharField(max_length=8, choices=BookingMode.choices,
                            default=BookingMode.FLIGHT)
    carrier = EncryptedTextField(_("carrier"))
    number = EncryptedTextField(_("flight or train number"))
    departs_from = EncryptedTextField(_("from"))
    arrives_in = EncryptedTextField(_("to"))
    departs_at = EncryptedTextField(_("departure time"))
    arrives_at = EncryptedTextField(_("arrival time"))
    reference = EncryptedTextField(_("booking reference"))
    tickets = models.ManyToManyField("cases.Document", blank=True, related_name="+")
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"booking {self.pk}"

    def keyring_owner(self) -> tuple[str, str]:
        return "cases.case", str(self.travel.case_id)


class TravelStep(BaseModel):
    """One move of a journey and what it changed elsewhere — the case's status and priority,
    placements ended, tasks closed or made, the arrival — so the move can be undone exactly.

    ``effects`` holds ids and states only (never a name or a place); ``undone_at`` marks a step
    taken back. Only the latest step of a journey that is not undone can be undone.
    """

    travel = models.ForeignKey(Travel, on_delete=models.CASCADE, related_name="steps")
    from_status = models.CharField(max_length=16, choices=TravelStatus.choices)
    to_status = models.CharField(max_length=16, choices=TravelStatus.choices)
    actor = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    effects = models.JSONField(default=dict, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["travel", "undone_at", "created_at"])]

    def __str__(self) -> str:
        return f"{self.from_status} → {self.to_status}"


class StatusObtained(models.TextChoices):
    REFUGEE = "refugee", _("Refugee status")
    ASYLUM_SEEKER = "asylum_seeker", _("Asylum seeker (claim lodged)")
    HUMANITARIAN = "humanitarian", _("Humanitarian residence")
    PERMANENT_RESIDENT = "permanent_resident", _("Permanent residence")
    VISA = "visa", _("Visa holder")
    OTHER = "other", _("Other")


class Arrival(BaseModel):
    """A journey's end: where, with which status, who received them, when to check in."""

    travel = models.OneToOneField(Travel, on_delete=models.CASCADE, related_name="arrival")
    country = models.ForeignKey(Country, on_delete=models.PROTECT, related_name="+")
    arrived_on = models.DateField()
    status_obtained = models.CharField(max_length=24, choices=StatusObtained.choices)
    receiving_partner = EncryptedTextField(_("receiving partner or sponsor"))
    follow_up_on = models.DateField(null=True, blank=True)
    follow_up_task = models.ForeignKey(Task, null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="+")

    def __str__(self) -> str:
        return f"arrival {self.pk}"

    def keyring_owner(self) -> tuple[str, str]:
        return "cases.case", str(self.travel.case_id)


# --- checklist ticks ----------------------------------------------------------------------------


class ChecklistTick(BaseModel):
    """A checklist item ticked by hand for one applicant (the document is held elsewhere, or
    checked on paper): who ticked it and when. Unticking deletes the row; the audit log keeps
    both."""

    applicant = models.ForeignKey(ApplicationApplicant, on_delete=models.CASCADE,
                                  related_name="ticks")
    doc_type = models.CharField(max_length=20)
    ticked_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["created_at"]
        constraints = [models.UniqueConstraint(fields=["applicant", "doc_type"],
                                               name="one_tick_per_applicant_item")]

    def __str__(self) -> str:
        return f"tick {self.doc_type}"


# --- dossier exports -----------------------------------------------------------------------------


class DossierState(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved")
    DECLINED = "declined", _("Declined")
    DOWNLOADED = "downloaded", _("Downloaded")


# What a dossier may carry: a person's fields (never the duress word) and the application's.
DOSSIER_PERSON_FIELDS = tuple(f for f in PERSON_FIELDS if f != "duress_word")
DOSSIER_APPLICATION_FIELDS: dict[str, Any] = {
    "submitted_to": _("Submitted to"),
    "external_reference": _("External reference"),
    "submitted_on": _("Submitted on"),
}
DOSSIER_FIELDS: dict[str, Any] = {
    **{f: PERSON_FIELDS[f] for f in DOSSIER_PERSON_FIELDS}, **DOSSIER_APPLICATION_FIELDS}


class DossierExportQuerySet(CaseRecordQuerySet["DossierExport"]):
    """See ``CaseRecordQuerySet``."""


class DossierExport(BaseModel):
    """A request for, and the record of, a dossier export. The PDF itself is made when a
    coordinator downloads it and is never stored; the export's id is printed on every page."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="dossier_exports")
    application = models.ForeignKey(Application, on_delete=models.CASCADE,
                                    related_name="dossier_exports")
    state = models.CharField(max_length=16, choices=DossierState.choices,
                             default=DossierState.REQUESTED)
    fields = models.CharField(max_length=300, blank=True)
    language = models.CharField(max_length=2, default="en")
    requested_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL,
                                     related_name="+")
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    downloaded_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+")
    downloaded_at = models.DateTimeField(null=True, blank=True)
    downloads = models.PositiveIntegerField(default=0)

    objects: ClassVar[DossierExportQuerySet] = DossierExportQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "state"])]

    def __str__(self) -> str:
        return f"dossier export {self.pk}"

    @property
    def field_list(self) -> list[str]:
        return [f for f in self.fields.split(",") if f]

    @property
    def field_labels(self) -> list[str]:
        """The chosen fields as people read them ("Legal name", not ``legal_name``)."""
        return [str(DOSSIER_FIELDS.get(f, f)) for f in self.field_list]
