"""`haven token`, `haven user` and `haven org`: the operator's command line."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from haven.accounts import services
from haven.accounts.models import ApiToken, Organization, User
from haven.audit.models import AuditEvent
from tests.browser.support import haven_env, run_haven
from tests.factories.accounts import UserFactory

GOOD_PASSWORD = "a calm river of long words"


def run(*args: str, stdin: str | None = None, monkeypatch: pytest.MonkeyPatch | None = None) -> str:
    if stdin is not None:
        assert monkeypatch is not None
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def refused(*args: str, **kwargs: object) -> CommandError:
    with pytest.raises(CommandError) as info:
        run(*args, **kwargs)  # type: ignore[arg-type]
    assert info.value.returncode == 2
    return info.value


# --- token ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_token_create_prints_a_secret_that_authenticates_as_the_user(caseworker: User) -> None:
    raw = run("token", "create", caseworker.username, "--name", "nightly report").strip()
    assert raw.startswith("hvn_")
    token = ApiToken.objects.get(user=caseworker)
    assert token.name == "nightly report"
    assert raw not in token.key_hash
    found = services.token_authenticate(raw)
    assert found is not None
    assert found.user == caseworker
    response = Client().get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 200
    assert response.json()["username"] == caseworker.username
    assert AuditEvent.objects.filter(action="token.created", object_id=str(token.pk)).exists()


@pytest.mark.django_db
def test_token_list_shows_prefixes_never_secrets(caseworker: User, coordinator: User) -> None:
    raw = run("token", "create", caseworker.username).strip()
    run("token", "create", coordinator.username, "--name", "other")
    everyone = run("token", "list")
    assert caseworker.username in everyone
    assert coordinator.username in everyone
    assert raw not in everyone
    assert raw[:12] in everyone
    only = run("token", "list", caseworker.username)
    assert coordinator.username not in only.split("\n", 1)[1]


@pytest.mark.django_db
def test_token_list_with_no_tokens(caseworker: User) -> None:
    assert "No tokens" in run("token", "list", caseworker.username)


@pytest.mark.django_db
def test_token_revoke_stops_the_token_at_once(caseworker: User) -> None:
    raw = run("token", "create", caseworker.username).strip()
    token = ApiToken.objects.get(user=caseworker)
    assert "Revoked" in run("token", "revoke", str(token.pk))
    with pytest.raises(services.TokenRejected):
        services.token_authenticate(raw)
    assert "revoked" in run("token", "list", caseworker.username)
    assert AuditEvent.objects.filter(action="token.revoked", object_id=str(token.pk)).exists()
    assert "already revoked" in str(refused("token", "revoke", str(token.pk)))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["token", "create", "nobody"], "No user"),
        (["token", "create", "caseworker", "--name", "  "], "name"),
        (["token", "create", "caseworker", "--name", "x" * 101], "name"),
        (["token", "list", "nobody"], "No user"),
        (["token", "revoke", "not-a-uuid"], "not a token id"),
        (["token", "create", "caseworker", "--expires-days", "91"], "1 to 90 days"),
        (["token", "create", "caseworker", "--expires-days", "0"], "1 to 90 days"),
        (["token", "revoke", "00000000-0000-0000-0000-000000000000"], "No such token"),
    ],
)
def test_token_bad_input_is_refused_and_writes_nothing(
    caseworker: User, args: list[str], message: str
) -> None:
    events = AuditEvent.objects.count()
    assert message in str(refused(*args))
    assert not ApiToken.objects.exists()
    assert AuditEvent.objects.count() == events


@pytest.mark.django_db
def test_token_for_a_disabled_user_is_refused(caseworker: User) -> None:
    User.objects.filter(pk=caseworker.pk).update(is_active=False)
    assert "disabled" in str(refused("token", "create", caseworker.username))
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_token_create_takes_an_expiry_and_a_read_only_scope(caseworker: User) -> None:
    raw = run("token", "create", caseworker.username, "--expires-days", "3", "--read-only").strip()
    token = ApiToken.objects.get(user=caseworker)
    assert token.read_only
    assert 2 <= (token.expires_at - timezone.now()).days <= 3
    with pytest.raises(services.TokenReadOnly):
        services.token_authenticate(raw, method="POST")
    listing = run("token", "list", caseworker.username)
    assert "active, read-only" in listing
    assert f"{token.expires_at:%Y-%m-%d}" in listing


# --- user ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_user_unlock_and_reset_second_factor_for_operators(coordinator: User) -> None:
    User.objects.filter(pk=coordinator.pk).update(locked_at=timezone.now())
    assert "Unlocked coordinator" in run("user", "unlock", "coordinator")
    coordinator.refresh_from_db()
    assert not coordinator.is_locked()
    assert "enrol again" in run("user", "reset-second-factor", "coordinator")
    assert not services.has_confirmed_device(coordinator)
    assert AuditEvent.objects.filter(action="user.second_factor_reset", actor_id="").exists()
    assert "No user" in str(refused("user", "unlock", "nobody"))


@pytest.mark.django_db
def test_user_create_reads_the_password_from_stdin(
    org: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = run("user", "create", "first", "--role", "coordinator", "--org", org.slug,
                 stdin=GOOD_PASSWORD + "\n", monkeypatch=monkeypatch)  # fmt: skip
    user = User.objects.get(username="first")
    assert user.organization == org
    assert user.role == "coordinator"
    assert user.check_password(GOOD_PASSWORD)
    assert "second factor" in output
    assert AuditEvent.objects.filter(action="user.created", object_id=str(user.pk)).exists()


@pytest.mark.django_db
def test_user_create_asks_twice_on_a_terminal(
    org: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = iter([GOOD_PASSWORD, GOOD_PASSWORD + " typo"])
    monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
    monkeypatch.setattr("getpass.getpass", lambda _prompt="": next(answers))
    assert "differ" in str(refused("user", "create", "first", "--role", "auditor",
                                   "--org", org.slug))  # fmt: skip
    assert not User.objects.filter(username="first").exists()
    answers = iter([GOOD_PASSWORD, GOOD_PASSWORD])
    run("user", "create", "first", "--role", "auditor", "--org", org.slug)
    assert User.objects.get(username="first").check_password(GOOD_PASSWORD)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["bob", "--role", "coordinator", "--org", "nowhere"], GOOD_PASSWORD, "No organization"),
        (["bob", "--role", "king", "--org", "test-org"], GOOD_PASSWORD, "not a role"),
        (["bob", "--role", "caseworker", "--org", "test-org"], "", "No password"),
        (["bob", "--role", "caseworker", "--org", "test-org"], "short\n", "too short"),
        (["bob", "--role", "caseworker", "--org", "test-org"], "password1234\n", "too common"),
        (["b o b", "--role", "caseworker", "--org", "test-org"], GOOD_PASSWORD, "username"),
        (["coordinator", "--role", "caseworker", "--org", "test-org"], GOOD_PASSWORD, "taken"),
        (["bob", "--role", "caseworker", "--org", "test-org", "--language", "fr"],
         GOOD_PASSWORD, "language"),
    ],
)  # fmt: skip
def test_user_create_bad_input_is_refused_and_writes_nothing(
    coordinator: User, monkeypatch: pytest.MonkeyPatch, args: list[str], stdin: str, message: str
) -> None:
    users, events = User.objects.count(), AuditEvent.objects.count()
    error = refused("user", "create", *args, stdin=stdin, monkeypatch=monkeypatch)
    assert message in str(error)
    assert User.objects.count() == users
    assert AuditEvent.objects.count() == events


@pytest.mark.django_db
def test_user_list_shows_state(org: Organization, coordinator: User, caseworker: User) -> None:
    User.objects.filter(pk=caseworker.pk).update(is_active=False)
    other = UserFactory(username="elsewhere")
    listing = run("user", "list", "--org", org.slug)
    assert "coordinator" in listing
    assert "disabled" in listing
    assert other.username not in listing
    assert other.username in run("user", "list")


# --- org -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_org_create_makes_a_real_not_a_demo_organization() -> None:
    output = run("org", "create", "rescue-north", "--name", "Rescue North")
    org = Organization.objects.get(slug="rescue-north")
    assert org.name == "Rescue North"
    assert not org.is_demo
    assert "haven user create" in output
    assert AuditEvent.objects.filter(action="organization.created", object_id=str(org.pk)).exists()
    assert "rescue-north" in run("org", "list")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("slug", "name", "message"),
    [
        ("Bad Slug", "Name", "slug"),
        ("test-org", "Name", "taken"),
        ("ok-slug", "   ", "name"),
        ("x" * 65, "Name", "slug"),
    ],
)
def test_org_create_bad_input_is_refused_and_writes_nothing(
    org: Organization, slug: str, name: str, message: str
) -> None:
    orgs, events = Organization.objects.count(), AuditEvent.objects.count()
    assert message in str(refused("org", "create", slug, "--name", name))
    assert Organization.objects.count() == orgs
    assert AuditEvent.objects.count() == events


# --- the real `haven` executable -----------------------------------------------------------------


@pytest.mark.slow
def test_bootstrap_first_coordinator_and_token_through_the_haven_executable(tmp_path: Path) -> None:
    env = haven_env(tmp_path)
    run_haven(["migrate", "--noinput", "-v0"], env)
    run_haven(["org", "create", "rescue", "--name", "Rescue"], env)
    created = run_haven(["user", "create", "ana", "--role", "coordinator", "--org", "rescue"],
                        env, stdin=GOOD_PASSWORD + "\n")  # fmt: skip
    assert "Created ana" in created.stdout
    token = run_haven(["token", "create", "ana", "--name", "script"], env)
    raw = token.stdout.strip()
    assert raw.startswith("hvn_")
    assert "shown only now" in token.stderr
    listing = run_haven(["token", "list", "ana"], env).stdout
    assert raw not in listing
    token_id = listing.splitlines()[1].split()[0]
    assert "Revoked" in run_haven(["token", "revoke", token_id], env).stdout
    again = run_haven(["token", "revoke", token_id], env, check=False)
    assert again.returncode == 2
    assert "already revoked" in again.stderr
    bad = run_haven(["user", "create", "bo", "--role", "coordinator", "--org", "rescue"],
                    env, stdin="short\n", check=False)  # fmt: skip
    assert bad.returncode == 2
    assert "too short" in bad.stderr
    assert "bo " not in run_haven(["user", "list"], env).stdout
    assert "audit chain OK" in run_haven(["audit", "verify"], env).stdout
