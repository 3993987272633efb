"""The only writers of cases: plain functions, each checking the policy, guarding the state,
and recording its audit event in the same transaction. Split by topic; import from here."""

from haven.cases.services.cases import (
    case_assign,
    case_open,
    case_transition,
    case_update,
    member_add,
    member_update,
    person_reveal,
    person_reveal_all,
    profile_update,
    risk_assess,
)
from haven.cases.services.records import (
    document_attach,
    note_add,
    note_redact,
    referral_create,
    referral_withdraw,
    task_create,
    task_transition,
    task_update,
)
from haven.cases.services.verification import (
    verification_approve,
    verification_request,
    verification_submit,
)

__all__ = [
    "case_assign",
    "case_open",
    "case_transition",
    "case_update",
    "document_attach",
    "member_add",
    "member_update",
    "note_add",
    "note_redact",
    "person_reveal",
    "person_reveal_all",
    "profile_update",
    "referral_create",
    "referral_withdraw",
    "risk_assess",
    "task_create",
    "task_transition",
    "task_update",
    "verification_approve",
    "verification_request",
    "verification_submit",
]
