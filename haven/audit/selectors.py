"""Reading the audit log."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Q, QuerySet

from haven.access import policy
from haven.access.permissions import Perm
from haven.audit.models import AuditEvent


def event_list(
    *,
    user: Any,
    action: str = "",
    actor_id: str = "",
    object_id: str = "",
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[AuditEvent]:
    """Events of the user's organization (and organization-less events such as failed logins
    for unknown names), newest first, filtered. Events hold no personal data."""
    if not policy.has_perm(user, Perm.AUDIT_READ):
        return AuditEvent.objects.none()
    qs = AuditEvent.objects.filter(
        Q(organization_id=str(user.organization_id)) | Q(organization_id="")
    )
    if action:
        qs = qs.filter(action__startswith=action)
    if actor_id:
        qs = qs.filter(actor_id=actor_id)
    if object_id:
        qs = qs.filter(object_id=object_id)
    if since:
        qs = qs.filter(at__date__gte=since)
    if until:
        qs = qs.filter(at__date__lte=until)
    return qs.order_by("-seq")


def object_history(*, user: Any, object_type: str, object_id: str) -> QuerySet[AuditEvent]:
    """One record's history, for the record's own page."""
    return event_list(user=user, object_id=object_id).filter(object_type=object_type)
