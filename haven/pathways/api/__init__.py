"""/api/v1 for pathways, applications, dossier requests, travel and the outcomes board.

Thin callers of ``haven.pathways.selectors`` and ``haven.pathways.services``: the same policy,
validation and audit as the pages. Where to apply is ``GET /pathways/suggestions/{case_id}``
(``/cases/{case_id}/…`` belongs to the cases router). Sensitive values (where a file was
submitted, a journey's route) appear only in an object's own document, never in lists; a
route is withheld until arrival from anyone but coordinators and the assigned caseworker,
and each reading of it is recorded. Dossier PDFs are not exported over the API (see
``DOSSIER_NO_EXPORT``).

One module per resource (as ``services``); ``haven.api`` mounts their routers.
"""

from haven.pathways.api.applications import router as applications_router
from haven.pathways.api.dossiers import router as dossiers_router
from haven.pathways.api.outcomes import router as outcomes_router
from haven.pathways.api.pathways import router as pathways_router
from haven.pathways.api.travel import router as travel_router

__all__ = [
    "applications_router",
    "dossiers_router",
    "outcomes_router",
    "pathways_router",
    "travel_router",
]
