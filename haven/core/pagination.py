"""One way to page every list."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest

PER_PAGE = 25


def paginate(request: HttpRequest, items: QuerySet[Any], *, per_page: int = PER_PAGE) -> Page[Any]:
    """The requested page of ``items``; a missing or bad ``page`` gives the nearest valid page."""
    paginator = Paginator(items, per_page)
    return paginator.get_page(request.GET.get("page"))
