
from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from haven.access.decorators import api_actor, api_reauth, api_requires, api_staff
from haven.access.permissions import Perm
from haven.accounts import selectors, services
from haven.accounts.models import ApiToken, User

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
    expires_at: datetime
    read_only: bool = Field(description="Refused on every operation but GET.")
    revoked_at: datetime | None
    revoked_reason: str = Field(description="Why it was revoked: user, password_changed, "
                                "account_disabled, second_factor_reset; empty while valid.")
    reauthenticated_until: datetime | None = Field(
        description="Until when it may call operations that show sensitive data.")


class TokenCreatedOut(TokenOut):
    secret: str = Field(description="The bearer secret, shown only in this answer.")


class TokenIn(Schema):
    name: str = Field(min_length=1, max_length=100, description="What the token is for.")
    expires_days: int = Field(default=settings.HAVEN_TOKEN_DEFAULT_DAYS, ge=1,
                              le=settings.HAVEN_TOKEN_MAX_DAYS,
                              description="Days until it expires.")
    read_only: bool = Field(default=False, description="Refuse every operation but GET.")


class ReauthIn(Schema):
    password: str = Field(min_length=1, max_length=512)
    code: str = Field(min_length=1, max_length=32,
                      description="A current code from the authenticator app.")


class ReauthOut(Schema):
    reauthenticated_until: datetime


class UserOut(Schema):
    id: UUID
    username: str
    role: str
    is_active: bool
    locked: bool = Field(description="Locked after many failed sign-ins; another coordinator "
                         "unlocks it.")
    throttled_until: datetime | None = Field(description="No sign-in attempt is checked before.")


def _token(token: ApiToken) -> TokenOut:
    until = (token.reauth_at + timedelta(minutes=settings.HAVEN_REAUTH_MINUTES)
             if token.reauth_at else None)
    return TokenOut(id=token.pk, name=token.name, prefix=token.prefix,
                    created_at=token.created_at, last_used_at=token.last_used_at,
                    expires_at=token.expires_at, read_only=token.read_only,
                    revoked_at=token.revoked_at, revoked_reason=token.revoked_reason,
                    reauthenticated_until=until)


def _user(user: User) -> UserOut:
    return UserOut(id=user.pk, username=user.username, role=user.role, is_active=user.is_active,
                   locked=user.is_locked(), throttled_until=user.throttled_until)


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


@router.post("/reauth", response=ReauthOut,
             summary="Re-authenticate this token (password and a current code)",
             description="Lets this token call operations that show sensitive data (reveals, "
             "person files, shelter addresses) for the next few minutes, as re-authenticating "
             "does for a browser session. Wrong answers count toward the account's sign-in "
             "delay and lock. Coordinators who sign in with a security key approve the token "
             "on their account page instead. A read-only token cannot re-authenticate.")
@api_staff
def reauth(request: HttpRequest, payload: ReauthIn) -> ReauthOut:
    token = services.token_reauthenticate(token=request.api_token,  # type: ignore[attr-defined]
                                          password=payload.password, code=payload.code)
    out = _token(token)
    assert out.reauthenticated_until is not None  # noqa: S101 - set just now
    return ReauthOut(reauthenticated_until=out.reauthenticated_until)


@router.get("/tokens", response=list[TokenOut], summary="My API tokens")
@api_staff
def tokens(request: HttpRequest) -> list[TokenOut]:
    return [_token(t) for t in selectors.token_list(user=api_actor(request))[:200]]


@router.post("/tokens", response={201: TokenCreatedOut}, summary="Create an API token for me",
             description="Needs a token that re-authenticated within the last minutes (POST "
             "/api/v1/reauth). The new token's secret is in this answer only.")
@api_reauth
@api_staff
def token_create(request: HttpRequest, payload: TokenIn) -> Status[TokenCreatedOut]:
    actor = api_actor(request)
    raw, token = services.token_create(actor=actor, user=actor, name=payload.name,
                                       expires_days=payload.expires_days,
                                       read_only=payload.read_only)
    return Status(201, TokenCreatedOut(**_token(token).model_dump(), secret=raw))


@router.post("/tokens/{token_id}/revoke", response=TokenOut, summary="Revoke a token")
@api_staff
def token_revoke(request: HttpRequest, token_id: UUID) -> TokenOut:
    return _token(services.token_revoke(actor=api_actor(request), token_id=token_id))


@router.get("/users", response=list[UserOut], summary="Accounts of my organization")
@api_requires(Perm.ACCOUNT_MANAGE)
def users(request: HttpRequest, q: str = "") -> list[UserOut]:
    return [_user(u) for u in selectors.user_page(request, actor=api_actor(request), q=q[:64])]


@router.post("/users", response={201: UserOut}, summary="Create a staff account")
@api_requires(Perm.ACCOUNT_MANAGE)
def user_create(request: HttpRequest, payload: UserIn) -> Status[UserOut]:
    actor = api_actor(request)
    user = services.user_create(actor=actor, organization=actor.organization,
                                **payload.model_dump())
    return Status(201, _user(user))


@router.post("/users/{user_id}/active", response=UserOut, summary="Disable or enable an account",
             description="Disabling ends the account's sessions and kills its tokens for good.")
@api_requires(Perm.ACCOUNT_MANAGE)
def user_active(request: HttpRequest, user_id: UUID, payload: ActiveIn) -> UserOut:
    return _user(services.user_set_active(actor=api_actor(request), user_id=user_id,
                                          active=payload.active))
