"""Fixtures for cases and housing: an unsealed keyring and cases at every step of the way."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from haven.accounts import services as account_services
from haven.cases import services
from haven.cases.models import Case, ClosureReason, Method, Outcome, Status
from tests.keyring.fixtures import (
    agent_process,
    data_dir,
    local_agent,
    sealed_middleware,
    shares,
    unsealed,
)

__all__ = ["agent_process", "data_dir", "local_agent", "sealed_middleware", "shares", "unsealed"]


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    """Argon2 costs 0.3 s a user and these tests make many; password hashing is not under test
    here (tests/accounts covers it)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def opened(unsealed: list[str], operator: Any) -> Case:
    """A case in intake, opened by the operator, with a Cyrillic-named principal."""
    return services.case_open(actor=operator, legal_name="Магомед Хасанов",
                              other_names="Маго", phone="+7 928 000 11 22",
                              summary="Needs to leave Grozny")


def verify(case: Case, *, operator: Any, verifier: Any, coordinator: Any,
           outcome: str = Outcome.VERIFIED) -> Case:
    verification = services.verification_request(actor=operator, case=case, verifier=verifier)
    services.verification_submit(actor=verifier, verification=verification, outcome=outcome,
                                 methods=[Method.VIDEO_CALL], narrative="Checked by video call")
    if outcome == Outcome.VERIFIED:
        services.verification_approve(actor=coordinator, verification=verification)
    case.refresh_from_db()
    return case


def drive(case: Case, to: str, *, coordinator: Any, caseworker: Any, verifier: Any,
          operator: Any) -> Case:
    """Bring a fresh intake case to status ``to`` through the services, as staff would."""
    path = [Status.INTAKE, Status.VERIFICATION, Status.ACTIVE, Status.READY, Status.DEPARTED,
            Status.ARRIVED, Status.CLOSED]
    if to in (Status.ON_HOLD, Status.SUSPENDED, Status.WITHDRAWN):
        services.case_transition(actor=coordinator, case=case, to=to)
        case.refresh_from_db()
        return case
    for step in path[1: path.index(Status(to)) + 1]:
        if step == Status.VERIFICATION:
            verify(case, operator=operator, verifier=verifier, coordinator=coordinator)
            continue
        if step == Status.READY:
            services.case_assign(actor=coordinator, case=case, assignee=caseworker)
        services.case_transition(actor=coordinator, case=case, to=step,
                                 closure_reason=ClosureReason.ARRIVED_SAFELY)
    case.refresh_from_db()
    return case


@pytest.fixture
def driver(coordinator: Any, caseworker: Any, verifier: Any, operator: Any
           ) -> Callable[[Case, str], Case]:
    def go(case: Case, to: str) -> Case:
        return drive(case, to, coordinator=coordinator, caseworker=caseworker,
                     verifier=verifier, operator=operator)

    return go


@pytest.fixture
def assigned(opened: Case, coordinator: Any, caseworker: Any, verifier: Any, operator: Any
             ) -> Case:
    """A verified, active case assigned to the caseworker."""
    verify(opened, operator=operator, verifier=verifier, coordinator=coordinator)
    services.case_assign(actor=coordinator, case=opened, assignee=caseworker)
    services.case_transition(actor=caseworker, case=opened, to=Status.ACTIVE)
    opened.refresh_from_db()
    return opened


@pytest.fixture
def api(db: None) -> Callable[[Any], Client]:
    def make(user: Any) -> Client:
        raw, _ = account_services.token_create(actor=None, user=user, name="test")
        return Client(headers={"Authorization": f"Bearer {raw}"})

    return make


def soon(days: int = 7) -> Any:
    return timezone.localdate() + timedelta(days=days)
