"""`haven seed` gives its cases applications in every status, travel and arrivals."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count

from haven.audit import services as audit
from haven.audit.models import AuditEvent
from haven.cases.models import Task, TaskStatus
from haven.demo import seeding
from haven.pathways import selectors
from haven.pathways.models import (
    APPLICATION_TRANSITIONS,
    FINAL,
    PENDING_DECISION,
    PREPARING,
    ApplicantOutcome,
    Application,
    ApplicationApplicant,
    ApplicationDate,
    ApplicationEvent,
    ApplicationStatus,
    Arrival,
    Decision,
    Travel,
    TravelStatus,
)

AS = ApplicationStatus
PEOPLE = 300


class Undo(Exception):
    pass


@pytest.fixture
def seeded(unsealed: list[str], coordinator: Any, caseworker: Any, operator: Any) -> Any:
    call_command("seed", "--people", str(PEOPLE), "--seed", "5", "--org", "test-org")
    return coordinator


def test_every_status_occurs(seeded: Any) -> None:
    assert set(Application.objects.values_list("status", flat=True)) == set(AS.values)
    assert set(Travel.objects.values_list("status", flat=True)) == set(TravelStatus.values)
    reached = set(ApplicationEvent.objects.values_list("from_status", "to_status"))
    assert (AS.INFORMATION_REQUESTED, AS.SUBMITTED) in reached  # an information loop
    assert (AS.DEFERRED, AS.SUBMITTED) in reached or (AS.SUBMITTED, AS.DEFERRED) in reached
    # A follow-up after a refusal, on another pathway of the same case.
    follow = Application.objects.filter(follows__isnull=False).select_related("follows").first()
    assert follow is not None
    assert follow.follows is not None
    assert follow.follows.status == AS.REFUSED
    assert follow.follows.case_id == follow.case_id
    assert follow.follows.pathway_id != follow.pathway_id
    began = ApplicationEvent.objects.filter(application=follow).order_by("on").first()
    assert began is not None
    assert follow.follows.stage_since < began.on  # refused before the new attempt began
    # A split decision: one application with an approved and a refused applicant.
    split = (ApplicationApplicant.objects.values("application_id")
             .annotate(kinds=Count("outcome", distinct=True))
             .filter(kinds__gt=1, application__decision=Decision.APPROVED))
    assert split.exists()
    assert Arrival.objects.exists()
    assert ApplicationDate.objects.filter(kind="interview").exists()
    assert ApplicationDate.objects.filter(kind="deadline").exists()


def test_histories_follow_the_transition_table(seeded: Any) -> None:
    events: dict[Any, list[ApplicationEvent]] = {}
    for event in ApplicationEvent.objects.order_by("on", "created_at"):
        events.setdefault(event.application_id, []).append(event)
    applications = {a.pk: a for a in Application.objects.all()}
    assert set(events) == set(applications)
    for pk, history in events.items():
        application = applications[pk]
        assert history[0].from_status == ""
        assert history[0].to_status == AS.DRAFT
        assert history[0].days_in_previous is None
        for before, after in pairwise(history):
            assert after.from_status == before.to_status
            assert after.to_status in APPLICATION_TRANSITIONS[AS(before.to_status)]
            assert after.days_in_previous == (after.on - before.on).days
            assert after.pathway_id == application.pathway_id
        assert history[-1].to_status == application.status
        assert history[-1].on == application.stage_since
        if application.decision:
            assert application.decided_on is not None
            assert application.submitted_on is not None
            assert application.decision_days == (application.decided_on
                                                 - application.submitted_on).days
        if application.status in (AS.VISA_ISSUED, AS.USED, AS.EXPIRED):
            assert application.valid_from is not None
            assert application.valid_until is not None
            assert application.valid_from <= application.valid_until


def test_outcomes_agree_with_the_rows(seeded: Any) -> None:
    coordinator = seeded
    outcomes = selectors.pathway_outcomes(actor=coordinator)
    assert outcomes
    for pathway_id, figures in outcomes.items():
        rows = Application.objects.filter(pathway_id=pathway_id)
        by_status = Counter(rows.values_list("status", flat=True))
        preparing = sum(by_status[s] for s in PREPARING)
        withdrawn_undecided = rows.filter(status=AS.WITHDRAWN, decision="").count()
        assert figures.applications == rows.count()
        assert figures.pending == sum(by_status[s] for s in PENDING_DECISION)
        assert (figures.approved + figures.refused + figures.pending + preparing
                + withdrawn_undecided) == figures.applications
        assert figures.refused == by_status[AS.REFUSED]
    board = selectors.outcomes_board(actor=coordinator)
    assert sum(r.approved for r in board.countries) == Application.objects.filter(
        decision=Decision.APPROVED).count()
    assert sum(r.refused for r in board.pathways) == Application.objects.filter(
        decision=Decision.REFUSED).count()
    submitted_cases = len(set(ApplicationEvent.objects.filter(
        to_status=AS.SUBMITTED).values_list("application__pathway_id", "application__case_id")))
    assert sum(r.funnel["submitted"] for r in board.pathways) == submitted_cases
    arrived = sum(r.funnel["arrived"] for r in board.pathways)
    assert arrived == len(set(Travel.objects.filter(status=TravelStatus.ARRIVED).values_list(
        "application__pathway_id", "case_id")))
    assert arrived > 0
    assert board.stuck
    assert all(s.stage not in FINAL for s in board.stuck)


def test_outcomes_and_tasks_match_the_statuses(seeded: Any) -> None:
    for applicant in ApplicationApplicant.objects.select_related("application"):
        application = applicant.application
        if application.status in PREPARING or application.status in PENDING_DECISION:
            assert applicant.outcome == ApplicantOutcome.PENDING
        if application.decision == Decision.REFUSED:
            assert applicant.outcome == ApplicantOutcome.REFUSED
    for application in Application.objects.filter(decision=Decision.APPROVED):
        assert application.applicants.filter(outcome=ApplicantOutcome.APPROVED).exists()
    # A closed file keeps no open date task; a current interview or request has one.
    closed_open = ApplicationDate.objects.filter(application__status__in=FINAL,
                                                 task__status=TaskStatus.OPEN)
    assert not closed_open.exists()
    for status, kind in ((AS.INTERVIEW_SCHEDULED, "interview"),
                         (AS.INFORMATION_REQUESTED, "deadline")):
        for application in Application.objects.filter(status=status):
            assert ApplicationDate.objects.filter(application=application, kind=kind,
                                                  task__status=TaskStatus.OPEN).exists()
    # Travellers are applicants who were approved; an arrival ended its journey.
    for travel in Travel.objects.prefetch_related("members"):
        assert travel.application_id is not None
        approved = set(ApplicationApplicant.objects.filter(
            application_id=travel.application_id, outcome=ApplicantOutcome.APPROVED)
            .values_list("member_id", flat=True))
        assert {m.pk for m in travel.members.all()} <= approved
        assert (travel.status == TravelStatus.ARRIVED) == Arrival.objects.filter(
            travel=travel).exists()
    detained = Travel.objects.filter(status=TravelStatus.DETAINED).count()
    assert Task.objects.filter(priority="emergency", status=TaskStatus.OPEN).count() >= detained


def test_sealed_fields_read_back_and_the_audit_chain_holds(seeded: Any) -> None:
    application = Application.objects.exclude(submitted_to=b"").select_related(
        "pathway__country").first()
    assert application is not None
    assert application.external_reference.startswith(application.pathway.country.code)
    assert "in " in application.submitted_to
    for travel in Travel.objects.all()[:20]:
        assert travel.route
    for entry in ApplicationDate.objects.select_related("application", "task")[:20]:
        assert entry.label
        assert entry.task is not None
        assert entry.task.title.startswith(entry.label)
    for arrival in Arrival.objects.select_related("travel")[:20]:
        assert arrival.receiving_partner
    loaded = AuditEvent.objects.get(action="seed.loaded")
    assert loaded.data["applications"] == Application.objects.count()
    assert loaded.data["travels"] == Travel.objects.count()
    assert audit.verify().ok


def test_seeded_applications_are_deterministic(unsealed: list[str], coordinator: Any,
                                               caseworker: Any, operator: Any,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The same seed gives the same rows, whatever the batches (so `--jobs` and `--resume`
    cannot change them either): each case draws from a random source of its own."""
    snapshots = []

    def seed_and_undo(batch: int) -> None:
        monkeypatch.setattr(seeding, "BATCH", batch)
        with transaction.atomic():
            call_command("seed", "--people", "80", "--seed", "9", "--org", "test-org")
            snapshots.append((
                sorted((str(a.pk), a.status, str(a.stage_since), a.submitted_to)
                       for a in Application.objects.all()),
                sorted(ApplicationEvent.objects.values_list("application_id", "to_status", "on")),
                sorted(Travel.objects.values_list("id", "status"))))
            raise Undo

    for batch in (1000, 1000, 7):
        with pytest.raises(Undo):
            seed_and_undo(batch)
    assert snapshots[0] == snapshots[1] == snapshots[2]
    assert snapshots[0][0]
