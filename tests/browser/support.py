"""Running the real `haven` command and the real production server, for tests that must not
share a database with the test process (browser tests, command-line end-to-end runs).

Nothing here touches Django's database from the test process: every step is a subprocess or
an HTTP request, so it is safe next to Playwright's event loop.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SECRET = "browser-and-cli-test-secret-" + "x" * 24


def haven_command() -> list[str]:
    """The installed `haven` script next to this interpreter (`.venv/bin/haven`)."""
    script = Path(sys.executable).with_name("haven")
    return [str(script)] if script.exists() else [sys.executable, "-m", "haven"]


def haven_env(data_dir: Path, database_url: str | None = None) -> dict[str, str]:
    """An environment for a separate Haven instance in ``data_dir``.

    ``DATABASE_URL`` of the test run is dropped: the instance uses SQLite in its own folder
    unless a database is named for it.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HAVEN_", "DATABASE_URL"))}
    env["DJANGO_SETTINGS_MODULE"] = "haven.settings_demo"  # production + `haven demo`, `haven seed`
    env.update(HAVEN_DATA_DIR=str(data_dir), HAVEN_SECRET_KEY=SECRET, PYTHONUNBUFFERED="1")
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def run_haven(
    args: Sequence[str], env: dict[str, str], *, stdin: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*haven_command(), *args],
        env=env,
        cwd=REPO,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"haven {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        )
    return result


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(
    url: str, *, timeout: float = 30.0, process: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback http
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout} seconds")


class Server:
    """A running `haven serve` (gunicorn): its address and where its logs go."""

    def __init__(self, *, port: int, data_dir: Path, env: dict[str, str], log: Path,
                 shares: list[str]) -> None:
        self.shares = shares  # the demo keys' shares (any 2 of 3 unseal)
        self.port = port
        self.data_dir = data_dir
        self.env = env
        self.log = log
        self.origin = f"http://127.0.0.1:{port}"

    def url(self, path: str) -> str:
        return self.origin + path

    def haven(self, *args: str, stdin: str | None = None) -> str:
        """Run `haven ARGS` against this server's data; its standard output."""
        return run_haven(args, self.env, stdin=stdin).stdout


@contextmanager
def serving(
    data_dir: Path, *, database_url: str | None = None, workers: int = 2
) -> Iterator[Server]:
    """Migrate, load the demo, start `haven serve` on a free port, wait for /healthz; stop it."""
    env = haven_env(data_dir, database_url)
    run_haven(["migrate", "--noinput", "-v0"], env)
    run_haven(["demo", "--quiet", "--no-keys"], env)
    made = run_haven(["keys", "init", "--shares", "3", "--threshold", "2"], env).stdout
    shares = [line.split(":", 1)[1].strip() for line in made.splitlines()
              if line.startswith("share ")]
    assert len(shares) == 3, made
    run_haven(["unseal"], env, stdin="\n".join(shares[:2]) + "\n")
    run_haven(["intake", "init", "--org", "demo"], env)
    port = free_port()
    log = data_dir / "logs" / "server.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*haven_command(), "serve", "--port", str(port), "--workers", str(workers)],
            env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", process=process)
        yield Server(port=port, data_dir=data_dir, env=env, log=log, shares=shares)
    finally:
        # Seal: the key agent is a process of its own and must not outlive the test run.
        run_haven(["seal"], env, check=False)
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def scratch_postgres_database(database_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database next to ``database_url``'s, dropped afterwards."""
    import psycopg

    name = f"haven_e2e_{secrets.token_hex(6)}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urllib.parse.urlsplit(database_url)
    try:
        yield urllib.parse.urlunsplit(parts._replace(path="/" + name))
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def chromium_path() -> str:
    path = os.environ.get("HAVEN_CHROMIUM") or "/usr/bin/chromium"
    if not Path(path).exists():
        found = shutil.which("chromium")
        if found:
            return found
        raise AssertionError(
            f"{path} is missing: install Debian's chromium (`apt-get install chromium`); "
            "`make test` does this when run as root."
        )
    return path
