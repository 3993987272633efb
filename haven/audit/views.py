from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from haven.access.decorators import requires
from haven.access.permissions import Perm
from haven.audit import selectors, services
from haven.audit.forms import EventFilterForm
from haven.core.pagination import paginate


@requires(Perm.AUDIT_READ)
def event_list(request: HttpRequest) -> HttpResponse:
    form = EventFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    events = selectors.event_list(user=request.user, **filters)
    page = paginate(request, events, per_page=50)
    template = "audit/_rows.html" if request.headers.get("HX-Request") else "audit/list.html"
    status = 400 if form.is_bound and not form.is_valid() else 200
    return render(request, template, {"form": form, "page": page,
                                      "query": request.GET.urlencode()}, status=status)


@requires(Perm.AUDIT_VERIFY)
@require_POST
def verify(request: HttpRequest) -> HttpResponse:
    result = services.verify_as(actor=request.user)
    return render(request, "audit/verify.html", {"result": result})
