"""Is the server sealed? Asked by the middleware on every request, so it must be cheap:
one status round trip to the agent over its Unix socket (no database query)."""

from __future__ import annotations

from haven.keyring import client


def is_sealed() -> bool:
    """True unless a running key agent holds a master key."""
    status = client.status()
    return status is None or not status.get("unsealed", False)
