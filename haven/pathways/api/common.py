"""What the pathways API modules share: looking up the records an operation names, and paging."""

from typing import Any
from uuid import UUID

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from haven.accounts.models import User
from haven.cases import selectors as case_selectors
from haven.cases.models import Case
from haven.core.errors import ValidationFailed
from haven.pathways import selectors
from haven.pathways.models import Application

# Past this an offset means nothing and overflows the database's integers (as for cases).
MAX_OFFSET = 10_000_000


def case_for(actor: User, case_id: UUID) -> Case:
    return case_selectors.case_get(actor=actor, pk=case_id)


def application_for(actor: User, application_id: UUID) -> Application:
    return selectors.application_get(actor=actor, pk=application_id)


def application_ref(actor: User, application_id: UUID | None, field: str) -> Application | None:
    """An application named in a body: unknown or invisible is a field error, not a 404."""
    if application_id is None:
        return None
    found = selectors.application_list(actor=actor).filter(pk=application_id).first()
    if found is None:
        raise ValidationFailed(_("No such application."),
                               fields={field: [_("No such application.")]})
    return found


def page(qs: QuerySet[Any], limit: int, offset: int) -> list[Any]:
    return list(qs[offset: offset + limit])
