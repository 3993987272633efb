"""Holding under a flood: a global rate limit on submissions and log-ins, and the room left
for new requests on disk.

A fixed one-minute window counted in the cache: Redis when ``HAVEN_REDIS_URL`` is set (shared
by every worker and node, so truly global), otherwise Django's local-memory cache, where the
count is per worker process and the effective limit is the setting times the workers.
The rate limit is a last safety valve: the per-session budgets and form tokens
(``haven.intake.budget``) are checked first, so one client's flood never spends it. The
other guards do not depend on the cache: the request size limit (checked before the body is
read) and the room on disk (``room``, checked inside the transaction that would add a request).
"""

from __future__ import annotations

import logging
import shutil
import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection

log = logging.getLogger("haven.intake")
MB = 1024 * 1024


def _window_key(bucket: str) -> str:
    return f"haven:intake:rate:{bucket}:{int(time.time() // 60)}"


def allow(bucket: str, *, limit: int | None = None) -> bool:
    """Count one event in ``bucket``'s current minute; False once the minute's limit is spent."""
    limit = settings.HAVEN_INTAKE_RATE_PER_MINUTE if limit is None else limit
    key = _window_key(bucket)
    if cache.add(key, 1, timeout=120):
        return True
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=120)
        return True
    return int(count) <= limit


def seconds_to_next_window() -> int:
    return 60 - int(time.time()) % 60


def _database_bytes() -> int:
    """The database's size: its pages on SQLite, ``pg_database_size`` on PostgreSQL."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA page_count")
            pages = cursor.fetchone()[0]
            cursor.execute("PRAGMA page_size")
            return int(pages) * int(cursor.fetchone()[0])
        cursor.execute("SELECT pg_database_size(current_database())")
        return int(cursor.fetchone()[0])


def room() -> int:
    """Bytes that new requests may still take: the free space on the data folder's disk above
    ``HAVEN_INTAKE_DISK_RESERVE_MB`` (kept for staff, the audit log and backups), and below
    ``HAVEN_INTAKE_MAX_DATABASE_MB`` when set (for a database on another disk). The queue is
    bounded by this, not by a count of requests a flood can reach in minutes."""
    free = shutil.disk_usage(settings.DATA_DIR).free - settings.HAVEN_INTAKE_DISK_RESERVE_MB * MB
    if settings.HAVEN_INTAKE_MAX_DATABASE_MB:
        free = min(free, settings.HAVEN_INTAKE_MAX_DATABASE_MB * MB - _database_bytes())
    if free <= 0:
        log.warning("intake refuses new requests: no room left on disk (reserve %s MB)",
                    settings.HAVEN_INTAKE_DISK_RESERVE_MB)
    return free
