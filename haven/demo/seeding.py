"""Invented applications, dates, travel and arrivals for the cases `haven seed` made.

Called once by ``haven seed`` after the people and cases are in. Each case without an
application gets what its status suggests — an intake case perhaps a draft, an active one a
file being prepared or waiting on the authority (with interviews, information requests —
some several times over — and deferrals), a ready one an approval or a visa and a journey
being planned, a departed one a journey under way or a detention, an arrived one a used visa
and an arrival, a closed one a refusal, a withdrawal, an expired visa or a used one — so that
every application status and every travel status occurs. Decisions are per applicant (a
family may get a split decision); some refused households try again on another pathway
(``follows``).

The rows are what the services would have written step by step (``services.applications``
and ``services.travel``): one ``ApplicationEvent`` per stage entered with the days spent in
the previous one, the submission day and the decision's days, a task for the caseworker per
interview or deadline (done once past, cancelled when the file closed first, open while the
stage lasts), emergency tasks for the coordinators when a journey is detained, a follow-up
task after an arrival. They go in with ``bulk_create``, sealed under each case's data key
through the real encrypted fields, and audited the way ``haven seed`` audits the rest: the
counts returned here go into its one ``seed.loaded`` event. The same seed gives the same rows
(ids included) whatever the batches, ``--jobs`` or ``--resume``: each case draws from a
random source of its own. Dates are counted back from today.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any, TypeVar

from django.db import transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _

from haven.access.roles import Role
from haven.accounts.models import Organization, User
from haven.cases.models import Case, Member, Priority, Status, Task, TaskOrigin, TaskStatus
from haven.keyring import keys
from haven.pathways.models import (
    APPLICATION_TRANSITIONS,
    FINAL,
    PREPARING,
    ApplicantOutcome,
    Application,
    ApplicationApplicant,
    ApplicationDate,
    ApplicationEvent,
    ApplicationStatus,
    Arrival,
    Country,
    DateKind,
    Decision,
    Pathway,
    PathwayStatus,
    PathwayType,
    StatusObtained,
    Travel,
    TravelStatus,
)

AS = ApplicationStatus
TS = TravelStatus
BATCH = 1000

# Days a file typically stays in a stage before the next step (low, high).
STAY: dict[str, tuple[int, int]] = {
    AS.DRAFT: (1, 14), AS.COLLECTING_DOCUMENTS: (7, 60), AS.READY_FOR_REVIEW: (1, 10),
    AS.SUBMITTED: (14, 120), AS.INTERVIEW_SCHEDULED: (7, 45),
    AS.INFORMATION_REQUESTED: (5, 30), AS.DEFERRED: (30, 150), AS.APPROVED: (3, 21),
    AS.VISA_ISSUED: (7, 60),
}
# What becomes of the case's (first) application, by case status: (final status, weight).
PLAN: dict[str, list[tuple[str, int]]] = {
    Status.INTAKE: [("", 90), (AS.DRAFT, 10)],
    Status.VERIFICATION: [("", 70), (AS.DRAFT, 15), (AS.COLLECTING_DOCUMENTS, 15)],
    Status.ACTIVE: [("", 10), (AS.DRAFT, 6), (AS.COLLECTING_DOCUMENTS, 14),
                    (AS.READY_FOR_REVIEW, 8), (AS.SUBMITTED, 16), (AS.INTERVIEW_SCHEDULED, 10),
                    (AS.INFORMATION_REQUESTED, 10), (AS.DEFERRED, 5), (AS.APPROVED, 5),
                    (AS.REFUSED, 12), (AS.WITHDRAWN, 4)],
    Status.READY: [(AS.APPROVED, 30), (AS.VISA_ISSUED, 70)],
    Status.DEPARTED: [(AS.VISA_ISSUED, 100)],
    Status.ARRIVED: [(AS.USED, 100)],
    Status.CLOSED: [("", 20), (AS.REFUSED, 30), (AS.WITHDRAWN, 15), (AS.EXPIRED, 15),
                    (AS.USED, 20)],
    Status.ON_HOLD: [("", 30), (AS.DEFERRED, 50), (AS.INFORMATION_REQUESTED, 20)],
    Status.WITHDRAWN: [("", 40), (AS.WITHDRAWN, 60)],
    Status.SUSPENDED: [("", 60), (AS.SUBMITTED, 20), (AS.WITHDRAWN, 20)],
}
CITIES = ["Tbilisi", "Yerevan", "Istanbul", "Astana", "Almaty", "Baku", "Vilnius", "Riga"]
REFUSAL_REASONS = ["Identity documents judged insufficient.",
                   "Not convinced of the risk on return; no documentary evidence.",
                   "Applicant not present in a third country at the time of the decision.",
                   "Quota for the year exhausted.",
                   "Security screening not completed in time."]
INTERVIEW_LABELS = ["Interview at the embassy", "Interview with the case officer",
                    "Biometrics and interview"]
DEADLINE_LABELS = ["Send the missing documents", "Answer the officer's questions",
                   "Proof of residence in the third country"]
PARTNERS = ["Local LGBT refugee group", "Sponsor circle", "Resettlement caseworker",
            "Host family", "City refugee office"]
ROUTES = ["Train to Mineralnye Vody, bus to Verkhny Lars, on foot into Georgia",
          "Flight Moscow to Yerevan, onward flight the next week",
          "Car to Makhachkala, bus to the Azerbaijani border",
          "Overnight train to St Petersburg, bus across to Narva"]
TRANSIT = ["Tbilisi safe flat", "Yerevan, partner's office", "Istanbul airport", "Riga hostel"]
ESCORTS = ["A volunteer of the partner network", "None: travelling alone",
           "Caseworker by phone every six hours"]
ARRIVAL_STATUS: dict[str, str] = {
    PathwayType.UNHCR_RESETTLEMENT: StatusObtained.REFUGEE,
    PathwayType.GOVERNMENT_ASSISTED_REFERRAL: StatusObtained.PERMANENT_RESIDENT,
    PathwayType.PRIVATE_SPONSORSHIP: StatusObtained.PERMANENT_RESIDENT,
    PathwayType.HUMANITARIAN_VISA: StatusObtained.HUMANITARIAN,
    PathwayType.NATIONAL_VISA: StatusObtained.ASYLUM_SEEKER,
    PathwayType.VISA_FREE_ASYLUM: StatusObtained.ASYLUM_SEEKER,
    PathwayType.ASYLUM_VISA: StatusObtained.ASYLUM_SEEKER,
    PathwayType.FAMILY_REUNIFICATION: StatusObtained.VISA,
    PathwayType.REFUGEE_PROGRAM_REFERRAL: StatusObtained.REFUGEE,
}
NOON = time(12, tzinfo=UTC)
_Sealed = TypeVar("_Sealed", bound=Model)


def _pick(rng: random.Random, weighted: Sequence[tuple[Any, int]]) -> Any:
    return rng.choices([v for v, _w in weighted], weights=[w for _v, w in weighted])[0]


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _stay(rng: random.Random, status: str) -> int:
    low, high = STAY[status]
    return rng.randint(low, high)


def path_to(rng: random.Random, target: str, *, loop: bool = False) -> list[str]:
    """A route through ``APPLICATION_TRANSITIONS`` from draft to ``target``: preparation
    (sometimes sent back from review), then — past submission — interviews, information
    requests (some answered more than once) and deferrals before the decision. ``loop``
    makes sure a submitted file goes through at least one information request."""
    prep: list[str] = [AS.DRAFT, AS.COLLECTING_DOCUMENTS, AS.READY_FOR_REVIEW]
    if target == AS.WITHDRAWN:
        before = _pick(rng, [(AS.DRAFT, 2), (AS.COLLECTING_DOCUMENTS, 4), (AS.SUBMITTED, 3),
                             (AS.INTERVIEW_SCHEDULED, 2), (AS.INFORMATION_REQUESTED, 2),
                             (AS.DEFERRED, 2), (AS.APPROVED, 1), (AS.VISA_ISSUED, 1)])
        return [*path_to(rng, before), AS.WITHDRAWN]
    if target in PREPARING:
        return prep[:prep.index(target) + 1]
    path = list(prep)
    if rng.random() < 0.15:  # sent back from review for a missing paper
        path += [AS.COLLECTING_DOCUMENTS, AS.READY_FOR_REVIEW]
    path.append(AS.SUBMITTED)
    _with_the_authority(rng, path, loop=loop)
    _to_the_end(rng, path, target)
    for before, after in pairwise(path):
        if after not in APPLICATION_TRANSITIONS[AS(before)]:  # pragma: no cover - a bug here
            raise ValueError(f"{before} → {after}")
    return path


def _with_the_authority(rng: random.Random, path: list[str], *, loop: bool) -> None:
    """Interviews, information requests and deferrals after submission."""
    for episode in range(rng.choice([0, 0, 1, 1, 2, 3]) or int(loop)):
        here = path[-1]
        kind = ("information" if loop and episode == 0
                else rng.choice(["interview", "information", "information", "deferral"]))
        if kind == "interview" and here != AS.INTERVIEW_SCHEDULED:
            path.append(AS.INTERVIEW_SCHEDULED)
        elif kind == "information":  # answered: back where the file stood
            path += [AS.INFORMATION_REQUESTED, here]
        elif kind == "deferral":
            path += [AS.DEFERRED, AS.SUBMITTED]


def _to_the_end(rng: random.Random, path: list[str], target: str) -> None:
    """From submitted or interview scheduled to ``target``."""
    here = path[-1]
    if target == AS.SUBMITTED:
        if here != AS.SUBMITTED:
            path += [AS.INFORMATION_REQUESTED, AS.SUBMITTED]
    elif target == AS.INTERVIEW_SCHEDULED:
        if here != AS.INTERVIEW_SCHEDULED:
            path.append(AS.INTERVIEW_SCHEDULED)
    elif target == AS.REFUSED:
        if rng.random() < 0.2:  # refused for an unanswered request
            path.append(AS.INFORMATION_REQUESTED)
        path.append(AS.REFUSED)
    elif target in (AS.VISA_ISSUED, AS.USED, AS.EXPIRED):
        path += [AS.APPROVED, AS.VISA_ISSUED]
        if target != AS.VISA_ISSUED:
            path.append(target)
    else:  # information requested, deferred, approved
        path.append(target)


@dataclass
class Seeded:
    """The rows of one batch, inserted together."""

    applications: list[Application] = field(default_factory=list)
    applicants: list[ApplicationApplicant] = field(default_factory=list)
    events: list[ApplicationEvent] = field(default_factory=list)
    dates: list[ApplicationDate] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    travels: list[Travel] = field(default_factory=list)
    travellers: list[Any] = field(default_factory=list)
    arrivals: list[Arrival] = field(default_factory=list)


@dataclass
class CaseRow:
    pk: uuid.UUID
    number: str
    status: str
    assigned_to_id: Any
    members: list[tuple[uuid.UUID, bool]]  # (member id, travels with the household)
    key: Any = None  # (data key, cipher) of the case


class ApplicationSeeder:
    def __init__(self, org: Organization, staff: dict[Role, list[User]], seed: int) -> None:
        self.org = org
        self.seed = seed
        self.rng = random.Random(seed)  # noqa: S311 - invented data, not secrets
        self.today = timezone.localdate()
        self.caseworkers = staff.get(Role.CASEWORKER) or staff.get(Role.COORDINATOR) or []
        self.coordinators = staff.get(Role.COORDINATOR) or []
        pathways = list(Pathway.objects.select_related("country").exclude(
            status=PathwayStatus.CLOSED).order_by("slug"))
        # Seeded people are Russian: pathways open to them, the first ones more popular.
        self.pathways = [p for p in pathways if not p.nationalities or "RU" in p.nationalities]
        self.weights = [len(self.pathways) - i + 2 for i in range(len(self.pathways))]
        self.countries = list(Country.objects.exclude(code="ZZ").order_by("code"))
        self.seen: set[tuple[str, str]] = set()
        self.counts = dict.fromkeys(["applications", "application_events", "application_dates",
                                     "travels", "arrivals"], 0)

    def _first(self, *key: str) -> bool:
        """True the first time ``key`` is asked for: what makes even a small organization
        show every status, a split decision, a follow-up and an information loop."""
        if (key[0], "/".join(key[1:])) in self.seen:
            return False
        self.seen.add((key[0], "/".join(key[1:])))
        return True

    def _choose(self, key: str, weighted: Sequence[tuple[str, int]]) -> str:
        """Each value of ``weighted`` once (the first ``key`` cases), then by weight."""
        for value, _weight in weighted:
            if value and self._first(key, value):
                return value
        return str(_pick(self.rng, weighted))

    # --- driving ---------------------------------------------------------------------------

    def run(self) -> dict[str, int]:
        if not self.pathways:
            return self.counts
        ids = list(Case.objects.filter(organization=self.org, applications__isnull=True)
                   .order_by("id").values_list("id", flat=True))
        for start in range(0, len(ids), BATCH):
            with transaction.atomic():
                self._batch(ids[start:start + BATCH])
        return self.counts

    def _batch(self, ids: list[uuid.UUID]) -> None:
        rows = {pk: CaseRow(pk=pk, number=number, status=status, assigned_to_id=worker,
                            members=[])
                for pk, number, status, worker in Case.objects.filter(pk__in=ids).values_list(
                    "id", "number", "status", "assigned_to_id")}
        for case_id, member_id, travels in (Member.objects.filter(case_id__in=ids)
                                            .order_by("case_id", "id")
                                            .values_list("case_id", "id", "travels_with")):
            rows[case_id].members.append((member_id, travels))
        plans = []
        for row in (rows[pk] for pk in ids):
            # Each case draws from a source of its own, so what it gets depends only on the
            # seed and the case: not on the batches, on `--jobs`, or on a `--resume`.
            rng = random.Random(f"{self.seed}/pathways/{row.pk}")  # noqa: S311 - invented data
            self.rng = rng
            target = self._choose(f"plan/{row.status}", PLAN.get(row.status, [("", 1)]))
            if target and row.members:
                plans.append((row, target, rng))
        # Fresh from the database, never from the worker cache: a seed run again after a
        # rollback makes the same case ids with new keys.
        found = keys.data_keys_fresh(
            [("cases.case", str(row.pk)) for row, _target, _rng in plans])
        out = Seeded()
        for row, target, rng in plans:
            self.rng = rng
            row.key = found.get(("cases.case", str(row.pk)))
            if row.key is not None:  # an erased person's case has no key left: leave it alone
                self._case(out, row, target)
        Application.objects.bulk_create(out.applications, batch_size=500)
        ApplicationApplicant.objects.bulk_create(out.applicants, batch_size=1000)
        ApplicationEvent.objects.bulk_create(out.events, batch_size=1000)
        Task.objects.bulk_create(out.tasks, batch_size=500)
        ApplicationDate.objects.bulk_create(out.dates, batch_size=500)
        Travel.objects.bulk_create(out.travels, batch_size=500)
        Travel.members.through.objects.bulk_create(out.travellers, batch_size=1000)
        Arrival.objects.bulk_create(out.arrivals, batch_size=500)
        self.counts["applications"] += len(out.applications)
        self.counts["application_events"] += len(out.events)
        self.counts["application_dates"] += len(out.dates)
        self.counts["travels"] += len(out.travels)
        self.counts["arrivals"] += len(out.arrivals)

    def _seal(self, row: CaseRow, instance: _Sealed) -> _Sealed:
        """Give ``instance`` the case's data key: its encrypted fields seal on save."""
        instance.__dict__[keys.DK_ATTR] = row.key[0]
        instance.__dict__[keys.AEAD_ATTR] = row.key
        return instance

    # --- one case --------------------------------------------------------------------------

    def _case(self, out: Seeded, row: CaseRow, target: str) -> None:
        rng = self.rng
        applicants = [m for m, travels in row.members if travels] or [row.members[0][0]]
        actor = row.assigned_to_id or rng.choice(self.caseworkers).pk
        follow_up = target == AS.REFUSED and row.status == Status.ACTIVE and (
            self._first("follow-up") or rng.random() < 0.5)
        end = self.today
        if follow_up:
            # The household tried again on another pathway after the refusal: the follow-up
            # is the file in progress now, the refused one ended before it began.
            second_target = _pick(rng, [(AS.COLLECTING_DOCUMENTS, 3), (AS.SUBMITTED, 3),
                                        (AS.INTERVIEW_SCHEDULED, 2), (AS.APPROVED, 1),
                                        (AS.INFORMATION_REQUESTED, 2)])
            mark = len(out.events)
            second, _outcomes = self._application(out, row, path_to(rng, second_target),
                                                  applicants, actor, end=end)
            began = out.events[mark].on
            first, _outcomes = self._application(
                out, row, path_to(rng, AS.REFUSED), applicants, actor,
                end=began - timedelta(days=rng.randint(3, 40)), pathway_not=second.pathway_id)
            second.follows = first
            out.applications.remove(first)  # inserted before the one that follows it
            out.applications.insert(out.applications.index(second), first)
            return
        loop = target not in PREPARING and self._first("information-loop")
        application, outcomes = self._application(
            out, row, path_to(rng, target, loop=loop), applicants, actor, end=end)
        self._travel(out, row, application, outcomes, actor)

    def _elapsed(self, status: str) -> timedelta:
        """How long ago the last stage was entered."""
        rng = self.rng
        if status in FINAL:
            return timedelta(days=rng.randint(0, 300))
        if status in (AS.SUBMITTED, AS.DEFERRED) and rng.random() < 0.1:
            return timedelta(days=rng.randint(150, 400))  # stuck with the authority
        high = STAY.get(status, (0, 30))[1]
        return timedelta(days=rng.randint(0, high))

    def _application(self, out: Seeded, row: CaseRow, path: list[str], applicants: list[Any],
                     actor: Any, *, end: date, pathway_not: Any = None) -> tuple[Application, dict[Any, str]]:
        """One application through ``path``, its last stage entered ``_elapsed`` before
        ``end``: the row, its applicants and outcomes, its events, its dates and tasks."""
        rng = self.rng
        stays = [_stay(rng, s) for s in path[:-1]]
        last = end - self._elapsed(path[-1])
        days = [last]
        for stay in reversed(stays):
            days.insert(0, days[0] - timedelta(days=stay))
        if path[-1] == AS.EXPIRED:  # a visa expires at the end of its validity
            days[-1] = days[-2] + timedelta(days=max(rng.randint(90, 365), stays[-1]))
            if days[-1] > self.today:
                shift = days[-1] - self.today
                days = [d - shift for d in days]
        choices = [p for p in self.pathways if p.pk != pathway_not] or self.pathways
        pathway = rng.choices(choices, weights=self.weights[:len(choices)])[0]
        application = self._seal(row, Application(
            id=_uuid(rng), organization_id=self.org.pk, case_id=row.pk, pathway=pathway,
            status=path[-1], stage_since=days[-1], created_by_id=actor))
        outcomes: dict[Any, str] = dict.fromkeys(applicants, ApplicantOutcome.PENDING.value)
        tasks: list[Task] = []
        previous: tuple[str, date] | None = None
        for status, day in zip(path, days, strict=True):
            out.events.append(ApplicationEvent(
                id=_uuid(rng), application=application, organization_id=self.org.pk,
                pathway=pathway, from_status=previous[0] if previous else "", to_status=status,
                on=day, days_in_previous=(day - previous[1]).days if previous else None,
                actor_id=actor))
            self._step(out, row, application, previous=previous, status=status, day=day,
                       outcomes=outcomes, tasks=tasks, end=days[-1])
            previous = (status, day)
        if application.status in FINAL:
            # The service cancels a file's open date tasks when it closes (those past were
            # done by then).
            for task in tasks:
                if task.status == TaskStatus.OPEN:
                    task.status = TaskStatus.CANCELLED
        out.applications.append(application)
        out.applicants += [ApplicationApplicant(id=_uuid(rng), application=application,
                                                member_id=m, outcome=outcome)
                           for m, outcome in outcomes.items()]
        return application, outcomes

    def _step(self, out: Seeded, row: CaseRow, application: Application, *,
              previous: tuple[str, date] | None, status: str, day: date,
              outcomes: dict[Any, str], tasks: list[Task], end: date) -> None:
        """What the service does on entering ``status`` on ``day`` (see
        ``services.applications.application_transition``)."""
        rng = self.rng
        pathway = application.pathway
        current = status == application.status and day == end
        if status == AS.SUBMITTED:
            if previous and previous[0] == AS.READY_FOR_REVIEW and not application.submitted_on:
                application.submitted_on = day
                city = rng.choice(CITIES)
                application.submitted_to = (
                    f"UNHCR office in {city}" if pathway.country.code == "ZZ"
                    else f"Embassy of {pathway.country.name} in {city}")
                application.external_reference = (
                    f"{pathway.country.code}-{day.year}-{rng.randint(10000, 99999)}")
        elif status == AS.INTERVIEW_SCHEDULED:
            on = (self.today + timedelta(days=rng.randint(1, 45)) if current
                  else day + timedelta(days=rng.randint(3, 20)))
            tasks.append(self._date(out, row, application, kind=DateKind.INTERVIEW, on=on,
                                    label=rng.choice(INTERVIEW_LABELS), open_=current))
        elif status == AS.INFORMATION_REQUESTED:
            # A current request's deadline may be days away (approaching) or just missed.
            on = (self.today + timedelta(days=rng.randint(-3, 28)) if current
                  else day + timedelta(days=rng.randint(7, 30)))
            tasks.append(self._date(out, row, application, kind=DateKind.DEADLINE,
                                    on=max(on, day), label=rng.choice(DEADLINE_LABELS),
                                    open_=current))
        elif status in (AS.APPROVED, AS.REFUSED):
            self._decide(application, status, day, outcomes)
        elif status == AS.WITHDRAWN:
            for member, outcome in outcomes.items():
                if outcome == ApplicantOutcome.PENDING:
                    outcomes[member] = ApplicantOutcome.WITHDRAWN
        elif status == AS.VISA_ISSUED:
            application.valid_from = day + timedelta(days=rng.randint(0, 5))
            application.valid_until = application.valid_from + timedelta(
                days=rng.randint(90, 365))
        elif status == AS.EXPIRED:
            application.valid_until = day - timedelta(days=1)
            application.valid_from = min(application.valid_from or day, application.valid_until)

    def _decide(self, application: Application, status: str, day: date,
                outcomes: dict[Any, str]) -> None:
        """The decision, its day and days since submission (``services.applications._decided``),
        and each applicant's outcome: all refused, or all approved but now and then a split
        decision that refuses some members (never the principal)."""
        rng = self.rng
        application.decision = Decision.APPROVED if status == AS.APPROVED else Decision.REFUSED
        application.decided_on = day
        application.decision_days = ((day - application.submitted_on).days
                                     if application.submitted_on else None)
        members = list(outcomes)
        refused: set[Any] = set(members)
        if status == AS.APPROVED:
            refused = set()
            if len(members) > 1 and (self._first("split") or rng.random() < 0.3):
                refused = set(rng.sample(members[1:], rng.randint(1, len(members) - 1)))
        for member in members:
            outcomes[member] = (ApplicantOutcome.REFUSED if member in refused
                                else ApplicantOutcome.APPROVED)
        if refused:
            application.refusal_reasons = rng.choice(REFUSAL_REASONS)

    def _date(self, out: Seeded, row: CaseRow, application: Application, *, kind: str,
              on: date, label: str, open_: bool) -> Task:
        """An interview or a deadline and its task (``services.applications._date_save``)."""
        rng = self.rng
        past = on <= self.today and not open_
        task = self._seal(row, Task(
            id=_uuid(rng), case_id=row.pk, assignee_id=row.assigned_to_id, due=on,
            priority=Priority.URGENT if kind == DateKind.DEADLINE else Priority.NORMAL,
            status=TaskStatus.DONE if past else TaskStatus.OPEN,
            completed_at=datetime.combine(on, NOON) if past else None,
            created_by_id=application.created_by_id, origin=TaskOrigin.APPLICATION_DATE))
        task.title = f"{label} — {application.pathway.slug}"
        out.tasks.append(task)
        entry = self._seal(row, ApplicationDate(id=_uuid(rng), application=application,
                                                kind=kind, on=on, task=task))
        entry.label = label
        out.dates.append(entry)
        return task

    # --- travel ----------------------------------------------------------------------------

    def _travel(self, out: Seeded, row: CaseRow, application: Application,
                outcomes: dict[Any, str], actor: Any) -> None:
        """A journey on the visa, by where the case stands: planned or booked when it is
        ready, under way or detained when it departed, arrived when the visa was used, and
        now and then aborted when a visa expired unused."""
        rng = self.rng
        status = application.status
        if status == AS.VISA_ISSUED and row.status == Status.READY:
            travel_status = self._choose("travel/ready", [(TS.PLANNING, 2), (TS.BOOKED, 1)])
        elif status == AS.VISA_ISSUED and row.status == Status.DEPARTED:
            travel_status = self._choose("travel/departed", [(TS.IN_TRANSIT, 70),
                                                             (TS.DETAINED, 15), (TS.BOOKED, 15)])
        elif status == AS.USED:
            travel_status = TS.ARRIVED
        elif status == AS.EXPIRED and (self._first("travel/aborted") or rng.random() < 0.5):
            travel_status = TS.ABORTED
        else:
            return
        going = [m for m, outcome in outcomes.items() if outcome == ApplicantOutcome.APPROVED]
        if not going:
            return
        depart = self._departure(application, travel_status)
        travel = self._seal(row, Travel(
            id=_uuid(rng), organization_id=self.org.pk, case_id=row.pk,
            application=application, status=travel_status, depart_on=depart,
            created_by_id=actor))
        travel.route = rng.choice(ROUTES)
        travel.transit_points = rng.choice(TRANSIT)
        travel.escort = rng.choice(ESCORTS)
        if travel_status in (TS.IN_TRANSIT, TS.DETAINED, TS.ARRIVED):
            travel.departed_at = datetime.combine(min(depart, self.today), NOON)
        out.travels.append(travel)
        out.travellers += [Travel.members.through(travel_id=travel.pk, member_id=m)
                           for m in going]
        if travel_status == TS.ABORTED:
            travel.ended_at = datetime.combine(min(depart, self.today), NOON)
        if travel_status == TS.DETAINED:
            for coordinator in self.coordinators:
                task = self._seal(row, Task(
                    id=_uuid(rng), case_id=row.pk, assignee_id=coordinator.pk,
                    due=self.today, priority=Priority.EMERGENCY, status=TaskStatus.OPEN,
                    created_by_id=actor))
                task.title = _("Detained on the way: case %(number)s needs help now") % {
                    "number": row.number}
                out.tasks.append(task)
        if travel_status == TS.ARRIVED:
            self._arrival(out, row, application, travel, depart)

    def _departure(self, application: Application, status: str) -> date:
        """The day a journey leaves: after the visa is valid, never ahead of today once it
        has left; a planned or booked one in the coming weeks."""
        rng = self.rng
        issued = application.valid_from or application.stage_since
        if status == TS.ARRIVED:  # the visa was used on arrival
            return max(application.stage_since - timedelta(days=rng.randint(1, 5)), issued)
        if status in (TS.IN_TRANSIT, TS.DETAINED):
            return min(max(self.today - timedelta(days=rng.randint(0, 6)), issued), self.today)
        if status == TS.ABORTED:
            return application.stage_since - timedelta(days=rng.randint(5, 30))
        return max(self.today + timedelta(days=rng.randint(3, 40)), issued)

    def _arrival(self, out: Seeded, row: CaseRow, application: Application, travel: Travel,
                 depart: date) -> None:
        """``services.travel._arrive``: where, with which status, who received them, and a
        follow-up task for the caseworker."""
        rng = self.rng
        pathway = application.pathway
        country = (pathway.country if pathway.country.code != "ZZ"
                   else rng.choice(self.countries or [pathway.country]))
        arrived = min(depart + timedelta(days=rng.randint(0, 4)), self.today)
        travel.ended_at = datetime.combine(arrived, NOON)
        follow_up = arrived + timedelta(days=rng.choice([14, 30, 90]))
        task = None
        if row.assigned_to_id is not None or rng.random() < 0.5:
            task = self._seal(row, Task(
                id=_uuid(rng), case_id=row.pk, assignee_id=row.assigned_to_id, due=follow_up,
                priority=Priority.NORMAL,
                status=TaskStatus.OPEN if follow_up >= self.today else TaskStatus.DONE,
                completed_at=(None if follow_up >= self.today
                              else datetime.combine(follow_up, NOON)),
                created_by_id=travel.created_by_id))
            task.title = _("Follow up after arrival in %(country)s") % {"country": country.name}
            out.tasks.append(task)
        arrival = self._seal(row, Arrival(
            id=_uuid(rng), travel=travel, country=country, arrived_on=arrived,
            status_obtained=ARRIVAL_STATUS.get(pathway.type, StatusObtained.OTHER),
            follow_up_on=follow_up if task else None, follow_up_task=task))
        arrival.receiving_partner = rng.choice(PARTNERS)
        out.arrivals.append(arrival)


def seed_applications(org: Organization, staff: dict[Role, list[User]], seed: int
                      ) -> dict[str, int]:
    """Applications, dates, travel and arrivals for ``org``'s cases that have no application
    yet; the counts of what was made (``haven seed`` puts them in its audit event)."""
    return ApplicationSeeder(org, staff, seed).run()
