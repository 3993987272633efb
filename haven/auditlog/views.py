from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from haven.access import policy
from haven.access.decorators import requires
from haven.access.permissions import Perm
from haven.audit import services
from haven.audit.models import AuditEvent
from haven.auditlog import display, selectors
from haven.auditlog.forms import EventFilterForm
from haven.core.errors import HavenError
from haven.core.forms import apply_error
from haven.core.pagination import CappedPaginator

PER_PAGE = 50
# Counting a log of millions of events on every page view costs more than the page: past
# this many, the log says "more than" and pages back that far (filters narrow it).
COUNT_CAP = 10_000


def _query(request: HttpRequest) -> str:
    """The filters of this page, for the pager's links (which add their own page number)."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@requires(Perm.AUDIT_READ)
def event_list(request: HttpRequest) -> HttpResponse:
    form = EventFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    try:
        events = selectors.event_list(user=request.user, **filters)
    except HavenError as exc:
        apply_error(form, exc)
        events = AuditEvent.objects.none()
    paginator = CappedPaginator(events, PER_PAGE, cap=COUNT_CAP)
    page = paginator.get_page(request.GET.get("page"))
    template = "audit/_rows.html" if request.headers.get("HX-Request") else "audit/list.html"
    status = 400 if form.is_bound and form.errors else 200
    return render(request, template, {
        "form": form, "page": page, "query": _query(request),
        "capped": paginator.count > COUNT_CAP, "cap": COUNT_CAP,
        "rows": display.rows(page.object_list, viewer=request.user),
        "actions": sorted(display.ACTIONS.items(), key=lambda item: item[0]),
        "staff": selectors.staff_names(user=request.user),
        "may_read_cases": policy.has_perm(request.user, Perm.CASE_READ)}, status=status)


@requires(Perm.AUDIT_VERIFY)
@require_POST
def verify(request: HttpRequest) -> HttpResponse:
    result = services.verify_as(actor=request.user)
    return render(request, "audit/verify.html", {"result": result})
