"""Staff pages for pathways: reference data, where to apply, applications, dossiers, travel
and the outcomes board, one module per resource (as ``services``). Thin: parse, call a service
or selector, render. A refused service call shows its message on the form that caused it, and
nothing changes. ``urls.py`` reads the views from here."""

from haven.pathways.views.applications import (
    application_date,
    application_detail,
    application_transition,
    application_update,
    checklist_tick,
)
from haven.pathways.views.dossiers import (
    dossier_decide,
    dossier_download,
    dossier_queue,
    dossier_request,
)
from haven.pathways.views.outcomes import outcomes
from haven.pathways.views.pathways import (
    application_start,
    case_panel,
    pathway_detail,
    pathway_edit,
    pathway_list,
    where_to_apply,
)
from haven.pathways.views.travel import (
    booking_add,
    booking_edit,
    booking_ticket,
    travel_detail,
    travel_new,
    travel_transition,
    travel_undo,
    travel_update,
)

__all__ = [
    "application_date",
    "application_detail",
    "application_start",
    "application_transition",
    "application_update",
    "booking_add",
    "booking_edit",
    "booking_ticket",
    "case_panel",
    "checklist_tick",
    "dossier_decide",
    "dossier_download",
    "dossier_queue",
    "dossier_request",
    "outcomes",
    "pathway_detail",
    "pathway_edit",
    "pathway_list",
    "travel_detail",
    "travel_new",
    "travel_transition",
    "travel_undo",
    "travel_update",
    "where_to_apply",
]
