"""Every URL and every API operation × every role (and anonymous), against one table.

Routes are discovered by walking the resolver (pages) and the ninja ``PathView`` behind each
API pattern (operations), so a route added anywhere is picked up without editing this file —
and then fails ``test_every_route_has_a_reviewed_access_decision`` until someone writes its
access decision into ``EXPECTED`` below. What each role gets is derived from the declaration
and ``policy.ROLE_PERMISSIONS``; a route the test cannot derive an expectation or a sample
request for raises ``LookupError`` and fails.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.http import HttpResponse
from django.test import Client
from django.urls import path as django_path
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from haven.access.decorators import Access
from haven.access.permissions import Perm
from haven.access.roles import ROLE_PERMISSIONS, Role
from haven.accounts import services
from haven.accounts.models import ApiToken, User
from haven.audit.models import AuditEvent
from haven.urls import urlpatterns as haven_urlpatterns
from tests.access.matrix_pathways_api import PATHWAYS_API
from tests.access.matrix_pathways_pages import PATHWAYS_PAGES
from tests.access.routes import Route, all_routes, api_body, api_routes, page_routes

PUBLIC = Access("public")
ENROLMENT = Access("enrolment")
STAFF = Access("staff")


def perm(p: Perm, *, reauth: bool = False) -> Access:
    return Access("perm", p, reauth=reauth)


# The reviewed access decision of every route. A new route fails the matrix until it is here.
EXPECTED: dict[str, Access] = {
    "/": STAFF,
    "/healthz": PUBLIC,
    "/i18n/setlang/": PUBLIC,
    "/accounts/login/": PUBLIC,
    "/accounts/verify/": ENROLMENT,
    "/accounts/enrol/": ENROLMENT,
    "/accounts/enrol/qr.svg": ENROLMENT,
    "/accounts/logout/": ENROLMENT,
    "/accounts/reauth/": STAFF,
    "/accounts/": STAFF,
    "/accounts/sessions/end-others/": STAFF,
    "/accounts/password/": STAFF,
    "/accounts/recovery-codes/": STAFF,
    "/accounts/tokens/": STAFF,
    "/accounts/tokens/<uuid:token_id>/revoke/": STAFF,
    "/accounts/tokens/<uuid:token_id>/approve/": STAFF,
    # Security keys: the list for staff; the WebAuthn steps also before the second factor
    # (a first key is enrolled, and a key answers, on the way in); the script's messages public.
    "/accounts/keys/": STAFF,
    "/accounts/keys/<int:key_id>/remove/": STAFF,
    "/accounts/keys/register/begin/": ENROLMENT,
    "/accounts/keys/register/complete/": ENROLMENT,
    "/accounts/keys/assert/begin/": ENROLMENT,
    "/accounts/keys/assert/complete/": ENROLMENT,
    "/accounts/keys/jsi18n/": PUBLIC,
    "/accounts/staff/": perm(Perm.STAFF_LIST),
    "/accounts/users/": perm(Perm.ACCOUNT_MANAGE),
    "/accounts/users/new/": perm(Perm.ACCOUNT_MANAGE),
    "/accounts/users/<uuid:user_id>/<slug:action>/": perm(Perm.ACCOUNT_MANAGE),
    "/audit/": perm(Perm.AUDIT_READ),
    "/audit/verify/": perm(Perm.AUDIT_VERIFY),
    "/cases/": perm(Perm.CASE_READ),
    # The duplicate queue: coordinators; pairs whose two people they see.
    "/people/duplicates/": perm(Perm.CASE_SUPERVISE),
    "/people/duplicates/<uuid:pair_id>/decide/": perm(Perm.CASE_SUPERVISE),
    "/people/duplicates/<uuid:pair_id>/undo/": perm(Perm.CASE_SUPERVISE),
    # CSV exports: the list's own permission; rows and columns as the list shows them.
    "/cases/export.csv": perm(Perm.CASE_READ),
    "/cases/dashboard/": STAFF,  # the old address of the start page: a redirect to /
    "/cases/new/": perm(Perm.CASE_CREATE),
    "/cases/tasks/": perm(Perm.TASK_READ),
    "/cases/tasks/export.csv": perm(Perm.TASK_READ),
    "/cases/tasks/<uuid:task_id>/edit/": perm(Perm.TASK_UPDATE),
    "/cases/tasks/<uuid:task_id>/transition/": perm(Perm.TASK_UPDATE),
    "/cases/<uuid:pk>/": perm(Perm.CASE_READ),
    "/cases/<uuid:pk>/transition/": perm(Perm.CASE_TRANSITION),
    "/cases/<uuid:pk>/assign/": perm(Perm.CASE_ASSIGN),
    "/cases/<uuid:pk>/update/": perm(Perm.CASE_UPDATE),
    "/cases/<uuid:pk>/verification/": perm(Perm.VERIFICATION_REQUEST),
    "/cases/<uuid:pk>/verification/<uuid:verification_id>/submit/": perm(Perm.VERIFICATION_SUBMIT),
    "/cases/<uuid:pk>/verification/<uuid:verification_id>/approve/": perm(
        Perm.VERIFICATION_APPROVE),
    "/cases/<uuid:pk>/risk/": perm(Perm.RISK_ASSESS),
    "/cases/<uuid:pk>/members/": perm(Perm.CASE_UPDATE),
    "/cases/<uuid:pk>/people/<uuid:person_id>/": perm(Perm.CASE_UPDATE),
    "/cases/<uuid:pk>/people/<uuid:person_id>/travels/": perm(Perm.CASE_UPDATE),
    "/cases/<uuid:pk>/people/<uuid:person_id>/reveal/": perm(Perm.PERSON_REVEAL),
    "/cases/<uuid:pk>/notes/": perm(Perm.NOTE_CREATE),
    "/cases/<uuid:pk>/notes/<uuid:note_id>/redact/": perm(Perm.NOTE_REDACT),
    "/cases/<uuid:pk>/tasks/": perm(Perm.TASK_CREATE),
    "/cases/<uuid:pk>/placements/": perm(Perm.PLACEMENT_MANAGE),
    "/cases/<uuid:pk>/placements/new/": perm(Perm.PLACEMENT_MANAGE),
    "/cases/<uuid:pk>/placements/<uuid:placement_id>/transition/": perm(Perm.PLACEMENT_MANAGE),
    "/cases/<uuid:pk>/documents/": perm(Perm.DOCUMENT_UPLOAD),
    "/cases/<uuid:pk>/documents/<uuid:document_id>/": perm(Perm.DOCUMENT_READ),
    "/cases/<uuid:pk>/referrals/": perm(Perm.REFERRAL_MANAGE),
    "/shelters/": perm(Perm.SHELTER_READ),
    "/shelters/new/": perm(Perm.SHELTER_MANAGE),
    "/shelters/<uuid:pk>/": perm(Perm.SHELTER_READ),
    "/shelters/<uuid:pk>/transition/": perm(Perm.SHELTER_MANAGE),
    "/shelters/<uuid:pk>/reveal/": perm(Perm.SHELTER_ADDRESS),
    "/api/v1/": PUBLIC,
    "/api/v1/openapi.json": PUBLIC,
    "GET /api/v1/me": STAFF,
    "GET /api/v1/tokens": STAFF,
    "POST /api/v1/tokens": Access("staff", reauth=True),
    "POST /api/v1/reauth": STAFF,
    "POST /api/v1/tokens/<token_id>/revoke": STAFF,
    "GET /api/v1/users": perm(Perm.ACCOUNT_MANAGE),
    "POST /api/v1/users": perm(Perm.ACCOUNT_MANAGE),
    "POST /api/v1/users/<user_id>/active": perm(Perm.ACCOUNT_MANAGE),
    "GET /api/v1/audit/events": perm(Perm.AUDIT_READ),
    "POST /api/v1/audit/verify": perm(Perm.AUDIT_VERIFY),
    "GET /api/v1/cases": perm(Perm.CASE_READ),
    "GET /api/v1/cases/<case_id>": perm(Perm.CASE_READ),
    "GET /api/v1/cases/<case_id>/notes": perm(Perm.NOTE_READ),
    "GET /api/v1/shelters": perm(Perm.SHELTER_READ),
    "GET /api/v1/shelters/<shelter_id>": perm(Perm.SHELTER_READ),
    "GET /api/v1/tasks": perm(Perm.TASK_READ),
    "POST /api/v1/cases": perm(Perm.CASE_CREATE),
    "POST /api/v1/cases/<case_id>/assign": perm(Perm.CASE_ASSIGN),
    "PATCH /api/v1/cases/<case_id>": perm(Perm.CASE_UPDATE),
    "POST /api/v1/cases/<case_id>/members": perm(Perm.CASE_UPDATE),
    "POST /api/v1/cases/<case_id>/notes": perm(Perm.NOTE_CREATE),
    "POST /api/v1/cases/<case_id>/notes/<note_id>/redact": perm(Perm.NOTE_REDACT),
    "POST /api/v1/cases/<case_id>/people/<person_id>/reveal": perm(Perm.PERSON_REVEAL,
                                                                    reauth=True),
    "POST /api/v1/cases/<case_id>/placements": perm(Perm.PLACEMENT_MANAGE),
    "POST /api/v1/cases/<case_id>/placements/<placement_id>/transition": perm(
        Perm.PLACEMENT_MANAGE),
    "POST /api/v1/cases/<case_id>/placements/group": perm(Perm.PLACEMENT_MANAGE),
    "GET /api/v1/cases/<case_id>/documents": perm(Perm.DOCUMENT_READ, reauth=True),
    "POST /api/v1/cases/<case_id>/documents": perm(Perm.DOCUMENT_UPLOAD),
    "GET /api/v1/cases/<case_id>/documents/<document_id>": perm(Perm.DOCUMENT_READ,
                                                                 reauth=True),
    "POST /api/v1/cases/<case_id>/risk": perm(Perm.RISK_ASSESS),
    "POST /api/v1/cases/<case_id>/transition": perm(Perm.CASE_TRANSITION),
    "POST /api/v1/cases/<case_id>/verification": perm(Perm.VERIFICATION_REQUEST),
    "POST /api/v1/cases/<case_id>/verification/<verification_id>/approve": perm(
        Perm.VERIFICATION_APPROVE),
    "POST /api/v1/cases/<case_id>/verification/<verification_id>/submit": perm(
        Perm.VERIFICATION_SUBMIT),
    "POST /api/v1/shelters": perm(Perm.SHELTER_MANAGE),
    "POST /api/v1/shelters/<shelter_id>/address": perm(Perm.SHELTER_ADDRESS, reauth=True),
    "POST /api/v1/shelters/<shelter_id>/transition": perm(Perm.SHELTER_MANAGE),
    "POST /api/v1/tasks": perm(Perm.TASK_CREATE),
    "POST /api/v1/tasks/<task_id>/transition": perm(Perm.TASK_UPDATE),
    "PATCH /api/v1/tasks/<task_id>": perm(Perm.TASK_UPDATE),
    # Keyring: unsealing and sealing; the sealed notice is for any staff member.
    "/keyring/unseal/": perm(Perm.KEYS_UNSEAL),
    "/keyring/sealed/": STAFF,
    "/keyring/seal/": perm(Perm.KEYS_SEAL),
    # People (API): encrypted records, found through blind indexes.
    "GET /api/v1/people": perm(Perm.PERSON_READ, reauth=True),  # names and phones, decrypted
    "POST /api/v1/people": perm(Perm.PERSON_CREATE),
    # The duplicate queue: ids and weights only; pairs whose two people the reviewer sees.
    "GET /api/v1/people/duplicates": perm(Perm.CASE_SUPERVISE),
    "POST /api/v1/people/duplicates/<pair_id>/decide": perm(Perm.CASE_SUPERVISE),
    "POST /api/v1/people/duplicates/<pair_id>/undo": perm(Perm.CASE_SUPERVISE),
    "DELETE /api/v1/people/<person_id>": perm(Perm.PERSON_ERASE),
    "POST /api/v1/people/<person_id>/files": perm(Perm.DOCUMENT_UPLOAD),
    "GET /api/v1/people/<person_id>/files/<file_id>": perm(Perm.PERSON_REVEAL, reauth=True),
    # Intake: requesters are anonymous by design; staff read and answer in the inbox.
    "/intake/": PUBLIC,
    "/intake/ask/": PUBLIC,
    "/intake/received/": PUBLIC,
    "/intake/conversation/": PUBLIC,
    "/intake/leave/": PUBLIC,
    "/intake/return/": PUBLIC,
    "/inbox/": perm(Perm.REQUEST_READ),
    "/inbox/<uuid:pk>/": perm(Perm.REQUEST_READ),
    "/inbox/<uuid:pk>/convert/": perm(Perm.REQUEST_TRIAGE),
    "/inbox/<uuid:pk>/reply/": perm(Perm.REQUEST_REPLY),
    "/inbox/<uuid:pk>/transition/": perm(Perm.REQUEST_TRIAGE),
    "/inbox/<uuid:pk>/ungroup/": perm(Perm.REQUEST_TRIAGE),
    "/inbox/groups/<uuid:pk>/": perm(Perm.REQUEST_READ),
    "/inbox/groups/<uuid:pk>/close/": perm(Perm.REQUEST_TRIAGE),
    # A case's conversation, for those who run the case (the object rule is the case's).
    "/inbox/case/<uuid:case_id>/": perm(Perm.CASE_UPDATE),
    "/inbox/case/<uuid:case_id>/reply/": perm(Perm.CASE_UPDATE),
    "GET /api/v1/requests": perm(Perm.REQUEST_READ),
    "GET /api/v1/requests/<request_id>": perm(Perm.REQUEST_READ, reauth=True),  # the story
    "POST /api/v1/requests/<request_id>/convert": perm(Perm.REQUEST_TRIAGE, reauth=True),
    "POST /api/v1/requests/<request_id>/reply": perm(Perm.REQUEST_REPLY),
    "POST /api/v1/requests/<request_id>/transition": perm(Perm.REQUEST_TRIAGE),
    **PATHWAYS_PAGES,
    **PATHWAYS_API,
}

# Pages whose very purpose is to end the session: landing on the login page is success there.
ENDS_SESSION = {"accounts:logout"}

ROLE_FIXTURES = [
    "coordinator", "caseworker", "other_caseworker", "operator", "verifier", "liaison",
    "auditor", "outsider",
]
PRINCIPALS = ["anonymous", *ROLE_FIXTURES]

ALLOWED, LOGIN, FORBIDDEN, UNAUTHENTICATED = "allowed", "login", "forbidden", "unauthenticated"


def undeclared(routes: list[Route]) -> list[str]:
    return [r.key for r in routes if r.access is None]


def unreviewed(routes: list[Route]) -> list[str]:
    return [r.key for r in routes if r.key not in EXPECTED]


def expectation(route: Route, user: User | None) -> str:
    """What ``user`` (None: anonymous) must get from ``route``, from its declaration."""
    access = route.access
    if access is None:
        raise LookupError(f"{route.key} declares no access")
    if access.kind == "public":
        return ALLOWED
    if user is None:
        return UNAUTHENTICATED if route.is_api else LOGIN
    if access.kind in {"staff", "enrolment"}:
        return ALLOWED
    if access.kind == "perm" and access.perm is not None:
        return ALLOWED if access.perm in ROLE_PERMISSIONS[Role(user.role)] else FORBIDDEN
    raise LookupError(f"{route.key}: no expectation for access {access!r}")


# --- the table covers every route ---------------------------------------------------------------


def test_routes_are_found_in_pages_and_api() -> None:
    keys = {r.key for r in all_routes()}
    assert "/accounts/login/" in keys
    assert "GET /api/v1/users" in keys
    assert "POST /api/v1/users" in keys
    assert len(api_routes()) >= 8


@pytest.mark.parametrize("route", all_routes(), ids=lambda r: r.key)
def test_every_route_declares_its_access(route: Route) -> None:
    assert route.access is not None, (
        f"{route.key} ({route.name}) has no access declaration: decorate the view with "
        "haven.access.decorators.public/enrolment/staff/requires (api_staff/api_requires)"
    )


@pytest.mark.parametrize("route", all_routes(), ids=lambda r: r.key)
def test_every_route_has_a_reviewed_access_decision(route: Route) -> None:
    assert route.key in EXPECTED, (
        f"{route.key} ({route.name}) is not in the route matrix: add its access decision "
        f"to EXPECTED in {__file__}"
    )
    assert route.access == EXPECTED[route.key], (
        f"{route.key} declares {route.access} but the matrix says {EXPECTED[route.key]}"
    )


def test_matrix_lists_no_route_that_no_longer_exists() -> None:
    assert sorted(set(EXPECTED) - {r.key for r in all_routes()}) == []


@pytest.mark.parametrize("route", all_routes(), ids=lambda r: r.key)
def test_every_route_gets_a_sample_request(route: Route) -> None:
    url = route.path()
    assert url.startswith("/")
    assert "<" not in url
    if route.is_api:
        api_body(route)  # raises LookupError when no body can be derived


def test_checks_flag_an_undeclared_and_unlisted_route() -> None:
    def naked(request: Any) -> HttpResponse:
        return HttpResponse("hi")

    fake = Route(route="naked/", name="naked", view=naked)
    assert undeclared([fake]) == ["/naked/"]
    assert unreviewed([fake]) == ["/naked/"]
    with pytest.raises(LookupError):
        expectation(fake, None)


def _undeclared_view(request: Any) -> HttpResponse:
    return HttpResponse("should never be served")


urlpatterns = [*haven_urlpatterns, django_path("undeclared/", _undeclared_view)]


@pytest.mark.urls(__name__)
def test_middleware_refuses_a_view_without_declaration(
    login: Callable[[User], Client], coordinator: User
) -> None:
    response = login(coordinator).get("/undeclared/")
    assert response.status_code == 403
    assert b"should never be served" not in response.content


@pytest.mark.urls(__name__)
def test_middleware_refuses_an_undeclared_view_to_anonymous(client: Client) -> None:
    response = client.get("/undeclared/")
    assert response.status_code == 403


# --- the matrix -------------------------------------------------------------------------------


def _is_login_redirect(response: Any) -> bool:
    login_url = "/accounts/login/"
    return bool(response.status_code == 302 and response["Location"].startswith(login_url))


def _json(response: Any) -> dict[str, Any]:
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    data = json.loads(response.content)
    assert isinstance(data, dict)
    return data


def _writes() -> tuple[int, int, int]:
    return User.objects.count(), ApiToken.objects.count(), AuditEvent.objects.count()


# 503 is a deliberate answer (the server is sealed, intake is not configured), not a crash.
UNAVAILABLE = 503


def _check_page(route: Route, method: str, outcome: str, response: Any) -> str | None:
    status = response.status_code
    if status >= 500 and status != UNAVAILABLE:
        return f"{status} (server error)"
    if outcome == LOGIN:
        if not _is_login_redirect(response):
            return f"{status}, expected a redirect to the login page"
        if "next=" not in response["Location"]:
            return "login redirect without next="
        return None
    if outcome == FORBIDDEN:
        return None if status == 403 else f"{status}, expected 403"
    if status in {401, 403}:
        return f"{status}, expected access"
    if _is_login_redirect(response) and route.name not in ENDS_SESSION:
        return "sent to the login page, expected access"
    return None


def _check_api(outcome: str, response: Any) -> str | None:
    status = response.status_code
    if status >= 500 and status != UNAVAILABLE:
        return f"{status} (server error)"
    data = _json(response) if status >= 400 else {}
    if status >= 400 and not data.get("detail"):
        return f"{status} without a JSON detail"
    if outcome == UNAUTHENTICATED:
        return None if status == 401 else f"{status}, expected 401"
    if outcome == FORBIDDEN:
        return None if status == 403 else f"{status}, expected 403"
    if status in {401, 403}:
        return f"{status}, expected access"
    return None


@pytest.mark.parametrize("principal", PRINCIPALS)
def test_pages_answer_every_role_as_declared(
    principal: str, request: pytest.FixtureRequest, login: Callable[[User], Client], org: Any
) -> None:
    user: User | None = None if principal == "anonymous" else request.getfixturevalue(principal)
    client = Client() if user is None else login(user)
    client.raise_request_exception = False  # report a crashing route in the list, not alone
    failures: list[str] = []
    checked = 0
    for route in page_routes():
        outcome = expectation(route, user)
        for method in ("GET", "POST"):
            before = _writes()
            response = client.generic(method, route.path())
            checked += 1
            problem = _check_page(route, method, outcome, response)
            if problem is None and outcome in {LOGIN, FORBIDDEN} and _writes() != before:
                problem = "a refused request wrote to the database"
            if problem:
                failures.append(f"{method} {route.path()} [{route.key}]: {problem}")
            if user is not None and "_auth_user_id" not in client.session:
                # The route ended the session (logout). Log in again; a TOTP code is accepted
                # once, so let the device forget the code it just took (as in the next window).
                TOTPDevice.objects.filter(user=user).update(last_t=-1)
                client = login(user)
                client.raise_request_exception = False
    assert checked == 2 * len(page_routes())
    assert failures == [], f"{principal}:\n" + "\n".join(failures)


@pytest.mark.parametrize("principal", PRINCIPALS)
def test_api_answers_every_role_as_declared(
    principal: str, request: pytest.FixtureRequest, org: Any
) -> None:
    user: User | None = None if principal == "anonymous" else request.getfixturevalue(principal)
    headers: dict[str, str] = {}
    if user is not None:
        raw, token = services.token_create(actor=None, user=user, name="matrix")
        # Re-authenticated, so operations that show sensitive data answer by the role alone
        # (tests/accounts/test_api.py checks that they refuse a token that did not).
        ApiToken.objects.filter(pk=token.pk).update(reauth_at=timezone.now())
        headers["Authorization"] = f"Bearer {raw}"
    client = Client(raise_request_exception=False)
    failures: list[str] = []
    for route in api_routes():
        outcome = expectation(route, user)
        body = api_body(route)
        before = _writes()
        response = client.generic(
            route.api_method, route.path(),
            data=json.dumps(body) if body is not None else "",
            content_type="application/json", headers=headers,
        )
        problem = _check_api(outcome, response)
        if problem is None and outcome in {UNAUTHENTICATED, FORBIDDEN} and _writes() != before:
            problem = "a refused request wrote to the database"
        if problem:
            failures.append(f"{route.key}: {problem}")
    assert failures == [], f"{principal}:\n" + "\n".join(failures)


@pytest.mark.parametrize("route", api_routes(), ids=lambda r: r.key)
def test_api_refuses_a_malformed_or_unknown_token(route: Route, client: Client, db: None) -> None:
    assert route.access != PUBLIC, "a public API operation needs its own expectations here"
    for header in ("Bearer hvn_not-a-real-token", "Bearer ", "Basic dXNlcjpwYXNz", "hvn_x"):
        response = client.generic(route.api_method, route.path(), headers={"Authorization": header})
        assert response.status_code == 401, header
        assert _json(response)["code"] == "unauthenticated"


def test_every_role_fixture_is_a_matrix_principal() -> None:
    assert {r.value for r in Role} <= set(PRINCIPALS)
