"""Organizations, staff accounts, their sessions and API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from haven.access.roles import Role
from haven.core.models import BaseModel
from haven.keyring import local


class Organization(BaseModel):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    is_demo = models.BooleanField(
        default=False,
        help_text="Demo organizations allow `haven demo-code` to print a demo user's code.",
    )

    def __str__(self) -> str:
        return self.name


class UserManager(BaseUserManager["User"]):
    def create_user(
        self,
        username: str,
        password: str | None = None,
        **extra: Any,
    ) -> User:
        user = self.model(username=username, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user


class User(BaseModel, AbstractBaseUser):
    """A staff member. Staff are not the people Haven protects; their data is not sealed."""

    username = models.CharField(
        _("username"),
        max_length=64,
        unique=True,
        help_text=_("Letters, digits and . _ - only."),
    )
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="users")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    is_active = models.BooleanField(_("active"), default=True)
    language = models.CharField(
        _("language"), max_length=8, choices=[("en", "English"), ("ru", "Русский")], default="en"
    )
    # Failed sign-in attempts in a row (password, code, re-authentication, password form):
    # the account takes no attempt before ``throttled_until`` (2^n seconds after the n-th),
    # and is locked (``locked_at``) after HAVEN_LOGIN_LOCK_AFTER of them until another
    # coordinator unlocks it. ``failures_unseen`` counts failures the user has not been told of.
    failed_logins = models.PositiveSmallIntegerField(default=0)
    throttled_until = models.DateTimeField(null=True, blank=True)
    locked_at = models.DateTimeField(null=True, blank=True)
    failures_unseen = models.PositiveIntegerField(default=0)
    last_failed_at = models.DateTimeField(null=True, blank=True)
    # Raised by every change that must end API tokens for good (password change, disabling,
    # second-factor reset); a token is valid only while it carries the current epoch.
    auth_epoch = models.PositiveIntegerField(default=0)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "username"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        return self.username

    def is_locked(self) -> bool:
        """Locked after too many failures: only another coordinator can unlock it."""
        return self.locked_at is not None

    def is_throttled(self, now: datetime | None = None) -> bool:
        """Waiting out the delay after a failure: no attempt is even checked until it ends."""
        return self.throttled_until is not None and self.throttled_until > (now or timezone.now())


class KnownDevice(BaseModel):
    """A browser that completed a sign-in for ``user`` (it holds the ``haven_device`` cookie;
    only the cookie's SHA-256 is kept).

    Password attempts from it do not count against the account and are not held back by the
    account's delay or lock, but by this row's own: someone guessing from elsewhere cannot keep
    the owner out of their own browser. Forgotten after too many failures of its own.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="known_devices")
    key_hash = models.CharField(max_length=64, unique=True)
    last_used_at = models.DateTimeField(default=timezone.now)
    failed_logins = models.PositiveSmallIntegerField(default=0)
    throttled_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_used_at"]

    def __str__(self) -> str:
        return f"device of {self.user_id}"

    def is_throttled(self, now: datetime | None = None) -> bool:
        return self.throttled_until is not None and self.throttled_until > (now or timezone.now())


class StoredSession(models.Model):
    """A Django session, stored under the SHA-256 of its cookie value (haven.accounts.sessions).

    A copy of this table cannot be replayed as a cookie: the value is never written anywhere.
    """

    key_hash = models.CharField(max_length=64, primary_key=True)
    session_data = models.TextField()
    expire_date = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"session {self.key_hash[:8]}…"


class UserSession(models.Model):
    """Which sessions belong to which user, so they can be listed and ended (by key hash)."""

    key_hash = models.CharField(max_length=64, primary_key=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sessions")
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(default=timezone.now)
    user_agent = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-last_seen_at"]

    def __str__(self) -> str:
        return f"session of {self.user_id}"


class RevokedReason(models.TextChoices):
    USER = "user", _("revoked")
    PASSWORD_CHANGED = "password_changed", _("password changed")
    ACCOUNT_DISABLED = "account_disabled", _("account disabled")
    SECOND_FACTOR_RESET = "second_factor_reset", _("second factor reset")


class ApiToken(BaseModel):
    """A bearer token for /api/v1. Only a SHA-256 of the secret is kept.

    It expires (``expires_at``), may be read-only, and is bound to its user's ``auth_epoch``:
    a password change, disabling or a second-factor reset kills it for good. ``reauth_at`` is
    when it last proved the password and a fresh second factor (``POST /api/v1/reauth``).
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=32, choices=RevokedReason.choices, blank=True)
    expires_at = models.DateTimeField()
    read_only = models.BooleanField(default=False)
    auth_epoch = models.PositiveIntegerField(default=0)
    reauth_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()


class SealedTOTPDevice(TOTPDevice):  # type: ignore[misc]  # django-otp has no type hints
    """django-otp's TOTP device whose secret is sealed under a key that is not in the database.

    The ``key`` column holds ``haven.keyring.local.seal_totp_secret`` output instead of hex, so
    a copy of the table yields no code. Always create devices through ``create_pending``:
    a clear hex key (django-otp's default) is refused when read.
    """

    class Meta:
        proxy = True

    @classmethod
    def create_pending(cls, *, user: User, name: str = "authenticator") -> SealedTOTPDevice:
        device = cls(user=user, name=name, confirmed=False)
        device.key = local.seal_totp_secret(local.new_totp_secret(), user_id=user.pk)
        device.save()
        return device

    @property
    def bin_key(self) -> bytes:
        secret, _current = local.open_totp_secret(self.key, user_id=self.user_id)
        return secret

    def sealed_under_fallback(self) -> bool:
        return not local.open_totp_secret(self.key, user_id=self.user_id)[1]

    def reseal(self) -> None:
        """Seal the secret again under the current secret key (after a key rotation)."""
        self.key = local.seal_totp_secret(self.bin_key, user_id=self.user_id)
        self.save(update_fields=["key"])


class HashedStaticDevice(StaticDevice):  # type: ignore[misc]  # django-otp has no type hints
    """django-otp's recovery-code device, keeping only a keyed hash of each code.

    ``StaticToken.token`` holds ``haven.keyring.local.recovery_code_digests(code)[0]``; a code
    is checked by hashing what was typed under the current and any fallback secret key.
    """

    class Meta:
        proxy = True

    def add_codes(self, codes: list[str]) -> None:
        StaticToken.objects.bulk_create([
            StaticToken(device=self,
                        token=local.recovery_code_digests(c, user_id=self.user_id)[0])
            for c in codes
        ])

    def verify_token(self, token: Any) -> bool:
        digests = local.recovery_code_digests(str(token), user_id=self.user_id)
        match = self.token_set.filter(token__in=digests).first()
        if match is None:
            return False
        # Deleting by id and counting makes each code single-use even under two requests.
        deleted, _rows = type(match).objects.filter(pk=match.pk).delete()
        if not deleted:
            return False
        self.set_last_used_timestamp(commit=True)
        return True
