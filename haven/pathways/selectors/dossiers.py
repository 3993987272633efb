"""Reads of dossier exports."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from haven.access import policy
from haven.access.permissions import Perm
from haven.pathways.models import Application, DossierExport, DossierState


def dossier_exports(*, actor: Any, state: str = DossierState.REQUESTED,
                    application: Application | None = None) -> QuerySet[DossierExport]:
    """Visible dossier requests and exports (coordinators: the organization's queue)."""
    qs = policy.case_records_visible_to(actor, Perm.DOSSIER_REQUEST, DossierExport.objects.all()).select_related(
        "case", "application", "application__pathway", "requested_by")
    if state:
        qs = qs.filter(state=state)
    if application is not None:
        qs = qs.filter(application=application)
    return qs.order_by("created_at")
