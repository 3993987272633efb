from __future__ import annotations

import importlib
from collections.abc import Iterator

import pytest

from haven import gunicorn_conf


@pytest.fixture
def reload_conf(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    yield monkeypatch
    monkeypatch.undo()
    importlib.reload(gunicorn_conf)


def test_sync_workers_by_default(reload_conf: pytest.MonkeyPatch) -> None:
    reload_conf.delenv("HAVEN_WORKER_THREADS", raising=False)
    importlib.reload(gunicorn_conf)
    assert (gunicorn_conf.worker_class, gunicorn_conf.threads) == ("sync", 1)


def test_worker_threads_select_the_threaded_worker(reload_conf: pytest.MonkeyPatch) -> None:
    reload_conf.setenv("HAVEN_WORKER_THREADS", "8")
    importlib.reload(gunicorn_conf)
    assert (gunicorn_conf.worker_class, gunicorn_conf.threads) == ("gthread", 8)


def test_a_bad_thread_count_stops_the_server(reload_conf: pytest.MonkeyPatch) -> None:
    reload_conf.setenv("HAVEN_WORKER_THREADS", "eight")
    with pytest.raises(RuntimeError, match="HAVEN_WORKER_THREADS"):
        importlib.reload(gunicorn_conf)


def test_worker_freezes_what_it_loaded(reload_conf: pytest.MonkeyPatch) -> None:
    import gc

    from haven import gunicorn_conf

    try:
        gunicorn_conf.post_worker_init(object())
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
