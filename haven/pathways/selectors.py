"""Reads of pathways, applications, travel and outcomes.

Every read of a case's records starts from ``visible_to(actor)``; a record the actor may not
see answers exactly like one that does not exist. The outcome figures are aggregates of the
actor's organization, computed in SQL (grouped counts, and medians read from per-day
histograms), so they cost a handful of queries whatever the size of the organization.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models import Case as Choose
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from haven.access import policy
from haven.access.permissions import Perm
from haven.audit.services import record
from haven.cases.models import (
    Case,
    DocType,
    Document,
    Member,
    PersonProfile,
    Priority,
    Status,
    Task,
    TaskOrigin,
    TaskStatus,
    member_labels,
)
from haven.core.errors import NotFound
from haven.keyring import keys
from haven.pathways.models import (
    FINAL,
    PENDING_DECISION,
    TRAVELLED,
    Application,
    ApplicationDate,
    ApplicationEvent,
    ApplicationStatus,
    Booking,
    ChecklistTick,
    Decision,
    DossierExport,
    DossierState,
    Pathway,
    PathwayStatus,
    ReferrerKind,
    Travel,
    TravelStatus,
    TravelStep,
)
from haven.pathways.nationality import nationality_codes

AS = ApplicationStatus
STUCK_ROWS = 10
# Below this many decisions a pathway's approval rate says too little to move the ranking.
MIN_DECISIONS = 3


# --- pathways ------------------------------------------------------------------------------------


def pathway_list(*, actor: Any, country: str = "", status: str = "", kind: str = ""
                 ) -> QuerySet[Pathway]:
    """Reference pathways, by country and name; filtered by country code, status, type (``kind``)."""
    qs = policy.pathways_visible_to(actor, Pathway.objects.all()).select_related("country").order_by(
        "country__name", "name")
    if country:
        qs = qs.filter(country__code=country.upper())
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(type=kind)
    return qs


def pathway_get(*, actor: Any, slug: str) -> Pathway:
    pathway = policy.pathways_visible_to(actor, Pathway.objects.all()).select_related("country", "edited_by").filter(
        slug=slug).first()
    if pathway is None:
        raise NotFound("Not found.")
    return pathway


# --- applications --------------------------------------------------------------------------------


def application_list(*, actor: Any, case: Case | None = None, status: str = ""
                     ) -> QuerySet[Application]:
    """Visible applications, newest first; of one case when given."""
    qs = policy.case_records_visible_to(actor, Perm.APPLICATION_READ, Application.objects.all()).select_related("pathway", "pathway__country",
                                                              "case")
    if case is not None:
        qs = qs.filter(case=case)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at")


def application_get(*, actor: Any, pk: UUID | str) -> Application:
    """One visible application, or NotFound (the same answer as for a missing one)."""
    application = application_list(actor=actor).filter(pk=pk).first()
    if application is None:
        raise NotFound("Not found.")
    return application


def application_history(application: Application) -> list[ApplicationEvent]:
    """The stages the application went through, oldest first."""
    return list(application.events.select_related("actor").order_by("on", "created_at"))


@dataclass
class ChecklistCell:
    """One checklist item for one applicant: done by their own document of the item's type
    (``document_id``), or ticked by hand (``ticked_by``, ``ticked_at``), or missing."""

    member_id: UUID
    label: str
    document_id: UUID | None = None
    ticked_by: str = ""
    ticked_by_id: UUID | None = None
    ticked_at: datetime | None = None

    @property
    def done(self) -> bool:
        return self.document_id is not None or self.ticked_at is not None

    @property
    def source(self) -> str:
        """document, hand or "" (missing)."""
        return "document" if self.document_id else "hand" if self.ticked_at else ""


@dataclass
class ChecklistItem:
    doc_type: str
    label: str
    label_ru: str
    required: bool
    cells: list[ChecklistCell] = field(default_factory=list)

    def label_for(self, language: str) -> str:
        return self.label_ru if language == "ru" and self.label_ru else self.label

    @property
    def done(self) -> bool:
        """Done for every applicant."""
        return all(c.done for c in self.cells)

    @property
    def document_id(self) -> UUID | None:
        return next((c.document_id for c in self.cells if c.document_id), None)


@dataclass
class Checklist:
    items: list[ChecklistItem]
    applicants: list[tuple[UUID, str]] = field(default_factory=list)  # (member id, label)

    @property
    def missing(self) -> list[ChecklistItem]:
        return [i for i in self.items if i.required and not i.done]

    @property
    def percent(self) -> int:
        """Share of (applicant, required item) pairs done — of all items when none is
        required — rounded down: one passport is half of a two-person application's
        passports, not all of them."""
        counted = [i for i in self.items if i.required] or self.items
        cells = [c for i in counted for c in i.cells]
        if not cells:
            return 100
        return 100 * sum(1 for c in cells if c.done) // len(cells)


def application_checklist(application: Application) -> Checklist:
    """The pathway's document checklist, item by item and applicant by applicant.

    An item is done for an applicant when that applicant's own document of its type is on the
    case — made for no application in particular, or for this one — or when someone ticked it
    by hand for them (``services.checklist_tick``: who and when). Read the application
    through ``application_get`` first: this does not check access again.
    """
    applicants = list(application.applicants.select_related("member").order_by(
        "-member__is_principal", "created_at"))
    labels = member_labels(a.member for a in applicants)
    items = list(application.pathway.checklist)
    types = {item["doc_type"] for item in items}
    held: dict[tuple[Any, str], UUID] = {}
    for person_id, doc_type, pk in (
            Document.objects.filter(case_id=application.case_id, doc_type__in=types,
                                    person_id__in=[a.member.person_id for a in applicants])
            .filter(Q(application__isnull=True) | Q(application=application))
            .order_by("-created_at").values_list("person_id", "doc_type", "id")):
        held.setdefault((person_id, doc_type), pk)
    ticks = {(t.applicant_id, t.doc_type): t for t in ChecklistTick.objects.filter(
        applicant__in=applicants).select_related("ticked_by")}
    out = []
    for item in items:
        cells = []
        for a in applicants:
            tick = ticks.get((a.pk, item["doc_type"]))
            cells.append(ChecklistCell(
                member_id=a.member_id, label=labels[str(a.member_id)],
                document_id=held.get((a.member.person_id, item["doc_type"])),
                ticked_by=tick.ticked_by.username if tick and tick.ticked_by else "",
                ticked_by_id=tick.ticked_by_id if tick else None,
                ticked_at=tick.created_at if tick else None))
        out.append(ChecklistItem(doc_type=item["doc_type"], label=item["label"],
                                 label_ru=item.get("label_ru", ""),
                                 required=bool(item.get("required", True)), cells=cells))
    return Checklist(out, applicants=[(a.member_id, labels[str(a.member_id)])
                                      for a in applicants])


def dossier_exports(*, actor: Any, state: str = DossierState.REQUESTED,
                    application: Application | None = None) -> QuerySet[DossierExport]:
    """Visible dossier requests and exports (coordinators: the organization's queue)."""
    qs = policy.case_records_visible_to(actor, Perm.DOSSIER_REQUEST, DossierExport.objects.all()).select_related(
        "case", "application", "application__pathway", "requested_by")
    if state:
        qs = qs.filter(state=state)
    if application is not None:
        qs = qs.filter(application=application)
    return qs.order_by("created_at")


# --- travel --------------------------------------------------------------------------------------


def travel_list(*, actor: Any, case: Case | None = None) -> QuerySet[Travel]:
    qs = policy.case_records_visible_to(actor, Perm.TRAVEL_READ, Travel.objects.all()).select_related("case", "application", "arrival",
                                                         "arrival__country")
    if case is not None:
        qs = qs.filter(case=case)
    return qs.order_by("-created_at")


def travel_get(*, actor: Any, pk: UUID | str) -> Travel:
    travel = travel_list(actor=actor).filter(pk=pk).first()
    if travel is None:
        raise NotFound("Not found.")
    return travel


@dataclass
class BookingView:
    """A booking, decrypted, with its tickets (ticket documents of travellers)."""

    booking: Booking
    mode: str
    carrier: str
    number: str
    departs_from: str
    arrives_in: str
    departs_at: str
    arrives_at: str
    reference: str
    tickets: list[Document]


@dataclass
class TravelRoute:
    route: str
    transit_points: str
    escort: str
    bookings: list[BookingView] = field(default_factory=list)


def _bookings(travel: Travel) -> list[BookingView]:
    rows = list(Booking.objects.filter(travel=travel).prefetch_related("tickets"))
    tickets = [t for b in rows for t in b.tickets.all()]
    keys.prefetch([*rows, *tickets])
    views = [BookingView(
        booking=b, mode=b.mode, carrier=str(b.carrier), number=str(b.number),
        departs_from=str(b.departs_from), arrives_in=str(b.arrives_in),
        departs_at=str(b.departs_at), arrives_at=str(b.arrives_at), reference=str(b.reference),
        tickets=sorted(b.tickets.all(), key=lambda d: d.created_at)) for b in rows]
    # By departure (times are ISO text, so they sort as text), undated last, then as entered.
    return sorted(views, key=lambda v: (not v.departs_at, v.departs_at, v.booking.created_at))


def travel_route(*, actor: Any, travel: Travel) -> TravelRoute | None:
    """A journey's route, transit points, escort and bookings (carrier, numbers, times,
    references, tickets), when ``policy.may_see_route`` allows (None otherwise); every reading
    is recorded, as a person's details are."""
    if not policy.may_see_route(actor, travel):
        return None
    keys.prefetch([travel])
    route = TravelRoute(route=str(travel.route), transit_points=str(travel.transit_points),
                        escort=str(travel.escort), bookings=_bookings(travel))
    with transaction.atomic():
        record(actor=actor, action="travel.route_viewed", object_type="travel",
               object_id=travel.pk, data={"case": str(travel.case_id)})
    return route


def booking_get(*, actor: Any, travel: Travel, pk: UUID | str) -> Booking:
    """A booking of a journey whose route the actor may see, or NotFound."""
    booking = Booking.objects.filter(travel=travel, pk=pk).select_related("travel").first()
    if booking is None or not policy.may_see_route(actor, travel):
        raise NotFound("Not found.")
    return booking


def travel_last_step(*, actor: Any, travel: Travel) -> TravelStep | None:
    """The move an undo would take back, for those who may manage the journey."""
    if not policy.has_perm(actor, Perm.TRAVEL_MANAGE, travel):
        return None
    step = (TravelStep.objects.filter(travel=travel, undone_at=None)
            .select_related("actor").order_by("-created_at").first())
    return step if step is not None and step.to_status == travel.status else None


def step_summary(step: TravelStep) -> list[str]:
    """What a journey's move changed, in words for the person who made it (or will undo it)."""
    effects = step.effects
    out = []
    walked = effects.get("case") or []
    if walked:
        out.append(_("The case moved from “%(from)s” to “%(to)s”.") % {
            "from": Status(walked[0]).label, "to": Status(walked[-1]).label})
    if effects.get("case_left"):
        out.append(_("The case stayed “%(status)s”: change its status by hand if needed.") % {
            "status": Status(effects["case_left"]).label})
    placements = len(effects.get("placements") or [])
    if placements:
        out.append(ngettext("%(n)d shelter placement ended: the bed is free.",
                            "%(n)d shelter placements ended: the beds are free.",
                            placements) % {"n": placements})
    closed = len(effects.get("closed") or [])
    if closed:
        out.append(ngettext("%(n)d task that no longer applies was closed.",
                            "%(n)d tasks that no longer apply were closed.", closed) % {"n": closed})
    if step.to_status == TravelStatus.DETAINED:
        out.append(_("An emergency task, due today, went to the case's caseworker; "
                     "coordinators see it among their emergencies."))
    priority = effects.get("priority") or []
    if priority:
        out.append(_("The case's priority changed from “%(from)s” to “%(to)s”.") % {
            "from": Priority(priority[0]).label, "to": Priority(priority[1]).label})
    return out


def case_arrival_offer(*, actor: Any, case: Case) -> bool:
    """Should the case page offer to move the case to "arrived"?

    Yes when the case may move there now (departed) and every member who travels with the
    household is on a journey that arrived. The journey's arrival normally moved the case
    already (``services.travel_transition``); this is for a case it had to leave alone (on
    hold at the time, say), now departed again: the caseworker confirms, and case
    transitions keep their own guards.
    """
    if case.status != Status.DEPARTED or not policy.has_perm(actor, Perm.TRAVEL_READ, case):
        return False
    travelling = set(Member.objects.filter(case=case, travels_with=True).values_list(
        "pk", flat=True))
    arrived = set(Travel.members.through.objects.filter(
        travel__case=case, travel__status=TravelStatus.ARRIVED).values_list(
        "member_id", flat=True))
    return bool(travelling) and travelling <= arrived


# --- outcomes ------------------------------------------------------------------------------------


def _median(histogram: Counter[int]) -> float | None:
    """The median of the values counted in ``histogram`` (value → how many times)."""
    total = sum(histogram.values())
    if not total:
        return None
    middle = ((total - 1) // 2, total // 2)  # 0-based ranks of the middle one or two
    picked: list[int] = []
    seen = 0
    for value in sorted(histogram):
        count = histogram[value]
        picked += [value for rank in middle if seen <= rank < seen + count]
        seen += count
    return sum(picked) / 2


def _histograms(qs: QuerySet[Any], groups: list[str], value: str
                ) -> dict[tuple[Any, ...], Counter[int]]:
    """How many rows hold each ``value``, per group of ``groups``: one grouped query over an
    index, returning one row per distinct (group, value) — a few thousand at most, since the
    values are whole days — instead of every row. Medians are read from these, and a
    destination's histogram is the sum of its pathways' ones, so it needs no query of its own.
    """
    out: dict[tuple[Any, ...], Counter[int]] = defaultdict(Counter)
    for *key, number, n in (qs.filter(**{f"{value}__isnull": False}).order_by()
                            .values_list(*groups, value).annotate(n=Count("pk"))):
        out[tuple(key)][number] += n
    return dict(out)


@dataclass
class PathwayOutcome:
    """What happened to this organization's applications on one pathway."""

    applications: int = 0
    approved: int = 0
    refused: int = 0
    pending: int = 0
    median_days_to_decision: float | None = None

    @property
    def decided(self) -> int:
        return self.approved + self.refused

    @property
    def approval_rate(self) -> float | None:
        """Approved among decided applications (a split decision counts as approved)."""
        return self.approved / self.decided if self.decided else None


def pathway_outcomes(*, actor: Any, pathways: Iterable[Any] | None = None
                     ) -> dict[Any, PathwayOutcome]:
    """Per pathway id: applications, approved, refused, pending a decision (submitted,
    interview, information requested, deferred), approval rate and median days from
    submission to decision — of the actor's organization only. Two grouped queries."""
    if not (policy.has_perm(actor, Perm.APPLICATION_READ)
            or policy.has_perm(actor, Perm.OUTCOMES_READ)):
        return {}
    qs = Application.objects.filter(organization_id=actor.organization_id)
    if pathways is not None:
        qs = qs.filter(pathway_id__in=[getattr(p, "pk", p) for p in pathways])
    out: dict[Any, PathwayOutcome] = defaultdict(PathwayOutcome)
    for row in qs.order_by().values("pathway_id").annotate(
            n=Count("pk"), approved=Count("pk", filter=Q(decision=Decision.APPROVED)),
            refused=Count("pk", filter=Q(decision=Decision.REFUSED)),
            pending=Count("pk", filter=Q(status__in=PENDING_DECISION))):
        out[row["pathway_id"]] = PathwayOutcome(
            applications=row["n"], approved=row["approved"], refused=row["refused"],
            pending=row["pending"])
    for (pathway_id,), histogram in _histograms(qs.exclude(decision=""), ["pathway_id"],
                                                "decision_days").items():
        out[pathway_id].median_days_to_decision = _median(histogram)
    return dict(out)


@dataclass
class Reason:
    """One line of why a pathway fits or not: ``kind`` is fit, misfit or unknown."""

    text: str
    kind: str


@dataclass
class PathwayFit:
    pathway: Pathway
    score: int
    reasons: list[Reason]
    outcome: PathwayOutcome
    applications: list[Application] = field(default_factory=list)

    @property
    def fits(self) -> list[str]:
        return [r.text for r in self.reasons if r.kind == "fit"]

    @property
    def misfits(self) -> list[str]:
        return [r.text for r in self.reasons if r.kind == "misfit"]

    @property
    def unknowns(self) -> list[str]:
        return [r.text for r in self.reasons if r.kind == "unknown"]


STATUS_RANK = {PathwayStatus.OPEN: 0, PathwayStatus.PAUSED: 1, PathwayStatus.CLOSED: 2}
# Evidence that the household is already outside the country of persecution.
THIRD_COUNTRY_DOCS = (DocType.RESIDENCE_PROOF, DocType.TRAVEL_DOCUMENT)


def _nationality_reason(pathway: Pathway, nationalities: list[set[str]]) -> tuple[int, Reason]:
    """Nationality against the pathway's list. A member whose nationality is not recorded is
    something to check, never a misfit: only a recorded nationality outside the list is."""
    wanted = set(pathway.nationalities)
    if not wanted:
        return 20, Reason(_("Open to any nationality"), "fit")
    needs = ", ".join(sorted(wanted))
    n = len(nationalities)
    known = [codes for codes in nationalities if codes]
    unknown = n - len(known)
    fitting = sum(1 for codes in known if codes & wanted)
    misfits = len(known) - fitting
    if fitting == n:
        return 30, Reason(_("Nationality fits for every applicant (needs %(codes)s)") % {
            "codes": needs}, "fit")
    if not misfits:
        if fitting:
            return 10, Reason(_("Nationality fits for %(k)d of %(n)d members and is not "
                                "recorded for %(u)d (needs %(codes)s)") % {
                "k": fitting, "n": n, "u": unknown, "codes": needs}, "unknown")
        return 0, Reason(_("Nationality not recorded for %(k)d of %(n)d members (needs "
                           "%(codes)s)") % {"k": unknown, "n": n, "codes": needs}, "unknown")
    if fitting:
        return 10, Reason(_("Nationality fits for %(k)d of %(n)d members (needs %(codes)s)") % {
            "k": fitting, "n": n, "codes": needs}, "misfit")
    if unknown:
        return 0, Reason(_("Nationality does not fit for %(k)d of %(n)d members and is not "
                           "recorded for %(u)d (needs %(codes)s)") % {
            "k": misfits, "n": n, "u": unknown, "codes": needs}, "misfit")
    return -40, Reason(_("No member has an eligible nationality (needs %(codes)s)") % {
        "codes": needs}, "misfit")


def _documents_reason(pathway: Pathway, held: set[str]) -> tuple[int, Reason]:
    required = list(pathway.documents_required)
    if not required:
        return 20, Reason(_("No documents required at the outset"), "fit")
    have = [d for d in required if d in held]
    missing = [str(DocType(d).label) for d in required if d not in held]
    points = 20 * len(have) // len(required)
    if not missing:
        return points, Reason(_("All %(n)d required documents are on file") % {
            "n": len(required)}, "fit")
    return points, Reason(_("Documents on file: %(k)d of %(n)d (missing: %(missing)s)") % {
        "k": len(have), "n": len(required), "missing": ", ".join(missing)}, "misfit")


def _third_country_reason(pathway: Pathway, outside: bool | None) -> tuple[int, Reason]:
    if not pathway.requires_third_country:
        return 15, Reason(_("Can be used from inside the country of persecution"), "fit")
    if outside is True:
        return 15, Reason(_("Needs presence in a third country: the household is outside"),
                          "fit")
    if outside is False:
        return -30, Reason(_("Needs presence in a third country: the household is not "
                             "outside yet"), "misfit")
    return 0, Reason(_("Needs presence in a third country: not known whether the household "
                       "is outside"), "unknown")


def _referrer_reason(pathway: Pathway) -> tuple[int, Reason]:
    if pathway.referrer_kind == ReferrerKind.NONE:
        return 10, Reason(_("No referral or sponsor needed"), "fit")
    return 0, Reason(_("Needs a referral or sponsor: %(kind)s") % {
        "kind": ReferrerKind(pathway.referrer_kind).label}, "unknown")


def _record_reason(outcome: PathwayOutcome) -> tuple[int, Reason | None]:
    rate = outcome.approval_rate
    if rate is None or outcome.decided < MIN_DECISIONS:
        return 0, None
    return round(10 * rate), Reason(_("Here: %(approved)d of %(decided)d decided applications "
                                      "approved") % {"approved": outcome.approved,
                                                     "decided": outcome.decided}, "fit"
                                    if rate >= 0.5 else "misfit")


def case_third_country(case: Case) -> bool | None:
    """Is the household known to be outside the country of persecution? True when the case
    has departed or arrived, or holds a proof of stay or a refugee travel document; otherwise
    unknown (None) — Haven does not record a current country, so it never claims "inside"."""
    if case.status in (Status.DEPARTED, Status.ARRIVED):
        return True
    if Document.objects.filter(case=case, doc_type__in=THIRD_COUNTRY_DOCS).exists():
        return True
    return None


def pathway_ranking(*, actor: Any, case: Case, in_third_country: bool | None = None,
                    include_closed: bool = False) -> list[PathwayFit]:
    """Where this case could apply: pathways ranked, each with its reasons and this
    organization's observed outcomes on it.

    Order: open pathways first, then paused, then (only with ``include_closed``) closed;
    within each, by score (highest first), then typical processing days (fastest first,
    unknown last), then slug — so the same data always gives the same order.

    The score adds, for the members who travel with the household (all members when none
    is marked):

    - nationality (profiles, decrypted in memory, never shown): any nationality +20; every
      member eligible +30; some +10; none eligible −40; not recorded 0 ("unknown");
    - documents required at the outset held by the case: 20 × held / required (+20 when
      none is required);
    - presence in a third country: not required +15 (usable from inside); required and
      outside +15; required and known not outside (``in_third_country=False``) −30;
      required and unknown 0 — ``in_third_country`` None reads it from the case
      (``case_third_country``);
    - referrer: none needed +10; else 0, with who must refer or sponsor;
    - track record: with at least ``MIN_DECISIONS`` decisions here, + 10 × approval rate.

    The figures are a starting point for a caseworker's judgement, not a verdict: a
    pathway with a misfit stays on the list with its reason.
    """
    case = _visible_case(actor, case)
    if not policy.has_perm(actor, Perm.PATHWAY_READ):
        return []
    pathways = list(Pathway.objects.select_related("country").order_by("slug")
                    if include_closed else
                    Pathway.objects.select_related("country").exclude(
                        status=PathwayStatus.CLOSED).order_by("slug"))
    members = list(Member.objects.filter(case=case).select_related("person"))
    members = [m for m in members if m.travels_with] or members
    profiles = list(PersonProfile.objects.filter(person__in=[m.person_id for m in members]))
    keys.prefetch(profiles)
    by_person = {p.person_id: p for p in profiles}
    nationalities = [nationality_codes(str(by_person[m.person_id].nationality))
                     if m.person_id in by_person else set() for m in members]
    held = set(Document.objects.filter(case=case).values_list("doc_type", flat=True))
    outside = in_third_country if in_third_country is not None else case_third_country(case)
    outcomes = pathway_outcomes(actor=actor, pathways=pathways)
    mine: dict[Any, list[Application]] = defaultdict(list)
    for application in Application.objects.filter(case=case).order_by("-created_at"):
        mine[application.pathway_id].append(application)
    fits = []
    for pathway in pathways:
        outcome = outcomes.get(pathway.pk, PathwayOutcome())
        parts = [_nationality_reason(pathway, nationalities), _documents_reason(pathway, held),
                 _third_country_reason(pathway, outside), _referrer_reason(pathway)]
        points, reasons = sum(p for p, _r in parts), [r for _p, r in parts]
        record_points, record_reason = _record_reason(outcome)
        if record_reason is not None:
            points += record_points
            reasons.append(record_reason)
        if pathway.status != PathwayStatus.OPEN:
            reasons.insert(0, Reason(_("%(status)s since %(since)s") % {
                "status": PathwayStatus(pathway.status).label,
                "since": pathway.status_since.isoformat() if pathway.status_since else "?"},
                "misfit"))
        for application in mine.get(pathway.pk, []):
            reasons.append(Reason(_("This case already applied: %(status)s") % {
                "status": AS(application.status).label.lower()}, "unknown"))
        fits.append(PathwayFit(pathway=pathway, score=points, reasons=reasons, outcome=outcome,
                               applications=mine.get(pathway.pk, [])))
    fits.sort(key=lambda f: (STATUS_RANK[PathwayStatus(f.pathway.status)], -f.score,
                             f.pathway.processing_days_typical is None,
                             f.pathway.processing_days_typical or 0, f.pathway.slug))
    return fits


def _visible_case(actor: Any, case: Case) -> Case:
    found = policy.cases_visible_to(actor, Case.objects.all()).filter(pk=case.pk).first()
    if found is None:
        raise NotFound("Not found.")
    return found


# --- the outcomes board --------------------------------------------------------------------------

FUNNEL = ("cases", "submitted", "approved", "visa_issued", "travelled", "arrived")
STAGES = (AS.DRAFT, AS.COLLECTING_DOCUMENTS, AS.READY_FOR_REVIEW, AS.SUBMITTED,
          AS.INTERVIEW_SCHEDULED, AS.INFORMATION_REQUESTED, AS.DEFERRED, AS.APPROVED,
          AS.VISA_ISSUED)


@dataclass
class OutcomeRow:
    """One line of the board: a destination (``pathway`` None) or one of its pathways."""

    country: str
    country_name: str
    pathway: str = ""
    pathway_name: str = ""
    funnel: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FUNNEL, 0))
    approved: int = 0
    refused: int = 0
    median_days_to_decision: float | None = None
    median_days: dict[str, float] = field(default_factory=dict)

    @property
    def approval_rate(self) -> float | None:
        decided = self.approved + self.refused
        return self.approved / decided if decided else None


@dataclass
class StuckCase:
    case_number: str
    pathway: str
    stage: str
    days: int


@dataclass
class OutcomesBoard:
    countries: list[OutcomeRow]
    pathways: list[OutcomeRow]
    stuck: list[StuckCase]
    # True when the actor may see the figures but not the cases behind them (an auditor).
    stuck_withheld: bool = False

    def pathways_of(self, country: str) -> list[OutcomeRow]:
        return [row for row in self.pathways if row.country == country]


def _board_rows(org: Any, group: str) -> dict[Any, OutcomeRow]:
    """The funnel, decisions and medians of the organization, grouped by ``group`` (a path
    from an application to the pathway or its country). Every figure is a grouped query."""
    apps = Application.objects.filter(organization_id=org).order_by()
    rows: dict[Any, OutcomeRow] = {}

    def row(key: Any) -> OutcomeRow:
        return rows.setdefault(key, OutcomeRow(country="", country_name=""))

    for r in apps.values(group).annotate(
            cases=Count("case_id", distinct=True),
            approved=Count("pk", filter=Q(decision=Decision.APPROVED)),
            refused=Count("pk", filter=Q(decision=Decision.REFUSED))):
        target = row(r[group])
        target.funnel["cases"] = r["cases"]
        target.approved, target.refused = r["approved"], r["refused"]
    reach = {AS.SUBMITTED: "submitted", AS.APPROVED: "approved", AS.VISA_ISSUED: "visa_issued"}
    events = ApplicationEvent.objects.filter(organization_id=org).order_by()
    # Events carry the pathway too, so the same path groups them.
    for r in events.filter(to_status__in=list(reach)).values(group, "to_status").annotate(
            cases=Count("application__case_id", distinct=True)):
        row(r[group]).funnel[reach[AS(r["to_status"])]] = r["cases"]
    travels = Travel.objects.filter(organization_id=org, application__isnull=False).order_by()
    travel_group = f"application__{group}"
    for r in travels.values(travel_group).annotate(
            travelled=Count("case_id", distinct=True, filter=Q(status__in=TRAVELLED)),
            arrived=Count("case_id", distinct=True, filter=Q(status=TravelStatus.ARRIVED))):
        target = row(r[travel_group])
        target.funnel["travelled"], target.funnel["arrived"] = r["travelled"], r["arrived"]
    return rows


def _board_medians(org: Any, by_pathway: dict[Any, OutcomeRow],
                   by_country: dict[Any, OutcomeRow], country_of: dict[Any, Any]) -> None:
    """Median days to decision and per stage, for pathways and (summing their histograms)
    destinations: two grouped queries."""
    decisions = _histograms(Application.objects.filter(organization_id=org).exclude(
        decision=""), ["pathway_id"], "decision_days")
    stages = _histograms(ApplicationEvent.objects.filter(organization_id=org).exclude(
        from_status=""), ["pathway_id", "from_status"], "days_in_previous")
    merged_decisions: dict[Any, Counter[int]] = defaultdict(Counter)
    for (pathway_id,), histogram in decisions.items():
        by_pathway[pathway_id].median_days_to_decision = _median(histogram)
        merged_decisions[country_of[pathway_id]] += histogram
    merged_stages: dict[tuple[Any, str], Counter[int]] = defaultdict(Counter)
    for (pathway_id, stage), histogram in stages.items():
        by_pathway[pathway_id].median_days[stage] = _median(histogram) or 0.0
        merged_stages[country_of[pathway_id], stage] += histogram
    for country_id, histogram in merged_decisions.items():
        by_country[country_id].median_days_to_decision = _median(histogram)
    for (country_id, stage), histogram in merged_stages.items():
        by_country[country_id].median_days[stage] = _median(histogram) or 0.0


def outcomes_board(*, actor: Any, country: str = "") -> OutcomesBoard:
    """Per destination and per pathway, for the actor's organization: the funnel from case
    to arrival (distinct cases with an application → submitted → approved → visa issued →
    travelled → arrived; a stage counts a case once it was *reached*, whatever happened
    after), approvals and refusals (approval rate = approved / decided), the median days to
    a decision and in each stage, and the cases stuck longest in a stage that is not final
    (case number, pathway, stage, days — no names). Travel counts only journeys linked to
    an application of the pathway. Eleven grouped queries in all; only aggregates leave
    the database, apart from the ``STUCK_ROWS`` stuck cases.

    The figures go to every role with ``outcomes:read``; the stuck cases, which name cases,
    only as far as ``policy.outcomes_stuck_visible_to`` lets the actor see them (an auditor
    gets none: ``stuck_withheld``).
    """
    policy.require(actor, Perm.OUTCOMES_READ)
    org = actor.organization_id
    pathways = {p.pk: p for p in Pathway.objects.select_related("country")}
    by_pathway = _board_rows(org, "pathway_id")
    by_country = _board_rows(org, "pathway__country_id")
    countries = {p.country_id: p.country for p in pathways.values()}
    _board_medians(org, by_pathway, by_country, {p.pk: p.country_id for p in pathways.values()})
    pathway_rows = []
    for key, row in by_pathway.items():
        pathway = pathways[key]
        row.country, row.country_name = pathway.country.code, pathway.country.name
        row.pathway, row.pathway_name = pathway.slug, pathway.name
        pathway_rows.append(row)
    country_rows = []
    for key, row in by_country.items():
        row.country, row.country_name = countries[key].code, countries[key].name
        country_rows.append(row)
    if country:
        pathway_rows = [r for r in pathway_rows if r.country == country.upper()]
        country_rows = [r for r in country_rows if r.country == country.upper()]
    pathway_rows.sort(key=lambda r: (r.country_name, -r.funnel["cases"], r.pathway))
    country_rows.sort(key=lambda r: (-r.funnel["cases"], r.country_name))
    today = timezone.localdate()
    stuck_qs = (policy.outcomes_stuck_visible_to(actor, Application.objects.filter(
        organization_id=org)).exclude(status__in=FINAL).order_by("stage_since", "case__number")
        .values_list("case__number", "pathway__slug", "status", "stage_since"))
    if country:
        stuck_qs = stuck_qs.filter(pathway__country__code=country.upper())
    stuck = [StuckCase(case_number=number, pathway=slug, stage=status,
                       days=(today - since).days)
             for number, slug, status, since in stuck_qs[:STUCK_ROWS]]
    return OutcomesBoard(countries=country_rows, pathways=pathway_rows, stuck=stuck,
                         stuck_withheld=not policy.has_perm(actor, Perm.APPLICATION_READ))


def stage_label(stage: str) -> str:
    return str(AS(stage).label)


# --- the start page ------------------------------------------------------------------------------

DUE_DAYS = 14
DUE_ROWS = 10


def application_dates_due(*, actor: Any, days: int = DUE_DAYS, limit: int = DUE_ROWS
                          ) -> list[ApplicationDate]:
    """Interviews and deadlines of visible applications still under way, whose task is open
    and due within ``days`` (overdue ones first): what the start page warns about.

    Read in date order and capped at ``limit``; only the labels shown are decrypted. A
    caseworker sees the dates of their cases whose task is theirs, a coordinator those of
    the organization.
    """
    if not policy.has_perm(actor, Perm.APPLICATION_READ):
        return []
    until = timezone.localdate() + timedelta(days=days)
    # Walked from the open tasks of application dates in due order (the partial index
    # ``task_application_date_due``: the organization's other open tasks are not in it), each
    # checked against the visible applications with a correlated EXISTS: the database stops
    # after ``limit`` rows instead of listing every application of the organization first.
    # A caseworker's walk starts from their own tasks (the ``assignee, status, due`` index): a
    # date's task is the case's caseworker's.
    visible = policy.case_records_visible_to(actor, Perm.APPLICATION_READ, Application.objects.all()).exclude(status__in=FINAL)
    qs = ApplicationDate.objects.filter(
        Exists(visible.filter(pk=OuterRef("application_id"))),
        task__status=TaskStatus.OPEN, task__origin=TaskOrigin.APPLICATION_DATE,
        task__due__lte=until)
    if not policy.has_perm(actor, Perm.CASE_SUPERVISE):
        qs = qs.filter(task__assignee=actor)
    rows = list(qs.select_related("application", "application__case", "application__pathway")
                .order_by("task__due")[:limit])
    rows.sort(key=lambda d: (d.on, d.created_at))
    keys.prefetch(rows)
    return rows


# --- emergencies ---------------------------------------------------------------------------------

EMERGENCY_ROWS = 20


@dataclass
class Emergency:
    """One open emergency task — a detention on a journey, a compromised shelter, or one a
    person raised — with its case and, for a detention, the journey."""

    task: Task
    case: Case
    kind: str  # "detention", "shelter" or "task"
    overdue: bool
    travel: Travel | None = None


def emergencies_for(actor: Any, *, limit: int = EMERGENCY_ROWS) -> list[Emergency]:
    """What is on fire for ``actor``: open emergency-priority tasks on cases they may see —
    every one of the organization for a coordinator (``case:supervise``), for anyone else
    those assigned to them or on a case assigned to them (a detention's task goes to the
    case's caseworker). Detentions first, then the rest; within each, most overdue first,
    then newest. Only the titles of the rows returned are decrypted.

    For the start page of every role; a task closes (and leaves this list) when the
    travellers are released, back, or arrived (``services.travel_transition``).
    """
    if not policy.has_perm(actor, Perm.TASK_READ):
        return []
    visible = policy.cases_visible_to(actor, Case.objects.all())
    qs = Task.objects.filter(Exists(visible.filter(pk=OuterRef("case_id"))),
                             status=TaskStatus.OPEN, priority=Priority.EMERGENCY)
    if not policy.has_perm(actor, Perm.CASE_SUPERVISE):
        qs = qs.filter(Q(assignee=actor) | Q(case__assigned_to=actor))
    detention_first = Choose(When(origin=TaskOrigin.DETENTION, then=Value(0)), default=Value(1))
    rows = list(qs.select_related("case", "assignee").annotate(rank=detention_first).order_by(
        "rank", F("due").asc(nulls_last=True), "-created_at")[:limit])
    keys.prefetch(rows)
    journeys = _detention_journeys([t for t in rows if t.origin == TaskOrigin.DETENTION])
    kinds = {TaskOrigin.DETENTION: "detention", TaskOrigin.SHELTER: "shelter"}
    return [Emergency(task=t, case=t.case, kind=kinds.get(TaskOrigin(t.origin), "task"),
                      overdue=t.is_overdue, travel=journeys.get(str(t.pk)))
            for t in rows]


def _detention_journeys(tasks: list[Task]) -> dict[str, Travel]:
    """The journey whose detention made each task (from the journeys' steps)."""
    if not tasks:
        return {}
    wanted = {str(t.pk) for t in tasks}
    out: dict[str, Travel] = {}
    for step in TravelStep.objects.filter(
            travel__case_id__in={t.case_id for t in tasks}, to_status=TravelStatus.DETAINED,
            undone_at=None).select_related("travel"):
        for task_id in step.effects.get("created") or []:
            if task_id in wanted:
                out[task_id] = step.travel
    return out
