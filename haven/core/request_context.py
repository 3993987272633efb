"""Per-request facts that deeper layers may need without threading them through every call."""

from __future__ import annotations

from contextvars import ContextVar

request_id: ContextVar[str] = ContextVar("haven_request_id", default="")
