"""Holding under a flood: a global rate limit on submissions and log-ins.

A fixed one-minute window counted in the cache: Redis when ``HAVEN_REDIS_URL`` is set (shared
by every worker and node, so truly global), otherwise Django's local-memory cache, where the
count is per worker process and the effective limit is the setting times the workers.
The other two guards do not depend on the cache: the request size limit (checked before the
body is read) and the bounded queue of unread requests (counted in the database, inside the
transaction that would add one).
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache


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
