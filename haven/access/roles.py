"""The staff roles (docs/architecture.md, "Who uses it") and the role table: what each role may
do at all. ``access.policy`` is the one place that decides; it reads this table first and then
the rule for the object (``policy.has_perm``)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from haven.access.permissions import Perm


class Role(models.TextChoices):
    COORDINATOR = "coordinator", _("Coordinator")
    CASEWORKER = "caseworker", _("Caseworker")
    OPERATOR = "operator", _("Hotline operator")
    VERIFIER = "verifier", _("Verifier")
    LIAISON = "liaison", _("Partner liaison")
    AUDITOR = "auditor", _("Auditor")


ROLE_PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.COORDINATOR: frozenset(
        {
            Perm.ACCOUNT_MANAGE,
            Perm.APPLICATION_CREATE,
            Perm.APPLICATION_READ,
            Perm.APPLICATION_TRANSITION,
            Perm.APPLICATION_UPDATE,
            Perm.AUDIT_READ,
            Perm.AUDIT_VERIFY,
            Perm.CASE_ASSIGN,
            Perm.CASE_CREATE,
            Perm.CASE_READ,
            Perm.CASE_SUPERVISE,
            Perm.CASE_TRANSITION,
            Perm.CASE_UPDATE,
            Perm.CONSENT_READ,
            Perm.CONSENT_RECORD,
            Perm.DISCLOSURE_APPROVE,
            Perm.DISCLOSURE_READ,
            Perm.DISCLOSURE_REQUEST,
            Perm.DOCUMENT_READ,
            Perm.DOCUMENT_UPLOAD,
            Perm.DOSSIER_APPROVE,
            Perm.DOSSIER_EXPORT,
            Perm.DOSSIER_REQUEST,
            Perm.KEYS_ROTATE,
            Perm.KEYS_SEAL,
            Perm.KEYS_UNSEAL,
            Perm.NOTE_CREATE,
            Perm.NOTE_READ,
            Perm.NOTE_REDACT,
            Perm.OUTCOMES_READ,
            Perm.PARTNER_MANAGE,
            Perm.PARTNER_READ,
            Perm.PATHWAY_READ,
            Perm.PATHWAY_UPDATE,
            Perm.PERSON_CREATE,
            Perm.PERSON_ERASE,
            Perm.PERSON_READ,
            Perm.PERSON_REVEAL,
            Perm.PLACEMENT_MANAGE,
            Perm.REFERRAL_MANAGE,
            Perm.REQUEST_READ,
            Perm.REQUEST_REPLY,
            Perm.REQUEST_TRIAGE,
            Perm.RISK_ASSESS,
            Perm.SHELTER_ADDRESS,
            Perm.SHELTER_MANAGE,
            Perm.SHELTER_READ,
            Perm.STAFF_LIST,
            Perm.TASK_CREATE,
            Perm.TASK_READ,
            Perm.TASK_UPDATE,
            Perm.TOKEN_MANAGE,
            Perm.TRAVEL_MANAGE,
            Perm.TRAVEL_READ,
            Perm.VERIFICATION_APPROVE,
            Perm.VERIFICATION_REQUEST,
            Perm.VERIFICATION_SUBMIT,
        }
    ),
    Role.CASEWORKER: frozenset(
        {
            Perm.APPLICATION_CREATE,
            Perm.APPLICATION_READ,
            Perm.APPLICATION_TRANSITION,
            Perm.APPLICATION_UPDATE,
            Perm.CASE_READ,
            Perm.CASE_TRANSITION,
            Perm.CASE_UPDATE,
            Perm.CONSENT_READ,
            Perm.CONSENT_RECORD,
            Perm.DISCLOSURE_READ,
            Perm.DISCLOSURE_REQUEST,
            Perm.DOCUMENT_READ,
            Perm.DOCUMENT_UPLOAD,
            Perm.DOSSIER_REQUEST,
            Perm.NOTE_CREATE,
            Perm.NOTE_READ,
            Perm.PARTNER_READ,
            Perm.PATHWAY_READ,
            Perm.PERSON_CREATE,
            Perm.PERSON_READ,
            Perm.PERSON_REVEAL,
            Perm.PLACEMENT_MANAGE,
            Perm.RISK_ASSESS,
            Perm.SHELTER_READ,
            Perm.TASK_CREATE,
            Perm.TASK_READ,
            Perm.TASK_UPDATE,
            Perm.TRAVEL_MANAGE,
            Perm.TRAVEL_READ,
            Perm.VERIFICATION_REQUEST,
        }
    ),
    Role.OPERATOR: frozenset(
        {
            Perm.CASE_CREATE,
            Perm.CASE_READ,
            Perm.CASE_TRANSITION,
            Perm.CONSENT_READ,
            Perm.CONSENT_RECORD,
            Perm.NOTE_CREATE,
            Perm.NOTE_READ,
            Perm.PATHWAY_READ,
            Perm.PERSON_CREATE,
            Perm.PERSON_READ,
            Perm.REQUEST_READ,
            Perm.REQUEST_REPLY,
            Perm.REQUEST_TRIAGE,
            Perm.TASK_READ,
            Perm.TASK_UPDATE,
            Perm.VERIFICATION_REQUEST,
        }
    ),
    Role.VERIFIER: frozenset(
        {
            Perm.CASE_READ,
            Perm.CONSENT_READ,
            Perm.DOCUMENT_READ,
            Perm.NOTE_CREATE,
            Perm.NOTE_READ,
            Perm.PATHWAY_READ,
            Perm.PERSON_READ,
            Perm.PERSON_REVEAL,
            Perm.TASK_READ,
            Perm.TASK_UPDATE,
            Perm.VERIFICATION_SUBMIT,
        }
    ),
    Role.LIAISON: frozenset({Perm.CASE_READ, Perm.PATHWAY_READ}),
    Role.AUDITOR: frozenset({Perm.AUDIT_READ, Perm.AUDIT_VERIFY, Perm.DISCLOSURE_READ,
                             Perm.OUTCOMES_READ, Perm.PARTNER_READ,
                             Perm.PATHWAY_READ, Perm.STAFF_LIST}),
}
