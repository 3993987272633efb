"""Ticking an application's document checklist by hand, per applicant."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from haven.access import policy
from haven.access.permissions import Perm
from haven.audit.services import record
from haven.core.errors import ValidationFailed
from haven.pathways.models import Application, ApplicationApplicant, ChecklistTick


def checklist_tick(*, actor: Any, application: Application, member: Any, doc_type: str,
                   done: bool) -> bool:
    """Tick (``done``) or untick one checklist item for one applicant (``member``: the
    ``Member`` or its id) — for a paper the organization holds outside Haven, or checked at
    the embassy. The tick keeps who and when; the audit event names the applicant and the
    item. An item is also done, without a tick, when the applicant's own document of its type
    is on file (``selectors.application_checklist``). True when something changed.
    """
    policy.require(actor, Perm.APPLICATION_UPDATE, application)
    applicant = ApplicationApplicant.objects.filter(
        application=application, member_id=str(getattr(member, "pk", member))).first()
    errors: dict[str, list[str]] = {}
    if applicant is None:
        errors["member"] = [_("Choose applicants of this application.")]
    if doc_type not in {item["doc_type"] for item in application.pathway.checklist}:
        errors["doc_type"] = [_("Not on this pathway's checklist.")]
    if errors:
        raise ValidationFailed(_("That is not an item of this application's checklist."),
                               fields=errors)
    assert applicant is not None  # noqa: S101 - checked above
    with transaction.atomic():
        if done:
            _tick, changed = ChecklistTick.objects.get_or_create(
                applicant=applicant, doc_type=doc_type, defaults={"ticked_by": actor})
        else:
            changed = bool(ChecklistTick.objects.filter(applicant=applicant,
                                                        doc_type=doc_type).delete()[0])
        if changed:
            record(actor=actor, action="application.checklist_ticked",
                   object_type="application", object_id=application.pk,
                   data={"case": str(application.case_id), "member": str(applicant.member_id),
                         "doc_type": doc_type, "done": done})
    return changed
