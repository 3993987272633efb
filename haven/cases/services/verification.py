"""Verification: someone other than the opener checks identity and story; "verified" needs
a coordinator's approval; "suspect" hides the case from everyone but coordinators."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from haven.access import policy
from haven.access.permissions import Perm
from haven.access.roles import Role
from haven.audit.services import record
from haven.cases.models import Case, Method, Outcome, Status, Verification, VerificationState
from haven.cases.services.common import choice, share_key, staff_member, subset, text
from haven.core.errors import Conflict, Forbidden, ValidationFailed

MAX_NARRATIVE = 20000
PENDING = (VerificationState.REQUESTED, VerificationState.AWAITING_APPROVAL)


def verification_request(*, actor: Any, case: Case, verifier: Any) -> Verification:
    """Send a case to a verifier; a case still in intake moves to verification.

    The verifier may not be the person who opened the case: an adversary posing as an
    operator must not be able to vouch for the story they brought in.
    """
    policy.require(actor, Perm.VERIFICATION_REQUEST, case)
    staff_member(verifier, case.organization_id, (Role.VERIFIER, Role.COORDINATOR), "verifier")
    if verifier.pk == case.opened_by_id:
        raise ValidationFailed(
            _("The verifier of a case cannot be the person who opened it."),
            fields={"verifier": [_("Choose someone other than the person who opened the case.")]})
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        if locked.status not in (Status.INTAKE, Status.VERIFICATION):
            raise Conflict(_("Only a case in intake or verification can be sent to a verifier."))
        if locked.verifications.filter(state__in=PENDING).exists():
            raise Conflict(_("This case is already waiting for a verification."))
        verification = Verification.objects.create(case=locked, verifier=verifier,
                                                   requested_by=actor)
        if locked.status == Status.INTAKE:
            locked.status = Status.VERIFICATION
            locked.save(update_fields=["status", "updated_at"])
            record(actor=actor, action="case.transitioned", object_type="case",
                   object_id=locked.pk, data={"from": Status.INTAKE, "to": Status.VERIFICATION,
                                              "closure_reason": ""})
        record(actor=actor, action="verification.requested", object_type="verification",
               object_id=verification.pk, data={"case": str(locked.pk),
                                                "verifier": str(verifier.pk)})
    case.refresh_from_db()
    return verification


def verification_submit(*, actor: Any, verification: Verification, outcome: str,
                        methods: Iterable[str], narrative: str, red_flags: str = ""
                        ) -> Verification:
    """The verifier's finding. "Verified" waits for a coordinator's approval; any other
    outcome applies to the case at once (a suspect case disappears from all but coordinators)."""
    case = verification.case
    policy.require(actor, Perm.VERIFICATION_SUBMIT, case)
    if verification.verifier_id != actor.pk:
        raise Forbidden(_("This verification was sent to another verifier."))
    choice(outcome, Outcome, "outcome")
    method_list = subset(methods, Method, "methods")
    if not method_list:
        raise ValidationFailed(_("Say how the case was checked."),
                               fields={"methods": [_("Choose at least one method.")]})
    narrative = text(narrative, "narrative", maximum=MAX_NARRATIVE, required=True)
    red_flags = text(red_flags, "red_flags", maximum=MAX_NARRATIVE)
    with transaction.atomic():
        locked = Verification.objects.select_for_update().get(pk=verification.pk)
        if locked.state != VerificationState.REQUESTED:
            raise Conflict(_("This verification was already submitted."))
        share_key(case, locked)
        locked.outcome = outcome
        locked.methods = method_list
        locked.narrative = narrative
        locked.red_flags = red_flags
        locked.submitted_at = timezone.now()
        if outcome == Outcome.VERIFIED:
            locked.state = VerificationState.AWAITING_APPROVAL
        else:
            locked.state = VerificationState.CONCLUDED
            Case.objects.filter(pk=case.pk).update(verification_outcome=outcome,
                                                   updated_at=timezone.now())
        locked.save()
        record(actor=actor, action="verification.submitted", object_type="verification",
               object_id=locked.pk, data={"case": str(case.pk), "outcome": outcome,
                                          "state": locked.state})
    verification.refresh_from_db()
    return verification


def verification_approve(*, actor: Any, verification: Verification, approve: bool = True
                         ) -> Verification:
    """A coordinator (not the verifier, not the opener) confirms "verified", or returns the
    verification to the verifier for more work."""
    case = verification.case
    policy.require(actor, Perm.VERIFICATION_APPROVE, case)
    if not policy.may_approve_verification(actor, verification):
        raise Forbidden(_("“Verified” needs a second person: a coordinator who neither "
                          "verified nor opened the case."))
    with transaction.atomic():
        locked = Verification.objects.select_for_update().get(pk=verification.pk)
        if locked.state != VerificationState.AWAITING_APPROVAL:
            raise Conflict(_("This verification is not waiting for approval."))
        if approve:
            locked.state = VerificationState.CONCLUDED
            locked.approved_by = actor
            locked.approved_at = timezone.now()
            Case.objects.filter(pk=case.pk).update(verification_outcome=Outcome.VERIFIED,
                                                   updated_at=timezone.now())
        else:
            locked.state = VerificationState.REQUESTED
        locked.save(update_fields=["state", "approved_by", "approved_at", "updated_at"])
        record(actor=actor,
               action="verification.approved" if approve else "verification.returned",
               object_type="verification", object_id=locked.pk,
               data={"case": str(case.pk), "state": locked.state})
    verification.refresh_from_db()
    return verification
