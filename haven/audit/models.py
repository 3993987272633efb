"""The audit log: an append-only hash chain.

Each event's hash covers its own fields and the previous event's hash, so changing,
deleting, inserting or reordering any event breaks every hash after it. Events hold ids,
never names or other personal data, so the log can be handed to an auditor or published.
"""

from __future__ import annotations

from typing import Any

from django.db import models


class CaseRef(models.Func):
    """``data["case"]`` as text: the case an event about a note, task, person… belongs to.

    The key is written into the SQL as a literal (not a parameter), so the expression index
    below and the queries that use this class compare the same expression and the database
    can use the index for a case's history.
    """

    output_field = models.CharField()
    template = "json_extract(%(expressions)s, '$.case')"

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any
                      ) -> tuple[str, Any]:
        return self.as_sql(compiler, connection, template="(%(expressions)s ->> 'case')",
                           **extra_context)


class AuditEvent(models.Model):
    seq = models.BigIntegerField(primary_key=True)
    at = models.DateTimeField(db_index=True)
    actor_id = models.CharField(max_length=64, blank=True, db_index=True)
    organization_id = models.CharField(max_length=64, blank=True, db_index=True)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True, db_index=True)
    request_id = models.CharField(max_length=32, blank=True)
    data = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-seq"]
        # One record's history, newest first, without reading the whole log (the case page).
        indexes = [
            models.Index("object_id", models.F("seq").desc(), name="audit_event_object"),
            models.Index(CaseRef("data"), models.F("seq").desc(), name="audit_event_case"),
            # The log page, newest first: an organization's events, one staff member's
            # (audit.selectors.event_list reads them in this order and stops after a page).
            models.Index("organization_id", models.F("seq").desc(), name="audit_event_org"),
            models.Index("actor_id", models.F("seq").desc(), name="audit_event_actor"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action}"


class AuditHead(models.Model):
    """The chain's tip, one row. Appending locks it, so concurrent writers queue in order."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"head #{self.seq}"
