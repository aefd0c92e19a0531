"""Accord settings: one module, driven by the environment.

Two shapes:
- the embedded default (no ACCORD_ENV, or ACCORD_ENV=development): SQLite under var/, a secret
  key and a master key generated into var/ on first run, tasks run in-process;
- production (ACCORD_ENV=production): every secret and service comes from the environment and a
  missing one stops the process at start, never later.
"""

from __future__ import annotations

import base64
import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_bool(name: str, default: bool) -> bool:
    value = env_str(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {value!r}")


def env_int(name: str, default: int) -> int:
    value = env_str(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    value = env_str(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


ACCORD_ENV = env_str("ACCORD_ENV", "development")
if ACCORD_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(f"ACCORD_ENV must be 'development' or 'production', got {ACCORD_ENV!r}")
PRODUCTION = ACCORD_ENV == "production"


def require(name: str) -> str:
    value = env_str(name)
    if value is None:
        raise ImproperlyConfigured(f"{name} must be set when ACCORD_ENV=production")
    return value


VAR_DIR = Path(env_str("ACCORD_VAR_DIR", str(BASE_DIR / "var")))
KEY_DIR = Path(env_str("ACCORD_KEY_DIR", str(VAR_DIR / "keys")))


def _generated_file_secret(path: Path, make: callable) -> str:
    """Read a development secret from var/, creating it (mode 0600) on first run."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(make())
    return path.read_text().strip()


if PRODUCTION:
    SECRET_KEY = require("ACCORD_SECRET_KEY")
else:
    SECRET_KEY = env_str("ACCORD_SECRET_KEY") or _generated_file_secret(
        VAR_DIR / "secret_key", lambda: secrets.token_urlsafe(64)
    )

# The master key wraps every organisation's key-encryption key. ACCORD_KEY_PROVIDER says where it
# lives:
# - `file` (or `env`, the same; the embedded default): base64 of 32 bytes from ACCORD_MASTER_KEY or
#   a key file outside the repository. In production, a missing key means refusing to start.
# - `pkcs11`: a non-extractable AES key in a hardware security module (or SoftHSM2, or a cloud
#   KMS's PKCS#11 library); organisation keys are wrapped and unwrapped inside the token, so the
#   master key never exists in this process (vault/masterkeys.py). A file key may still be given
#   while `manage.py keys migrate-to-token` moves an installation off it.
ACCORD_KEY_PROVIDER = env_str("ACCORD_KEY_PROVIDER", "file")
if ACCORD_KEY_PROVIDER == "env":
    ACCORD_KEY_PROVIDER = "file"
if ACCORD_KEY_PROVIDER not in {"file", "pkcs11"}:
    raise ImproperlyConfigured(f"ACCORD_KEY_PROVIDER must be 'file', 'env' or 'pkcs11', got {ACCORD_KEY_PROVIDER!r}")
MASTER_KEY_FILE = Path(env_str("ACCORD_MASTER_KEY_FILE", str(KEY_DIR / "master.key")))
_master_key_b64 = env_str("ACCORD_MASTER_KEY")
if _master_key_b64 is None:
    if MASTER_KEY_FILE.exists():
        _master_key_b64 = MASTER_KEY_FILE.read_text().strip()
    elif ACCORD_KEY_PROVIDER == "pkcs11":
        pass  # the token holds the master key; no file key is made or needed
    elif PRODUCTION:
        raise ImproperlyConfigured(
            "ACCORD_MASTER_KEY or ACCORD_MASTER_KEY_FILE (an existing file) must be set when ACCORD_ENV=production"
        )
    else:
        _master_key_b64 = _generated_file_secret(
            MASTER_KEY_FILE, lambda: base64.b64encode(secrets.token_bytes(32)).decode()
        )
MASTER_KEY: bytes | None = None
if _master_key_b64 is not None:
    try:
        MASTER_KEY = base64.b64decode(_master_key_b64, validate=True)
    except ValueError:
        raise ImproperlyConfigured("the master key must be base64 of 32 bytes") from None
    if len(MASTER_KEY) != 32:
        raise ImproperlyConfigured("the master key must be base64 of 32 bytes")
del _master_key_b64


def _pkcs11_settings() -> dict[str, str]:
    """The token's settings, each checked for presence here; whether the module loads, the token
    exists, the PIN opens it and the key is there is checked at start (vault/checks.py, wsgi)."""

    def needed(name: str) -> str:
        value = env_str(name)
        if value is None:
            raise ImproperlyConfigured(f"{name} must be set when ACCORD_KEY_PROVIDER=pkcs11")
        return value

    module = needed("ACCORD_PKCS11_MODULE")
    if not Path(module).is_file():
        raise ImproperlyConfigured(f"ACCORD_PKCS11_MODULE names no file: {module!r}")
    pin, pin_file = env_str("ACCORD_PKCS11_PIN"), env_str("ACCORD_PKCS11_PIN_FILE")
    if pin is not None and pin_file is not None:
        raise ImproperlyConfigured("set ACCORD_PKCS11_PIN or ACCORD_PKCS11_PIN_FILE, not both")
    if pin_file is not None:
        try:
            pin = Path(pin_file).read_text().strip()
        except OSError:
            raise ImproperlyConfigured(f"ACCORD_PKCS11_PIN_FILE cannot be read: {pin_file!r}") from None
        if not pin:
            raise ImproperlyConfigured(f"ACCORD_PKCS11_PIN_FILE is empty: {pin_file!r}")
    elif pin is None:
        raise ImproperlyConfigured(
            "ACCORD_PKCS11_PIN or ACCORD_PKCS11_PIN_FILE must be set when ACCORD_KEY_PROVIDER=pkcs11"
        )
    return {
        "MODULE": module,
        "TOKEN": needed("ACCORD_PKCS11_TOKEN"),
        "PIN": pin,
        "KEY_LABEL": needed("ACCORD_PKCS11_KEY_LABEL"),
    }


ACCORD_PKCS11 = _pkcs11_settings() if ACCORD_KEY_PROVIDER == "pkcs11" else {}

DEBUG = env_bool("ACCORD_DEBUG", default=False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("ACCORD_DEBUG cannot be on when ACCORD_ENV=production")

ALLOWED_HOSTS = env_list(
    "ACCORD_ALLOWED_HOSTS", [] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"]
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ACCORD_ALLOWED_HOSTS must be set when ACCORD_ENV=production")
CSRF_TRUSTED_ORIGINS = env_list("ACCORD_CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("ACCORD_SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "accounts.apps.AccordAdminConfig",  # the admin site requires a verified second factor
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "guardian",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp_webauthn",
    "axes",
    "csp",
    "accounts",
    "audit",
    "vault",
    "sharing",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "api",
    "evals",
    "exercises",
    "exchanges",
    "outbox",
    "demo",
    "portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Outside everything but static files, so it sees every other response, error pages included.
    "accounts.middleware.NoStoreMiddleware",
    "audit.middleware.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.RoleMemoMiddleware",
    # Messages before the session limits, which tell the person why they were signed out.
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.SessionLimitsMiddleware",
    "accounts.middleware.RequireMFAMiddleware",
    # After MFA, before anything decides: a secondee acting for a host reads as its member.
    "exchanges.middleware.ActingForMiddleware",
    # After MFA: the decisions that need a security key within the last few minutes.
    "accounts.stepup.StepUpMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Axes last, as its documentation requires.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "accounts.context_processors.navigation",
            ],
        },
    },
]

# Database: PostgreSQL from DATABASE_URL in production; SQLite under var/ by default.
_database_url = env_str("DATABASE_URL")
if _database_url is None:
    if PRODUCTION:
        raise ImproperlyConfigured("DATABASE_URL must be set when ACCORD_ENV=production")
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "accord.sqlite3",
            "OPTIONS": {
                # Immediate write transactions serialise writers up front, so audit appends
                # never fork the chain and never fail half-way with "database is locked".
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
else:
    DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60, conn_health_checks=True)}
    if PRODUCTION and DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("production runs on PostgreSQL: DATABASE_URL must be postgres://")
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # PostgreSQL JIT-compiles any query whose estimated cost passes jit_above_cost. The access
        # policy's condition, over every readable row (a filter menu, a long page), is estimated
        # far above it and then spent ~0.8 s compiling to run in 40 ms. A portal's short queries
        # never repay the compilation. A `?options=` in DATABASE_URL still wins.
        DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    # A passkey signs a person in by itself (it is both factors: the key and its PIN or biometric).
    "django_otp_webauthn.backends.WebAuthnBackend",
    "guardian.backends.ObjectPermissionBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

# django-guardian: no anonymous user (the custom user logs in by email), and organisation roles
# never fall back to global permissions.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False
GUARDIAN_RENDER_403 = False

# django-otp: TOTP is mandatory; a code is accepted once (the device remembers the last step).
OTP_TOTP_ISSUER = env_str("ACCORD_OTP_ISSUER", "Accord")
OTP_TOTP_TOLERANCE = 1
# The Django admin never shows an authenticator's secret or QR code (accounts/admin.py).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# WebAuthn (security keys and passkeys, django-otp-webauthn). The relying party is the host of
# ACCORD_SITE_URL; a credential made for one host never works on another. A browser accepts an
# insecure origin only for `localhost` (never 127.0.0.1), which is how the demo tries a passkey.
_site = urlsplit(SITE_URL)
_site_host = "localhost" if _site.hostname in {None, "127.0.0.1", "::1"} else _site.hostname
_site_origin = f"{_site.scheme}://{_site_host}" + (f":{_site.port}" if _site.port else "")
OTP_WEBAUTHN_RP_ID = env_str("ACCORD_WEBAUTHN_RP_ID", _site_host)
OTP_WEBAUTHN_RP_NAME = "Accord"
OTP_WEBAUTHN_ALLOWED_ORIGINS = env_list("ACCORD_WEBAUTHN_ORIGINS", [_site_origin])
OTP_WEBAUTHN_EXCEPTION_LOGGER_NAME = "accounts.webauthn"
# How long the browser waits for a key to be touched before giving up.
OTP_WEBAUTHN_TIMEOUT_SECONDS = env_int("ACCORD_WEBAUTHN_TIMEOUT_SECONDS", 300)
# Organisation admins, release officers, signatories and portal staff act only in a session
# verified with a security key or passkey (accounts/roles.py). The embedded demo lets them act
# with TOTP instead, so its personas work with the codes `seed_demo` prints; production refuses
# to start with that on.
ACCORD_PRIVILEGED_TOTP = env_bool("ACCORD_PRIVILEGED_TOTP", not PRODUCTION)
# How recent a security-key verification a decision needs (accounts/stepup.py): five minutes, or
# less (the browser journeys shorten it to outlive it); never more.
ACCORD_STEP_UP_SECONDS = env_int("ACCORD_STEP_UP_SECONDS", 300)
if not 1 <= ACCORD_STEP_UP_SECONDS <= 300:
    raise ImproperlyConfigured(f"ACCORD_STEP_UP_SECONDS must be between 1 and 300, got {ACCORD_STEP_UP_SECONDS}")
if PRODUCTION and ACCORD_PRIVILEGED_TOTP:
    raise ImproperlyConfigured(
        "ACCORD_PRIVILEGED_TOTP cannot be on when ACCORD_ENV=production: "
        "privileged roles need a security key or passkey"
    )

# django-axes: lock (username, IP) pairs after repeated failures, with a cool-off.
AXES_FAILURE_LIMIT = env_int("ACCORD_LOCKOUT_FAILURES", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("ACCORD_LOCKOUT_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False
# Behind ACCORD_TRUSTED_PROXIES proxies, the client address is the one the outermost trusted
# proxy appended to X-Forwarded-For; otherwise REMOTE_ADDR. Axes 8 reads its AXES_IPWARE_*
# settings only when django-ipware is installed, which it is not, so it would lock out the
# proxy's own address for everyone: it is given the same function the audit trail uses instead.
ACCORD_TRUSTED_PROXIES = env_int("ACCORD_TRUSTED_PROXIES", 1 if PRODUCTION else 0)
AXES_CLIENT_IP_CALLABLE = "audit.middleware.client_ip"

# Sessions: 15 minutes idle, 12 hours absolute (both enforced by accounts.middleware).
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_IDLE_TIMEOUT = timedelta(minutes=env_int("ACCORD_SESSION_IDLE_MINUTES", 15))
SESSION_ABSOLUTE_TIMEOUT = timedelta(hours=env_int("ACCORD_SESSION_ABSOLUTE_HOURS", 12))
SESSION_COOKIE_AGE = int(SESSION_ABSOLUTE_TIMEOUT.total_seconds())
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"

X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

if PRODUCTION:
    # __Host- cookies must be Secure, path=/ and host-only: the browser refuses them otherwise.
    SESSION_COOKIE_NAME = "__Host-accord-session"
    CSRF_COOKIE_NAME = "__Host-accord-csrf"
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("ACCORD_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 63072000  # two years
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
else:
    SESSION_COOKIE_NAME = "accord-session"
    CSRF_COOKIE_NAME = "accord-csrf"

# Content Security Policy: every script and style comes from static/, inline code is refused.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    },
}

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("ACCORD_STATIC_ROOT", str(VAR_DIR / "static")))
MEDIA_ROOT = Path(env_str("ACCORD_MEDIA_ROOT", str(VAR_DIR / "media")))
# The embedded default serves static files straight from static/ (no collectstatic step);
# production serves the hashed, compressed copies that collectstatic writes to STATIC_ROOT.
WHITENOISE_USE_FINDERS = not PRODUCTION
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
    MEDIA_ROOT.mkdir(parents=True, exist_ok=True, mode=0o700)
# The ciphertext store: a local folder (MEDIA_ROOT, or any storage class named by
# ACCORD_ATTACHMENT_STORAGE) or S3-compatible object storage. Blobs are ciphertext under random
# names, so the store need not be trusted; keys never go there.
ACCORD_STORAGE = env_str("ACCORD_STORAGE", "filesystem")
if ACCORD_STORAGE == "filesystem":
    _attachment_storage: dict = {
        "BACKEND": env_str("ACCORD_ATTACHMENT_STORAGE", "django.core.files.storage.FileSystemStorage")
    }
elif ACCORD_STORAGE == "s3":
    _s3_bucket = env_str("ACCORD_S3_BUCKET")
    if _s3_bucket is None:
        raise ImproperlyConfigured("ACCORD_S3_BUCKET must be set when ACCORD_STORAGE=s3")
    _attachment_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": _s3_bucket,
            "endpoint_url": env_str("ACCORD_S3_ENDPOINT_URL"),
            "region_name": env_str("ACCORD_S3_REGION"),
            # Unset keys fall back to boto3's chain (instance role, AWS_* variables, config files).
            "access_key": env_str("ACCORD_S3_ACCESS_KEY_ID"),
            "secret_key": env_str("ACCORD_S3_SECRET_ACCESS_KEY"),
            "location": env_str("ACCORD_S3_PREFIX", ""),
            "addressing_style": env_str("ACCORD_S3_ADDRESSING_STYLE"),
            # Objects are private and never handed out by URL: downloads stream through the
            # portal, which decrypts and audits them.
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
            "object_parameters": {"ContentType": "application/octet-stream"},
        },
    }
else:
    raise ImproperlyConfigured(f"ACCORD_STORAGE must be 'filesystem' or 's3', got {ACCORD_STORAGE!r}")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Attachment ciphertext only (random names, see vault/crypto.py); any Django storage
    # backend will do, including S3-compatible object storage, since it is never trusted.
    "attachments": _attachment_storage,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Attachments: the cap on one file, and the plaintext size of each encrypted segment (64 KiB to
# 1 MiB; 1 MiB keeps per-segment Python work to ~1,000 calls per GiB at a flat ~2 MiB per stream).
ACCORD_ATTACHMENT_MAX_BYTES = env_int("ACCORD_ATTACHMENT_MAX_BYTES", 2 * 1024**3)
ACCORD_ATTACHMENT_SEGMENT_SIZE = env_int("ACCORD_ATTACHMENT_SEGMENT_SIZE", 1024 * 1024)
if not 64 * 1024 <= ACCORD_ATTACHMENT_SEGMENT_SIZE <= 1024 * 1024:
    raise ImproperlyConfigured("ACCORD_ATTACHMENT_SEGMENT_SIZE must be between 65536 and 1048576 bytes")
# ClamAV: a clamd Unix socket, or host and port; unset means type checks only.
ACCORD_CLAMD_SOCKET = env_str("ACCORD_CLAMD_SOCKET", "")
ACCORD_CLAMD_HOST = env_str("ACCORD_CLAMD_HOST", "")
ACCORD_CLAMD_PORT = env_int("ACCORD_CLAMD_PORT", 3310)
ACCORD_CLAMD_TIMEOUT = env_int("ACCORD_CLAMD_TIMEOUT", 120)

# Celery: Redis in production; with no broker configured, tasks run in-process.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
if PRODUCTION and CELERY_BROKER_URL is None:
    raise ImproperlyConfigured("CELERY_BROKER_URL must be set when ACCORD_ENV=production")
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_TIME_LIMIT = 600
CELERY_TASK_SOFT_TIME_LIMIT = 540
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE: dict = {
    # Access already ends at the second a date passes; this records it and removes stale grants.
    "sharing-tidy": {"task": "sharing.tidy", "schedule": timedelta(minutes=5)},
    # A signed audit checkpoint every hour, and a full verification of the chain every night.
    "audit-checkpoint": {"task": "audit.make_checkpoint", "schedule": timedelta(hours=1)},
    "audit-verify": {"task": "audit.verify_chain", "schedule": timedelta(days=1)},
    # Routine: from the last verified checkpoint on, every ten minutes.
    "audit-verify-incremental": {
        "task": "audit.verify_chain",
        "schedule": timedelta(minutes=10),
        "kwargs": {"incremental": True},
    },
}
# How audit events are linked into the chain (audit/sequencer.py): "inline" (in the writer's
# transaction: the embedded default on SQLite, where the one write lock is held anyway),
# "after_commit" (the writer's thread, once it has committed: PostgreSQL without a sequencer
# process), "sequencer" (only `manage.py audit sequencer` or the `audit.sequence` task: production
# on PostgreSQL, where the writer's transaction then only inserts). Empty: chosen by database.
ACCORD_AUDIT_SEALING = env_str("ACCORD_AUDIT_SEALING", "") or ""
if ACCORD_AUDIT_SEALING not in {"", "inline", "after_commit", "sequencer"}:
    raise ImproperlyConfigured(
        f"ACCORD_AUDIT_SEALING must be inline, after_commit or sequencer, got {ACCORD_AUDIT_SEALING!r}"
    )
# The `audit.sequence` task seals for this long per run; beat starts it as often.
ACCORD_AUDIT_SEQUENCER_TASK_SECONDS = env_int("ACCORD_AUDIT_SEQUENCER_TASK_SECONDS", 10)
if ACCORD_AUDIT_SEALING == "sequencer":
    CELERY_BEAT_SCHEDULE["audit-sequence"] = {
        "task": "audit.sequence",
        "schedule": timedelta(seconds=ACCORD_AUDIT_SEQUENCER_TASK_SECONDS),
    }
# /readyz degrades when the oldest unsealed audit event is older than this (seconds).
ACCORD_AUDIT_SEAL_LAG_LIMIT = env_int("ACCORD_AUDIT_SEAL_LAG_LIMIT", 30)
# The sequencer signs a checkpoint with a batch at most this often (seconds; 0: every batch).
ACCORD_AUDIT_CHECKPOINT_SECONDS = env_int("ACCORD_AUDIT_CHECKPOINT_SECONDS", 1)
# Owners of an agreement are warned this many days before it expires.
ACCORD_AGREEMENT_EXPIRY_NOTICE_DAYS = env_int("ACCORD_AGREEMENT_EXPIRY_NOTICE_DAYS", 30)
# A dead broker must cost a request a moment, not kombu's default of retrying for seconds: one
# quick retry, then the outbox keeps the task and the beat relay publishes it later.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 2,
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
# Tasks queued while the broker was down are published as soon as it answers again.
CELERY_BEAT_SCHEDULE["outbox-relay"] = {"task": "outbox.relay", "schedule": env_int("ACCORD_OUTBOX_RELAY_SECONDS", 10)}
# A message unacknowledged this long is handed to another worker even while the first still
# runs it, so it must exceed the longest task's hard time limit (3,600 s: the key re-wrap and the
# nightly chain verification); just above it, so a message whose worker died with it comes back
# as early as that allows. The reaper below does not wait for it.
CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = env_int("ACCORD_BROKER_VISIBILITY_TIMEOUT", 3900)
# The reaper: work whose outcome shows in the database and is older than its deadline is queued
# again through the outbox (outbox/reconcile.py). Each deadline is above its task's time limit
# and retries, so work that is merely slow is rarely queued twice (and twice changes nothing).
CELERY_BEAT_SCHEDULE["outbox-reap"] = {"task": "outbox.reap", "schedule": env_int("ACCORD_REAPER_SECONDS", 60)}
ACCORD_WORK_DEADLINES = {
    "scan": env_int("ACCORD_DEADLINE_SCAN_SECONDS", 2400),  # scan_attachment: time limit 1,800 s
    "parse": env_int("ACCORD_DEADLINE_PARSE_SECONDS", 900),  # parse_eval_log: 150 s, 3 retries
    "rewrap": env_int("ACCORD_DEADLINE_REWRAP_SECONDS", 4200),  # rewrap_organisation_deks: 3,600 s
    "notice": env_int("ACCORD_DEADLINE_NOTICE_SECONDS", 900),  # release and expiry notices: 120 s, 5 retries
}

# Cache: Redis when ACCORD_CACHE_URL (or a Redis broker) is set, so API rate limits hold across
# every web process; a per-process memory cache otherwise (the embedded default).
_cache_url = env_str("ACCORD_CACHE_URL")
if _cache_url is None and CELERY_BROKER_URL and CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    _cache_url = CELERY_BROKER_URL
if _cache_url is not None:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _cache_url,
            "KEY_PREFIX": "accord",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "accord"}}
# The document list's filter menu is cached only in a cache every web process shares: a write
# retires the cached menus by moving a number in it, which a per-process cache would not see.
ACCORD_MENU_CACHE = env_bool("ACCORD_MENU_CACHE", default=_cache_url is not None)

# REST API (/api/v1/): bearer tokens only, one JSON error shape, pages, per-token rate limits.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.TokenScope"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.TokenRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.BoundedJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.PagePagination",
    "DEFAULT_SCHEMA_CLASS": "api.schema.AccordAutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
ACCORD_API_RATE = env_str("ACCORD_API_RATE", "600/min")
ACCORD_API_TOKEN_MAX_DAYS = env_int("ACCORD_API_TOKEN_MAX_DAYS", 365)
SPECTACULAR_SETTINGS = {
    "TITLE": "Accord API",
    "DESCRIPTION": "Findings, attachments, releases, agreements, eval results and joint testing exercises. "
    "Authenticate with `Authorization: Bearer <token>`; see docs/API.md.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "DocumentStatusEnum": "sharing.models.documents.Document.Status",
        "ReleaseStatusEnum": "sharing.models.agreements.Release.Status",
        "AgreementStatusEnum": "sharing.models.agreements.SharingAgreement.Status",
    },
    # Swagger UI is served from static/ (drf-spectacular-sidecar), so the strict CSP holds.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": False, "tryItOutEnabled": False},
}

EMAIL_BACKEND = env_str(
    "ACCORD_EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if PRODUCTION else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env_str("ACCORD_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("ACCORD_EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("ACCORD_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("ACCORD_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("ACCORD_EMAIL_USE_TLS", PRODUCTION)
DEFAULT_FROM_EMAIL = env_str("ACCORD_FROM_EMAIL", "accord@localhost")

LOG_FORMAT = env_str("ACCORD_LOG_FORMAT", "json" if PRODUCTION else "text")
if LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured(f"ACCORD_LOG_FORMAT must be 'json' or 'text', got {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "portal.logs.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "portal.logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": env_str("ACCORD_LOG_LEVEL", "INFO")},
    "loggers": {
        # Axes logs usernames of failed logins at WARNING; the audit trail keeps those instead.
        "axes": {"level": "ERROR"},
        # Request lines come from accord.request, with the request id; Django's own are noise.
        "django.server": {"level": "WARNING"},
        # At DEBUG these two write what they hold: a template's missing variable is logged with
        # the whole context (CSRF token, document text), and SQL with its parameters. Django's
        # default keeps its `django` logger at INFO; pinned here as well, so lowering that one to
        # debug something else never puts secrets or findings in the logs.
        "django.template": {"level": "INFO"},
        "django.db.backends": {"level": "INFO"},
    },
}
