
from datetime import datetime
from uuid import UUID

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from haven.access.decorators import api_actor, api_requires, api_staff
from haven.access.permissions import Perm
from haven.accounts import selectors, services
from haven.accounts.models import User

router = Router(tags=["accounts"])


class Me(Schema):
    id: UUID
    username: str
    role: str
    organization_id: UUID
    language: str


class TokenOut(Schema):
    id: UUID
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class UserOut(Schema):
    id: UUID
    username: str
    role: str
    is_active: bool
    locked_until: datetime | None


class UserIn(Schema):
    username: str = Field(min_length=1, max_length=64)
    role: str = Field(min_length=1, max_length=16)
    password: str = Field(min_length=1, max_length=512)
    language: str = Field(default="en", max_length=8)


class ActiveIn(Schema):
    active: bool



@router.get("/me", response=Me, summary="Who the token acts as")
@api_staff
def me(request: HttpRequest) -> User:
    return api_actor(request)


@router.get("/tokens", response=list[TokenOut], summary="My API tokens")
@api_staff
def tokens(request: HttpRequest) -> list[TokenOut]:
    return list(selectors.token_list(user=api_actor(request)))  # type: ignore[arg-type]


@router.post("/tokens/{token_id}/revoke", response=TokenOut, summary="Revoke a token")
@api_staff
def token_revoke(request: HttpRequest, token_id: UUID) -> object:
    return services.token_revoke(actor=api_actor(request), token_id=token_id)


@router.get("/users", response=list[UserOut], summary="Accounts of my organization")
@api_requires(Perm.ACCOUNT_MANAGE)
def users(request: HttpRequest, q: str = "") -> object:
    return list(selectors.user_page(request, actor=api_actor(request), q=q[:64]))


@router.post("/users", response={201: UserOut}, summary="Create a staff account")
@api_requires(Perm.ACCOUNT_MANAGE)
def user_create(request: HttpRequest, payload: UserIn) -> Status[User]:
    actor = api_actor(request)
    user = services.user_create(actor=actor, organization=actor.organization,
                                **payload.model_dump())
    return Status(201, user)


@router.post("/users/{user_id}/active", response=UserOut, summary="Disable or enable an account")
@api_requires(Perm.ACCOUNT_MANAGE)
def user_active(request: HttpRequest, user_id: UUID, payload: ActiveIn) -> object:
    return services.user_set_active(actor=api_actor(request), user_id=user_id, active=payload.active)
