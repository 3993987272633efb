"""Group commit: submissions that arrive together share one transaction and one fsync.

Every acknowledged intake request must survive a power cut, so SQLite runs with
``synchronous=FULL`` and each commit waits for the disk. Committing each submission alone
makes every one of them wait for its own fsync, in turn, behind one write lock. Here the
threads of a worker process that want to store a submission at the same moment queue up;
one of them (the *leader*) writes the whole queue in one transaction and commits it, and
the others wait until that commit has returned. Nobody is answered before the transaction
holding their own row is durable, exactly as before; the disk is just asked once for many.

This is the classic leader/follower group commit (as in database write-ahead logs): no
background thread, no delay added to wait for company — a batch is whatever queued up while
the previous commit was running, so a lone request is written at once, as before.

A batch is all-or-nothing: if its transaction fails, every submission in it is told so
(nothing of any of them was stored). A caller already inside a transaction writes its own
item alone, in its own transaction: it must not commit other threads' rows, nor have them
depend on a transaction it might still roll back.

Across worker processes, the leaders of an SQLite database take turns on a file lock
(``writer_turn``) before they begin. SQLite would serialize them anyway, but a writer that
finds the database locked polls with growing sleeps (up to 100 ms each), which is where
the slowest responses came from; a blocked ``flock`` is woken the moment the lock is free.
The lock orders writers only; SQLite's own locking still guarantees correctness, and other
writers (staff pages, the API) do not take it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Generic, TypeVar

from django.conf import settings
from django.db import connection

Item = TypeVar("Item")
Outcome = TypeVar("Outcome")


class NotStored(Exception):
    """The transaction that was to store this submission failed; nothing of it was stored.
    The cause (``__cause__``) is the database's error, which the fault pages classify."""


class _Slot(Generic[Item, Outcome]):
    __slots__ = ("done", "error", "item", "lead", "outcome", "wake")

    def __init__(self, item: Item) -> None:
        self.item = item
        self.wake = threading.Event()
        self.lead = False
        self.done = False
        self.outcome: Outcome | None = None
        self.error: BaseException | None = None


class GroupCommit(Generic[Item, Outcome]):
    """Runs ``write(items)`` for batches of concurrently submitted items.

    ``write`` stores the items in one transaction and returns one outcome per item, in
    order; it must commit before it returns (so a returned outcome is durable) and raise if
    the batch as a whole failed.
    """

    def __init__(self, write: Callable[[Sequence[Item]], Sequence[Outcome]], *,
                 max_batch: int = 64,
                 turn: Callable[[], AbstractContextManager[None]] | None = None) -> None:
        self._write = write
        self._turn = turn or contextlib.nullcontext
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[_Slot[Item, Outcome]] = []
        self._leading = False

    def submit(self, item: Item) -> Outcome:
        """Store ``item`` (alone or with others) and return its outcome once committed."""
        if connection.in_atomic_block:
            return self._write([item])[0]
        slot: _Slot[Item, Outcome] = _Slot(item)
        with self._lock:
            self._queue.append(slot)
            if not self._leading:
                self._leading = slot.lead = True
        if not slot.lead:
            slot.wake.wait()  # set when our batch is done, or when we are made the leader
        if not slot.done:
            self._lead()
        if slot.error is not None:
            raise NotStored("The submission was not stored.") from slot.error
        return slot.outcome  # type: ignore[return-value]  # set with done, error is None

    def _lead(self) -> None:
        with self._lock:
            # The leader's own slot is first in the queue (it found none leading, or it was
            # handed the lead as the queue's head), so it is always in its own batch.
            batch, self._queue[:self.max_batch] = self._queue[:self.max_batch], []
        try:
            with self._turn():
                outcomes = self._write([s.item for s in batch])
            for s, outcome in zip(batch, outcomes, strict=True):  # one outcome per item
                s.outcome = outcome
        except BaseException as exc:  # every waiter must learn the batch's fate, then re-raise
            for s in batch:
                s.error = exc
            if not isinstance(exc, Exception):
                self._finish(batch)
                raise
        self._finish(batch)

    def _finish(self, batch: list[_Slot[Item, Outcome]]) -> None:
        with self._lock:
            for s in batch:
                s.done = True
            if self._queue:
                successor = self._queue[0]
                successor.lead = True
                successor.wake.set()
            else:
                self._leading = False
        for s in batch:
            s.wake.set()


@contextlib.contextmanager
def writer_turn() -> Iterator[None]:
    """Wait for this process's turn to write to the SQLite database (see the module's doc).

    A fresh open file per turn, so two threads of one process exclude each other too; the
    kernel drops the lock when the file is closed or the process dies. Nothing to do for
    other databases, whose writers queue on row locks without polling.
    """
    if connection.vendor != "sqlite":
        yield
        return
    path = Path(settings.RUN_DIR) / "intake-writer.lock"
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except FileNotFoundError:  # no run folder yet (`haven serve` makes it; tests may not)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
