"""Task pages: my tasks across cases, and editing or moving one task."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from haven.access import policy
from haven.access.decorators import requires
from haven.access.permissions import Perm
from haven.cases import forms as case_forms
from haven.cases import selectors, services
from haven.cases.models import TaskStatus
from haven.cases.views import task_statuses, to_case
from haven.core.errors import HavenError, NotFound
from haven.core.forms import apply_error
from haven.core.pagination import paginate
from haven.keyring import keys


def _task(request: HttpRequest, task_id: UUID) -> Any:
    try:
        return selectors.task_get(actor=request.user, task_id=task_id)
    except NotFound:
        raise Http404 from None


def _back_from_task(request: HttpRequest, task: Any) -> HttpResponseRedirect:
    if request.POST.get("next") == "tasks":
        return HttpResponseRedirect(reverse("cases:tasks"))
    return to_case(task.case_id, "tasks")


@requires(Perm.TASK_READ)
@require_GET
def task_list(request: HttpRequest) -> HttpResponse:
    form = case_forms.TaskFilterForm(request.GET or None)
    status = (form.cleaned_data.get("status") if form.is_valid() else "") or TaskStatus.OPEN
    page = paginate(request, selectors.task_list(actor=request.user, status=status))
    keys.prefetch(page.object_list)  # the page's titles only: one agent call
    return render(request, "cases/tasks.html", {
        "form": form, "page": page, "status": status, "query": urlencode({"status": status}),
        "may_update": policy.has_perm(request.user, Perm.TASK_UPDATE)})


@requires(Perm.TASK_UPDATE)
@require_http_methods(["GET", "POST"])
def task_edit(request: HttpRequest, task_id: UUID) -> HttpResponse:
    """Edit or reassign a task: a page of its own, or (htmx) a table row swapped in place."""
    task = _task(request, task_id)
    if not policy.has_perm(request.user, Perm.TASK_UPDATE, task.case):
        raise Http404
    staff = selectors.task_assignees(case=task.case)
    htmx = bool(request.headers.get("HX-Request"))
    form = case_forms.TaskForm(request.POST or None, staff=staff, initial={
        "title": task.title, "assignee": task.assignee_id, "due": task.due,
        "priority": task.priority})
    if request.method == "POST" and form.is_valid():
        try:
            services.task_update(actor=request.user, task=task, **form.cleaned_data)
        except HavenError as exc:
            apply_error(form, exc)
        else:
            if htmx:
                return render(request, "cases/_task_row.html", {
                    "task": task, "may": {"task_update": True},
                    "task_statuses": task_statuses()})
            messages.success(request, _("Task updated."))
            return _back_from_task(request, task)
    context = {"task": task, "case": task.case, "form": form,
               "from_tasks": request.GET.get("next", request.POST.get("next")) == "tasks"}
    if htmx:
        # htmx swaps only successful answers, so a form with errors comes back as 200.
        return render(request, "cases/_task_edit.html", context)
    return render(request, "cases/task_edit.html", context, status=400 if form.errors else 200)


@requires(Perm.TASK_UPDATE)
@require_POST
def task_transition(request: HttpRequest, task_id: UUID) -> HttpResponse:
    task = _task(request, task_id)
    try:
        services.task_transition(actor=request.user, task=task, to=request.POST.get("to", ""))
    except HavenError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Task updated."))
    return _back_from_task(request, task)
