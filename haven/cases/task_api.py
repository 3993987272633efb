"""/api/v1/tasks: the tasks on the cases a token's user may see."""

from datetime import date
from typing import Any
from uuid import UUID

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from haven.access.decorators import api_actor, api_requires
from haven.access.permissions import Perm
from haven.cases import selectors, services
from haven.cases.api import MAX_OFFSET, colleague_ref
from haven.cases.models import Priority, Task, TaskStatus
from haven.keyring import keys

router = Router(tags=["tasks"])


class TaskFilter(Schema):
    mine: bool = True
    open_only: bool = True
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


class TaskIn(Schema):
    case_id: UUID
    title: str = Field(min_length=1, max_length=500)
    assignee_id: UUID | None = None
    due: date | None = None
    priority: Priority = Priority.NORMAL


class TaskOut(Schema):
    id: UUID
    case_id: UUID
    title: str
    assignee_id: UUID | None
    due: date | None
    priority: Priority
    status: TaskStatus
    overdue: bool


class TaskPatchIn(Schema):
    """Only the fields sent change; ``null`` clears the due date or the assignee."""

    title: str | None = Field(default=None, min_length=1, max_length=500)
    assignee_id: UUID | None = Field(default=None, description="A colleague who can reach the "
                                     "case and work on its tasks; null leaves it with nobody.")
    due: date | None = None
    priority: Priority | None = None


class TaskTransitionIn(Schema):
    to: TaskStatus


def _task(task: Task) -> TaskOut:
    return TaskOut(id=task.pk, case_id=task.case_id, title=task.title,
                   assignee_id=task.assignee_id, due=task.due,
                   priority=Priority(task.priority), status=TaskStatus(task.status),
                   overdue=task.is_overdue)


# --- tasks --------------------------------------------------------------------------------------


@router.get("", response=list[TaskOut],
                  summary="Tasks on visible cases: by default my own open ones, due first")
@api_requires(Perm.TASK_READ)
def task_list(request: HttpRequest, filters: Query[TaskFilter]) -> list[TaskOut]:
    f = filters
    tasks = list(selectors.task_list(actor=api_actor(request), mine=f.mine,
                                     status=TaskStatus.OPEN if f.open_only else "")
                 [f.offset: f.offset + f.limit])
    keys.prefetch(tasks)
    return [_task(t) for t in tasks]


@router.post("", response={201: TaskOut}, summary="Add a task to a case")
@api_requires(Perm.TASK_CREATE)
def task_create(request: HttpRequest, payload: TaskIn) -> Status[TaskOut]:
    actor = api_actor(request)
    case = selectors.case_get(actor=actor, pk=payload.case_id)
    task = services.task_create(actor=actor, case=case, title=payload.title,
                                assignee=colleague_ref(actor, payload.assignee_id, "assignee_id"),
                                due=payload.due, priority=payload.priority)
    return Status(201, _task(task))


@router.post("/{task_id}/transition", response=TaskOut,
                   summary="Mark a task done or cancelled, or reopen it")
@api_requires(Perm.TASK_UPDATE)
def task_transition(request: HttpRequest, task_id: UUID, payload: TaskTransitionIn) -> TaskOut:
    actor = api_actor(request)
    task = selectors.task_get(actor=actor, task_id=task_id)
    return _task(services.task_transition(actor=actor, task=task, to=payload.to))


@router.patch("/{task_id}", response=TaskOut,
                    summary="Edit or reassign an open task: only the fields sent change")
@api_requires(Perm.TASK_UPDATE)
def task_update(request: HttpRequest, task_id: UUID, payload: TaskPatchIn) -> TaskOut:
    actor = api_actor(request)
    task = selectors.task_get(actor=actor, task_id=task_id)
    sent = payload.model_dump(exclude_unset=True)
    changes: dict[str, Any] = {k: sent[k] for k in ("title", "due", "priority") if k in sent}
    if "assignee_id" in sent:
        changes["assignee"] = colleague_ref(actor, payload.assignee_id, "assignee_id")
    return _task(services.task_update(actor=actor, task=task, **changes))
