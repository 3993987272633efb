from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.db import connection, connections
from hypothesis import given, settings
from hypothesis import strategies as st

from haven.accounts.models import User
from haven.audit import services
from haven.audit.models import AuditEvent, AuditHead
from haven.core import request_context
from haven.core.errors import Forbidden


def _chain(n: int) -> list[AuditEvent]:
    return [services.record(actor=None, action="test.done", object_type="thing",
                            object_id=f"id-{i}", data={"i": i}) for i in range(n)]


def test_record_links_each_event_to_the_one_before(db: None) -> None:
    events = _chain(3)
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[0].prev_hash == services.GENESIS
    assert events[1].prev_hash == events[0].hash
    assert events[2].prev_hash == events[1].hash
    head = AuditHead.objects.get()
    assert (head.seq, head.hash) == (3, events[2].hash)
    result = services.verify()
    assert result.ok
    assert (result.checked, result.head_seq, result.head_hash) == (3, 3, events[2].hash)


def test_record_holds_ids_and_the_request_id(caseworker: User) -> None:
    token = request_context.request_id.set("abc123")
    try:
        event = services.record(actor=caseworker, action="thing.changed", object_type="thing",
                                object_id=caseworker.pk)
    finally:
        request_context.request_id.reset(token)
    assert event.actor_id == str(caseworker.pk)
    assert event.organization_id == str(caseworker.organization_id)
    assert event.object_id == str(caseworker.pk)
    assert event.request_id == "abc123"
    assert event.hash == services.event_hash(
        seq=event.seq, at=event.at, actor_id=event.actor_id,
        organization_id=event.organization_id, action=event.action,
        object_type=event.object_type, object_id=event.object_id,
        request_id=event.request_id, data=event.data, prev_hash=event.prev_hash)


def test_event_fields_hold_no_personal_data(caseworker: User) -> None:
    from haven.accounts import services as accounts
    from tests.accounts.helpers import session_request

    accounts.password_change(request=session_request(caseworker), actor=caseworker,
                             old="a long and unusual passphrase", new="another long passphrase")
    accounts.token_create(actor=caseworker, user=caseworker, name="my secret project name")
    names = {"caseworker", "Test organization", "my secret project name", "passphrase"}
    for event in AuditEvent.objects.all():
        text = " ".join([event.actor_id, event.organization_id, event.action, event.object_type,
                         event.object_id, str(event.data)])
        for name in names:
            assert name not in text, (event.action, name)
    field_names = {f.name for f in AuditEvent._meta.get_fields()}
    assert not field_names & {"name", "username", "email", "ip", "user_agent", "text"}


@pytest.mark.parametrize("data", [{"nested": {"a": 1}}, {1: "x"}, {"obj": object()}])
def test_record_refuses_nested_data(db: None, data: dict[object, object]) -> None:
    with pytest.raises(TypeError):
        services.record(actor=None, action="x.y", data=data)  # type: ignore[arg-type]
    assert not AuditEvent.objects.exists()


@given(st.dictionaries(st.text(max_size=10), st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**53), max_value=2**53),
    st.text(max_size=20), st.lists(st.integers(min_value=0, max_value=1000), max_size=3)),
    max_size=4))
@settings(max_examples=30, deadline=None)
def test_hash_is_deterministic_and_sensitive_to_data(data: dict[str, object]) -> None:
    at = datetime(2024, 1, 1, tzinfo=UTC)
    args = {"seq": 1, "at": at, "actor_id": "a", "organization_id": "o", "action": "x",
            "object_type": "t", "object_id": "i", "request_id": "r", "prev_hash": "0" * 64}
    first = services.event_hash(data=data, **args)  # type: ignore[arg-type]
    assert first == services.event_hash(data=dict(data), **args)  # type: ignore[arg-type]
    assert first != services.event_hash(data={**data, "__extra": 1}, **args)  # type: ignore[arg-type]


# --- tampering ------------------------------------------------------------------------------


def test_changed_event_is_detected(db: None) -> None:
    _chain(5)
    AuditEvent.objects.filter(seq=3).update(object_id="someone-else")
    result = services.verify()
    assert not result.ok
    assert result.bad_seq == 3
    assert result.checked == 2
    assert "changed" in result.reason


@pytest.mark.parametrize("field", ["actor_id", "organization_id", "action", "object_type",
                                   "request_id"])
def test_any_changed_field_is_detected(db: None, field: str) -> None:
    _chain(3)
    AuditEvent.objects.filter(seq=2).update(**{field: "forged"})
    assert services.verify().bad_seq == 2


def test_changed_data_or_time_is_detected(db: None) -> None:
    _chain(3)
    AuditEvent.objects.filter(seq=2).update(data={"i": 99})
    assert services.verify().bad_seq == 2
    AuditEvent.objects.filter(seq=2).update(data={"i": 1})
    assert services.verify().ok
    AuditEvent.objects.filter(seq=1).update(at=datetime(2020, 1, 1, tzinfo=UTC))
    assert services.verify().bad_seq == 1


def test_rehashed_change_is_still_detected_by_the_next_link(db: None) -> None:
    events = _chain(4)
    ev = events[1]
    forged = services.event_hash(seq=ev.seq, at=ev.at, actor_id=ev.actor_id,
                                 organization_id=ev.organization_id, action="forged",
                                 object_type=ev.object_type, object_id=ev.object_id,
                                 request_id=ev.request_id, data=ev.data, prev_hash=ev.prev_hash)
    AuditEvent.objects.filter(seq=2).update(action="forged", hash=forged)
    result = services.verify()
    assert result.bad_seq == 3
    assert "link" in result.reason


def test_deleted_event_is_detected(db: None) -> None:
    _chain(5)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE seq = 3")
    result = services.verify()
    assert not result.ok
    assert result.bad_seq == 4
    assert "missing" in result.reason


def test_deleted_first_event_is_detected(db: None) -> None:
    _chain(3)
    AuditEvent.objects.filter(seq=1).delete()
    assert services.verify().bad_seq == 2


def test_deleted_and_renumbered_event_is_detected(db: None) -> None:
    _chain(5)
    AuditEvent.objects.filter(seq=3).delete()
    for seq in (4, 5):
        AuditEvent.objects.filter(seq=seq).update(seq=seq - 1)
    AuditHead.objects.update(seq=4)
    result = services.verify()
    assert not result.ok
    assert result.bad_seq == 3


def test_inserted_event_is_detected(db: None) -> None:
    events = _chain(4)
    for seq in (4, 3):  # make room after #2, highest first
        AuditEvent.objects.filter(seq=seq).update(seq=seq + 1)
    fake = AuditEvent(seq=3, at=events[1].at, actor_id="", organization_id="", action="forged",
                      object_type="", object_id="", request_id="", data={},
                      prev_hash=events[1].hash, hash="f" * 64)
    fake.hash = services.event_hash(
        seq=3, at=fake.at, actor_id="", organization_id="", action="forged", object_type="",
        object_id="", request_id="", data={}, prev_hash=events[1].hash)
    fake.save(force_insert=True)
    result = services.verify()
    assert not result.ok
    assert result.bad_seq == 4  # the moved event's hash covers its old number


def test_inserted_event_with_a_gap_number_is_detected(db: None) -> None:
    _chain(3)
    AuditEvent.objects.create(seq=10, at=datetime(2024, 1, 1, tzinfo=UTC), action="forged",
                              prev_hash="0" * 64, hash="e" * 64)
    result = services.verify()
    assert not result.ok
    assert result.bad_seq == 10


def test_reordered_events_are_detected(db: None) -> None:
    _chain(4)
    with connection.cursor() as cursor:  # swap #2 and #3 through a free number
        cursor.execute("UPDATE audit_auditevent SET seq = 99 WHERE seq = 2")
        cursor.execute("UPDATE audit_auditevent SET seq = 2 WHERE seq = 3")
        cursor.execute("UPDATE audit_auditevent SET seq = 3 WHERE seq = 99")
    result = services.verify()
    assert not result.ok
    assert result.bad_seq == 2
    assert result.checked == 1


def test_cut_tail_is_detected_by_the_head(db: None) -> None:
    _chain(5)
    AuditEvent.objects.filter(seq__gte=4).delete()
    result = services.verify()
    assert not result.ok
    assert result.bad_seq == 4
    assert "removed" in result.reason
    assert result.checked == 3


def test_cut_tail_with_a_forged_head_is_caught_by_an_earlier_noted_head(db: None) -> None:
    events = _chain(5)
    AuditEvent.objects.filter(seq__gte=4).delete()
    AuditHead.objects.update(seq=3, hash=events[2].hash)
    assert services.verify().ok  # self-consistent: only an outside anchor can tell
    assert not services.head_matches(seq=5, digest=events[4].hash)
    assert services.head_matches(seq=3, digest=events[2].hash)


def test_empty_log_verifies(db: None) -> None:
    result = services.verify()
    assert result.ok
    assert (result.checked, result.head_seq, result.head_hash) == (0, 0, services.GENESIS)


def test_verify_as_needs_the_permission_and_records_the_check(
    auditor: User, caseworker: User
) -> None:
    _chain(2)
    with pytest.raises(Forbidden):
        services.verify_as(actor=caseworker)
    assert not AuditEvent.objects.filter(action="audit.verified").exists()
    result = services.verify_as(actor=auditor)
    assert result.ok
    event = AuditEvent.objects.get(action="audit.verified")
    assert event.actor_id == str(auditor.pk)
    assert event.data == {"ok": True, "checked": 2, "bad_seq": None}


# --- concurrency -------------------------------------------------------------------------------

CONCURRENT_SCRIPT = """
import json, threading
import django
django.setup()
from django.core.management import call_command
from django.db import connections, transaction
call_command("migrate", verbosity=0)
from haven.audit import services
from haven.audit.models import AuditEvent
before = AuditEvent.objects.count()  # migrate records some (the pathways reference data load)
errors = []
def append(worker):
    try:
        for i in range(WRITES):
            with transaction.atomic():
                services.record(actor=None, action="test.concurrent", object_id=f"{worker}-{i}")
    except BaseException as exc:
        errors.append(repr(exc))
    finally:
        connections.close_all()
threads = [threading.Thread(target=append, args=(w,)) for w in range(THREADS)]
for t in threads: t.start()
for t in threads: t.join()
r = services.verify()
print(json.dumps({"errors": errors, "ok": r.ok, "checked": r.checked - before,
                  "reason": r.reason}))
"""


def _append_concurrently(threads: int, writes: int) -> None:
    from django.db import transaction

    errors: list[BaseException] = []

    def append(worker: int) -> None:
        try:
            for i in range(writes):
                with transaction.atomic():
                    services.record(actor=None, action="test.concurrent",
                                    object_id=f"{worker}-{i}")
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread below
            errors.append(exc)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=append, args=(w,)) for w in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert errors == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_keep_the_chain_valid() -> None:
    _append_concurrently(6, 10)
    result = services.verify()
    assert result.ok, result.reason
    assert result.checked == 60
    assert AuditHead.objects.get().seq == 60


@pytest.mark.slow
def test_concurrent_appends_on_a_sqlite_file_keep_the_chain_valid(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(HAVEN_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="haven.settings")
    script = CONCURRENT_SCRIPT.replace("WRITES", "15").replace("THREADS", "8")
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome == {"errors": [], "ok": True, "checked": 120, "reason": ""}
