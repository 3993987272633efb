"""Editing reference data in the app: a pathway's facts, by a coordinator, audited."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from haven.access import policy
from haven.access.permissions import Perm
from haven.audit.services import record
from haven.cases.services.common import check_version
from haven.core.errors import ValidationFailed
from haven.pathways.loader import clean_pathway
from haven.pathways.models import Country, Pathway


def pathway_update(*, actor: Any, pathway: Pathway, version: int | None = None,
                   **fields: Any) -> Pathway:
    """Change a pathway's facts (any of ``loader.PATHWAY_FIELDS``; ``country`` as a
    ``Country`` or its code), checked by the same rules as the reference file.

    The edit stamps ``edited_at``/``edited_by``, so ``haven pathways load`` skips this
    pathway (and says so) unless forced: a reviewed file never silently undoes a
    coordinator's correction. A change of status without a date takes today as
    ``status_since``. ``version`` guards against two coordinators editing at once, as for
    cases. The audit event names the changed fields and the new status, never free text.
    Reference data is global: the edit is seen by every organization on this server.
    """
    policy.require(actor, Perm.PATHWAY_UPDATE)
    if not fields:
        return pathway
    if isinstance(fields.get("country"), str):
        fields["country"] = Country.objects.filter(code=fields["country"].upper()).first()
    cleaned, errors = clean_pathway(fields)
    if errors:
        raise ValidationFailed(_("The pathway's details are not valid: see fields."),
                               fields=errors)
    with transaction.atomic():
        locked = Pathway.objects.select_for_update().get(pk=pathway.pk)
        check_version(locked.version, version, _("This pathway"))
        if ("status" in cleaned and cleaned["status"] != locked.status
                and "status_since" not in cleaned):
            cleaned["status_since"] = timezone.localdate()
        merged = {f"processing_days_{k}": cleaned.get(f"processing_days_{k}", getattr(
            locked, f"processing_days_{k}")) for k in ("min", "typical", "max")}
        _cleaned, day_errors = clean_pathway(merged)
        if day_errors:
            raise ValidationFailed(_("The pathway's details are not valid: see fields."),
                                   fields=day_errors)
        changed = sorted(name for name, value in cleaned.items()
                         if getattr(locked, name) != value)
        if not changed:
            pathway.refresh_from_db()
            return pathway
        for name in changed:
            setattr(locked, name, cleaned[name])
        locked.edited_at = timezone.now()
        locked.edited_by = actor
        locked.version += 1
        locked.save()
        record(actor=actor, action="pathway.updated", object_type="pathway",
               object_id=locked.pk, organization_id=actor.organization_id,
               data={"slug": locked.slug, "fields": changed, "status": locked.status,
                     "version": locked.version})
    pathway.refresh_from_db()
    return pathway
