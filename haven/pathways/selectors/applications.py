"""Reads of applications: lists, one application, its history and checklist, and the dates due on the start page."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from haven.access import policy
from haven.access.permissions import Perm
from haven.cases.models import Case, Document, TaskOrigin, TaskStatus, member_labels
from haven.core.errors import NotFound
from haven.keyring import keys
from haven.pathways.models import (
    FINAL,
    Application,
    ApplicationDate,
    ApplicationEvent,
    ChecklistTick,
)

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
