"""The only writers of pathways, applications, travel and dossier exports: plain functions,
each checking the policy, guarding the state and recording its audit event in the same
transaction. Split by topic; import from here."""

from haven.pathways.services.applications import (
    application_create,
    application_date_set,
    application_transition,
    application_update,
)
from haven.pathways.services.dossiers import (
    DossierFile,
    ReauthenticationRequired,
    dossier_approve,
    dossier_decline,
    dossier_export,
    dossier_request,
)
from haven.pathways.services.reference import pathway_update
from haven.pathways.services.travel import travel_plan, travel_transition, travel_update

__all__ = [
    "DossierFile",
    "ReauthenticationRequired",
    "application_create",
    "application_date_set",
    "application_transition",
    "application_update",
    "dossier_approve",
    "dossier_decline",
    "dossier_export",
    "dossier_request",
    "pathway_update",
    "travel_plan",
    "travel_transition",
    "travel_update",
]
