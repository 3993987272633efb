"""The case-history index is an expression index: queries must spell the same expression."""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.db.backends.postgresql.base import DatabaseWrapper as PostgresWrapper

from haven.audit.models import AuditEvent, CaseRef


def _sql(conn: Any) -> str:
    query = AuditEvent.objects.alias(ref=CaseRef("data")).filter(ref="x").query
    sql, _ = query.get_compiler(connection=conn).as_sql()
    return str(sql)


def test_case_ref_is_a_literal_key_on_sqlite_and_postgresql() -> None:
    postgres = PostgresWrapper({"NAME": "unused", "USER": "", "PASSWORD": "", "HOST": "",
                                "PORT": "", "OPTIONS": {}, "TIME_ZONE": None,
                                "CONN_MAX_AGE": 0, "CONN_HEALTH_CHECKS": False,
                                "AUTOCOMMIT": True, "ATOMIC_REQUESTS": False, "TEST": {}})
    assert """("audit_auditevent"."data" ->> 'case')""" in _sql(postgres)
    if connection.vendor == "sqlite":
        assert """json_extract("audit_auditevent"."data", '$.case')""" in _sql(connection)


def test_history_lookup_can_use_the_expression_index(db: None) -> None:
    query = AuditEvent.objects.alias(ref=CaseRef("data")).filter(ref="x").order_by("-seq")[:5]
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # An empty table is cheapest to read whole; ask whether the index *can* serve.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL enable_seqscan = off")
        plan = query.explain()
    assert "audit_event_case" in plan
