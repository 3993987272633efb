from django.apps import AppConfig


class AuditLogConfig(AppConfig):
    """Reading the audit log: its pages, API and the words events are shown in.

    The log itself (``haven.audit``: the events, ``record``, ``verify``) sits below every
    domain app, which all write to it; reading it by name (case numbers, shelter code names,
    pathway names) needs those apps, so the reading side is its own app above them. Its
    templates are ``audit/…``, in ``haven/audit/templates``.
    """

    name = "haven.auditlog"
    label = "auditlog"
