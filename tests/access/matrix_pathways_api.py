"""Reviewed access decisions of the pathways api routes; merged into EXPECTED of test_route_matrix.

Reading reference pathways is for every role that has ``pathway:read``; the ranking of where a
case could apply reads the household's nationalities and documents, so it takes
``application:read`` like the applications themselves. Dossier requests are listed to those who
may request them (coordinators see the organization's queue); only coordinators decide.
"""

from __future__ import annotations

from haven.access.decorators import Access
from haven.access.permissions import Perm


def _perm(p: Perm, *, reauth: bool = False) -> Access:
    return Access("perm", p, reauth=reauth)


PATHWAYS_API: dict[str, Access] = {
    "GET /api/v1/pathways": _perm(Perm.PATHWAY_READ),
    "GET /api/v1/pathways/<slug>": _perm(Perm.PATHWAY_READ),
    "PATCH /api/v1/pathways/<slug>": _perm(Perm.PATHWAY_UPDATE),
    # Re-authenticated (issue 13, item 5): the ranking tells each member's nationality fit;
    # a journey's route and bookings are as dangerous as an address.
    "GET /api/v1/pathways/suggestions/<case_id>": _perm(Perm.APPLICATION_READ, reauth=True),
    "GET /api/v1/applications": _perm(Perm.APPLICATION_READ),
    "POST /api/v1/applications": _perm(Perm.APPLICATION_CREATE),
    "GET /api/v1/applications/<application_id>": _perm(Perm.APPLICATION_READ),
    "PATCH /api/v1/applications/<application_id>": _perm(Perm.APPLICATION_UPDATE),
    "POST /api/v1/applications/<application_id>/transition": _perm(Perm.APPLICATION_TRANSITION),
    "POST /api/v1/applications/<application_id>/dates": _perm(Perm.APPLICATION_UPDATE),
    "GET /api/v1/applications/<application_id>/history": _perm(Perm.APPLICATION_READ),
    "POST /api/v1/applications/<application_id>/checklist": _perm(Perm.APPLICATION_UPDATE),
    "GET /api/v1/dossiers": _perm(Perm.DOSSIER_REQUEST),
    "POST /api/v1/dossiers": _perm(Perm.DOSSIER_REQUEST),
    "POST /api/v1/dossiers/<dossier_id>/approve": _perm(Perm.DOSSIER_APPROVE),
    "POST /api/v1/dossiers/<dossier_id>/decline": _perm(Perm.DOSSIER_APPROVE),
    "GET /api/v1/travel": _perm(Perm.TRAVEL_READ),
    "POST /api/v1/travel": _perm(Perm.TRAVEL_MANAGE),
    "GET /api/v1/travel/<travel_id>": _perm(Perm.TRAVEL_READ, reauth=True),
    "PATCH /api/v1/travel/<travel_id>": _perm(Perm.TRAVEL_MANAGE, reauth=True),
    "POST /api/v1/travel/<travel_id>/transition": _perm(Perm.TRAVEL_MANAGE),
    "POST /api/v1/travel/<travel_id>/undo": _perm(Perm.TRAVEL_MANAGE),
    "POST /api/v1/travel/<travel_id>/bookings": _perm(Perm.TRAVEL_MANAGE, reauth=True),
    "PATCH /api/v1/travel/<travel_id>/bookings/<booking_id>": _perm(Perm.TRAVEL_MANAGE,
                                                                     reauth=True),
    "DELETE /api/v1/travel/<travel_id>/bookings/<booking_id>": _perm(Perm.TRAVEL_MANAGE),
    "GET /api/v1/outcomes": _perm(Perm.OUTCOMES_READ),
}
