from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from django.db import OperationalError, connection, connections, transaction

from haven.audit.models import AuditEvent
from haven.audit.services import verify
from haven.core import request_context
from haven.intake import flood, services
from haven.intake.budget import Refusal
from haven.intake.group_commit import GroupCommit, NotStored, writer_turn
from haven.intake.models import IntakeKey, Request
from haven.intake.services import submit as submit_module
from haven.intake.services.submit import ROW_OVERHEAD
from tests.intake.conftest import submit

JOIN_SECONDS = 60


def _run_threads(count: int, target: Any) -> list[BaseException]:
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            target(n)
        except BaseException as exc:  # noqa: BLE001 - reported to the test below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(JOIN_SECONDS)
    assert not any(t.is_alive() for t in threads), "a submitter never returned"
    return errors


class _Writer:
    """A fake ``write`` that holds its first batch until told, so the rest queue up."""

    def __init__(self, *, fail: bool = False) -> None:
        self.batches: list[list[int]] = []
        self.release = threading.Event()
        self.entered = threading.Event()
        self.committed: set[int] = set()
        self.fail = fail

    def __call__(self, items: Sequence[int]) -> list[int]:
        first = not self.batches
        self.batches.append(list(items))
        if first:
            self.entered.set()
            assert self.release.wait(JOIN_SECONDS)
        if self.fail and first:
            raise OperationalError("disk I/O error")
        self.committed.update(items)
        return [n * 10 for n in items]


def test_submissions_that_arrive_together_share_one_write_and_each_gets_its_own_outcome(
) -> None:
    writer = _Writer()
    group: GroupCommit[int, int] = GroupCommit(writer)
    outcomes: dict[int, int] = {}
    first = threading.Thread(target=lambda: outcomes.__setitem__(0, group.submit(0)))
    first.start()
    assert writer.entered.wait(JOIN_SECONDS)

    def late(n: int) -> None:
        outcome = group.submit(n + 1)
        # Answered only once the write holding this item has returned (committed).
        assert n + 1 in writer.committed
        outcomes[n + 1] = outcome

    waiting = threading.Thread(target=lambda: _run_threads(7, late))
    waiting.start()
    while len(group._queue) < 7:
        time.sleep(0.005)
    writer.release.set()
    first.join(JOIN_SECONDS)
    waiting.join(JOIN_SECONDS)
    assert outcomes == {n: n * 10 for n in range(8)}
    assert writer.batches[0] == [0]
    assert sorted(writer.batches[1]) == list(range(1, 8))  # one write for all that waited
    assert len(writer.batches) == 2


def test_a_failed_write_tells_every_submitter_in_it_and_the_next_batch_still_runs() -> None:
    writer = _Writer(fail=True)
    group: GroupCommit[int, int] = GroupCommit(writer)
    errors: list[BaseException] = []

    def submit_one(n: int) -> None:
        try:
            group.submit(n)
        except NotStored as exc:
            errors.append(exc)

    first = threading.Thread(target=submit_one, args=(0,))
    first.start()
    assert writer.entered.wait(JOIN_SECONDS)
    writer.release.set()
    first.join(JOIN_SECONDS)
    assert len(errors) == 1
    assert isinstance(errors[0].__cause__, OperationalError)  # what the fault pages classify
    assert group.submit(5) == 50  # the lead was handed back: nothing is stuck
    assert writer.committed == {5}


@pytest.mark.django_db
def test_inside_a_transaction_the_item_is_written_alone_by_the_caller() -> None:
    calls: list[tuple[list[int], int, bool]] = []

    def write(items: Sequence[int]) -> list[int]:
        calls.append((list(items), threading.get_ident(), connection.in_atomic_block))
        return list(items)

    group: GroupCommit[int, int] = GroupCommit(write)
    with transaction.atomic():
        assert group.submit(3) == 3
    assert calls == [([3], threading.get_ident(), True)]


def test_writer_turns_exclude_each_other_within_one_process(tmp_path: Path,
                                                            settings: Any) -> None:
    settings.RUN_DIR = tmp_path / "run"
    order: list[str] = []
    inside = threading.Event()
    leave = threading.Event()

    def holder() -> None:
        with writer_turn():
            order.append("first in")
            inside.set()
            leave.wait(JOIN_SECONDS)
            order.append("first out")

    def second() -> None:
        with writer_turn():
            order.append("second in")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(type(connection), "vendor", "sqlite", raising=False)
        one = threading.Thread(target=holder)
        one.start()
        assert inside.wait(JOIN_SECONDS)
        two = threading.Thread(target=second)
        two.start()
        time.sleep(0.2)
        assert order == ["first in"]  # the second waits for the first
        leave.set()
        one.join(JOIN_SECONDS)
        two.join(JOIN_SECONDS)
    assert order == ["first in", "first out", "second in"]
    assert (tmp_path / "run" / "intake-writer.lock").stat().st_mode & 0o077 == 0


# --- the real service on the real (file) database ------------------------------------------------


def _committed(pk: Any) -> bool:
    """Is the request visible to a brand-new connection, i.e. committed?"""
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM intake_request WHERE id = %s",
                           [Request._meta.pk.get_db_prep_value(pk, other)])
            return bool(cursor.fetchone()[0])
    finally:
        other.close()


@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_are_each_durable_and_audited_before_they_are_answered(
        plain_key: IntakeKey, monkeypatch: pytest.MonkeyPatch) -> None:
    batches: list[int] = []
    real_write = submit_module._submissions._write
    gate = threading.Event()

    def observed(items: Sequence[Any]) -> Any:
        batches.append(len(items))
        if len(batches) == 1:
            gate.wait(5)  # hold the first batch so the others queue behind it
        return real_write(items)

    monkeypatch.setattr(submit_module._submissions, "_write", observed)
    answered: dict[int, services.Submitted] = {}

    def one(n: int) -> None:
        request_context.request_id.set(f"rid-{n}")
        done = submit(plain_key)
        # Seen from another connection the moment it is answered: it was committed.
        assert _committed(done.request.pk), "answered before its transaction committed"
        answered[n] = done

    def release_when_queued() -> None:
        deadline = time.monotonic() + 5
        while len(submit_module._submissions._queue) < 9 and time.monotonic() < deadline:
            time.sleep(0.005)
        gate.set()

    releaser = threading.Thread(target=release_when_queued)
    releaser.start()
    errors = _run_threads(10, one)
    releaser.join(JOIN_SECONDS)
    assert errors == []
    assert sum(batches) == 10
    assert max(batches) > 1  # some of them shared a transaction
    assert Request.objects.count() == 10
    events = {e.object_id: e for e in AuditEvent.objects.filter(action="request.received")}
    assert set(events) == {str(s.request.pk) for s in answered.values()}
    for n, done in answered.items():
        assert events[str(done.request.pk)].request_id == f"rid-{n}"  # its own, not the leader's
        found, _key = services.requester_login(intake_key=plain_key, codename=done.codename)
        assert found.pk == done.request.pk
    assert verify().ok


@pytest.mark.django_db(transaction=True)
def test_a_submission_whose_commit_fails_is_refused_and_leaves_nothing(
        plain_key: IntakeKey, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_commit(self: Any) -> None:
        raise OperationalError("disk I/O error")

    with monkeypatch.context() as patch:
        patch.setattr(type(connections["default"]), "_commit", failing_commit)
        with pytest.raises(NotStored) as exc:
            submit(plain_key)
    assert isinstance(exc.value.__cause__, OperationalError)
    connection.close()
    assert Request.objects.count() == 0
    assert not AuditEvent.objects.filter(action="request.received").exists()
    assert submit(plain_key).request.pk  # and the next one goes through


def _pending(key: IntakeKey, *, lineage: bytes | None = None, seq: int | None = None,
             form: bytes | None = None) -> Any:
    req = Request(organization_id=key.organization_id, intake_key=key,
                  urgency="now", urgency_rank=0, lookup_tag=secrets.token_bytes(32),
                  kdf_log2_n=10, reply_public_key=b"k" * 32, payload=b"p" * 1000,
                  lineage_tag=lineage, form_tag=form)
    return submit_module._Pending(request=req, request_id="", seq=seq)


@pytest.mark.django_db
def test_the_room_on_disk_holds_inside_one_batch(plain_key: IntakeKey,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    submit(plain_key)
    per_request = 1000 + ROW_OVERHEAD
    monkeypatch.setattr(flood, "room", lambda: 2 * per_request + 10)
    with transaction.atomic():
        outcomes = submit_module._store_submissions([_pending(plain_key) for _ in range(4)])
    assert [isinstance(o, Request) for o in outcomes] == [True, True, False, False]
    assert outcomes[2:] == [Refusal.FULL, Refusal.FULL]
    assert Request.objects.count() == 3
    assert AuditEvent.objects.filter(action="request.received").count() == 3


@pytest.mark.django_db
def test_one_session_gets_one_request_per_token_sequence_inside_one_batch(
        plain_key: IntakeKey) -> None:
    lineage = secrets.token_bytes(16)
    batch = [_pending(plain_key, lineage=lineage, seq=0, form=secrets.token_bytes(16))
             for _ in range(3)]
    spent_form = secrets.token_bytes(16)
    batch += [_pending(plain_key, lineage=secrets.token_bytes(16), seq=0, form=spent_form),
              _pending(plain_key, lineage=secrets.token_bytes(16), seq=0, form=spent_form)]
    with transaction.atomic():
        outcomes = submit_module._store_submissions(batch)
    assert [o if isinstance(o, Refusal) else "stored" for o in outcomes] == [
        "stored", Refusal.USED, Refusal.USED, "stored", Refusal.USED]
    assert Request.objects.filter(lineage_tag=lineage).count() == 1
