"""The one settings module: every value a deployment may change comes from the environment.

No environment at all gives a working development site: SQLite in ``var/``, a
filesystem Celery broker that needs no server, e-mail written to files in ``var/mail``.
``DJANGO_ENV=production`` switches on the production posture and refuses to
start without the secrets it needs. Every variable is listed in ``.env.example``.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from core.config import ImapAccount, SupportdeskConfig
from supportdesk.env import (
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_secret,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("SUPPORTDESK_DATA_DIR", str(BASE_DIR / "var")) or BASE_DIR / "var")

ENVIRONMENT = env_choice("DJANGO_ENV", "development", ("development", "production", "test"))
PRODUCTION = ENVIRONMENT == "production"

DEBUG = env_bool("DEBUG", default=not PRODUCTION)

_DEV_SECRET = "dev-only-insecure-key-not-for-production-use-0123456789abcdefghij"
SECRET_KEY = env_secret("SECRET_KEY", None if PRODUCTION else _DEV_SECRET) or ""
if PRODUCTION and (not SECRET_KEY or SECRET_KEY == _DEV_SECRET):
    raise ImproperlyConfigured("DJANGO_ENV=production needs SECRET_KEY (or SECRET_KEY_FILE).")

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]", "testserver"]
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ENV=production needs ALLOWED_HOSTS.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# Public base URL used in e-mails and webhooks, where there is no request to ask.
SITE_URL = (env_str("SITE_URL", "http://127.0.0.1:8000") or "").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # The search documents' field types (tickets.TicketSearch); harmless on SQLite.
    "django.contrib.postgres",
    "django_countries",
    "phonenumber_field",
    "django_htmx",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "tenants",
    "severity",
    "tickets",
    "verification",
    "helpcenter",
    "webhooks",
    "mailin",
    "notices",
    # The supervisors' SLA policy and calendar editor on the desk (issue 15).
    "slapolicies",
    # The audit trail (issue 17): one append-only row per change to access or terms.
    "audit",
    # Privacy (issue 17): exports, erasure of a person, the retention purge.
    "privacy",
    # The demo data set (manage.py seed_demo): the top layer, imported by no other app.
    "demo",
    "axes",
    # Second factors (mfa): TOTP apps, recovery codes and passkeys, each a model in the admin.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_otp_webauthn",
    "mfa",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Request id, organization and ticket on every log line; request latency metrics.
    "core.observability.RequestContextMiddleware",
    # The channel and address every audit row records (audit.context).
    "audit.context.AuditContextMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # A lost database connection answers 503 + Retry-After, never a 500.
    "supportdesk.middleware.DatabaseUnavailableMiddleware",
    # A method the resource does not serve (TRACE …): 405 with Allow, before sign-in.
    "supportdesk.middleware.MethodNotAllowedMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): whether this session passed a second factor (django-otp).
    "django_otp.middleware.OTPMiddleware",
    # Times read in the signed-in person's zone (their own, else their organization's).
    "tenants.middleware.UserTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # The one home of the second-factor rule: staff (and admins of organizations that ask
    # for it) enrolled and verified before the desk, its API and the Django admin.
    "mfa.middleware.SecondFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as its documentation asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "supportdesk.urls"
WSGI_APPLICATION = "supportdesk.wsgi.application"
ASGI_APPLICATION = "supportdesk.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tenants.context_processors.navigation",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
# Persistent connections are mandatory for throughput (CONN_MAX_AGE=0 measured ~7x slower).
_DATABASE_URL = env_secret("DATABASE_URL")
if _DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            _DATABASE_URL,
            conn_max_age=env_int("DB_CONN_MAX_AGE", 600, minimum=0),
            conn_health_checks=True,
        )
    }
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "db.sqlite3"),
            # Web, worker and beat share one file: WAL lets readers run beside a writer,
            # IMMEDIATE takes the write lock at BEGIN (no lock-upgrade deadlocks), and the
            # busy timeout makes a writer wait instead of failing with "database is locked".
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA busy_timeout=20000;"
                ),
            },
            # One file per test run: two runs at once (two terminals, an editor's test
            # runner) must not share, or delete, each other's database.
            "TEST": {"NAME": DATA_DIR / f"test-{os.getpid()}.sqlite3"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# SQLite (development, `make run`) has no covering indexes: it builds the PostgreSQL
# indexes without their INCLUDE columns, which models.W040 says on every migrate and
# start. Silenced there only; on PostgreSQL the warning would mean something.
SILENCED_SYSTEM_CHECKS = (
    ["models.W040"] if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3" else []
)

# --- REST API -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Organization API keys and agent tokens (Authorization: Bearer …), then the
        # browser's session with CSRF enforced.
        "tenants.api_keys.BearerAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.api_errors.LimitedJSONParser"],
    "DEFAULT_THROTTLE_CLASSES": ["tenants.api_keys.CredentialRateThrottle"],
    # One bucket per API key, agent token or signed-in user.
    "DEFAULT_THROTTLE_RATES": {"credential": env_str("API_THROTTLE_RATE", "600/min")},
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "core.api_errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "supportdesk API",
    "DESCRIPTION": (
        "Service requests of one organization, for its API keys; the desk and telephony "
        "endpoints, for support agents' tokens. Errors are JSON "
        '`{"code", "message", "fields"}`.'
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1/",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "supportdesk.api_schema.add_links",
        "supportdesk.api_schema.strict_requests",
    ],
    # A PATCH body's required fields are the serializer's, not all made optional.
    "COMPONENT_SPLIT_PATCH": False,
    "ENUM_NAME_OVERRIDES": {
        "TicketStatusEnum": "tickets.models.Status",
        "SeverityEnum": "severity.choices.Severity",
        "CategoryEnum": "severity.choices.Category",
        "ImpactEnum": "severity.choices.Impact",
        "ScopeEnum": "severity.choices.Scope",
        "ContactMethodEnum": "tickets.models.ContactMethod",
        "LanguageEnum": "tickets.models.Language",
        "WebhookEventTypeEnum": "webhooks.models.WebhookEventType",
        "DeliveryStatusEnum": "webhooks.models.DeliveryStatus",
        "MessageKindEnum": "tickets.models.MessageKind",
        "EventKindEnum": "tickets.models.EventKind",
        "AuthorRoleEnum": "tickets.models.AuthorRole",
        "TicketChannelEnum": "tickets.models.Channel",
        "ChannelKindEnum": "verification.models.ChannelKind",
        "DeskReplyKindEnum": "tickets.serializers.DeskReplyKind",
        "CallStatusEnum": "verification.api.CALL_STATUSES",
    },
}

# --- Cache --------------------------------------------------------------------------------
REDIS_URL = env_secret("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            # Redis down: a miss, not an error (throttling fails open; see the module).
            "BACKEND": "supportdesk.cache.TolerantRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "supportdesk",
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Accounts -----------------------------------------------------------------------------
AUTH_USER_MODEL = "tenants.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 60 * 60 * 12, minimum=300)

# --- Internationalisation -----------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("pl", _("Polish"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "UTC") or "UTC"
USE_I18N = True
USE_TZ = True
# One date and time format per language (English "7 Dec 2026, 14:05", Polish
# "07.12.2026, 14:05"); the active zone is the reader's (tenants.middleware).
FORMAT_MODULE_PATH = ["supportdesk.formats"]

# --- Static and media ---------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(DATA_DIR / "media")) or DATA_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- E-mail -------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Support <support@supportdesk.localhost>")
SERVER_EMAIL = env_str("SERVER_EMAIL", DEFAULT_FROM_EMAIL)


def _email_from_url(url: str) -> dict[str, object]:
    """smtp://user:password@host:587?tls=1  |  smtps://…:465  |  console://  |  locmem://
    |  file:///absolute/folder (file:// alone: var/mail under the data folder)"""
    parts = urlsplit(url)
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    scheme = parts.scheme.lower()
    if scheme == "console":
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if scheme == "locmem":
        return {"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    if scheme == "file":
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": unquote(parts.path) or str(DATA_DIR / "mail"),
        }
    if scheme not in {"smtp", "smtps"}:
        raise ImproperlyConfigured(
            f"EMAIL_URL scheme {scheme!r} is not smtp, smtps, console, file."
        )
    try:
        port = parts.port
    except ValueError as error:
        raise ImproperlyConfigured(f"EMAIL_URL has a bad port: {error}") from None
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parts.hostname or "localhost",
        "EMAIL_PORT": port or (465 if scheme == "smtps" else 25),
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_SSL": scheme == "smtps",
        "EMAIL_USE_TLS": query.get("tls", "0") in {"1", "true", "yes"},
        "EMAIL_TIMEOUT": 10,
    }


# Development writes every mail to files under var/mail, shown at /dev/mail/ (DEBUG only);
# production without EMAIL_URL prints them. The tests' runner swaps in its own backend.
_EMAIL_DEFAULT = "console://" if PRODUCTION else "file://"
globals().update(_email_from_url(env_secret("EMAIL_URL", _EMAIL_DEFAULT) or _EMAIL_DEFAULT))

# --- Security -----------------------------------------------------------------------------
# A strict Content Security Policy on every page: scripts and styles from our own static
# files only (an inline script needs the request's nonce), nothing framed, no plugins.
SECURE_CSP: dict[str, list[str]] = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # /healthz is probed over plain HTTP from inside the deployment.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]


def _mailin_address(address: str) -> str:
    """A plain local@domain with no "+" in the local part (the "+" starts the tag)."""
    local, at, domain = address.strip().partition("@")
    if not at or not local or not domain or "+" in local or "@" in domain or " " in address.strip():
        raise ImproperlyConfigured(f"MAILIN_ADDRESS {address!r} is not a plain local@domain.")
    return f"{local}@{domain.lower()}"


def _mailin_imap(url: str) -> ImapAccount | None:
    """MAILIN_IMAP_URL, checked at start-up; plain-text IMAP only to this host in production."""
    if not url:
        return None
    try:
        account = ImapAccount.from_url(url)
    except ValueError as error:
        raise ImproperlyConfigured(f"MAILIN_IMAP_URL: {error}.") from None
    if PRODUCTION and not account.tls and account.host not in {"127.0.0.1", "::1", "localhost"}:
        raise ImproperlyConfigured(
            "MAILIN_IMAP_URL: imap:// sends the password in plain text; use imaps:// "
            "(or a server on this host)."
        )
    return account


# --- Product policy defaults (POLICY.md "Default" lines; configurable, not hard-coded) -----
SUPPORTDESK = SupportdeskConfig(
    TICKET_PREFIX=env_str("TICKET_PREFIX", "SR") or "SR",
    DUTY_MANAGER_EMAIL=env_str("DUTY_MANAGER_EMAIL", "duty-manager@supportdesk.localhost"),
    # Customers answer ticket mail here, at <local>+<reference>.<tag>@<domain>.
    MAILIN_ADDRESS=_mailin_address(
        env_str("MAILIN_ADDRESS", "support@supportdesk.localhost")
        or "support@supportdesk.localhost"
    ),
    # Incoming mail: the IMAP mailbox polled for customers' answers; without one, a local
    # Maildir (the embedded default: `make run` needs no mail server).
    MAILIN_POLL_SECONDS=env_float("MAILIN_POLL_SECONDS", 10.0, minimum=1.0),
    MAILIN_IMAP=_mailin_imap(env_secret("MAILIN_IMAP_URL", "")),
    MAILIN_MAILDIR=Path(env_str("MAILIN_MAILDIR", str(DATA_DIR / "maildir"))),
    # 25 MiB, what the large mail services accept: bigger mail is answered "too large".
    MAILIN_MAX_MESSAGE_BYTES=env_int("MAILIN_MAX_MESSAGE_BYTES", 25 * 1024 * 1024, minimum=65536),
    SWEEP_INTERVAL_SECONDS=env_float("SWEEP_INTERVAL_SECONDS", 30.0, minimum=0.5),
    SWEEP_BATCH_SIZE=env_int("SWEEP_BATCH_SIZE", 1000, minimum=1),
    # Concurrent sweeps on a backlog (PostgreSQL): about one per worker process.
    SWEEP_PARALLELISM=env_int("SWEEP_PARALLELISM", 2, minimum=1),
    # A deadline task per ticket for precise timing; the sweep is the safety net.
    DEADLINE_TASKS=env_bool("DEADLINE_TASKS", True),
    # Only deadlines this close get a task (well inside the broker's visibility timeout).
    DEADLINE_TASK_HORIZON_SECONDS=env_int("DEADLINE_TASK_HORIZON_SECONDS", 900, minimum=1),
    # Deliver each Event's e-mails from a task right after commit (else only the sweep).
    OUTBOX_TASKS=env_bool("OUTBOX_TASKS", True),
    # Delivery tasks are published by a thread per process, one per this many seconds of
    # commits; 0 publishes each on its own commit, in the request.
    OUTBOX_PUBLISH_BATCH_SECONDS=env_float("OUTBOX_PUBLISH_BATCH_SECONDS", 0.05, minimum=0),
    # An Event not delivered this long after it was written is retried by the sweep.
    OUTBOX_RETRY_AFTER_SECONDS=env_int("OUTBOX_RETRY_AFTER_SECONDS", 60, minimum=1),
    # Caller verification by PIN (POL-PIN-1..3; POLICY.md PIN defaults).
    PIN_CODE_LENGTH=env_int("PIN_CODE_LENGTH", 8, minimum=6),
    PIN_VALID_MINUTES=env_int("PIN_VALID_MINUTES", 10, minimum=1),
    PIN_MAX_WRONG_PER_CODE=env_int("PIN_MAX_WRONG_PER_CODE", 5, minimum=1),
    PIN_MAX_CODES_PER_HOUR=env_int("PIN_MAX_CODES_PER_HOUR", 3, minimum=1),
    PIN_MAX_CODES_PER_DAY=env_int("PIN_MAX_CODES_PER_DAY", 10, minimum=1),
    PIN_LOCK_AFTER_FAILURES=env_int("PIN_LOCK_AFTER_FAILURES", 100, minimum=1),
    PIN_CALL_MAX_MINUTES=env_int("PIN_CALL_MAX_MINUTES", 60, minimum=1),
    # Customer attachments on requests and replies: size per file and files per upload.
    ATTACHMENT_MAX_BYTES=env_int("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024, minimum=1024),
    ATTACHMENT_MAX_FILES=env_int("ATTACHMENT_MAX_FILES", 5, minimum=1),
    # A resolved request may be reopened by its customer for this many days; after that
    # they file a new one.
    REOPEN_WINDOW_DAYS=env_int("REOPEN_WINDOW_DAYS", 14, minimum=0),
    # A resolved request is closed by the workers this many days after its resolution
    # (0: never); reopening a closed request files a linked follow-up.
    AUTO_CLOSE_DAYS=env_int("AUTO_CLOSE_DAYS", 14, minimum=0),
    # The one-click rating links in the resolved e-mail work for this many days.
    SURVEY_LINK_DAYS=env_int("SURVEY_LINK_DAYS", 14, minimum=1),
    # REST API: a POST with an Idempotency-Key is answered from its first response this long.
    IDEMPOTENCY_TTL_HOURS=env_int("IDEMPOTENCY_TTL_HOURS", 24, minimum=1),
    # The desk: an agent's public reply to an unassigned request makes them its assignee.
    REPLY_ASSIGNS=env_bool("REPLY_ASSIGNS", True),
    # Outbound webhooks: the whole of one attempt (connect, send, answer) and its
    # connection alone, attempts before giving up, first retry delay (doubling each time:
    # 30 s, 1 min, 2 min … about 1 h for the 8th by default).
    WEBHOOK_TIMEOUT_SECONDS=env_float("WEBHOOK_TIMEOUT_SECONDS", 10.0, minimum=1.0),
    WEBHOOK_CONNECT_TIMEOUT_SECONDS=env_float("WEBHOOK_CONNECT_TIMEOUT_SECONDS", 3.0, minimum=0.5),
    WEBHOOK_MAX_ATTEMPTS=env_int("WEBHOOK_MAX_ATTEMPTS", 8, minimum=1),
    WEBHOOK_RETRY_BASE_SECONDS=env_int("WEBHOOK_RETRY_BASE_SECONDS", 30, minimum=1),
    # Private, loopback and link-local webhook targets: refused in production (the workers
    # must not be pointed into the provider's own network); allowed for development/tests.
    WEBHOOK_ALLOW_PRIVATE_ADDRESSES=env_bool(
        "WEBHOOK_ALLOW_PRIVATE_ADDRESSES", default=not PRODUCTION
    ),
    # Endpoints one organization may register.
    WEBHOOK_MAX_ENDPOINTS=env_int("WEBHOOK_MAX_ENDPOINTS", 10, minimum=1),
    # Sends one organization may have in flight at once, across its endpoints (each
    # endpoint is sent one delivery at a time): keep it below the webhooks worker's
    # --concurrency, so slow endpoints of one tenant never hold every thread.
    WEBHOOK_ORGANIZATION_CONCURRENCY=env_int("WEBHOOK_ORGANIZATION_CONCURRENCY", 4, minimum=1),
    # The circuit breaker: after this many failed attempts in a row an endpoint's
    # deliveries are held for the cool-down, then one is tried (success closes it again).
    WEBHOOK_CIRCUIT_FAILURES=env_int("WEBHOOK_CIRCUIT_FAILURES", 5, minimum=1),
    WEBHOOK_CIRCUIT_COOLDOWN_SECONDS=env_int("WEBHOOK_CIRCUIT_COOLDOWN_SECONDS", 300, minimum=1),
)

# --- Caller verification delivery ------------------------------------------------------
# HMAC key of stored PIN hashes; empty means derived from SECRET_KEY.
PIN_PEPPER = env_secret("PIN_PEPPER", "") or ""
_SMS_CONSOLE = "verification.delivery.ConsoleSmsBackend"
SMS_BACKEND = env_str("SMS_BACKEND", _SMS_CONSOLE) or _SMS_CONSOLE
SMS_HTTP_URL = env_str("SMS_HTTP_URL", "") or ""
SMS_HTTP_TOKEN = env_secret("SMS_HTTP_TOKEN", "") or ""
SMS_HTTP_TIMEOUT = env_float("SMS_HTTP_TIMEOUT", 10.0, minimum=1.0)
SMS_SENDER = env_str("SMS_SENDER", "supportdesk") or ""

# Production sends verification codes to people, never to a log or a file: it refuses to
# start with the console SMS backend (the default) or an e-mail backend that is not SMTP,
# as it refuses without a secret key.
if PRODUCTION:
    if SMS_BACKEND == _SMS_CONSOLE:
        raise ImproperlyConfigured(
            "DJANGO_ENV=production needs an SMS provider for verification codes: "
            "SMS_BACKEND=verification.delivery.HttpSmsBackend with SMS_HTTP_URL "
            "(the console backend writes the codes to the log)."
        )
    if SMS_BACKEND.endswith("HttpSmsBackend") and not SMS_HTTP_URL:
        raise ImproperlyConfigured("DJANGO_ENV=production: SMS_BACKEND needs SMS_HTTP_URL.")
    if globals()["EMAIL_BACKEND"] != "django.core.mail.backends.smtp.EmailBackend":
        raise ImproperlyConfigured(
            "DJANGO_ENV=production needs EMAIL_URL=smtp://… or smtps://… (codes and "
            "notifications must not be written to the log or to files)."
        )

# --- Celery: at-least-once delivery (DESIGN.md "Workers") -------------------------------
# With REDIS_URL, Redis is the broker; without it, kombu's filesystem transport under the
# data folder, so the embedded default needs no server at all.
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        # Redis re-delivers an unacknowledged task after this; every time limit and every
        # ETA we schedule stays far below it.
        "visibility_timeout": 3600,
        # A dead Redis must fail fast, not hang a web request or a worker.
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
        "max_retries": 1,
        # Retry a failed publish at once instead of after kombu's default 2 s wait: with
        # Redis down, a web request must not stall (the sweep acts later anyway).
        "interval_start": 0,
    }
else:
    _BROKER_DIR = DATA_DIR / "broker"
    for _folder in ("queue", "processed", "control"):
        (_BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
    # A hostname is meaningless here, but without one kombu warns on every connection.
    CELERY_BROKER_URL = "filesystem://localhost//"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_BROKER_DIR / "queue"),
        "data_folder_out": str(_BROKER_DIR / "queue"),
        "processed_folder": str(_BROKER_DIR / "processed"),
        "control_folder": str(_BROKER_DIR / "control"),
        "store_processed": False,
        # The folder is polled: once a second (the default) moves only a couple of tasks
        # per second with prefetch 1.
        "polling_interval": 0.1,
    }
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TIMEZONE = "UTC"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Celery's Django fixup closes the DB connection around every task unless told to reuse
# it: measured 88 tasks/s without reuse, 536/s with it.
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 1000, minimum=0)
# Webhook sends wait on other people's servers: they run on their own queue, consumed by
# the webhooks worker (Procfile ``webhooks``: a thread pool), never beside the sweep and
# the e-mail on the default queue (``celery``, the only one the default worker reads).
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_ROUTES = {"webhooks.tasks.*": {"queue": "webhooks"}}
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "sweep": {
        "task": "severity.tasks.sweep",
        "schedule": SUPPORTDESK.SWEEP_INTERVAL_SECONDS,
        # A sweep queued while no worker ran is stale by the next one: let it expire.
        "options": {"expires": SUPPORTDESK.SWEEP_INTERVAL_SECONDS},
    },
    # Webhook retries whose backoff has passed, and deliveries whose task was lost.
    "webhooks-send-due": {
        "task": "webhooks.tasks.send_due",
        "schedule": 30.0,
        "options": {"expires": 30.0},
    },
    # Customers' e-mail answers: the IMAP mailbox or the local Maildir (mailin.transports).
    "mailin-fetch": {
        "task": "mailin.tasks.fetch",
        "schedule": SUPPORTDESK.MAILIN_POLL_SECONDS,
        "options": {"expires": SUPPORTDESK.MAILIN_POLL_SECONDS},
    },
    # Public holidays of this year and the next on calendars with a holiday country
    # (severity.calendar_services); a newer holidays release is picked up within a day.
    "public-holidays-refresh": {
        "task": "severity.tasks.refresh_public_holidays",
        "schedule": 86400.0,
        "options": {"expires": 3600.0},
    },
    # Requests resolved more than AUTO_CLOSE_DAYS days ago are closed (tickets.services).
    "close-resolved": {
        "task": "tickets.tasks.close_resolved",
        "schedule": 3600.0,
        "options": {"expires": 3600.0},
    },
    # Idempotency-Key records older than IDEMPOTENCY_TTL_HOURS.
    "idempotency-purge": {
        "task": "tenants.tasks.purge_idempotency_records",
        "schedule": 3600.0,
        "options": {"expires": 3600.0},
    },
    # Closed requests past their organization's retention period, with their files.
    "privacy-retention-purge": {
        "task": "privacy.tasks.purge_retention",
        "schedule": 3600.0,
        "options": {"expires": 3600.0},
    },
    # Data exports nobody downloaded in time: the file is deleted.
    "privacy-expire-exports": {
        "task": "privacy.tasks.expire_exports",
        "schedule": 3600.0,
        "options": {"expires": 3600.0},
    },
}

# --- Logging ------------------------------------------------------------------------------
# Every record carries the request id, organization and ticket (core.observability);
# production writes one JSON object per line for the log shipper.
LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"))
LOG_FORMAT = env_choice("LOG_FORMAT", "json" if PRODUCTION else "plain", ("json", "plain"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "core.observability.ContextFilter"}},
    "formatters": {
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s%(request_tag)s %(message)s",
        },
        "json": {"()": "core.observability.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # One line per request; WARNING hides them where they are noise (the test suite).
        "supportdesk.request": {
            "level": env_choice("ACCESS_LOG_LEVEL", "INFO", ("INFO", "WARNING"))
        },
    },
}

# --- Metrics ------------------------------------------------------------------------------
# /metrics answers a bearer token, the listed addresses, or a signed-in staff user; anyone
# else gets a 404.
METRICS_TOKEN = env_secret("METRICS_TOKEN", "") or ""
# Token only by default. An address allow-list is unsafe behind a proxy on the same host
# (every visitor then comes from 127.0.0.1): set it only where scrapers connect directly.
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS", [])

# --- Sign-in brute-force protection (django-axes) ------------------------------------------
# After AXES_FAILURE_LIMIT wrong passwords for one account from one address, that pair is
# locked for AXES_COOLOFF_MINUTES; a correct password does not unlock it early.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"
# Counted per account however the address is spelt (letter case, spaces): tenants.signin.
AXES_USERNAME_CALLABLE = "tenants.signin.axes_username"
AXES_LOCKOUT_CALLABLE = "supportdesk.views.locked_out"
AXES_RESET_ON_SUCCESS = True
AXES_IPWARE_PROXY_COUNT = env_int("AXES_PROXY_COUNT", 0, minimum=0)
AXES_VERBOSE = False
# --- Second factors (django-otp, django-otp-webauthn; see mfa/__init__.py) ---------------
# A wrong code locks that factor for 2**(n-1) seconds after n failures in a row.
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1
OTP_TOTP_ISSUER = "supportdesk"
# The admin lists every factor but never shows a key, a QR code or a recovery code: whoever
# reads the admin must not be able to pass someone else's second step.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# Passkeys are a second step after the password (which keeps django-axes' lockout),
# never a way to sign in on their own.
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
OTP_WEBAUTHN_RP_NAME = "supportdesk"
# The relying party is the host the page came from (ALLOWED_HOSTS vouches for it), so
# development, the tests' live servers and production need no extra setting.
OTP_WEBAUTHN_RP_ID_CALLABLE = "mfa.passkeys.relying_party_id"
OTP_WEBAUTHN_HELPER_CLASS = "mfa.passkeys.PasskeyHelper"
# Read by the library's start-up check only; PasskeyHelper expects the origin of the
# request itself.
OTP_WEBAUTHN_ALLOWED_ORIGINS = [f"https://{host.lstrip('.')}" for host in ALLOWED_HOSTS]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# --- Single sign-on for staff (OpenID Connect, mozilla-django-oidc) ------------------------
# Off unless OIDC_RP_CLIENT_ID is set; then the sign-in page offers "Sign in with …" and
# accounts/sso/ is routed. Only an existing, active agent or supervisor whose e-mail the
# provider has verified gets in (supportdesk.sso): nobody is created, customers keep their
# password. It is one factor: staff's second factor is still asked for after it.
OIDC_RP_CLIENT_ID = env_str("OIDC_RP_CLIENT_ID", "") or ""
OIDC_RP_CLIENT_SECRET = env_secret("OIDC_RP_CLIENT_SECRET", "") or ""
# The issuer (its endpoints then read from its /.well-known/openid-configuration on first
# use), or the four endpoints; an endpoint given here wins over the discovered one.
OIDC_OP_ISSUER = (env_str("OIDC_OP_ISSUER", "") or "").rstrip("/")
OIDC_OP_AUTHORIZATION_ENDPOINT = env_str("OIDC_OP_AUTHORIZATION_ENDPOINT", "") or ""
OIDC_OP_TOKEN_ENDPOINT = env_str("OIDC_OP_TOKEN_ENDPOINT", "") or ""
OIDC_OP_USER_ENDPOINT = env_str("OIDC_OP_USER_ENDPOINT", "") or ""
OIDC_OP_JWKS_ENDPOINT = env_str("OIDC_OP_JWKS_ENDPOINT", "") or ""
# Signing out of a single sign-on session also ends the provider's (RP-initiated logout):
# the browser goes to this end-session endpoint (else the discovery document's
# end_session_endpoint) with the ID token kept at sign-in, and back to the sign-in page.
# A provider with neither: signing out ends the desk's session only.
OIDC_OP_LOGOUT_ENDPOINT = env_str("OIDC_OP_LOGOUT_ENDPOINT", "") or ""
# ID tokens are signed with the provider's key (checked against its JWKS), never HS256
# (a secret shared with the provider could then mint tokens).
OIDC_RP_SIGN_ALGO = env_choice(
    "OIDC_RP_SIGN_ALGO", "RS256", ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512")
)
# The button's "Sign in with …" (e.g. "Contoso ID"); "single sign-on" when unset.
SSO_PROVIDER_NAME = env_str("OIDC_PROVIDER_NAME", "") or ""
SSO_ENABLED = bool(OIDC_RP_CLIENT_ID)
OIDC_RP_SCOPES = "openid email"
OIDC_USE_PKCE = True
OIDC_CREATE_USER = False
OIDC_TIMEOUT = 10
OIDC_AUTHENTICATION_CALLBACK_URL = "sso:callback"
OIDC_STORE_ID_TOKEN = True
OIDC_OP_LOGOUT_URL_METHOD = "supportdesk.sso.provider_logout_url"
LOGIN_REDIRECT_URL_FAILURE = "login"


def _sso_endpoint(name: str, url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ImproperlyConfigured(f"{name}={url!r} is not an http(s) URL.")
    # Tokens and the staff's identity travel here: plain HTTP only to this host.
    if PRODUCTION and parts.scheme != "https" and parts.hostname not in {"127.0.0.1", "::1"}:
        raise ImproperlyConfigured(f"{name} must be https:// in production.")


if SSO_ENABLED:
    if not OIDC_RP_CLIENT_SECRET:
        raise ImproperlyConfigured("OIDC_RP_CLIENT_ID needs OIDC_RP_CLIENT_SECRET (or _FILE).")
    _sso_endpoints = {
        "OIDC_OP_AUTHORIZATION_ENDPOINT": OIDC_OP_AUTHORIZATION_ENDPOINT,
        "OIDC_OP_TOKEN_ENDPOINT": OIDC_OP_TOKEN_ENDPOINT,
        "OIDC_OP_USER_ENDPOINT": OIDC_OP_USER_ENDPOINT,
        "OIDC_OP_JWKS_ENDPOINT": OIDC_OP_JWKS_ENDPOINT,
    }
    _sso_missing = [name for name, url in _sso_endpoints.items() if not url]
    if _sso_missing and not OIDC_OP_ISSUER:
        raise ImproperlyConfigured(
            f"OIDC_RP_CLIENT_ID needs OIDC_OP_ISSUER, or {', '.join(_sso_missing)}."
        )
    _sso_urls = {
        "OIDC_OP_ISSUER": OIDC_OP_ISSUER,
        **_sso_endpoints,
        "OIDC_OP_LOGOUT_ENDPOINT": OIDC_OP_LOGOUT_ENDPOINT,
    }
    for _name, _url in _sso_urls.items():
        if _url:
            _sso_endpoint(_name, _url)
    # The Sign out button is a form whose answer redirects to the provider's end-session
    # endpoint, and browsers hold that redirect to form-action: its origin is allowed (the
    # issuer's when the endpoint is discovered).
    _sso_logout = urlsplit(OIDC_OP_LOGOUT_ENDPOINT or OIDC_OP_ISSUER)
    if _sso_logout.netloc:
        SECURE_CSP["form-action"].append(f"{_sso_logout.scheme}://{_sso_logout.netloc}")
    AUTHENTICATION_BACKENDS.append("supportdesk.sso.StaffOIDCBackend")
