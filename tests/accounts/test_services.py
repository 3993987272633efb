from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from haven.access.roles import Role
from haven.accounts import services
from haven.accounts.models import Organization, SealedTOTPDevice, StoredSession, User, UserSession
from haven.accounts.services._common import session_track
from haven.accounts.services.factors import SecondFactorUnreadable
from haven.accounts.sessions import key_hash
from haven.audit.services import verify
from haven.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tests.accounts.helpers import (
    code_for,
    counts,
    events,
    forget_used_code,
    make_user,
    session_request,
    wrong_code,
)

# --- managing accounts ------------------------------------------------------------------------


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
    raw, _ = services.token_create(actor=None, user=caseworker, name="script")
    request = session_request(caseworker)
    session_track(request, caseworker)
    services.user_reset_second_factor(actor=coordinator, user_id=caseworker.pk)
    assert not TOTPDevice.objects.filter(user=caseworker).exists()
    assert not StaticDevice.objects.filter(user=caseworker).exists()
    assert not UserSession.objects.filter(user=caseworker).exists()
    [event] = events("user.second_factor_reset", object_id=str(caseworker.pk))
    assert event.actor_id == str(coordinator.pk)
    assert event.data == {"sessions_ended": 1, "tokens_revoked": 1}
    with pytest.raises(services.TokenRejected):
        services.token_authenticate(raw)


def test_nobody_resets_or_unlocks_their_own_account(coordinator: User) -> None:
    with pytest.raises(Conflict, match="Another coordinator"):
        services.user_reset_second_factor(actor=coordinator, user_id=coordinator.pk)
    with pytest.raises(Conflict, match="Another coordinator"):
        services.user_unlock(actor=coordinator, user_id=coordinator.pk)
    assert TOTPDevice.objects.filter(user=coordinator).exists()
    assert events("user.second_factor_reset") == events("user.unlocked") == []


# --- sessions and re-authentication -----------------------------------------------------------


def test_logout_deletes_the_server_side_session(caseworker: User) -> None:
    request = session_request(caseworker)
    session_track(request, caseworker)
    key = request.session.session_key
    assert key is not None
    assert StoredSession.objects.filter(key_hash=key_hash(key)).exists()
    services.logout(request=request)
    assert not StoredSession.objects.filter(key_hash=key_hash(key)).exists()
    assert not UserSession.objects.filter(key_hash=key_hash(key)).exists()
    [event] = events("auth.logged_out")
    assert event.data == {"reason": "user"}


def test_ending_other_sessions_keeps_the_current_one(caseworker: User) -> None:
    requests = [session_request(caseworker) for _ in range(3)]
    for r in requests:
        session_track(r, caseworker)
    keep = requests[0].session.session_key
    assert keep is not None
    assert services.sessions_end_others(actor=caseworker, keep_key=keep) == 2
    assert list(UserSession.objects.values_list("key_hash", flat=True)) == [key_hash(keep)]
    assert StoredSession.objects.filter(key_hash=key_hash(keep)).exists()
    for r in requests[1:]:
        assert not StoredSession.objects.filter(
            key_hash=key_hash(r.session.session_key or "")).exists()
    [event] = events("auth.sessions_ended")
    assert event.data == {"count": 2}


def test_disabling_a_user_ends_all_their_sessions(coordinator: User, caseworker: User) -> None:
    requests = [session_request(caseworker) for _ in range(2)]
    for r in requests:
        session_track(r, caseworker)
    services.user_set_active(actor=coordinator, user_id=caseworker.pk, active=False)
    caseworker.refresh_from_db()
    assert not caseworker.is_active
    assert not StoredSession.objects.filter(
        key_hash__in=[key_hash(r.session.session_key or "") for r in requests]).exists()
    [event] = events("user.disabled")
    assert event.data == {"sessions_ended": 2, "tokens_revoked": 0}
    services.user_set_active(actor=coordinator, user_id=caseworker.pk, active=True)
    assert len(events("user.enabled")) == 1


def test_a_coordinator_cannot_disable_themselves(coordinator: User) -> None:
    with pytest.raises(Conflict):
        services.user_set_active(actor=coordinator, user_id=coordinator.pk, active=False)
    coordinator.refresh_from_db()
    assert coordinator.is_active
    assert events("user.disabled") == []


def test_recent_auth_window_is_five_minutes(caseworker: User, settings: object) -> None:
    assert settings.HAVEN_REAUTH_MINUTES == 5  # type: ignore[attr-defined]
    request = session_request(caseworker)
    now = timezone.now().timestamp()
    request.session[services.SESSION_REAUTH_AT] = now - 4 * 60
    assert services.recent_auth_ok(request)
    request.session[services.SESSION_REAUTH_AT] = now - 5 * 60 - 2
    assert not services.recent_auth_ok(request)


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
    with pytest.raises(services.TokenRejected):
        services.token_authenticate(raw)


# --- rotating the secret key ---------------------------------------------------------------------


def test_after_a_secret_key_rotation_codes_still_work_and_secrets_are_sealed_again(
    caseworker: User, settings: Any
) -> None:
    device = SealedTOTPDevice.objects.get(user=caseworker)
    codes = services.recovery_codes_regenerate(actor=caseworker)
    old_key = settings.SECRET_KEY
    code = code_for(device)
    settings.SECRET_KEY = "a-brand-new-secret-key-0123456789abcdefghijkl"
    with pytest.raises(SecondFactorUnreadable):  # the old key is gone: not the user's fault
        services.login_second_factor(request=session_request(caseworker), user=caseworker,
                                     code=code)
    caseworker.refresh_from_db()
    assert caseworker.failed_logins == 0
    settings.SECRET_KEY_FALLBACKS = [old_key]
    services.login_second_factor(request=session_request(caseworker), user=caseworker,
                                 code=code_for(device))
    device.refresh_from_db()
    assert not device.sealed_under_fallback()  # sealed again under the new key on use
    services.login_second_factor(request=session_request(caseworker), user=caseworker,
                                 code=codes[0])  # recovery codes made before still work
    # `haven user rekey` after the next rotation: every secret at once, without waiting for use
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "yet-another-secret-key-0123456789abcdefghij"
    assert services.totp_reseal_all() == (1, 0)
    assert services.totp_reseal_all() == (0, 1)
    [event] = events("auth.second_factor_resealed")
    assert event.data == {"resealed": 1}
    settings.SECRET_KEY_FALLBACKS = []
    forget_used_code(caseworker)
    device.refresh_from_db()
    services.login_second_factor(request=session_request(caseworker), user=caseworker,
                                 code=code_for(device))
