"""AskPro settings: one env-driven module. Every variable is documented in README.md."""

from __future__ import annotations

import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured
from django.templatetags.static import static
from django.utils.translation import gettext_lazy as _

from askpro.env import database_from_url, envbool, envint, envlist, envstr

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(envstr("ASKPRO_DATA_DIR", str(BASE_DIR / ".askpro")))
VERSION = "0.1.0"

ENVIRONMENT = envstr("ASKPRO_ENV", "development")  # development | production
DEBUG = envbool("DEBUG", False)
HTTPS = envbool("ASKPRO_HTTPS", ENVIRONMENT == "production")


# Development secrets are generated once per checkout by the dev runner, manage.py and the test
# settings (askpro.devsecrets.ensure_dev_secrets), never here: importing settings writes nothing.
# Production must set them in the environment and refuses generated ones.
DEV_SECRETS_DIR = DATA_DIR / "secrets"


def _secret(name: str, dev_file: str) -> str:
    value = envstr(name)
    if value:
        return value
    if ENVIRONMENT == "production":
        raise ImproperlyConfigured(f"{name} must be set in production (generated secrets are refused)")
    path = DEV_SECRETS_DIR / dev_file
    if not path.exists():
        raise ImproperlyConfigured(
            f"{name} is not set and no development secret exists at {path}: start with `make run` "
            "or `./manage.py` (they generate it), or set it in the environment."
        )
    return path.read_text().strip()


SECRET_KEY = _secret("SECRET_KEY", "secret_key")
# Comma-separated Fernet keys; the first encrypts, all decrypt (rotation).
FERNET_KEYS = envlist("ASKPRO_FERNET_KEYS") or [_secret("ASKPRO_FERNET_KEYS", "fernet_key")]

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "localhost,.localhost,127.0.0.1,testserver")
CSRF_TRUSTED_ORIGINS = envlist(
    "CSRF_TRUSTED_ORIGINS", "http://localhost:8000,http://*.localhost:8000"
)
# Host names that serve the platform (public schema) even without a Domain row.
PUBLIC_HOSTS = envlist("ASKPRO_PUBLIC_HOSTS", "localhost,127.0.0.1,testserver")

# Booking/Cal.com API throttles per key and scope, e.g. "bookings=600/min,booking_reads=6000/min"
# (unset scopes keep their defaults in appointments.api.auth and integrations.calcom.api.views).
ASKPRO_API_THROTTLE_RATES = dict(
    item.split("=", 1) for item in envlist("ASKPRO_API_THROTTLE_RATES", "") if "=" in item
)

# Request bodies (askpro.request_frame): provider webhooks carry whole transcripts, clients do not.
ASKPRO_WEBHOOK_MAX_BODY_BYTES = envint("ASKPRO_WEBHOOK_MAX_BODY_BYTES", 25 * 1024 * 1024)
ASKPRO_MAX_BODY_BYTES = envint("ASKPRO_MAX_BODY_BYTES", 2_621_440)
ASKPRO_MAX_JSON_DEPTH = envint("ASKPRO_MAX_JSON_DEPTH", 64)
# Django's own limit is the largest of ours; the frame refuses earlier per path, with JSON.
DATA_UPLOAD_MAX_MEMORY_SIZE = max(ASKPRO_WEBHOOK_MAX_BODY_BYTES, ASKPRO_MAX_BODY_BYTES)
BASE_DOMAIN = envstr("ASKPRO_BASE_DOMAIN", "localhost")  # tenants get <slug>.<BASE_DOMAIN>
PUBLIC_URL = envstr("ASKPRO_PUBLIC_URL", "http://localhost:8000")

# --- applications ---------------------------------------------------------------------------

SHARED_APPS = [
    "unfold",
    "unfold.contrib.filters",
    "unfold.contrib.forms",
    "unfold.contrib.simple_history",
    "unfold.contrib.guardian",
    "unfold.contrib.import_export",
    "django_tenants",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our origin (CSP: no CDN)
    "csp",
    "guardian",
    "simple_history",
    "import_export",
    # Login lockout and second factor: their tables live in every schema that has a login.
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    # platform (public schema) domains
    "tenants",
    "integrations",
    "billing",
]

TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "guardian",
    "simple_history",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    # business (tenant schema) domains
    "appointments",
    "calls",
    "notifications",
    "integrations.calcom",
    "privacy",
]

INSTALLED_APPS = list(SHARED_APPS) + [app for app in TENANT_APPS if app not in SHARED_APPS]

# Our own domain apps in dependency order; seed_demo and beat schedules are discovered from them.
ASKPRO_DOMAIN_APPS = [
    "tenants",
    "appointments",
    "integrations",
    "integrations.calcom",
    "calls",
    "billing",
    "notifications",
    "privacy",
]

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"
PUBLIC_SCHEMA_URLCONF = "askpro.urls_public"
ROOT_URLCONF = "askpro.urls_tenant"
TENANT_LIMIT_SET_CALLS = True
# New tenants are cloned from this migrated schema (kept current by migrate_schemas because
# it is a real tenant row, see tenants.services.ensure_template_tenant).
TENANT_BASE_SCHEMA = "tenant_template"
TENANT_CREATION_FAKES_MIGRATIONS = True
# Spare copies of the template kept ready, so creating a tenant is a schema rename (tenants/schema_pool.py).
ASKPRO_SCHEMA_POOL_SIZE = envint("ASKPRO_SCHEMA_POOL_SIZE", 2)
# Schedule snapshots kept per process (most recently used tenants); a miss reloads in ~9 queries.
ASKPRO_SNAPSHOT_CACHE_SIZE = envint("ASKPRO_SNAPSHOT_CACHE_SIZE", 256)
EXTRA_SET_TENANT_METHOD_PATH = "askpro.tenancy.on_set_tenant"
# migrate_schemas: skip schemas that have every migration (one query over all), migrate the rest
# in parallel, report failures per schema (tenants/schema_migrations.py). `--executor standard`
# runs django-tenants' own loop.
GET_EXECUTOR_FUNCTION = "tenants.schema_migrations.get_executor"
ASKPRO_MIGRATION_EXECUTOR = envstr("ASKPRO_MIGRATION_EXECUTOR", "askpro")
TENANT_MULTIPROCESSING_MAX_PROCESSES = envint("ASKPRO_MIGRATION_PROCESSES", 2)  # one connection each
# Per-process caches keyed by tenant, host or route: least recently used entries dropped first.
ASKPRO_TENANT_CACHE_SIZE = envint("ASKPRO_TENANT_CACHE_SIZE", 2048)

MIDDLEWARE = [
    "askpro.request_metrics.RequestMetricsMiddleware",
    "askpro.middleware.CorrelationIdMiddleware",
    "askpro.request_frame.RequestFrameMiddleware",
    "tenants.middleware.TenantResolutionMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "askpro.csp.AskProCSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "tenants.middleware.SuspendedTenantMiddleware",
    # Last, so a locked-out login is answered with the lockout page (axes' documented order).
    "axes.middleware.AxesMiddleware",
]

DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",  # {{ CSP_NONCE }} for the few inline scripts
            ],
            "builtins": ["askpro.display_tags"],
        },
    }
]

WSGI_APPLICATION = "askpro.wsgi.application"
ASGI_APPLICATION = "askpro.asgi.application"

# --- data stores ----------------------------------------------------------------------------

# prometheus_client's multiprocess mode (askpro/request_metrics.py): the library reads the variable
# itself at import; the /metrics view sums the per-process files found here. Empty: one process.
METRICS_MULTIPROC_DIR = envstr("PROMETHEUS_MULTIPROC_DIR", "")

DATABASE_URL = envstr("DATABASE_URL")
if not DATABASE_URL:
    raise RuntimeError(
        "DATABASE_URL is not set. Start the system with `make run` (embedded PostgreSQL), "
        "use `./manage.py` (which starts the embedded services), or set DATABASE_URL."
    )
DATABASES = {"default": database_from_url(DATABASE_URL)}
# "transaction" when DATABASE_URL points at PgBouncer in transaction pooling mode: the tenant's
# search_path is then set inside every transaction (askpro/db/base.py), prepared statements and
# server-side cursors are off, and a kept connection is pointless (the pooler keeps them).
DATABASE_POOL_MODE = envstr("DATABASE_POOL_MODE", "session")
if DATABASE_POOL_MODE not in {"session", "transaction"}:
    raise RuntimeError("DATABASE_POOL_MODE must be 'session' or 'transaction'")
DATABASES["default"]["POOL_MODE"] = DATABASE_POOL_MODE
if DATABASE_POOL_MODE == "transaction":
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = envstr("REDIS_URL", "redis://127.0.0.1:6379")


def redis_db(url: str, db: int) -> str:
    """The same Redis server, another logical database (broker 0, cache 1)."""
    parsed = urlparse(url)
    return urlunparse(parsed._replace(path=f"/{db}"))


CACHES: dict[str, dict[str, Any]] = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": redis_db(REDIS_URL, envint("ASKPRO_CACHE_REDIS_DB", 1)),
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "KEY_PREFIX": envstr("ASKPRO_CACHE_PREFIX", "askpro"),
        "TIMEOUT": 300,
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
}
SESSION_ENGINE = "django.contrib.sessions.backends.db"

# --- celery ---------------------------------------------------------------------------------

CELERY_BROKER_URL = redis_db(REDIS_URL, envint("ASKPRO_BROKER_REDIS_DB", 0))
CELERY_RESULT_BACKEND = CELERY_BROKER_URL
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES_NAMES = ["webhooks_high", "webhooks", "webhooks_low", "default", "notifications", "billing"]
# Tasks are named "<app>.<verb>"; the app decides the queue. Webhook processing picks its
# priority queue (webhooks_high / webhooks / webhooks_low) per event when it is queued.
CELERY_TASK_ROUTES = {
    "integrations.*": {"queue": "webhooks"},
    "calcom.*": {"queue": "webhooks"},
    "billing.*": {"queue": "billing"},
    "notifications.*": {"queue": "notifications"},
}
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {"visibility_timeout": 3600}
CELERY_TASK_TENANT_CACHE_SECONDS = 30
CELERY_TIMEZONE = "Europe/Berlin"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# One active beat across hosts: the one holding a Redis lock (TTL, renewed a third of it) schedules;
# other beats stay passive and take over within the TTL when it dies (askpro/beat.py).
CELERY_BEAT_SCHEDULER = "askpro.beat:LockedScheduler"
ASKPRO_BEAT_LOCK_SECONDS = envint("ASKPRO_BEAT_LOCK_SECONDS", 30)
# Celery's Django fixup closes the database connection around every task unless this is set; it
# now force-closes only every 1,000 tasks, and askpro.celery gives tasks the request lifecycle
# (CONN_MAX_AGE, errors, health checks) instead.
CELERY_DB_REUSE_MAX = 1000

# --- auth, i18n, time -----------------------------------------------------------------------

AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out username or address before a password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
GUARDIAN_MONKEY_PATCH_USER = False
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "admin:login"
# A login without ?next= (a bookmarked /admin/login/) lands on the admin index, not /accounts/profile/.
LOGIN_REDIRECT_URL = "admin:index"

# Admin login lockout (django-axes, database handler: the attempts live in the schema of the host
# where the login happens). A username is locked after N failures from anywhere, an address after
# N failures for any usernames; `manage.py unlock_login` or the admin's "Login lockouts" page
# lifts it before the cool-off ends.
AXES_ENABLED = envbool("ASKPRO_LOGIN_LOCKOUT", True)
AXES_FAILURE_LIMIT = envint("ASKPRO_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=envint("ASKPRO_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ADMIN = False  # registered with our two admin sites instead (askpro/admin_sites.py)
AXES_LOCKOUT_TEMPLATE = "admin/lockout.html"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False
AXES_USERNAME_CALLABLE = "askpro.admin_auth.login_username"
# Second factor (django-otp): required for platform operators, offered to tenant logins.
OTP_TOTP_ISSUER = envstr("ASKPRO_OTP_ISSUER", "AskPro")
OTP_STATIC_THROTTLE_FACTOR = 1
ASKPRO_RECOVERY_CODES = 10

LANGUAGE_CODE = "de"
LANGUAGES = [("de", _("German")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Berlin"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# Project-wide static files (favicon, vendored front-end libraries shared by several apps).
STATICFILES_DIRS = [BASE_DIR / "askpro" / "static"]
STATIC_ROOT = DATA_DIR / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(envstr("ASKPRO_MEDIA_ROOT", str(DATA_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- security -------------------------------------------------------------------------------

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and envbool("ASKPRO_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_REDIRECT_EXEMPT = [r"^api/health"]
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
# A strict Content-Security-Policy for every response (askpro/csp.py adds 'unsafe-eval' on /admin/
# for unfold's Alpine.js). Inline scripts need {{ CSP_NONCE }}; styles may be inline (unfold and
# Swagger UI set style attributes), images may be data: URIs (icons).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- API ------------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "askpro.errors.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "AskPro API",
    "DESCRIPTION": "Booking, availability and voice-agent endpoints of the AskPro back office.",
    "VERSION": VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "appointments.api.schema.composite_needs_a_service",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- logging --------------------------------------------------------------------------------

LOG_LEVEL = envstr("LOG_LEVEL", "INFO")
LOG_FORMAT = envstr("LOG_FORMAT", "text")  # text | json
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "context": {"()": "askpro.logging.ContextFilter"},
    },
    "formatters": {
        "text": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(schema_name)s %(correlation_id)s] %(message)s",
        },
        "json": {"()": "askpro.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["context"],
            "formatter": LOG_FORMAT,
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "askpro.security": {"level": "INFO"},
        # Which beat is active, and what it sends: always logged (also under tests' WARNING root).
        "askpro.beat": {"level": "INFO"},
        "celery.beat": {"level": "INFO"},
        "httpx": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

# --- admin theme ----------------------------------------------------------------------------

UNFOLD = {
    "SITE_TITLE": "AskPro",
    "SITE_HEADER": "AskPro",
    "SITE_SYMBOL": "support_agent",
    "SITE_FAVICONS": [
        {"rel": "icon", "type": "image/svg+xml", "href": lambda request: static("askpro/favicon.svg")},
    ],
    "SHOW_LANGUAGES": True,
    "SHOW_HISTORY": True,
    "SHOW_VIEW_ON_SITE": False,
    "ENVIRONMENT": "askpro.admin_sites.environment_label",
    "DASHBOARD_CALLBACK": "askpro.dashboard.dashboard_callback",
    # The one admin dialog (askpro/admin_dialogs.py): our own files, so the CSP allows them.
    "STYLES": [lambda request: static("askpro/dialog.css")],
    "SCRIPTS": [lambda request: static("askpro/dialog.js")],
    "SIDEBAR": {
        "show_search": True,
        "show_all_applications": True,
        "navigation": "askpro.navigation.navigation",  # grouped per site and role, in order of daily use
    },
}

# Admin exports (askpro.exports): whoever may view a list may export it.
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"

# --- AskPro behaviour -----------------------------------------------------------------------

DEFAULT_TENANT_TIME_ZONE = "Europe/Berlin"
# In-process cache of host -> tenant, voice routing and the voice agent's service catalogue.
ASKPRO_TENANT_CACHE_SECONDS = envint("ASKPRO_TENANT_CACHE_SECONDS", 10)


def _rates(value: str) -> dict[str, str]:
    """``bookings=30/min,availability=60/min`` -> {"bookings": "30/min", ...}."""
    rates = {}
    for item in value.split(","):
        scope, _sep, rate = item.partition("=")
        if scope.strip() and rate.strip():
            rates[scope.strip()] = rate.strip()
    return rates


# Overrides of the booking API's per-key throttles (defaults live with each API's throttle class).
ASKPRO_API_THROTTLE_RATES = _rates(envstr("ASKPRO_API_THROTTLE_RATES"))
# Processes started before Django settings can be loaded read these too (askpro/dev.py,
# askpro/webserver.py); they are declared here so this module lists every variable.
WEB_PORT = envint("ASKPRO_PORT", 8000)
WEB_WORKERS = envint("ASKPRO_WEB_WORKERS", 2)
WEB_THREADS = envint("ASKPRO_WEB_THREADS", 4)
LOCALSTRIPE_PORT = envint("ASKPRO_LOCALSTRIPE_PORT", 8420)
# How long the admin dashboards keep their figures per tenant (0: always recompute).
DASHBOARD_CACHE_SECONDS = envint("ASKPRO_DASHBOARD_CACHE_SECONDS", 30)
HEALTH_CHECK_TIMEOUT_SECONDS = float(envstr("ASKPRO_HEALTH_TIMEOUT", "2"))
# Bearer token for /api/health/detailed and the diagnostics probe (monitoring); empty: operators'
# platform-admin sessions only.
HEALTH_TOKEN = envstr("ASKPRO_HEALTH_TOKEN")

# --- notifications --------------------------------------------------------------------------
# "outbox" records messages (admin + log) and sends nothing; "live" talks to SMTP/Twilio/Telegram.
NOTIFICATIONS_BACKEND = envstr("NOTIFICATIONS_BACKEND", "live" if ENVIRONMENT == "production" else "outbox")
# Platform-wide provider credentials; a tenant may store its own (encrypted) instead.
TWILIO_ACCOUNT_SID = envstr("TWILIO_ACCOUNT_SID")
TWILIO_AUTH_TOKEN = envstr("TWILIO_AUTH_TOKEN")
TWILIO_FROM_NUMBER = envstr("TWILIO_FROM_NUMBER")
TWILIO_WHATSAPP_FROM = envstr("TWILIO_WHATSAPP_FROM")
TELEGRAM_BOT_TOKEN = envstr("TELEGRAM_BOT_TOKEN")
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "AskPro <noreply@askpro.localhost>")
EMAIL_BACKEND = envstr("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = envstr("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = envstr("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = envstr("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 10

# --- voice agent (Retell) -------------------------------------------------------------------

# Platform Retell API key (the one with the "webhook" badge); a tenant's own key is tried first.
# Development and demo: a generated key shared by the server and `manage.py simulate_call`.
RETELL_API_KEY = _secret("RETELL_API_KEY", "retell_dev_key")
# Optional allow-list of source IPs for Retell requests (Retell documents 100.20.5.228); empty: off.
RETELL_ALLOWED_IPS = envlist("RETELL_ALLOWED_IPS")
RETELL_RATE_LIMIT_PER_MINUTE = envint("RETELL_RATE_LIMIT_PER_MINUTE", 100)

# --- integrations (webhook inbox, outbound clients) ------------------------------------------

STRIPE_API_KEY = envstr("STRIPE_API_KEY")
STRIPE_WEBHOOK_SECRET = envstr("STRIPE_WEBHOOK_SECRET")
if STRIPE_API_KEY and not STRIPE_WEBHOOK_SECRET:
    # Every Stripe event would be refused with 401: top-ups paid but never credited.
    _stripe_problem = ("STRIPE_API_KEY is set but STRIPE_WEBHOOK_SECRET is not: every Stripe webhook would be "
                       "refused (401) and paid top-ups never credited. Set the endpoint's signing secret (whsec_...).")
    if ENVIRONMENT == "production":
        raise ImproperlyConfigured(_stripe_problem)
    warnings.warn(_stripe_problem, stacklevel=1)
CALCOM_API_URL = envstr("CALCOM_API_URL", "https://api.cal.com")  # per-tenant override possible
CALCOM_SLOTS_CACHE_SECONDS = envint("CALCOM_SLOTS_CACHE_SECONDS", 60)
CALCOM_TIMEOUT_SECONDS = float(envstr("CALCOM_TIMEOUT_SECONDS", "10"))  # read timeout of one Cal.com request
CALCOM_PUSH_MAX_ATTEMPTS = envint("CALCOM_PUSH_MAX_ATTEMPTS", 8)  # then the sync stays "failed" for an operator
CALCOM_PUSH_RETRY_BASE_SECONDS = envint("CALCOM_PUSH_RETRY_BASE_SECONDS", 30)  # 30, 60, 120, ... capped
CALCOM_PUSH_RETRY_MAX_SECONDS = envint("CALCOM_PUSH_RETRY_MAX_SECONDS", 3600)
CALCOM_RECONCILE_SECONDS = envint("CALCOM_RECONCILE_SECONDS", 900)  # drift run per tenant
# The local Cal.com sandbox (askpro/dev.py starts it on CALCOM_SANDBOX_PORT); the demo connects to it.
CALCOM_SANDBOX_URL = envstr("CALCOM_SANDBOX_URL", f"http://127.0.0.1:{envint('CALCOM_SANDBOX_PORT', 5555)}")
WEBHOOK_RATE_LIMIT_PER_MINUTE = envint("WEBHOOK_RATE_LIMIT_PER_MINUTE", 60)  # per source IP; 0 = off
WEBHOOK_MAX_ATTEMPTS = envint("WEBHOOK_MAX_ATTEMPTS", 5)
WEBHOOK_RETRY_BASE_SECONDS = envint("WEBHOOK_RETRY_BASE_SECONDS", 30)  # 30, 60, 120, ...
WEBHOOK_RETRY_MAX_SECONDS = envint("WEBHOOK_RETRY_MAX_SECONDS", 3600)
WEBHOOK_STUCK_AFTER_SECONDS = envint("WEBHOOK_STUCK_AFTER_SECONDS", 120)  # sweeper re-queues after this
WEBHOOK_SWEEP_SECONDS = envint("WEBHOOK_SWEEP_SECONDS", 60)  # how often the beat runs the webhook sweeper
# the dispatcher a delivery asks for runs this much later, so that a burst is claimed in a few large batches
WEBHOOK_DISPATCH_DELAY_MS = envint("WEBHOOK_DISPATCH_DELAY_MS", 100)
# raw Retell / Cal.com bodies (caller numbers, transcripts, attendees) are blanked after this; 0 = keep
WEBHOOK_BODY_RETENTION_DAYS = envint("WEBHOOK_BODY_RETENTION_DAYS", 90)
# The transactional outbox (askpro.outbox): effects owed after a commit, delivered by a dispatcher.
OUTBOX_MAX_ATTEMPTS = envint("OUTBOX_MAX_ATTEMPTS", 8)  # then the effect is "failed" for an operator
OUTBOX_RETRY_BASE_SECONDS = envint("OUTBOX_RETRY_BASE_SECONDS", 30)  # 30, 60, 120, ... capped
OUTBOX_RETRY_MAX_SECONDS = envint("OUTBOX_RETRY_MAX_SECONDS", 3600)
OUTBOX_STUCK_AFTER_SECONDS = envint("OUTBOX_STUCK_AFTER_SECONDS", 60)  # sweeper re-queues after this
OUTBOX_SWEEP_SECONDS = envint("OUTBOX_SWEEP_SECONDS", 30)  # how often the beat runs the outbox sweeper
OUTBOX_DEADLINE_SECONDS = envint("OUTBOX_DEADLINE_SECONDS", 900)  # health check: owed effects older than this
CIRCUIT_BREAKER_FAILURE_THRESHOLD = envint("CIRCUIT_BREAKER_FAILURE_THRESHOLD", 5)
CIRCUIT_BREAKER_RESET_SECONDS = envint("CIRCUIT_BREAKER_RESET_SECONDS", 60)

# --- billing (see docs/billing.md) ----------------------------------------------------------

STRIPE_API_BASE = envstr("STRIPE_API_BASE")  # e.g. http://localhost:8420 for localstripe in dev
BILLING_TOPUP_MIN_CENTS = envint("ASKPRO_TOPUP_MIN_CENTS", 1000)
BILLING_TOPUP_MAX_CENTS = envint("ASKPRO_TOPUP_MAX_CENTS", 500000)
BILLING_PAYMENT_TERMS_DAYS = envint("ASKPRO_PAYMENT_TERMS_DAYS", 14)
# Provider costs arrive in the provider's currency (Retell: USD cents); margins are kept in EUR.
# "USD=0.92,CHF=1.04": how many EUR one unit is worth. Update it with the ECB reference rate.
BILLING_EUR_EXCHANGE_RATES = envstr("ASKPRO_EUR_EXCHANGE_RATES", "USD=0.92")
BILLING_INVOICE_PREFIX = envstr("ASKPRO_INVOICE_PREFIX", "AP")
BILLING_SELLER = {
    "name": envstr("ASKPRO_SELLER_NAME", "AskPro GmbH"),
    "street": envstr("ASKPRO_SELLER_STREET", "Musterstraße 1"),
    "postal_code": envstr("ASKPRO_SELLER_POSTAL_CODE", "10115"),
    "city": envstr("ASKPRO_SELLER_CITY", "Berlin"),
    "country": envstr("ASKPRO_SELLER_COUNTRY", "DE"),
    "vat_id": envstr("ASKPRO_SELLER_VAT_ID", "DE123456789"),
    "tax_number": envstr("ASKPRO_SELLER_TAX_NUMBER", "30/123/45678"),
    "email": envstr("ASKPRO_SELLER_EMAIL", "rechnung@askpro.example"),
    "iban": envstr("ASKPRO_SELLER_IBAN", "DE02120300000000202051"),
    "bic": envstr("ASKPRO_SELLER_BIC", "BYLADEM1001"),
    "bank": envstr("ASKPRO_SELLER_BANK", "Deutsche Kreditbank"),
    "register": envstr("ASKPRO_SELLER_REGISTER", "Amtsgericht Charlottenburg HRB 000000"),
    "managing_director": envstr("ASKPRO_SELLER_MANAGING_DIRECTOR", ""),
}


# --- production refuses demo and missing values ---------------------------------------------

DEMO_SELLER_VALUES = {"vat_id": "DE123456789", "tax_number": "30/123/45678", "iban": "DE02120300000000202051"}
if ENVIRONMENT == "production":
    _problems = [
        f"ASKPRO_SELLER_{key.upper()} is the demo value"
        for key, demo in DEMO_SELLER_VALUES.items()
        if BILLING_SELLER[key] == demo
    ]
    _problems += [f"{name} is not set" for name in ("STRIPE_WEBHOOK_SECRET",) if not envstr(name)]
    if _problems:
        raise ImproperlyConfigured("Refusing to start in production: " + "; ".join(_problems) + ".")
