"""`haven serve`, `haven demo` and `haven demo-code`."""

from __future__ import annotations

import io
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from haven import gunicorn_conf
from haven.access.roles import Role
from haven.accounts.models import Organization, User
from haven.audit.models import AuditEvent
from haven.audit.services import verify
from haven.core.management.commands import serve
from haven.demo.management.commands.demo import demo_password
from tests.browser.support import (
    free_port,
    haven_command,
    haven_env,
    run_haven,
    serving,
    wait_for,
)
from tests.factories.accounts import OrganizationFactory, UserFactory


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


# --- serve ---------------------------------------------------------------------------------------


@pytest.fixture
def execv(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    calls: list[list[str]] = []
    monkeypatch.setattr(serve.os, "execv", lambda _path, argv: calls.append(list(argv)))
    return calls


@pytest.mark.django_db
def test_serve_runs_gunicorn_with_the_haven_config(execv: list[list[str]]) -> None:
    run("serve", "--port", "8123", "--workers", "3")
    (argv,) = execv
    assert argv[1:3] == ["-m", "gunicorn"]
    assert argv[argv.index("--config") + 1] == "python:haven.gunicorn_conf"
    assert argv[argv.index("--bind") + 1] == "127.0.0.1:8123"
    assert argv[argv.index("--workers") + 1] == "3"
    assert argv[-1] == "haven.wsgi:application"


@pytest.mark.django_db
def test_serve_takes_the_port_from_haven_port(
    execv: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HAVEN_PORT", "8222")
    run("serve")
    assert "127.0.0.1:8222" in execv[0]


@pytest.mark.django_db
def test_serve_brackets_an_ipv6_host(execv: list[list[str]]) -> None:
    run("serve", "--host", "::1", "--port", "8000")
    assert "[::1]:8000" in execv[0]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args",
    [
        ["--port", "0"],
        ["--port", "70000"],
        ["--port", "http"],
        ["--workers", "0"],
        ["--workers", "many"],
        ["--host", "bad host;rm"],
    ],
)
def test_serve_refuses_bad_options(execv: list[list[str]], args: list[str]) -> None:
    with pytest.raises(CommandError) as info:
        run("serve", *args)
    assert info.value.returncode == 2
    assert execv == []


@pytest.mark.django_db
def test_serve_refuses_a_bad_haven_port(
    execv: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HAVEN_PORT", "eighty")
    with pytest.raises(CommandError, match="HAVEN_PORT"):
        run("serve")
    assert execv == []


def test_gunicorn_access_log_leaves_out_query_string_address_and_agent() -> None:
    fmt = gunicorn_conf.access_log_format
    for atom in ("%(q)s", "%(r)s", "%(h)s", "%(a)s", "%(f)s", "%(u)s"):
        assert atom not in fmt
    assert "%(U)s" in fmt
    assert gunicorn_conf.workers == 2
    handlers = gunicorn_conf.logconfig_dict["handlers"]
    assert all(h["stream"] == "ext://sys.stderr" for h in handlers.values())


@pytest.mark.slow
def test_real_server_serves_with_security_headers_and_logs_no_query(tmp_path: Path) -> None:
    with serving(tmp_path, workers=1) as server:
        url = server.url("/accounts/login/?q=Needle-Name-Searched")
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback http
            headers = response.headers
            assert response.status == 200
        assert headers["Server"].startswith("gunicorn")
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["X-Content-Type-Options"] == "nosniff"
    log = server.log.read_text()
    assert '"GET /accounts/login/" 200' in log
    assert "Needle" not in log
    assert "127.0.0.1 -" not in log


def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    result = run_haven(["serve", "--port", "1"], haven_env(tmp_path), check=False)
    assert result.returncode == 2
    assert "haven migrate" in result.stderr


# --- demo ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_demo_creates_a_demo_org_with_one_enrolled_user_per_role() -> None:
    output = run("demo")
    org = Organization.objects.get(slug="demo")
    assert org.is_demo
    for role in Role:
        user = User.objects.get(username=role.value)
        assert user.organization == org
        assert user.role == role.value
        assert user.check_password(demo_password(role.value))
        assert TOTPDevice.objects.filter(user=user, confirmed=True).count() == 1
        assert StaticDevice.objects.get(user=user).token_set.count() == 10
        assert role.value in output
        assert demo_password(role.value) in output
    assert "haven demo-code coordinator" in output
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"organization.created", "user.created", "auth.second_factor_enrolled"} <= actions
    assert verify().ok


@pytest.mark.django_db
def test_demo_is_idempotent_and_restores_changed_demo_users() -> None:
    run("demo")
    coordinator = User.objects.get(username="coordinator")
    device = TOTPDevice.objects.get(user=coordinator)
    coordinator.set_password("something else entirely")
    coordinator.is_active = False
    coordinator.failed_logins = 3
    coordinator.save()
    run("demo", "--quiet")
    assert Organization.objects.filter(slug="demo").count() == 1
    assert User.objects.count() == len(Role)
    coordinator.refresh_from_db()
    assert coordinator.is_active
    assert coordinator.failed_logins == 0
    assert coordinator.check_password(demo_password("coordinator"))
    assert list(TOTPDevice.objects.filter(user=coordinator)) == [device]


@pytest.mark.django_db
def test_demo_passwords_pass_the_password_policy() -> None:
    run("demo", "--quiet")
    for role in Role:
        assert authenticate(username=role.value, password=demo_password(role.value)) is not None


@pytest.mark.django_db
def test_demo_refuses_a_real_organization_with_the_demo_slug() -> None:
    OrganizationFactory(slug="demo", is_demo=False)
    with pytest.raises(CommandError, match="not a demo organization") as info:
        run("demo")
    assert info.value.returncode == 2
    assert not User.objects.exists()


@pytest.mark.django_db
def test_demo_refuses_to_take_over_a_real_users_name(org: Organization) -> None:
    UserFactory(username="auditor", organization=org, role=Role.AUDITOR)
    with pytest.raises(CommandError, match="auditor"):
        run("demo")
    assert not Organization.objects.filter(slug="demo").exists()
    assert User.objects.get(username="auditor").organization == org


@pytest.mark.django_db
def test_demo_user_logs_in_with_the_printed_password_and_demo_code() -> None:
    run("demo", "--quiet")
    client = Client()
    response = client.post(
        "/accounts/login/", {"username": "caseworker", "password": demo_password("caseworker")}
    )
    assert response.status_code == 302
    code = run("democode", "caseworker").strip()
    assert len(code) == 6
    assert code.isdigit()
    response = client.post("/accounts/verify/", {"code": code})
    assert response.status_code == 302
    assert b"Caseworker" in client.get("/").content


# --- demo-code -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_demo_code_refuses_users_outside_a_demo_organization(coordinator: User) -> None:
    with pytest.raises(CommandError, match="not in a demo organization") as info:
        run("democode", coordinator.username)
    assert info.value.returncode == 2


@pytest.mark.django_db
def test_demo_code_refuses_unknown_and_unenrolled_users() -> None:
    with pytest.raises(CommandError, match="No user"):
        run("democode", "nobody")
    demo = OrganizationFactory(slug="demo", is_demo=True)
    UserFactory(username="fresh", organization=demo)
    with pytest.raises(CommandError, match="no second factor"):
        run("democode", "fresh")


@pytest.mark.slow
def test_haven_cli_runs_demo_and_demo_code_in_a_real_process(tmp_path: Path) -> None:
    env = haven_env(tmp_path)
    run_haven(["migrate", "--noinput", "-v0"], env)
    output = run_haven(["demo"], env).stdout
    assert "demo-coordinator-haven" in output
    assert run_haven(["demo"], env).returncode == 0
    code = run_haven(["demo-code", "coordinator"], env).stdout.strip()
    assert len(code) == 6
    assert code.isdigit()
    refused = run_haven(["demo-code", "nobody"], env, check=False)
    assert refused.returncode == 2
    assert "No user 'nobody'" in refused.stderr
    assert "audit chain OK" in run_haven(["audit", "verify"], env).stdout



def test_serve_intake_only_routes_no_staff_page(tmp_path: Path) -> None:
    """`haven serve --intake-only` on the real gunicorn: the intake answers; staff pages, the
    API and the inbox do not exist there."""
    env = haven_env(tmp_path)
    run_haven(["migrate", "-v0"], env)
    port = free_port()
    server = subprocess.Popen(
        [*haven_command(), "serve", "--port", str(port), "--workers", "1", "--intake-only"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(base + "/healthz", process=server)
        with urllib.request.urlopen(base + "/intake/", timeout=10) as response:  # noqa: S310
            assert response.status == 200
        for path in ("/accounts/login/", "/cases/", "/api/v1/openapi.json", "/inbox/", "/audit/"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(base + path, timeout=10)  # noqa: S310 - loopback http
            assert refused.value.code == 404, path
    finally:
        server.terminate()
        server.wait(30)
