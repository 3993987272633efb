"""The only writers of pathways, applications, travel and dossier exports: plain functions,
each checking the policy, guarding the state and recording its audit event in the same
transaction. Split by topic; import from here."""

from haven.pathways.services.applications import (
    application_create,
    application_date_set,
    application_transition,
    application_update,
)
from haven.pathways.services.bookings import (
    booking_add,
    booking_remove,
    booking_ticket_add,
    booking_update,
)
from haven.pathways.services.checklist import checklist_tick
from haven.pathways.services.dossiers import (
    DossierFile,
    ReauthenticationRequired,
    dossier_approve,
    dossier_decline,
    dossier_export,
    dossier_request,
)
from haven.pathways.services.journey import travel_undo
from haven.pathways.services.reference import pathway_update
from haven.pathways.services.travel import travel_plan, travel_transition, travel_update

__all__ = [
    "DossierFile",
    "ReauthenticationRequired",
    "application_create",
    "application_date_set",
    "application_transition",
    "application_update",
    "booking_add",
    "booking_remove",
    "booking_ticket_add",
    "booking_update",
    "checklist_tick",
    "dossier_approve",
    "dossier_decline",
    "dossier_export",
    "dossier_request",
    "pathway_update",
    "travel_plan",
    "travel_transition",
    "travel_undo",
    "travel_update",
]
