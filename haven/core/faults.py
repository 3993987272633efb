"""Storage faults: a full disk or a lost database answer 503 with a clear page, never a crash.

A request that fails because the disk is full or the database cannot be reached has saved
nothing (its transaction rolled back), so the honest answer is "nothing was saved, try again":
a 503 with ``Retry-After``, as HTML for people and JSON for the API. The page is rendered
without the request context, because the context processors (the user, the session) need the
very database that just failed.
"""

from __future__ import annotations

import errno
import logging
import sys
from collections.abc import Iterator
from enum import StrEnum

from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

log = logging.getLogger("haven.faults")

RETRY_AFTER_SECONDS = 30
_DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
_DISK_FULL_TEXT = ("database or disk is full", "no space left on device", "could not extend file",
                   "could not write to file")
_DISK_FULL_SQLSTATE = "53100"  # PostgreSQL disk_full


class Fault(StrEnum):
    DISK_FULL = "disk_full"
    DISK_ERROR = "disk_error"  # the disk refused a write: full (SQLite's WAL index) or failing
    DATABASE_UNAVAILABLE = "database_unavailable"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def classify(exc: BaseException | None) -> Fault | None:
    """Which storage fault ``exc`` (or what it wraps) is, if any."""
    if exc is None:
        return None
    chain = list(_chain(exc))
    for item in chain:
        if isinstance(item, OSError) and item.errno in _DISK_FULL_ERRNOS:
            return Fault.DISK_FULL
        if getattr(item, "sqlstate", None) == _DISK_FULL_SQLSTATE:
            return Fault.DISK_FULL
        if isinstance(item, DatabaseError | OSError) and any(
                text in str(item).lower() for text in _DISK_FULL_TEXT):
            return Fault.DISK_FULL
    for item in chain:
        name = getattr(item, "sqlite_errorname", "") or ""
        if name == "SQLITE_FULL":
            return Fault.DISK_FULL
        if name.startswith("SQLITE_IOERR"):
            return Fault.DISK_ERROR
    if any(isinstance(item, OperationalError | InterfaceError) for item in chain):
        return Fault.DATABASE_UNAVAILABLE
    if any(type(item).__module__.startswith("psycopg") and
           type(item).__name__ in ("OperationalError", "InterfaceError") for item in chain):
        return Fault.DATABASE_UNAVAILABLE
    return None


def message(fault: Fault) -> str:
    if fault == Fault.DISK_FULL:
        return _("Haven cannot save anything right now: the server's disk is full. Nothing from "
                 "your last action was saved. Try again in a few minutes; the operators have "
                 "been alerted.")
    if fault == Fault.DISK_ERROR:
        return _("Haven cannot write to the server's disk right now: it is full or failing. "
                 "Nothing from your last action was saved. Try again in a few minutes; the "
                 "operators have been alerted.")
    return _("Haven cannot reach its database right now. Nothing from your last action was "
             "saved. Try again in a minute; the operators have been alerted.")


def response(request: HttpRequest, fault: Fault, *, public: bool = False,
             exc: BaseException | None = None) -> HttpResponse:
    """The 503 for ``fault``: JSON under /api/, a plain page elsewhere (``public``: styled as
    the intake site). Logs it for operators."""
    exc = exc or sys.exc_info()[1]
    # Database error texts name tables and constraints, never field values (sensitive ones are
    # ciphertext anyway); cut short all the same.
    cause = exc.__cause__ if exc is not None else None
    log.error("storage fault: %s on %s %s (%s: %.200s; %s)", fault, request.method,
              request.path, type(exc).__name__, exc, getattr(cause, "sqlite_errorname", ""))
    if request.path.startswith("/api/"):
        answer: HttpResponse = JsonResponse(
            {"detail": message(fault), "code": str(fault)}, status=503)
    else:
        html = render_to_string("core/unavailable.html", {
            "message": message(fault), "fault": str(fault),
            "stylesheet": "intake/intake.css" if public else "haven/haven.css"})
        answer = HttpResponse(html, status=503)
    answer["Retry-After"] = str(RETRY_AFTER_SECONDS)
    answer["Cache-Control"] = "no-store"
    return answer


def current() -> Fault | None:
    """The storage fault being handled right now (for handler500, inside Django's except)."""
    return classify(sys.exc_info()[1])
