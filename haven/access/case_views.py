"""What each view of a case shows: the field tables of the policy's projections.

Pure data, kept apart from ``policy`` (which re-exports it) so that the one policy module
stays readable; ``policy.case_view_of`` decides which view a user gets.
"""

from __future__ import annotations

from enum import StrEnum


class CaseView(StrEnum):
    FULL = "full"
    OPENER = "opener"
    REFERRAL = "referral"
    NONE = "none"


_CASE_OPENER_FIELDS = frozenset({
    "id", "number", "status", "paused_from", "closure_reason", "closed_at", "case_type",
    "priority", "assigned_to", "opened_by", "created_at", "updated_at", "version",
})
CASE_FIELDS: dict[CaseView, frozenset[str]] = {
    CaseView.FULL: _CASE_OPENER_FIELDS | {"risk_level", "triage_score", "verification_outcome",
                                          "next_review", "summary"},
    CaseView.OPENER: _CASE_OPENER_FIELDS,
    CaseView.REFERRAL: frozenset({"id", "number"}),
    CaseView.NONE: frozenset(),
}
# The referral's shared fields that are the case's own attributes; the others (household
# size, the principal's nationality and languages) are computed by the cases selectors.
REFERRAL_CASE_ATTRIBUTES = frozenset({"status", "priority", "case_type"})

MEMBER_FIELDS: dict[CaseView, frozenset[str]] = {
    CaseView.FULL: frozenset({"id", "case", "person", "relationship", "is_principal",
                              "travels_with", "confidential_fields", "confidential",
                              "confidential_labels", "created_at"}),
    CaseView.OPENER: frozenset({"id", "case", "person_id", "relationship", "is_principal",
                                "travels_with", "created_at"}),
    CaseView.REFERRAL: frozenset(),
    CaseView.NONE: frozenset(),
}
VERIFICATION_FIELDS: dict[CaseView, frozenset[str]] = {
    CaseView.FULL: frozenset({"id", "case", "verifier", "requested_by", "state", "outcome",
                              "methods", "method_list", "method_labels", "narrative",
                              "red_flags",
                              "submitted_at", "approved_by", "approved_at", "created_at"}),
    CaseView.OPENER: frozenset({"id", "case", "verifier", "state", "created_at"}),
    CaseView.REFERRAL: frozenset(),
    CaseView.NONE: frozenset(),
}
# Parts of the case page beyond what permissions already gate (notes, tasks, documents).
CASE_SECTIONS: dict[CaseView, frozenset[str]] = {
    CaseView.FULL: frozenset({"people", "verification", "risk", "housing", "history"}),
    CaseView.OPENER: frozenset({"people", "verification"}),
    CaseView.REFERRAL: frozenset({"shared"}),
    CaseView.NONE: frozenset(),
}
