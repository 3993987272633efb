"""The start page ("My work") and the liveness check."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from haven.access import policy
from haven.access.decorators import public, staff
from haven.access.permissions import Perm
from haven.dashboard import selectors


@staff
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    """The start page, the one "My work" of every role: what needs action now (every
    emergency that concerns the user, in one list), then their work queue — or the cases
    referred to a partner liaison, or the newest audit events for an auditor."""
    user = request.user
    return render(request, "core/dashboard.html", {
        "start": selectors.start_page(actor=user), "today": timezone.localdate(),
        "fields": policy.case_filterable(user),
        "may": {"tasks": policy.has_perm(user, Perm.TASK_READ),
                "applications": policy.has_perm(user, Perm.APPLICATION_READ),
                "cases": policy.has_perm(user, Perm.CASE_READ),
                "staff": policy.has_perm(user, Perm.STAFF_LIST)}})


@public
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness for a load balancer: says nothing but that the process answers."""
    return JsonResponse({"status": "ok"})
