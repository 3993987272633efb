"""Haven settings: read only from the environment, and fail closed.

Every value comes from an environment variable (secrets also from ``*_FILE``).
A value that cannot be understood raises ``ImproperlyConfigured`` at start-up
instead of falling back to something weaker.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent


def _env(name: str, default: str | None = None) -> str | None:
    """A variable, or the contents of the file named by ``NAME_FILE``."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_name!r} cannot be read: {exc}") from exc
    return os.environ.get(name, default)


def _bool(name: str, *, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no).")


def _int(name: str, *, default: int, minimum: int = 0, maximum: int = 10**9) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from exc
    if not minimum <= value <= maximum:
        raise ImproperlyConfigured(f"{name}={value} is outside {minimum}..{maximum}.")
    return value


# --- where state lives -------------------------------------------------------------------------
DATA_DIR = Path(os.environ.get("HAVEN_DATA_DIR") or "var").resolve()
FILES_DIR = DATA_DIR / "files"
BACKUP_DIR = DATA_DIR / "backups"
LOG_DIR = DATA_DIR / "logs"
RUN_DIR = DATA_DIR / "run"

DEBUG = _bool("HAVEN_DEBUG", default=False)

_secret = _env("HAVEN_SECRET_KEY")
if not _secret:
    _secret_file = DATA_DIR / "secret_key"
    try:
        _secret = _secret_file.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise ImproperlyConfigured(
            "No secret key. Set HAVEN_SECRET_KEY or HAVEN_SECRET_KEY_FILE, "
            f"or run `make setup` to create {_secret_file}."
        ) from None
if len(_secret) < 32:
    raise ImproperlyConfigured("The secret key must be at least 32 characters long.")
SECRET_KEY = _secret
# Rotating the secret key: the old one stays here (comma- or newline-separated) until every
# authenticator secret is sealed under the new one (`haven user rekey`); docs/operations.md.
SECRET_KEY_FALLBACKS = [
    k.strip() for k in (_env("HAVEN_SECRET_KEY_FALLBACKS") or "").replace("\n", ",").split(",")
    if k.strip()
]
if any(len(k) < 32 for k in SECRET_KEY_FALLBACKS):
    raise ImproperlyConfigured("Every key in HAVEN_SECRET_KEY_FALLBACKS must be at least 32 "
                               "characters long.")

ALLOWED_HOSTS = [
    h.strip()
    for h in (os.environ.get("HAVEN_ALLOWED_HOSTS") or "127.0.0.1,localhost,[::1]").split(",")
    if h.strip()
]
if DEBUG is False and "*" in ALLOWED_HOSTS:
    raise ImproperlyConfigured("HAVEN_ALLOWED_HOSTS may not contain '*' outside debug mode.")

# --- applications ------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_otp_webauthn",
    "haven.core",
    "haven.access",
    "haven.audit",
    "haven.accounts",
    "haven.keyring",
    "haven.people",
    "haven.intake",
    "haven.cases",
    "haven.housing",
    "haven.pathways",
    "haven.partners",
    "haven.auditlog",
    "haven.dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "haven.core.middleware.RequestIdMiddleware",
    "haven.core.middleware.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "haven.core.csrf.NoReferrerCsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "haven.accounts.middleware.SessionPolicyMiddleware",
    "haven.accounts.middleware.SecondFactorMiddleware",
    "haven.keyring.middleware.SealedMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
]

# `haven serve --intake-only` sets HAVEN_INTAKE_ONLY=1: only the public intake pages are routed.
HAVEN_INTAKE_ONLY = _bool("HAVEN_INTAKE_ONLY", default=False)
ROOT_URLCONF = "haven.intake_urls" if HAVEN_INTAKE_ONLY else "haven.urls"
WSGI_APPLICATION = "haven.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "haven.dashboard.context_processors.haven",
            ],
            "string_if_invalid": "",
        },
    }
]

# --- database ----------------------------------------------------------------------------------
_database_url = os.environ.get("DATABASE_URL")
if _database_url:
    try:
        _db: dict[str, Any] = dict(dj_database_url.parse(_database_url, conn_max_age=60,
                                                           conn_health_checks=True))
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL cannot be understood: {exc}") from exc
    if _db["ENGINE"] == "django.db.backends.sqlite3":
        _db.setdefault("OPTIONS", {})
    _db.setdefault("TEST", {})
    if os.environ.get("HAVEN_TEST_DATABASE_NAME"):
        _db["TEST"]["NAME"] = os.environ["HAVEN_TEST_DATABASE_NAME"]
else:
    _db = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": DATA_DIR / "haven.sqlite3",
    }
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers go on while one writer commits; IMMEDIATE takes the write lock at BEGIN
    # so two writers queue instead of failing half-way; synchronous=FULL means an acknowledged
    # commit survives a power cut.
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; "
            "PRAGMA secure_delete=ON;"
        ),
        **_db.get("OPTIONS", {}),
    }
elif _db["ENGINE"] == "django.db.backends.postgresql":
    # No parallel query for the server's own connections by default: on a small machine the
    # parallel workers compete with the other requests for the same cores, and at a million
    # people they made a caseworker's start page and search 30-50% slower under load
    # (docs/benchmarks.md). HAVEN_DB_PARALLEL_WORKERS=N gives each query up to N.
    _parallel = os.environ.get("HAVEN_DB_PARALLEL_WORKERS", "0")
    if not _parallel.isdigit():
        raise ImproperlyConfigured(
            f"HAVEN_DB_PARALLEL_WORKERS must be a whole number of workers, not {_parallel!r}.")
    _db.setdefault("OPTIONS", {})
    _db["OPTIONS"]["options"] = (f"-c max_parallel_workers_per_gather={int(_parallel)} "
                                 + _db["OPTIONS"].get("options", "")).strip()
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- accounts, sessions, second factor -----------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:dashboard"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "haven.accounts.validators.MaximumLengthValidator"},
]

HAVEN_SESSION_IDLE_MINUTES = _int("HAVEN_SESSION_IDLE_MINUTES", default=15, minimum=1, maximum=720)
HAVEN_SESSION_MAX_HOURS = _int("HAVEN_SESSION_MAX_HOURS", default=12, minimum=1, maximum=72)
# Wrong unseal shares lock the unsealing account (haven.keyring) after HAVEN_LOCKOUT_THRESHOLD
# failures for HAVEN_LOCKOUT_MINUTES.
HAVEN_LOCKOUT_THRESHOLD = _int("HAVEN_LOCKOUT_THRESHOLD", default=5, minimum=1, maximum=100)
HAVEN_LOCKOUT_MINUTES = _int("HAVEN_LOCKOUT_MINUTES", default=15, minimum=1, maximum=10080)
# Failed sign-ins (password, code, re-authentication, the password form) slow the *account*
# down: after n failures in a row it takes no attempt for 2^n seconds, at most
# HAVEN_LOGIN_MAX_DELAY_SECONDS; after HAVEN_LOGIN_LOCK_AFTER failures in a row it is locked
# until another coordinator unlocks it (docs/architecture.md, "Accounts and sessions").
HAVEN_LOGIN_LOCK_AFTER = _int("HAVEN_LOGIN_LOCK_AFTER", default=20, minimum=3, maximum=1000)
HAVEN_LOGIN_MAX_DELAY_SECONDS = _int("HAVEN_LOGIN_MAX_DELAY_SECONDS", default=900, minimum=1,
                                     maximum=86400)
HAVEN_REAUTH_MINUTES = _int("HAVEN_REAUTH_MINUTES", default=5, minimum=1, maximum=60)
# API tokens: the expiry a new token gets unless told otherwise, and the longest allowed.
HAVEN_TOKEN_DEFAULT_DAYS = _int("HAVEN_TOKEN_DEFAULT_DAYS", default=30, minimum=1, maximum=90)
HAVEN_TOKEN_MAX_DAYS = _int("HAVEN_TOKEN_MAX_DAYS", default=90, minimum=1, maximum=90)
if HAVEN_TOKEN_DEFAULT_DAYS > HAVEN_TOKEN_MAX_DAYS:
    raise ImproperlyConfigured("HAVEN_TOKEN_DEFAULT_DAYS may not exceed HAVEN_TOKEN_MAX_DAYS.")

# Sessions are stored under a SHA-256 of the cookie value, never the value itself.
SESSION_ENGINE = "haven.accounts.sessions"
SESSION_COOKIE_AGE = HAVEN_SESSION_MAX_HOURS * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Strict"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Strict"
# Browsers treat loopback as a secure context, so Secure cookies work on http://127.0.0.1 too.
SESSION_COOKIE_SECURE = _bool("HAVEN_SECURE_COOKIES", default=True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_NAME = "haven_session"
CSRF_COOKIE_NAME = "haven_csrf"
CSRF_FAILURE_VIEW = "haven.core.views.csrf_failure"

OTP_TOTP_ISSUER = os.environ.get("HAVEN_TOTP_ISSUER") or "Haven"
OTP_TOTP_THROTTLE_FACTOR = 0  # Haven's own account lockout throttles guessing (accounts.services)
OTP_STATIC_THROTTLE_FACTOR = 0


def _webauthn_rp_id() -> str:
    """The relying party id of security keys: a host name (never an IP address)."""
    explicit = (os.environ.get("HAVEN_WEBAUTHN_RP_ID") or "").strip().lower()
    if explicit:
        if not explicit.replace("-", "").replace(".", "").isalnum() or explicit.replace(
                ".", "").isdigit():
            raise ImproperlyConfigured(
                f"HAVEN_WEBAUTHN_RP_ID={explicit!r} must be a host name such as "
                "haven.example.org (security keys refuse IP addresses).")
        return explicit
    for host in ALLOWED_HOSTS:
        name = host.lstrip(".").lower()
        if name and not name.startswith("[") and not name.replace(".", "").isdigit():
            return name
    return "localhost"


# Security keys and passkeys (django-otp-webauthn) as a second factor, never instead of the
# password. The origins a key may answer for are HAVEN_WEBAUTHN_ORIGINS, or else the origin
# the request came to when its host is the relying party (haven.accounts.webauthn).
HAVEN_WEBAUTHN_RP_ID = _webauthn_rp_id()
HAVEN_WEBAUTHN_ORIGINS = [o.strip() for o in (os.environ.get("HAVEN_WEBAUTHN_ORIGINS") or "")
                          .split(",") if o.strip()]
for _origin in HAVEN_WEBAUTHN_ORIGINS:
    if not _origin.startswith(("https://", "http://localhost")):
        raise ImproperlyConfigured(f"HAVEN_WEBAUTHN_ORIGINS: {_origin!r} is not https://….")
OTP_WEBAUTHN_RP_ID = HAVEN_WEBAUTHN_RP_ID
OTP_WEBAUTHN_RP_NAME = OTP_TOTP_ISSUER
OTP_WEBAUTHN_ALLOWED_ORIGINS = HAVEN_WEBAUTHN_ORIGINS or [f"https://{HAVEN_WEBAUTHN_RP_ID}"]
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
OTP_WEBAUTHN_HELPER_CLASS = "haven.accounts.webauthn.HavenWebAuthnHelper"
OTP_WEBAUTHN_EXCEPTION_LOGGER_NAME = ""  # failures are audited; the library's log may name users

# --- web hardening -----------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
# No page tells any site, this one included, where the user came from. Browsers then send
# `Origin: null` on form posts; haven.core.csrf accepts those when Fetch Metadata says the
# post came from this origin.
SECURE_REFERRER_POLICY = "no-referrer"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_HSTS_SECONDS = 63072000  # sent only on requests that arrived over TLS
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_SSL_REDIRECT = _bool("HAVEN_TLS_REDIRECT", default=False)
if _bool("HAVEN_BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}
HAVEN_PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), "
    "magnetometer=(), microphone=(), payment=(), usb=(), interest-cohort=()"
)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
HAVEN_MAX_UPLOAD_MB = _int("HAVEN_MAX_UPLOAD_MB", default=25, minimum=1, maximum=10240)
# Data keys a worker may keep between requests (docs/keyring.md, "Worker key cache"):
# for how many seconds at most (0 = no cache: unwrap for every request) and how many.
HAVEN_KEY_CACHE_SECONDS = _int("HAVEN_KEY_CACHE_SECONDS", default=60, minimum=0, maximum=3600)
HAVEN_KEY_CACHE_SIZE = _int("HAVEN_KEY_CACHE_SIZE", default=4096, minimum=0, maximum=1_000_000)
# No view may fall back to Django's handlers, which spool uploads to a plaintext temp file;
# views that take files install keyring's encrypting handler themselves.
FILE_UPLOAD_HANDLERS = ["haven.keyring.files.RefusingUploadHandler"]
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200

# --- i18n --------------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ru", _("Russian"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_NAME = "haven_language"
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Strict"
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

# --- static files (self-hosted, no CDN) --------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
# /favicon.ico, for the browsers that ask for it whatever the page declares (a neutral icon:
# the public intake site is served by the same files).
WHITENOISE_ROOT = BASE_DIR / "core" / "root"
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- caches ------------------------------------------------------------------------------------
_redis_url = os.environ.get("HAVEN_REDIS_URL")
CACHES: dict[str, dict[str, Any]] = (
    {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _redis_url}}
    if _redis_url
    else {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
)

# --- logging: to stderr only, and never personal data --------------------------------------------
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["stderr"], "level": os.environ.get("HAVEN_LOG_LEVEL") or "INFO"},
    "loggers": {
        # Django logs the request line of every 4xx/5xx; a URL may carry a search term.
        "django.request": {"handlers": ["stderr"], "level": "ERROR", "propagate": False},
        "django.security.DisallowedHost": {"handlers": [], "propagate": False},
    },
}

NINJA_PAGINATION_PER_PAGE = 50
HAVEN_DEMO_MODE = _bool("HAVEN_DEMO_MODE", default=False)

# --- anonymous intake (haven.intake; docs/intake.md) ---------------------------------------------
HAVEN_INTAKE_RETENTION_DAYS = _int("HAVEN_INTAKE_RETENTION_DAYS", default=30, minimum=1, maximum=3650)
# The queue of requests is bounded by disk space, not by a count: a submission is refused while
# the data folder's disk has less than this free (or the database is past its cap, if set).
HAVEN_INTAKE_DISK_RESERVE_MB = _int("HAVEN_INTAKE_DISK_RESERVE_MB", default=512, minimum=0)
HAVEN_INTAKE_MAX_DATABASE_MB = _int("HAVEN_INTAKE_MAX_DATABASE_MB", default=0, minimum=0)
# A browser session's first request can be sent this long after its form was opened; each
# further one waits four times longer, and a session sends at most the budget in a day.
HAVEN_INTAKE_MIN_FILL_SECONDS = _int("HAVEN_INTAKE_MIN_FILL_SECONDS", default=5, minimum=0,
                                     maximum=600)
HAVEN_INTAKE_SESSION_BUDGET = _int("HAVEN_INTAKE_SESSION_BUDGET", default=5, minimum=1,
                                   maximum=100000)
HAVEN_INTAKE_RATE_PER_MINUTE = _int("HAVEN_INTAKE_RATE_PER_MINUTE", default=30000, minimum=1)
HAVEN_INTAKE_MAX_BODY = _int("HAVEN_INTAKE_MAX_BODY", default=64 * 1024, minimum=4096,
                             maximum=1024 * 1024)
HAVEN_INTAKE_KDF_LOG2_N = _int("HAVEN_INTAKE_KDF_LOG2_N", default=10, minimum=10, maximum=20)
HAVEN_INTAKE_ORG = os.environ.get("HAVEN_INTAKE_ORG") or ""
HAVEN_INTAKE_EXIT_URL = os.environ.get("HAVEN_INTAKE_EXIT_URL") or "https://www.google.com/"
