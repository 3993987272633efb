"""Notes, tasks, documents and referrals attached to a case."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from haven.access import policy
from haven.access.permissions import Perm
from haven.access.roles import Role
from haven.audit.services import record
from haven.cases.models import (
    TASK_TRANSITIONS,
    Case,
    DocType,
    Document,
    Member,
    Note,
    Outcome,
    Priority,
    Referral,
    SharedField,
    Status,
    Task,
    TaskOrigin,
    TaskStatus,
    Visibility,
)
from haven.cases.services.common import (
    KEEP,
    Keep,
    choice,
    share_key,
    staff_member,
    subset,
    text,
)
from haven.core.errors import Conflict, ValidationFailed
from haven.keyring import files
from haven.people.models import Person

MAX_NOTE = 20000
MAX_TITLE = 500


# --- notes ---------------------------------------------------------------------------------------


def note_add(*, actor: Any, case: Case, body: str, visibility: str = Visibility.TEAM) -> Note:
    """Append a note. Notes are never edited; the writer chooses who may read it, among the
    visibilities they may read themselves."""
    policy.require(actor, Perm.NOTE_CREATE, case)
    choice(visibility, Visibility, "visibility")
    if visibility not in policy.note_visibilities(actor, case):
        raise ValidationFailed(_("You cannot write a note only others may read."),
                               fields={"visibility": [_("Choose a visibility you can read.")]})
    body = text(body, "body", maximum=MAX_NOTE, required=True)
    with transaction.atomic():
        note = Note(case=case, author=actor, visibility=visibility)
        share_key(case, note)
        note.body = body
        note.save()
        record(actor=actor, action="note.added", object_type="note", object_id=note.pk,
               data={"case": str(case.pk), "visibility": visibility})
    return note


def note_redact(*, actor: Any, note: Note) -> Note:
    """Blank a note's text for good (coordinators). The note stays in place, marked redacted;
    the audit event says who redacted it and when."""
    policy.require(actor, Perm.NOTE_REDACT, note.case)
    with transaction.atomic():
        locked = Note.objects.select_for_update().get(pk=note.pk)
        if locked.redacted_at is not None:
            raise Conflict(_("This note was already redacted."))
        locked.body = ""
        locked.redacted_at = timezone.now()
        locked.redacted_by = actor
        locked.save(update_fields=["body", "redacted_at", "redacted_by", "updated_at"])
        record(actor=actor, action="note.redacted", object_type="note", object_id=locked.pk,
               data={"case": str(locked.case_id)})
    note.refresh_from_db()
    return note


# --- tasks ---------------------------------------------------------------------------------------


def _check_assignee(assignee: Any, case: Case) -> None:
    """A task goes to nobody, or to an active colleague who can reach the case and work on
    its tasks — never to someone the case is hidden from."""
    if assignee is None:
        return
    staff_member(assignee, case.organization_id, tuple(Role), "assignee")
    if not policy.has_perm(assignee, Perm.TASK_UPDATE, case):
        raise ValidationFailed(_("That colleague cannot see this case."),
                               fields={"assignee": [_("Choose someone on the case.")]})


def task_create(*, actor: Any, case: Case, title: str, assignee: Any = None,
                due: date | None = None, priority: str = Priority.NORMAL,
                person: Person | None = None, origin: str = TaskOrigin.PERSON) -> Task:
    """A piece of work on a case, optionally for a colleague who can see the case.
    ``origin``: what made it, when that is not a person (``TaskOrigin``)."""
    policy.require(actor, Perm.TASK_CREATE, case)
    title = text(title, "title", maximum=MAX_TITLE, required=True)
    choice(priority, Priority, "priority")
    choice(origin, TaskOrigin, "origin")
    _check_assignee(assignee, case)
    if person is not None and not Member.objects.filter(case=case, person=person).exists():
        raise ValidationFailed(_("That person is not on this case."),
                               fields={"person": [_("Choose a member of the case.")]})
    with transaction.atomic():
        task = Task(case=case, assignee=assignee, due=due, priority=priority, person=person,
                    created_by=actor, origin=origin)
        share_key(case, task)
        task.title = title
        task.save()
        record(actor=actor, action="task.created", object_type="task", object_id=task.pk,
               data={"case": str(case.pk), "assignee": str(assignee.pk if assignee else ""),
                     "due": due.isoformat() if due else "", "priority": priority})
    return task


def task_transition(*, actor: Any, task: Task, to: str) -> Task:
    """Mark a task done or cancelled, or reopen it."""
    policy.require(actor, Perm.TASK_UPDATE, task.case)
    choice(to, TaskStatus, "to")
    with transaction.atomic():
        locked = Task.objects.select_for_update().get(pk=task.pk)
        current = locked.status
        if to not in TASK_TRANSITIONS[TaskStatus(current)]:
            raise Conflict(_("A task cannot move from “%(from)s” to “%(to)s”.") % {
                "from": TaskStatus(current).label, "to": TaskStatus(to).label})
        locked.status = to
        locked.completed_at = timezone.now() if to == TaskStatus.DONE else None
        locked.save(update_fields=["status", "completed_at", "updated_at"])
        record(actor=actor, action="task.transitioned", object_type="task", object_id=locked.pk,
               data={"case": str(locked.case_id), "from": current, "to": to})
    task.refresh_from_db()
    return task


def task_update(*, actor: Any, task: Task, title: str | Keep = KEEP,
                due: date | Keep | None = KEEP, priority: str | Keep = KEEP,
                assignee: Any = KEEP) -> Task:
    """Edit an open task or hand it to someone else; arguments left out stay as they are
    (``due=None`` clears the date, ``assignee=None`` leaves the task with nobody).

    The new assignee must be an active colleague who can reach the case. A done or cancelled
    task is reopened first, so its record stays what it was when it was closed. The audit
    event names the changed fields, with the new assignee, due date and priority — never the
    title, which is sealed under the case's key.
    """
    case = task.case
    policy.require(actor, Perm.TASK_UPDATE, case)
    wanted: dict[str, Any] = {}
    if not isinstance(title, Keep):
        wanted["title"] = text(title, "title", maximum=MAX_TITLE, required=True)
    if not isinstance(priority, Keep):
        wanted["priority"] = choice(priority, Priority, "priority")
    if not isinstance(due, Keep):
        wanted["due"] = due
    if not isinstance(assignee, Keep):
        _check_assignee(assignee, case)
        wanted["assignee"] = assignee
    with transaction.atomic():
        locked = Task.objects.select_for_update().get(pk=task.pk)
        if locked.status != TaskStatus.OPEN:
            raise Conflict(_("Only an open task can be changed: reopen it first."))
        share_key(case, locked)
        changed = sorted(name for name, value in wanted.items()
                         if _task_value(locked, name) != _task_value_of(value, name))
        if not changed:
            task.refresh_from_db()
            return task
        for name in changed:
            setattr(locked, name, wanted[name])
        locked.save(update_fields=[*changed, "updated_at"])
        data: dict[str, Any] = {"case": str(case.pk), "fields": changed}
        if "assignee" in changed:
            data["assignee"] = str(locked.assignee_id or "")
        if "due" in changed:
            data["due"] = locked.due.isoformat() if locked.due else ""
        if "priority" in changed:
            data["priority"] = locked.priority
        record(actor=actor, action="task.updated", object_type="task", object_id=locked.pk,
               data=data)
    task.refresh_from_db()
    return task


def _task_value(task: Task, name: str) -> Any:
    return task.assignee_id if name == "assignee" else getattr(task, name)


def _task_value_of(value: Any, name: str) -> Any:
    return getattr(value, "pk", None) if name == "assignee" else value


# --- documents -----------------------------------------------------------------------------------


def document_attach(*, actor: Any, case: Case, upload: files.EncryptedUpload,
                    person: Person | None, doc_type: str = DocType.OTHER,
                    application: Any = None) -> Document:
    """Record a file that the encrypting upload handler already stored under the case's key,
    as the document of ``person`` (a member of the case; required: checklists are ticked
    per applicant from their own documents), optionally made for one ``application`` of the
    case (an application form, a letter to that embassy)."""
    policy.require(actor, Perm.DOCUMENT_UPLOAD, case)
    choice(doc_type, DocType, "doc_type")
    errors: dict[str, list[str]] = {}
    if person is None:
        errors["person"] = [_("Choose whose document this is.")]
    elif not Member.objects.filter(case=case, person=person).exists():
        errors["person"] = [_("Choose a member of the case.")]
    if application is not None and application.case_id != case.pk:
        errors["application"] = [_("Choose an application of this case.")]
    if errors:
        raise ValidationFailed(_("Say whose document this is, on this case."), fields=errors)
    with transaction.atomic():
        doc = Document(id=upload.file_id, case=case, person=person, doc_type=doc_type,
                       application=application, size=upload.size or 0, uploaded_by=actor)
        share_key(case, doc)
        doc.name = (upload.name or "file")[:255]
        doc.content_type = (upload.content_type or "application/octet-stream")[:100]
        doc.save()
        record(actor=actor, action="document.added", object_type="document", object_id=doc.pk,
               data={"case": str(case.pk), "doc_type": doc_type, "size": upload.size,
                     "person": str(getattr(person, "pk", "")),
                     "application": str(getattr(application, "pk", "") or "")})
    return doc


# --- referrals -----------------------------------------------------------------------------------


def referral_create(*, actor: Any, case: Case, liaison: Any, shared_fields: Iterable[str]
                    ) -> Referral:
    """Share a case with a partner liaison, showing them only ``shared_fields``.

    A case found suspect, or suspended for security, is never shared.
    """
    policy.require(actor, Perm.REFERRAL_MANAGE, case)
    staff_member(liaison, case.organization_id, (Role.LIAISON,), "liaison")
    shared = subset(shared_fields, SharedField, "shared_fields")
    if case.verification_outcome == Outcome.SUSPECT or case.status == Status.SUSPENDED:
        raise Conflict(_("A suspect or suspended case is never shared with partners."))
    with transaction.atomic():
        referral = Referral.objects.create(case=case, liaison=liaison, shared_fields=shared,
                                           created_by=actor)
        record(actor=actor, action="case.referred", object_type="referral",
               object_id=referral.pk, data={"case": str(case.pk), "liaison": str(liaison.pk),
                                            "fields": referral.shared})
    return referral


def referral_withdraw(*, actor: Any, referral: Referral) -> Referral:
    policy.require(actor, Perm.REFERRAL_MANAGE, referral.case)
    with transaction.atomic():
        if not referral.active:
            raise Conflict(_("This referral was already withdrawn."))
        referral.active = False
        referral.save(update_fields=["active", "updated_at"])
        record(actor=actor, action="referral.withdrawn", object_type="referral",
               object_id=referral.pk, data={"case": str(referral.case_id)})
    return referral

