"""Gunicorn settings for Haven's production server (`haven serve` uses this file).

Usable on its own as well: ``gunicorn -c python:haven.gunicorn_conf haven.wsgi:application``.
Values come from the environment; `haven serve --host/--port/--workers` override them.

The access log deliberately leaves out the query string, the client address, the referrer
and the user agent: a URL may carry a search term (a name), and an address may locate a
person. Only method, path, status, size, duration and the request id are written, to stderr.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name) or ""
    if not raw:
        return default
    if not raw.isdigit():
        raise RuntimeError(f"{name}={raw!r} is not a whole number.")
    return int(raw)


_data_dir = Path(os.environ.get("HAVEN_DATA_DIR") or "var").resolve()
_host = os.environ.get("HAVEN_HOST") or "127.0.0.1"
_port = _int("HAVEN_PORT", 8000)

wsgi_app = "haven.wsgi:application"
bind = [f"[{_host}]:{_port}" if ":" in _host else f"{_host}:{_port}"]
workers = _int("HAVEN_WORKERS", 2)
# HAVEN_WORKER_THREADS > 1 selects gunicorn's threaded worker (gthread) with that many threads
# per worker process.
threads = max(1, _int("HAVEN_WORKER_THREADS", 1))
worker_class = "gthread" if threads > 1 else "sync"
proc_name = "haven"

# Timeouts: a stuck worker is replaced after `timeout`; on stop or reload, requests in flight
# get `graceful_timeout` to finish so no acknowledged write is cut off half-way.
timeout = _int("HAVEN_WORKER_TIMEOUT", 60)
graceful_timeout = 30
keepalive = 5

# Refuse oversized request lines and headers before Django sees them.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190

# Files gunicorn creates (control socket, worker heartbeats) are private to the service user;
# heartbeat files go to memory where available, never next to the data.
umask = 0o077
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None  # noqa: S108 - tmpfs, by design
# Gunicorn's control socket (for `gunicornc`) lives with the instance's data, so two instances
# on one machine never share one, and only the service user may connect.
control_socket = str(_data_dir / "run" / "gunicorn.ctl")
control_socket_mode = 0o600
control_socket_disable = len(control_socket) > 100  # a Unix socket path must be short

# Only a proxy on this machine may say a request arrived over TLS.
forwarded_allow_ips = os.environ.get("HAVEN_FORWARDED_ALLOW_IPS") or "127.0.0.1,::1"

access_log_format = '%(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms rid=%({x-request-id}o)s'
errorlog = "-"
loglevel = (os.environ.get("HAVEN_LOG_LEVEL") or "info").lower()
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "root": {"level": "INFO", "handlers": []},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["access"], "propagate": False},
    },
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "generic",
            "stream": "ext://sys.stderr",
        },
        "access": {
            "class": "logging.StreamHandler",
            "formatter": "access",
            "stream": "ext://sys.stderr",
        },
    },
    "formatters": {
        "generic": {
            "format": "%(asctime)s [%(process)d] [%(levelname)s] %(message)s",
            "datefmt": "[%Y-%m-%d %H:%M:%S %z]",
        },
        "access": {"format": "%(message)s"},
    },
}


def on_starting(server: object) -> None:
    (_data_dir / "run").mkdir(parents=True, exist_ok=True, mode=0o700)


def post_worker_init(worker: object) -> None:
    """Once a worker has loaded Django, move everything allocated so far (modules, URL
    patterns, settings) out of the garbage collector's way: a full collection then scans only
    what requests allocate. At a million people a search that reads 1,600 ids set off full
    collections that added up to 55 ms of CPU to one request in twenty."""
    gc.collect()
    gc.freeze()
