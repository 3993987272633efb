"""One way to page every list."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.functional import cached_property

PER_PAGE = 25


def paginate(request: HttpRequest, items: QuerySet[Any], *, per_page: int = PER_PAGE) -> Page[Any]:
    """The requested page of ``items``; a missing or bad ``page`` gives the nearest valid page."""
    paginator = Paginator(items, per_page)
    return paginator.get_page(request.GET.get("page"))


if TYPE_CHECKING:
    _Paginator = Paginator[Any]
else:
    _Paginator = Paginator  # generic only in the type stubs


class CappedPaginator(_Paginator):
    """Counts at most ``cap + 1`` rows (one more, to know there are more): the last
    page is then the cap's, and the list says "more than …" instead of an exact number.
    ``known``: the caller already knows how many, so nothing is counted."""

    def __init__(self, *args: Any, cap: int, known: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.known = known
        self.cap = cap

    @cached_property
    def count(self) -> int:
        if self.known is not None:
            return min(self.known, self.cap + 1)
        items = cast("QuerySet[Any]", self.object_list)
        rows = items.order_by().values("pk")  # no sort, no joins: just count
        return int(rows[: self.cap + 1].count())
