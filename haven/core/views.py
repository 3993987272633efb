"""Error pages (400, 403, 404, 500 and a refused CSRF check): they need nothing but core."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from haven.core import faults


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
