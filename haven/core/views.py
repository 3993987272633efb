from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from haven.access import policy
from haven.access.decorators import public, staff
from haven.access.permissions import Perm
from haven.core import faults


@staff
def dashboard(request: HttpRequest) -> HttpResponse:
    """The start page: the work queue for staff who work on cases, the audit log for an
    auditor, a partner liaison's referred cases; anyone else a short page of what their role
    lets them open (the navigation already holds exactly that)."""
    user = request.user
    if policy.has_perm(user, Perm.CASE_READ):
        if policy.case_referral_only(user):
            return redirect("cases:list")
        from haven.cases.views import dashboard as work_queue

        return work_queue(request)
    if policy.has_perm(user, Perm.AUDIT_READ):
        return redirect("audit:list")
    return render(request, "core/dashboard.html")


@public
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness for a load balancer: says nothing but that the process answers."""
    return JsonResponse({"status": "ok"})


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render(request, "core/error.html", {"status": 403, "csrf": True}, status=403)


def error_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "core/error.html", {"status": 404}, status=404)


def error_403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "core/error.html", {"status": 403}, status=403)


def error_500(request: HttpRequest) -> HttpResponse:
    fault = faults.current()
    if fault is not None:
        return faults.response(request, fault, public=request.path.startswith("/intake/"))
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Internal error: nothing was saved.", "code": "error"},
                            status=500)
    return render(request, "core/error.html", {"status": 500}, status=500)


def error_400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "core/error.html", {"status": 400}, status=400)
