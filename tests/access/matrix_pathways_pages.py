"""Reviewed access decisions of the pathways pages routes; merged into EXPECTED of test_route_matrix."""

from __future__ import annotations

from haven.access.decorators import Access
from haven.access.permissions import Perm


def _perm(p: Perm) -> Access:
    return Access("perm", p)


PATHWAYS_PAGES: dict[str, Access] = {
    # Reference data is public knowledge: every staff role that reads pathways sees it;
    # only coordinators edit it (the service audits the edit).
    "/pathways/": _perm(Perm.PATHWAY_READ),
    "/pathways/routes/<slug:slug>/": _perm(Perm.PATHWAY_READ),
    "/pathways/routes/<slug:slug>/edit/": _perm(Perm.PATHWAY_UPDATE),
    # Aggregates and case numbers only: coordinators and auditors.
    "/pathways/outcomes/": _perm(Perm.OUTCOMES_READ),
    # CSV exports: aggregates per pathway; the applications of the cases one may see.
    "/pathways/outcomes/export.csv": _perm(Perm.OUTCOMES_READ),
    "/pathways/applications/export.csv": _perm(Perm.APPLICATION_READ),
    # Where to apply shows this organization's outcomes and the case's applications.
    "/pathways/cases/<uuid:case_id>/": _perm(Perm.APPLICATION_READ),
    "/pathways/cases/<uuid:case_id>/panel/": _perm(Perm.APPLICATION_READ),
    "/pathways/cases/<uuid:case_id>/apply/": _perm(Perm.APPLICATION_CREATE),
    "/pathways/cases/<uuid:case_id>/travel/": _perm(Perm.TRAVEL_MANAGE),
    "/pathways/applications/<uuid:pk>/": _perm(Perm.APPLICATION_READ),
    "/pathways/applications/<uuid:pk>/transition/": _perm(Perm.APPLICATION_TRANSITION),
    "/pathways/applications/<uuid:pk>/update/": _perm(Perm.APPLICATION_UPDATE),
    "/pathways/applications/<uuid:pk>/dates/": _perm(Perm.APPLICATION_UPDATE),
    "/pathways/applications/<uuid:pk>/dossier/": _perm(Perm.DOSSIER_REQUEST),
    # Ticking a checklist item by hand changes the application's record, like its dates.
    "/pathways/applications/<uuid:pk>/checklist/": _perm(Perm.APPLICATION_UPDATE),
    # Dossiers: coordinators decide and download (the download re-authenticates).
    "/pathways/dossiers/": _perm(Perm.DOSSIER_APPROVE),
    "/pathways/dossiers/<uuid:pk>/decide/": _perm(Perm.DOSSIER_APPROVE),
    "/pathways/dossiers/<uuid:pk>/download/": _perm(Perm.DOSSIER_EXPORT),
    "/pathways/travel/<uuid:pk>/": _perm(Perm.TRAVEL_READ),
    "/pathways/travel/<uuid:pk>/update/": _perm(Perm.TRAVEL_MANAGE),
    "/pathways/travel/<uuid:pk>/transition/": _perm(Perm.TRAVEL_MANAGE),
    # Undoing a move and the bookings (which the service also limits to those who may see
    # the route) belong to whoever runs the journey.
    "/pathways/travel/<uuid:pk>/undo/": _perm(Perm.TRAVEL_MANAGE),
    "/pathways/travel/<uuid:pk>/bookings/": _perm(Perm.TRAVEL_MANAGE),
    "/pathways/travel/<uuid:pk>/bookings/<uuid:booking_id>/": _perm(Perm.TRAVEL_MANAGE),
    "/pathways/travel/<uuid:pk>/bookings/<uuid:booking_id>/tickets/": _perm(
        Perm.TRAVEL_MANAGE),
}
