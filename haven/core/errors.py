"""Errors that services raise and every interface shows to a person.

A ``HavenError`` carries a message written for the person who reads it; views show it as a
form error, the API as a JSON error with ``status``, the command line on stderr with exit 2.
"""

from __future__ import annotations

from collections.abc import Mapping


class HavenError(Exception):
    """A refusal that the user can understand and act on; nothing was changed."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, fields: Mapping[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields: dict[str, list[str]] = dict(fields or {})


class ValidationFailed(HavenError):
    """Input does not meet the rules; ``fields`` says which field and why."""

    status = 400
    code = "validation_failed"


class Conflict(HavenError):
    """The request is valid but the record's state does not allow it now."""

    status = 409
    code = "conflict"


class Stale(Conflict):
    """Someone else saved the record after this person opened it: saving would overwrite
    their change unseen. ``current`` is the record's version now, for a merge and a retry."""

    code = "stale"

    def __init__(self, message: str, *, current: int) -> None:
        super().__init__(message, fields={"version": [message]})
        self.current = current


class NotFound(HavenError):
    """The record does not exist, or the user may not know it exists."""

    status = 404
    code = "not_found"


class Forbidden(HavenError):
    """The user is known but the action is not theirs to take."""

    status = 403
    code = "forbidden"


class Sealed(HavenError):
    """The server holds no key: the request needs an unsealed server."""

    status = 503
    code = "sealed"
