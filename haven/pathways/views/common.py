"""What the pathways pages share: lookups, where a record the user may not see is a 404 like a
missing one."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import Http404, HttpRequest

from haven.cases.models import Case, Member
from haven.core.errors import NotFound
from haven.pathways import selectors
from haven.pathways.models import Application, Country, Pathway, Travel

# --- lookups: a record the user may not see is a 404, like a missing one ------------------------


def application_or_404(request: HttpRequest, pk: UUID) -> Application:
    try:
        return selectors.application_get(actor=request.user, pk=pk)
    except NotFound:
        raise Http404 from None


def travel_or_404(request: HttpRequest, pk: UUID) -> Travel:
    try:
        return selectors.travel_get(actor=request.user, pk=pk)
    except NotFound:
        raise Http404 from None


def pathway_or_404(request: HttpRequest, slug: str) -> Pathway:
    try:
        return selectors.pathway_get(actor=request.user, slug=slug)
    except NotFound:
        raise Http404 from None


def case_members(case: Case) -> list[Member]:
    return list(Member.objects.filter(case=case).order_by("-is_principal", "created_at"))


def countries() -> list[Country]:
    return list(Country.objects.order_by("name"))

def uuid_or_none(value: Any) -> UUID | None:
    try:
        return UUID(str(value))
    except ValueError:
        return None
