from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from haven.access.roles import Role
from haven.accounts import services
from haven.accounts.models import ApiToken, Organization, User, UserSession
from haven.audit.services import verify
from haven.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tests.accounts.helpers import (
    code_for,
    counts,
    events,
    make_user,
    session_request,
    wrong_code,
)
from tests.factories.accounts import PASSWORD

# --- password check and lockout ------------------------------------------------------------------


def test_right_password_returns_the_user_and_counts_no_failure(caseworker: User) -> None:
    assert services.password_check(username="caseworker", password=PASSWORD) == caseworker
    caseworker.refresh_from_db()
    assert caseworker.failed_logins == 0
    assert events("auth.login_failed") == []


def test_wrong_password_is_refused_counted_and_audited(caseworker: User) -> None:
    with pytest.raises(services.LoginFailed, match="Wrong username or password"):
        services.password_check(username="caseworker", password="not the password at all")
    caseworker.refresh_from_db()
    assert caseworker.failed_logins == 1
    [event] = events("auth.login_failed")
    assert event.object_id == str(caseworker.pk)
    assert event.organization_id == str(caseworker.organization_id)
    assert event.data == {"stage": "password", "failures": 1}


def test_unknown_username_gets_the_same_message_and_an_audit_event(db: None) -> None:
    with pytest.raises(services.LoginFailed, match="Wrong username or password"):
        services.password_check(username="nobody", password=PASSWORD)
    [event] = events("auth.login_failed")
    assert event.object_id == ""
    assert event.data == {"stage": "password"}


def test_disabled_account_refuses_right_password_like_an_unknown_one(caseworker: User) -> None:
    User.objects.filter(pk=caseworker.pk).update(is_active=False)
    with pytest.raises(services.LoginFailed, match="Wrong username or password"):
        services.password_check(username="caseworker", password=PASSWORD)


def test_threshold_failures_lock_the_account_and_audit_it(caseworker: User, settings: object) -> None:
    threshold = settings.HAVEN_LOCKOUT_THRESHOLD  # type: ignore[attr-defined]
    assert threshold == 5
    for _ in range(threshold - 1):
        with pytest.raises(services.LoginFailed):
            services.password_check(username="caseworker", password="wrong password here")
    with pytest.raises(services.AccountLocked, match="locked"):
        services.password_check(username="caseworker", password="wrong password here")
    caseworker.refresh_from_db()
    assert caseworker.is_locked()
    assert caseworker.locked_until is not None
    expected = timezone.now() + timedelta(minutes=settings.HAVEN_LOCKOUT_MINUTES)  # type: ignore[attr-defined]
    assert abs((caseworker.locked_until - expected).total_seconds()) < 30
    assert len(events("auth.login_failed")) == threshold
    [locked] = events("auth.locked_out")
    assert locked.object_id == str(caseworker.pk)
    assert locked.data == {"minutes": settings.HAVEN_LOCKOUT_MINUTES}  # type: ignore[attr-defined]


def test_locked_account_refuses_right_password(caseworker: User) -> None:
    User.objects.filter(pk=caseworker.pk).update(
        locked_until=timezone.now() + timedelta(minutes=10))
    with pytest.raises(services.AccountLocked) as caught:
        services.password_check(username="caseworker", password=PASSWORD)
    assert "locked" in caught.value.message
    assert "coordinator" in caught.value.message
    assert caught.value.status == 423
    assert len(events("auth.login_refused_locked", object_id=str(caseworker.pk))) == 1


def test_lock_expires_after_the_configured_minutes(caseworker: User, settings: object) -> None:
    for _ in range(4):
        with pytest.raises(services.LoginFailed):
            services.password_check(username="caseworker", password="wrong password here")
    with pytest.raises(services.AccountLocked):
        services.password_check(username="caseworker", password="wrong password here")
    minutes = settings.HAVEN_LOCKOUT_MINUTES  # type: ignore[attr-defined]
    almost = timezone.now() + timedelta(minutes=minutes - 1)
    with mock.patch("django.utils.timezone.now", return_value=almost), \
            pytest.raises(services.AccountLocked):
        services.password_check(username="caseworker", password=PASSWORD)
    later = timezone.now() + timedelta(minutes=minutes, seconds=5)
    with mock.patch("django.utils.timezone.now", return_value=later):
        assert services.password_check(username="caseworker", password=PASSWORD) == caseworker


def test_lockout_threshold_is_configurable(caseworker: User, settings: object) -> None:
    settings.HAVEN_LOCKOUT_THRESHOLD = 2  # type: ignore[attr-defined]
    with pytest.raises(services.LoginFailed):
        services.password_check(username="caseworker", password="wrong password here")
    with pytest.raises(services.AccountLocked):
        services.password_check(username="caseworker", password="wrong password here")


def test_wrong_second_factor_codes_count_and_lock_and_end_the_session(caseworker: User) -> None:
    device = TOTPDevice.objects.get(user=caseworker)
    request = session_request(caseworker)
    services._session_begin(request, caseworker)
    key = request.session.session_key
    for _ in range(4):
        with pytest.raises(services.LoginFailed, match="not valid"):
            services.login_second_factor(request=request, user=caseworker, code=wrong_code(device))
    with pytest.raises(services.AccountLocked):
        services.login_second_factor(request=request, user=caseworker, code=wrong_code(device))
    caseworker.refresh_from_db()
    assert caseworker.is_locked()
    assert [e.data["stage"] for e in events("auth.login_failed")] == ["second_factor"] * 5
    assert len(events("auth.locked_out")) == 1
    assert not Session.objects.filter(session_key=key).exists()
    assert not UserSession.objects.filter(session_key=key).exists()
    with pytest.raises(services.AccountLocked):  # even the right code now
        services.login_second_factor(request=request, user=caseworker, code=code_for(device))


def test_right_code_logs_in_and_resets_the_failure_count(caseworker: User) -> None:
    User.objects.filter(pk=caseworker.pk).update(failed_logins=3)
    caseworker.refresh_from_db()
    device = TOTPDevice.objects.get(user=caseworker)
    request = session_request(caseworker)
    services.login_second_factor(request=request, user=caseworker, code=code_for(device))
    caseworker.refresh_from_db()
    assert caseworker.failed_logins == 0
    assert caseworker.last_login is not None
    assert request.session["otp_device_id"] == device.persistent_id
    assert len(events("auth.logged_in", actor_id=str(caseworker.pk))) == 1


def test_a_totp_code_is_accepted_only_once(caseworker: User) -> None:
    device = TOTPDevice.objects.get(user=caseworker)
    code = code_for(device)
    services.login_second_factor(request=session_request(caseworker), user=caseworker, code=code)
    with pytest.raises(services.LoginFailed):
        services.login_second_factor(request=session_request(caseworker), user=caseworker,
                                     code=code)


def test_coordinator_unlocks_a_locked_account(coordinator: User, caseworker: User) -> None:
    User.objects.filter(pk=caseworker.pk).update(
        locked_until=timezone.now() + timedelta(minutes=10), failed_logins=2)
    services.user_unlock(actor=coordinator, user_id=caseworker.pk)
    caseworker.refresh_from_db()
    assert not caseworker.is_locked()
    assert caseworker.failed_logins == 0
    [event] = events("user.unlocked")
    assert (event.actor_id, event.object_id) == (str(coordinator.pk), str(caseworker.pk))
    assert services.password_check(username="caseworker", password=PASSWORD) == caseworker


def test_caseworker_cannot_unlock(caseworker: User, other_caseworker: User) -> None:
    User.objects.filter(pk=other_caseworker.pk).update(
        locked_until=timezone.now() + timedelta(minutes=10))
    with pytest.raises(Forbidden):
        services.user_unlock(actor=caseworker, user_id=other_caseworker.pk)
    other_caseworker.refresh_from_db()
    assert other_caseworker.is_locked()
    assert events("user.unlocked") == []


def test_coordinator_of_another_organization_cannot_find_our_user(
    outsider: User, caseworker: User
) -> None:
    with pytest.raises(NotFound):
        services.user_unlock(actor=outsider, user_id=caseworker.pk)
    with pytest.raises(NotFound):
        services.user_set_active(actor=outsider, user_id=caseworker.pk, active=False)
    caseworker.refresh_from_db()
    assert caseworker.is_active


# --- recovery codes, enrolment -----------------------------------------------------------------


def test_recovery_code_works_once_only(caseworker: User) -> None:
    codes = services.recovery_codes_regenerate(actor=caseworker)
    assert len(codes) == services.RECOVERY_CODE_COUNT == len(set(codes))
    assert len(events("auth.recovery_codes_replaced", object_id=str(caseworker.pk))) == 1
    services.login_second_factor(request=session_request(caseworker), user=caseworker,
                                 code=codes[0].upper())
    assert len(events("auth.recovery_code_used")) == 1
    with pytest.raises(services.LoginFailed):
        services.login_second_factor(request=session_request(caseworker), user=caseworker,
                                     code=codes[0])
    caseworker.refresh_from_db()
    assert caseworker.failed_logins == 1


def test_regenerating_recovery_codes_voids_the_old_ones(caseworker: User) -> None:
    old = services.recovery_codes_regenerate(actor=caseworker)
    new = services.recovery_codes_regenerate(actor=caseworker)
    assert not set(old) & set(new)
    assert StaticToken.objects.filter(device__user=caseworker).count() == len(new)
    with pytest.raises(services.LoginFailed):
        services.login_second_factor(request=session_request(caseworker), user=caseworker,
                                     code=old[1])


def test_enrolment_confirms_the_device_and_returns_recovery_codes(db: None, org: Organization) -> None:
    user = make_user(organization=org, role=Role.CASEWORKER)
    device = services.totp_device_pending(user=user)
    assert services.totp_device_pending(user=user) == device  # one pending device, reused
    assert not services.has_confirmed_device(user)
    request = session_request(user)
    codes = services.totp_enrol_confirm(request=request, user=user, code=code_for(device))
    device.refresh_from_db()
    assert device.confirmed
    assert len(codes) == services.RECOVERY_CODE_COUNT
    assert StaticDevice.objects.filter(user=user, confirmed=True).count() == 1
    assert services.has_confirmed_device(user)
    [event] = events("auth.second_factor_enrolled")
    assert event.data == {"kind": "totp"}


def test_enrolment_refuses_a_wrong_code_and_confirms_nothing(db: None, org: Organization) -> None:
    user = make_user(organization=org)
    device = services.totp_device_pending(user=user)
    for bad in (wrong_code(device), "abcdef", ""):
        with pytest.raises(ValidationFailed) as caught:
            services.totp_enrol_confirm(request=session_request(user), user=user, code=bad)
        assert "code" in caught.value.fields
    device.refresh_from_db()
    assert not device.confirmed
    assert not StaticDevice.objects.filter(user=user).exists()
    assert events("auth.second_factor_enrolled") == []


def test_enrolment_without_a_pending_device_is_a_conflict(caseworker: User) -> None:
    with pytest.raises(Conflict):
        services.totp_enrol_confirm(request=session_request(caseworker), user=caseworker,
                                    code="123456")


def test_coordinator_resets_a_lost_second_factor(coordinator: User, caseworker: User) -> None:
    services.recovery_codes_regenerate(actor=caseworker)
    request = session_request(caseworker)
    services._session_begin(request, caseworker)
    services.user_reset_second_factor(actor=coordinator, user_id=caseworker.pk)
    assert not TOTPDevice.objects.filter(user=caseworker).exists()
    assert not StaticDevice.objects.filter(user=caseworker).exists()
    assert not UserSession.objects.filter(user=caseworker).exists()
    assert len(events("user.second_factor_reset", object_id=str(caseworker.pk))) == 1


# --- sessions and re-authentication -----------------------------------------------------------


def test_logout_deletes_the_server_side_session(caseworker: User) -> None:
    request = session_request(caseworker)
    services._session_begin(request, caseworker)
    key = request.session.session_key
    assert Session.objects.filter(session_key=key).exists()
    services.logout(request=request)
    assert not Session.objects.filter(session_key=key).exists()
    assert not UserSession.objects.filter(session_key=key).exists()
    [event] = events("auth.logged_out")
    assert event.data == {"reason": "user"}


def test_ending_other_sessions_keeps_the_current_one(caseworker: User) -> None:
    requests = [session_request(caseworker) for _ in range(3)]
    for r in requests:
        services._session_begin(r, caseworker)
    keep = requests[0].session.session_key
    assert services.sessions_end_others(actor=caseworker, keep_key=keep) == 2
    assert list(UserSession.objects.values_list("session_key", flat=True)) == [keep]
    assert Session.objects.filter(session_key=keep).exists()
    for r in requests[1:]:
        assert not Session.objects.filter(session_key=r.session.session_key).exists()
    [event] = events("auth.sessions_ended")
    assert event.data == {"count": 2}


def test_disabling_a_user_ends_all_their_sessions(coordinator: User, caseworker: User) -> None:
    requests = [session_request(caseworker) for _ in range(2)]
    for r in requests:
        services._session_begin(r, caseworker)
    services.user_set_active(actor=coordinator, user_id=caseworker.pk, active=False)
    caseworker.refresh_from_db()
    assert not caseworker.is_active
    assert not Session.objects.filter(
        session_key__in=[r.session.session_key for r in requests]).exists()
    [event] = events("user.disabled")
    assert event.data == {"sessions_ended": 2}
    services.user_set_active(actor=coordinator, user_id=caseworker.pk, active=True)
    assert len(events("user.enabled")) == 1


def test_a_coordinator_cannot_disable_themselves(coordinator: User) -> None:
    with pytest.raises(Conflict):
        services.user_set_active(actor=coordinator, user_id=coordinator.pk, active=False)
    coordinator.refresh_from_db()
    assert coordinator.is_active
    assert events("user.disabled") == []


def test_reauthentication_accepts_password_and_fresh_code(caseworker: User) -> None:
    device = TOTPDevice.objects.get(user=caseworker)
    request = session_request(caseworker)
    request.session[services.SESSION_REAUTH_AT] = 0
    assert not services.recent_auth_ok(request)
    services.reauthenticate(request=request, user=caseworker, password=PASSWORD,
                            code=code_for(device))
    assert services.recent_auth_ok(request)
    assert len(events("auth.reauthenticated")) == 1


@pytest.mark.parametrize("what", ["password", "code"])
def test_reauthentication_refuses_and_counts_a_wrong_password_or_code(
    caseworker: User, what: str
) -> None:
    device = TOTPDevice.objects.get(user=caseworker)
    request = session_request(caseworker)
    password = "wrong password here" if what == "password" else PASSWORD
    code = wrong_code(device) if what == "code" else code_for(device)
    with pytest.raises(services.LoginFailed, match="Wrong password or code"):
        services.reauthenticate(request=request, user=caseworker, password=password, code=code)
    assert not services.recent_auth_ok(request)
    caseworker.refresh_from_db()
    assert caseworker.failed_logins == 1
    [event] = events("auth.login_failed")
    assert event.data["stage"] == "reauth"


def test_failed_reauthentications_lock_and_end_the_session(caseworker: User) -> None:
    request = session_request(caseworker)
    services._session_begin(request, caseworker)
    key = request.session.session_key
    for _ in range(4):
        with pytest.raises(services.LoginFailed):
            services.reauthenticate(request=request, user=caseworker,
                                    password="wrong password here", code="000000")
    with pytest.raises(services.AccountLocked):
        services.reauthenticate(request=request, user=caseworker,
                                password="wrong password here", code="000000")
    assert not Session.objects.filter(session_key=key).exists()
    assert len(events("auth.locked_out")) == 1
    caseworker.refresh_from_db()
    with pytest.raises(services.AccountLocked):
        services.reauthenticate(request=session_request(caseworker), user=caseworker,
                                password=PASSWORD, code="000000")


def test_recent_auth_window_is_five_minutes(caseworker: User, settings: object) -> None:
    assert settings.HAVEN_REAUTH_MINUTES == 5  # type: ignore[attr-defined]
    request = session_request(caseworker)
    now = timezone.now().timestamp()
    request.session[services.SESSION_REAUTH_AT] = now - 4 * 60
    assert services.recent_auth_ok(request)
    request.session[services.SESSION_REAUTH_AT] = now - 5 * 60 - 2
    assert not services.recent_auth_ok(request)


# --- password change ---------------------------------------------------------------------------


def test_password_change_needs_the_current_password(caseworker: User) -> None:
    with pytest.raises(ValidationFailed) as caught:
        services.password_change(actor=caseworker, old="not my password", new="a brand new passphrase")
    assert "old_password" in caught.value.fields
    caseworker.refresh_from_db()
    assert caseworker.check_password(PASSWORD)
    assert events("user.password_changed") == []


@pytest.mark.parametrize("new", ["short", "password1234", "x" * 513, "caseworker123"])
def test_password_change_refuses_weak_passwords(caseworker: User, new: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        services.password_change(actor=caseworker, old=PASSWORD, new=new)
    assert caught.value.fields["new_password"]
    caseworker.refresh_from_db()
    assert caseworker.check_password(PASSWORD)
    assert events("user.password_changed") == []


def test_password_change_stores_an_argon2_hash_and_audits(caseworker: User) -> None:
    services.password_change(actor=caseworker, old=PASSWORD, new="another long passphrase")
    caseworker.refresh_from_db()
    assert caseworker.check_password("another long passphrase")
    assert caseworker.password.startswith("argon2$argon2id$")
    assert len(events("user.password_changed", object_id=str(caseworker.pk))) == 1


# --- creating accounts ---------------------------------------------------------------------------


def test_coordinator_creates_an_account_and_it_is_audited(coordinator: User, org: Organization) -> None:
    user = services.user_create(actor=coordinator, organization=org, username="new.worker",
                                role=Role.VERIFIER, password="a sturdy long passphrase")
    assert user.organization == org
    assert user.role == Role.VERIFIER
    assert user.check_password("a sturdy long passphrase")
    [event] = events("user.created")
    assert event.actor_id == str(coordinator.pk)
    assert event.object_id == str(user.pk)
    assert event.data == {"role": "verifier"}
    assert "new.worker" not in str(event.data)


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"username": ""}, "username"),
        ({"username": "   "}, "username"),
        ({"username": "x" * 65}, "username"),
        ({"username": "has space"}, "username"),
        ({"username": "semi;colon"}, "username"),
        ({"username": "coordinator"}, "username"),  # taken
        ({"role": "admin"}, "role"),
        ({"role": ""}, "role"),
        ({"language": "de"}, "language"),
        ({"password": "short"}, "password"),
        ({"password": "password1234"}, "password"),  # common
        ({"password": "x" * 600}, "password"),
        ({"password": "new.worker.x"}, "password"),  # like the username
    ],
)
def test_user_create_refuses_bad_input_and_writes_nothing(
    coordinator: User, org: Organization, fields: dict[str, str], bad: str
) -> None:
    args = {"username": "new.worker", "role": "caseworker", "password": "a sturdy long passphrase",
            "language": "en", **fields}
    before = counts()
    with pytest.raises(ValidationFailed) as caught:
        services.user_create(actor=coordinator, organization=org, **args)
    assert caught.value.fields[bad], caught.value.fields
    assert "not created" in caught.value.message
    assert counts() == before


def test_caseworker_cannot_create_accounts(caseworker: User, org: Organization) -> None:
    before = counts()
    with pytest.raises(Forbidden):
        services.user_create(actor=caseworker, organization=org, username="sneaky",
                             role="coordinator", password="a sturdy long passphrase")
    assert counts() == before


def test_coordinator_cannot_create_accounts_in_another_organization(
    coordinator: User, other_org: Organization
) -> None:
    with pytest.raises(NotFound):
        services.user_create(actor=coordinator, organization=other_org, username="plant",
                             role="coordinator", password="a sturdy long passphrase")
    assert not User.objects.filter(username="plant").exists()


def test_organization_create_validates_and_audits(db: None) -> None:
    org = services.organization_create(slug="refuge-net", name="Refuge network")
    assert len(events("organization.created", object_id=str(org.pk))) == 1
    before = Organization.objects.count()
    for slug, name in [("Bad Slug", "x"), ("refuge-net", "x"), ("ok-slug", ""), ("", "x"),
                       ("ok-2", "n" * 201)]:
        with pytest.raises(ValidationFailed):
            services.organization_create(slug=slug, name=name)
    assert Organization.objects.count() == before


# --- API tokens -------------------------------------------------------------------------------


def test_token_is_stored_only_as_a_hash(caseworker: User) -> None:
    raw, token = services.token_create(actor=caseworker, user=caseworker, name="script")
    assert raw.startswith(services.TOKEN_PREFIX)
    assert len(raw) > 40
    assert token.key_hash != raw
    assert raw not in token.key_hash
    assert token.prefix == raw[:12]
    secret_part = raw[len(services.TOKEN_PREFIX):]
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - table names from the DB itself
            for row in cursor.fetchall():
                assert secret_part not in repr(row), f"the raw token is stored in {table}"
    [event] = events("token.created")
    assert event.object_id == str(token.pk)
    assert event.data == {"user": str(caseworker.pk)}


def test_token_authenticates_its_user_and_marks_use(caseworker: User) -> None:
    raw, token = services.token_create(actor=None, user=caseworker, name="script")
    assert services.token_authenticate(raw) == caseworker
    token.refresh_from_db()
    assert token.last_used_at is not None


@pytest.mark.parametrize("raw", ["", "hvn_", "nope_abc", "hvn_" + "a" * 200, "hvn_unknown-token"])
def test_unknown_or_malformed_tokens_authenticate_nobody(caseworker: User, raw: str) -> None:
    services.token_create(actor=None, user=caseworker, name="script")
    assert services.token_authenticate(raw) is None


def test_revoked_token_authenticates_nobody(caseworker: User) -> None:
    raw, token = services.token_create(actor=None, user=caseworker, name="script")
    services.token_revoke(actor=caseworker, token_id=token.pk)
    assert services.token_authenticate(raw) is None
    [event] = events("token.revoked")
    assert event.object_id == str(token.pk)
    with pytest.raises(Conflict):
        services.token_revoke(actor=caseworker, token_id=token.pk)
    assert len(events("token.revoked")) == 1


def test_disabled_users_token_authenticates_nobody(coordinator: User, caseworker: User) -> None:
    raw, _ = services.token_create(actor=None, user=caseworker, name="script")
    services.user_set_active(actor=coordinator, user_id=caseworker.pk, active=False)
    assert services.token_authenticate(raw) is None


@pytest.mark.parametrize("name", ["", "   ", "n" * 101])
def test_token_needs_a_sensible_name(caseworker: User, name: str) -> None:
    before = counts()
    with pytest.raises(ValidationFailed) as caught:
        services.token_create(actor=caseworker, user=caseworker, name=name)
    assert "name" in caught.value.fields
    assert counts() == before


def test_no_token_for_a_disabled_account(caseworker: User) -> None:
    User.objects.filter(pk=caseworker.pk).update(is_active=False)
    caseworker.refresh_from_db()
    with pytest.raises(Conflict):
        services.token_create(actor=None, user=caseworker, name="script")
    assert not ApiToken.objects.exists()


def test_caseworker_cannot_make_a_token_for_someone_else(
    caseworker: User, other_caseworker: User
) -> None:
    with pytest.raises(Forbidden):
        services.token_create(actor=caseworker, user=other_caseworker, name="borrowed")
    assert not ApiToken.objects.exists()


def test_coordinator_makes_and_revokes_tokens_in_their_organization_only(
    coordinator: User, caseworker: User, outsider: User
) -> None:
    _, token = services.token_create(actor=coordinator, user=caseworker, name="for them")
    assert token.user == caseworker
    with pytest.raises(NotFound):
        services.token_create(actor=outsider, user=caseworker, name="foreign")
    with pytest.raises(NotFound):
        services.token_revoke(actor=outsider, token_id=token.pk)
    services.token_revoke(actor=coordinator, token_id=token.pk)
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_someone_elses_token_looks_missing_to_a_caseworker(
    caseworker: User, other_caseworker: User
) -> None:
    _, token = services.token_create(actor=None, user=other_caseworker, name="theirs")
    with pytest.raises(NotFound) as refused:
        services.token_revoke(actor=caseworker, token_id=token.pk)
    with pytest.raises(NotFound) as missing:
        services.token_revoke(actor=caseworker, token_id="00000000-0000-4000-8000-000000000000")
    assert refused.value.message == missing.value.message
    token.refresh_from_db()
    assert token.revoked_at is None
    assert events("token.revoked") == []


def test_every_account_service_keeps_the_audit_chain_valid(
    coordinator: User, caseworker: User
) -> None:
    raw, token = services.token_create(actor=None, user=caseworker, name="x")
    services.token_revoke(actor=None, token_id=token.pk)
    services.user_set_active(actor=coordinator, user_id=caseworker.pk, active=False)
    services.user_set_active(actor=coordinator, user_id=caseworker.pk, active=True)
    with pytest.raises(services.LoginFailed):
        services.password_check(username="caseworker", password="wrong password here")
    result = verify()
    assert result.ok, result.reason
    assert result.checked >= 5
    assert services.token_authenticate(raw) is None
