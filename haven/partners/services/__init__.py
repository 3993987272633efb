"""Writes of the partners app, by resource; import from here."""

from haven.partners.services.consents import consent_record, consent_withdraw
from haven.partners.services.disclosures import agreement_problem, log_disclosure

__all__ = ["agreement_problem", "consent_record", "consent_withdraw", "log_disclosure"]
