from __future__ import annotations

import errno
import json
import sqlite3

import psycopg
import pytest
from django.db import IntegrityError, InterfaceError, OperationalError
from django.test import RequestFactory

from haven.core import faults
from haven.core.faults import Fault


def _wrapped(inner: BaseException, outer: type[Exception]) -> Exception:
    """As Django raises it: its own error class, the driver's error as the cause."""
    wrapped = outer(str(inner))
    wrapped.__cause__ = inner
    return wrapped


def _sqlite(text: str, name: str) -> Exception:
    inner = sqlite3.OperationalError(text)
    inner.sqlite_errorname = name
    return _wrapped(inner, OperationalError)


@pytest.mark.parametrize(("exc", "fault"), [
    (_wrapped(sqlite3.OperationalError("database or disk is full"), OperationalError),
     Fault.DISK_FULL),
    (OSError(errno.ENOSPC, "No space left on device"), Fault.DISK_FULL),
    (_sqlite("disk I/O error", "SQLITE_IOERR_SHMSIZE"), Fault.DISK_ERROR),
    (_sqlite("database or disk is full", "SQLITE_FULL"), Fault.DISK_FULL),
    (_wrapped(psycopg.errors.DiskFull("could not extend file"), OperationalError),
     Fault.DISK_FULL),
    (_wrapped(psycopg.OperationalError("connection refused"), OperationalError),
     Fault.DATABASE_UNAVAILABLE),
    (InterfaceError("connection already closed"), Fault.DATABASE_UNAVAILABLE),
    (psycopg.OperationalError("server closed the connection unexpectedly"),
     Fault.DATABASE_UNAVAILABLE),
    (IntegrityError("UNIQUE constraint failed"), None),
    (ValueError("database or disk is full"), None),
    (OSError(errno.EACCES, "Permission denied"), None),
    (None, None),
])
def test_classify_tells_storage_faults_from_bugs(exc: BaseException | None,
                                                 fault: Fault | None) -> None:
    assert faults.classify(exc) == fault


def test_api_fault_is_json_503_with_retry_after() -> None:
    response = faults.response(RequestFactory().post("/api/v1/cases"), Fault.DISK_FULL)
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    body = json.loads(response.content)
    assert body["code"] == "disk_full"
    assert "Nothing from your last action was saved" in body["detail"]


def test_page_fault_renders_without_the_database() -> None:
    """No ``db`` fixture: rendering must not touch the database that just failed."""
    response = faults.response(RequestFactory().get("/cases/"), Fault.DATABASE_UNAVAILABLE)
    assert response.status_code == 503
    page = response.content.decode()
    assert "cannot reach its database" in page
    assert "haven/haven.css" in page
    public = faults.response(RequestFactory().post("/intake/ask/"), Fault.DISK_FULL, public=True)
    assert "intake/intake.css" in public.content.decode()


def test_handler500_answers_json_under_the_api_and_503_for_a_fault() -> None:
    from haven.core.views import error_500

    bug = error_500(RequestFactory().get("/api/v1/cases"))
    assert bug.status_code == 500
    assert json.loads(bug.content)["code"] == "error"
    def disk_full() -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    try:
        disk_full()
    except OSError:
        full = error_500(RequestFactory().get("/cases/"))
    assert full.status_code == 503
