"""The HTTP API at /api/v1: bearer tokens, JSON errors, each app's router mounted here."""

from __future__ import annotations

from typing import Any

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer

from haven.access.decorators import public
from haven.accounts import services as account_services
from haven.accounts.api import router as accounts_router
from haven.auditlog.api import router as audit_router
from haven.cases.api import router as cases_router
from haven.cases.task_api import router as tasks_router
from haven.core import faults
from haven.core.errors import HavenError
from haven.housing.api import router as shelters_router
from haven.intake.api import router as intake_router
from haven.pathways.api import (
    applications_router,
    dossiers_router,
    outcomes_router,
    pathways_router,
    travel_router,
)
from haven.people.api import router as people_router


class TokenAuth(HttpBearer):
    """``Authorization: Bearer hvn_…``; the token acts with exactly its user's permissions.

    An expired or revoked token is refused with 401 saying why; a read-only token on anything
    but a read with 403 (both raised by ``token_authenticate`` and shown by the error handler).
    """

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        found = account_services.token_authenticate(token, method=request.method or "GET")
        if found is None:
            return None
        request.user = found.user
        request.api_token = found  # type: ignore[attr-defined]
        return found.user


ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {"type": "string", "description": "What is wrong, for a person to read."},
        "code": {"type": "string"},
        "fields": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "description": "Per-field messages for invalid input.",
        },
    },
}
ERROR_RESPONSES = {
    "400": "The request is malformed or breaks a rule; nothing was changed.",
    "401": "No valid bearer token (unknown, expired or revoked: `detail` says which).",
    "403": "The token's user may not do this, the token is read-only (`token_read_only`), or "
           "the operation shows sensitive data and the token has not re-authenticated "
           "(`reauth_required`: POST /api/v1/reauth first).",
    "404": "No such record, or not one the token's user may see.",
    "409": "The record's current state does not allow this.",
    "422": "The input does not match the schema; see fields.",
    "423": "The account is locked after too many failed sign-ins (re-authentication).",
    "429": "Too many failed attempts: the account waits before the next one (`detail` says "
           "how long).",
    "503": "The server is sealed: no key is in memory.",
}


# Ninja's own views: the schema is public by design (it names no record); the root answers 404.
NINJA_PUBLIC_VIEWS = frozenset({"openapi-json", "api-root"})


class HavenAPI(NinjaAPI):
    """NinjaAPI whose OpenAPI document declares the JSON error every operation may return."""

    def _get_urls(self) -> list[URLResolver | URLPattern]:
        # Every route declares its access (the route-matrix test refuses any that does not);
        # ninja's schema and root views come without one, so they are declared here.
        urls = super()._get_urls()
        for pattern in urls:
            if isinstance(pattern, URLPattern) and pattern.name in NINJA_PUBLIC_VIEWS:
                public(pattern.callback)
        return urls

    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(*args, **kwargs)
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        ref = {"$ref": "#/components/schemas/Error"}
        for methods in schema.get("paths", {}).values():
            for operation in methods.values():
                responses = operation.setdefault("responses", {})
                for status, text in ERROR_RESPONSES.items():
                    responses.setdefault(status, {
                        "description": text, "content": {"application/json": {"schema": ref}},
                    })
        return schema


api = HavenAPI(
    title="Haven API",
    version="1",
    description="Case management for evacuation work. Authenticate with `Authorization: "
    "Bearer <token>`; create a token with `haven token create USERNAME` or on your account "
    "page. Tokens expire (30 days by default, at most 90) and may be read-only. Operations "
    "that show sensitive fields or files (reveals, person files, shelter addresses) want a "
    "token that re-authenticated within the last minutes: `POST /api/v1/reauth` with the "
    "password and a current code.",
    urls_namespace="api",
    docs_url=None,  # the interactive docs load scripts from a CDN; the schema is enough
    auth=TokenAuth(),
)


def _error(request: HttpRequest, status: int, detail: str, **extra: Any) -> HttpResponse:
    return api.create_response(request, {"detail": detail, **extra}, status=status)


@api.exception_handler(HavenError)
def _haven_error(request: HttpRequest, exc: HavenError) -> HttpResponse:
    return _error(request, exc.status, exc.message, code=exc.code, fields=exc.fields)


@api.exception_handler(NinjaValidationError)
def _validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    for err in exc.errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "payload", "query")]
        fields.setdefault(".".join(loc) or "body", []).append(str(err.get("msg", "invalid")))
    return _error(request, 422, "The request is not valid: see fields.",
                  code="validation_failed", fields=fields)


@api.exception_handler(AuthenticationError)
def _auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, "A valid bearer token is required.", code="unauthenticated")


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _error(request, exc.status_code, str(exc), code="error")


@api.exception_handler(DatabaseError)
def _database_error(request: HttpRequest, exc: DatabaseError) -> HttpResponse:
    """A full disk or a lost database: 503, nothing saved. Anything else stays a 500."""
    fault = faults.classify(exc)
    if fault is None:
        raise exc
    return faults.response(request, fault, exc=exc)


api.add_router("/", accounts_router)
api.add_router("/audit", audit_router)
api.add_router("/requests", intake_router)
api.add_router("/people", people_router)
api.add_router("/cases", cases_router)
api.add_router("/tasks", tasks_router)
api.add_router("/shelters", shelters_router)
api.add_router("/pathways", pathways_router)
api.add_router("/applications", applications_router)
api.add_router("/dossiers", dossiers_router)
api.add_router("/travel", travel_router)
api.add_router("/outcomes", outcomes_router)
