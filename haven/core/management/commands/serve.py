"""`haven serve`: run Haven under gunicorn, the production server (never `runserver`)."""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

MAX_WORKERS = 64


def _port(raw: str, source: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise CommandError(f"{source}={raw!r} is not a port number (1–65535).", returncode=2)
    return int(raw)


def _host(raw: str) -> str:
    try:
        ipaddress.ip_address(raw)
    except ValueError:
        if not raw or len(raw) > 253 or not all(c.isalnum() or c in ".-" for c in raw):
            raise CommandError(
                f"--host {raw!r} is neither an IP address nor a host name.", returncode=2
            ) from None
    return raw


def gunicorn_argv(*, host: str, port: int, workers: int) -> list[str]:
    """The command line that runs gunicorn with Haven's configuration."""
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return [
        sys.executable, "-m", "gunicorn",
        "--config", "python:haven.gunicorn_conf",
        "--bind", bind,
        "--workers", str(workers),
        "haven.wsgi:application",
    ]  # fmt: skip


class Command(BaseCommand):
    help = "Serve Haven with gunicorn on HOST:PORT (default 127.0.0.1:8000, or $HAVEN_PORT)."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--host",
            default=os.environ.get("HAVEN_HOST") or "127.0.0.1",
            help="address to listen on (default 127.0.0.1; $HAVEN_HOST)",
        )
        parser.add_argument(
            "--port", default=None, help="port to listen on (default 8000; $HAVEN_PORT)"
        )
        parser.add_argument(
            "--workers", default=None, help="worker processes (default 2; $HAVEN_WORKERS)"
        )
        parser.add_argument(
            "--intake-only",
            action="store_true",
            help="serve only the public intake pages: no staff route exists",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        host = _host(options["host"])
        if options["port"] is not None:
            port = _port(str(options["port"]), "--port")
        else:
            port = _port(os.environ.get("HAVEN_PORT") or "8000", "HAVEN_PORT")
        raw_workers = str(options["workers"] or os.environ.get("HAVEN_WORKERS") or "2")
        if not raw_workers.isdigit() or not 1 <= int(raw_workers) <= MAX_WORKERS:
            raise CommandError(f"--workers {raw_workers!r} must be 1–{MAX_WORKERS}.", returncode=2)

        self._require_migrated()
        for folder in (settings.DATA_DIR, settings.LOG_DIR, settings.RUN_DIR):
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        if options["intake_only"]:
            # The workers inherit this and route haven.intake_urls only (settings.py).
            os.environ["HAVEN_INTAKE_ONLY"] = "1"
        argv = gunicorn_argv(host=host, port=port, workers=int(raw_workers))
        self.stdout.write(
            f"Haven on http://{'[' + host + ']' if ':' in host else host}:{port}/ "
            f"({raw_workers} gunicorn workers; Ctrl-C stops)"
        )
        self.stdout.flush()
        # Replace this process: gunicorn receives the signals (Ctrl-C, SIGTERM) directly and
        # shuts down gracefully, and no second Python process stays around holding memory.
        os.execv(sys.executable, argv)  # noqa: S606 - fixed argv, no shell

    def _require_migrated(self) -> None:
        connection = connections[DEFAULT_DB_ALIAS]
        try:
            executor = MigrationExecutor(connection)
            plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        except Exception as exc:  # any database failure is reported the same way
            raise CommandError(f"The database cannot be reached: {exc}", returncode=2) from exc
        if plan:
            raise CommandError(
                f"The database has {len(plan)} unapplied migrations: run `haven migrate` first.",
                returncode=2,
            )
