"""PayPredict settings: one module, every value from the environment.

Bad values fail loudly at start-up (ImproperlyConfigured) instead of being
silently replaced by defaults. `.env.example` lists every variable.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import warnings
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: str) -> bool:
    # An empty value (NAME= in an env file) means "not set": the default applies.
    value = (os.environ.get(name, "").strip() or default).lower()
    if value in ("true", "1"):
        return True
    if value in ("false", "0", ""):
        return False
    raise ImproperlyConfigured(f"{name} must be true/false/1/0, got {value!r}")


def envint(name: str, default: str) -> int:
    value = os.environ.get(name, "").strip() or default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from exc


def envsecret(name: str, default: str = "") -> str:
    """A secret may come from NAME or from the file named by NAME_FILE (Docker/K8s secrets)."""
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        return Path(file_path).read_text().strip()
    return os.environ.get(name, default)


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# ---------------------------------------------------------------- core
DEBUG = envbool("DEBUG", "false")
SECRET_KEY = envsecret("SECRET_KEY", "")
if not SECRET_KEY:
    # Local use: a random key kept beside the embedded data, so sessions survive restarts
    # and no shared, publicly known key ever signs anything.
    from paypredict_project import embedded

    SECRET_KEY = embedded.local_secret_key()
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "localhost,127.0.0.1,testserver,[::1]")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "django_celery_beat",
    "anymail",
    "axes",
    "paypredict_project.tenancy",
    "paypredict_project.events",
    "invoices",
    "ml",
    "predictions",
    "disputes",
    "reminders",
    "integrations",
    # Last: the top layer (commands that wire every app together).
    "paypredict_project",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "paypredict_project.middleware.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "paypredict_project.middleware.ApiTrailingSlashMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "paypredict_project.tenancy.middleware.OrganizationMiddleware",
    "paypredict_project.audit.AuditContextMiddleware",
    # Last, as django-axes asks: it turns a lockout raised during login into its response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "paypredict_project.urls"
ASGI_APPLICATION = "paypredict_project.asgi.application"
WSGI_APPLICATION = "paypredict_project.wsgi.application"

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
                "paypredict_project.tenancy.context_processors.organization",
                "paypredict_project.navigation.navigation",
            ],
            # Page slots that consumer apps fill (paypredict_project/slots.py).
            "libraries": {"slots": "paypredict_project.slot_tags"},
        },
    }
]

# ---------------------------------------------------------------- stores
# With DATABASE_URL / REDIS_URL unset, real servers start from pip packages in .data/.
DATABASE_URL = os.environ.get("DATABASE_URL", "")
# The demo logins (a published password) are created only on the embedded database.
EMBEDDED_DATABASE = not DATABASE_URL
if not DATABASE_URL:
    from paypredict_project import embedded

    DATABASE_URL = embedded.database_url()
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
if not DATABASES["default"]["ENGINE"].endswith("postgresql"):
    raise ImproperlyConfigured(
        "PayPredict runs on PostgreSQL only; DATABASE_URL must be postgres://"
    )
DATABASES["default"].setdefault("OPTIONS", {})
if envbool("DATABASE_POOL", "true"):
    DATABASES["default"]["OPTIONS"]["pool"] = {
        "min_size": 1,
        "max_size": envint("DATABASE_POOL_MAX", "10"),
        "timeout": 10,
    }
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("TEST_DATABASE_NAME") or None}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if not REDIS_URL:
    from paypredict_project import embedded

    REDIS_URL = embedded.redis_url()

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "pp"),
        "TIMEOUT": 300,
    }
}
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"


# ---------------------------------------------------------------- celery
def _kombu_url(redis_url: str) -> str:
    # redis-py spells a Unix socket unix:///path; kombu spells it redis+socket:///path.
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url.removeprefix("unix://")
    return redis_url


CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or _kombu_url(REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", "false")
CELERY_TASK_SOFT_TIME_LIMIT = envint("CELERY_TASK_SOFT_TIME_LIMIT", "3300")
CELERY_TASK_TIME_LIMIT = envint("CELERY_TASK_TIME_LIMIT", "3600")
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"

# ---------------------------------------------------------------- i18n / time
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# ---------------------------------------------------------------- static
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True
# Without `collectstatic` (local runs) the finders serve static/ directly; WhiteNoise's
# "No directory at .../staticfiles/" start-up warning says nothing useful then.
warnings.filterwarnings("ignore", message=r"No directory at: .*staticfiles")
# Uploaded files (CSV imports between preview and run); never served publicly.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / ".data" / "media"))
# Uploaded CSV files are deleted this many days after upload (the import results stay).
CSV_UPLOAD_RETENTION_DAYS = envint("CSV_UPLOAD_RETENTION_DAYS", "7")

# ---------------------------------------------------------------- auth
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"
# Failed-login throttling (django-axes): after LOGIN_FAILURE_LIMIT failures for one account,
# or from one address, logins from there are refused for LOGIN_LOCKOUT_MINUTES (HTTP 429).
# Counters live in the shared Redis cache, so every web replica sees them.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
AXES_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", "5")
AXES_COOLOFF_TIME = dt.timedelta(minutes=envint("LOGIN_LOCKOUT_MINUTES", "15"))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False  # no start-up banner in every process
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
PASSWORD_HASHERS = (
    ["django.contrib.auth.hashers.MD5PasswordHasher"]
    if envbool("FAST_PASSWORD_HASHER", "false")
    else ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
)
AUTH0_DOMAIN = os.environ.get("AUTH0_DOMAIN", "")
AUTH0_AUDIENCE = os.environ.get("AUTH0_AUDIENCE", "")
AUTH0_CLIENT_ID = os.environ.get("AUTH0_CLIENT_ID", "")
AUTH0_CLIENT_SECRET = envsecret("AUTH0_CLIENT_SECRET")
AUTH0_ISSUER = os.environ.get("AUTH0_ISSUER") or (
    f"https://{AUTH0_DOMAIN}/" if AUTH0_DOMAIN else ""
)
AUTH0_JWKS_URL = os.environ.get("AUTH0_JWKS_URL") or (
    f"https://{AUTH0_DOMAIN}/.well-known/jwks.json" if AUTH0_DOMAIN else ""
)
# Auth0's logout endpoint (tests point it at a local fake); the claim carrying the e-mail.
AUTH0_LOGOUT_URL = os.environ.get("AUTH0_LOGOUT_URL") or (
    f"{AUTH0_ISSUER}v2/logout" if AUTH0_ISSUER else ""
)
AUTH0_EMAIL_CLAIM = os.environ.get("AUTH0_EMAIL_CLAIM", "https://paypredict.io/email")

# ---------------------------------------------------------------- security
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Served over HTTPS (SITE_URL https://...): secure cookies, HSTS and the HTTP→HTTPS redirect
# are on unless switched off explicitly; over plain HTTP (local use) they default to off.
_HTTPS = SITE_URL.lower().startswith("https://")
SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", str(_HTTPS))
CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", str(SESSION_COOKIE_SECURE))
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", str(_HTTPS))
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", "31536000" if _HTTPS else "0")
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", "false")
# Load balancers probe /health over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^health$"]
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and strips it from clients).
if envbool("TRUST_X_FORWARDED_PROTO", "false"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FIELD_ENCRYPTION_KEY = envsecret("FIELD_ENCRYPTION_KEY")

# ---------------------------------------------------------------- monitoring
# /metrics and /health/detailed answer a bearer token (METRICS_TOKEN) or a listed address
# (METRICS_ALLOWED_IPS: IPs or CIDR networks); with neither set they answer 403 to everyone
# (staff users may still read /health/detailed). Per-organization business figures (open
# balance, invoice counts by organization) appear only with METRICS_PER_ORGANIZATION=true.
METRICS_TOKEN = envsecret("METRICS_TOKEN")
METRICS_ALLOWED_IPS = envlist("METRICS_ALLOWED_IPS", "")
for _network in METRICS_ALLOWED_IPS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(
            f"METRICS_ALLOWED_IPS: {_network!r} is not an IP or network"
        ) from _exc
METRICS_PER_ORGANIZATION = envbool("METRICS_PER_ORGANIZATION", "false")
# Requests per minute per client address on /health, /health/detailed and /metrics.
HEALTH_RATE_LIMIT = envint("HEALTH_RATE_LIMIT", "120")

# ---------------------------------------------------------------- API
REST_FRAMEWORK = {
    # Auth0 bearer tokens first (it steps aside unless AUTH0_AUDIENCE/AUTH0_JWKS_URL are set),
    # so its WWW-Authenticate header turns bad-token answers into 401s; sessions second.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "integrations.auth0.authentication.Auth0JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
        "rest_framework.filters.SearchFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "paypredict_project.api.CursorPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "paypredict_project.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("API_THROTTLE_ANON", "60/minute"),
        "user": os.environ.get("API_THROTTLE_USER", "6000/minute"),
    },
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "PayPredict API",
    "DESCRIPTION": "Accounts-receivable ledger, predictions and collections API.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Swagger UI assets come from the drf-spectacular-sidecar package: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Every operation documents the shared error body (paypredict_project/api.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "paypredict_project.api.postprocess_error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "InvoiceStatusEnum": "invoices.models.InvoiceStatus",
        "PaymentStatusEnum": "invoices.models.PaymentStatus",
    },
}

# ---------------------------------------------------------------- models & integrations
MODEL_DIR = Path(os.environ.get("MODEL_DIR", BASE_DIR / "model_artifacts"))
OPENAI_API_KEY = envsecret("OPENAI_API_KEY")
OPENAI_BASE_URL = os.environ.get("OPENAI_BASE_URL", "")
OPENAI_MODEL = os.environ.get("OPENAI_MODEL", "")
# Seconds before an LLM answer is abandoned for the offline path (ml/llm.py).
OPENAI_TIMEOUT_S = envint("OPENAI_TIMEOUT_S", "20")
# How structured answers are requested: json_schema (OpenAI, recent vLLM/Ollama) or
# function_calling (servers with tool calls but no response_format).
OPENAI_STRUCTURED_METHOD = os.environ.get("OPENAI_STRUCTURED_METHOD", "json_schema")
if OPENAI_STRUCTURED_METHOD not in ("json_schema", "function_calling"):
    raise ImproperlyConfigured(
        "OPENAI_STRUCTURED_METHOD must be json_schema or function_calling, "
        f"got {OPENAI_STRUCTURED_METHOD!r}"
    )

# Accounting integrations (docs/integrations.md). A provider is offered on the Integrations
# page only when its client id and secret are set; the URLs default to the real services and
# are overridden for sandboxes and the local fakes.
QUICKBOOKS_CLIENT_ID = os.environ.get("QUICKBOOKS_CLIENT_ID", "")
QUICKBOOKS_CLIENT_SECRET = envsecret("QUICKBOOKS_CLIENT_SECRET")
QUICKBOOKS_API_BASE_URL = os.environ.get(
    "QUICKBOOKS_API_BASE_URL", "https://quickbooks.api.intuit.com"
)
QUICKBOOKS_OAUTH_AUTHORIZE_URL = os.environ.get(
    "QUICKBOOKS_OAUTH_AUTHORIZE_URL", "https://appcenter.intuit.com/connect/oauth2"
)
QUICKBOOKS_OAUTH_TOKEN_URL = os.environ.get(
    "QUICKBOOKS_OAUTH_TOKEN_URL", "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
)
QUICKBOOKS_OAUTH_REVOKE_URL = os.environ.get(
    "QUICKBOOKS_OAUTH_REVOKE_URL", "https://developer.api.intuit.com/v2/oauth2/tokens/revoke"
)
QUICKBOOKS_WEBHOOK_VERIFIER_TOKEN = envsecret("QUICKBOOKS_WEBHOOK_VERIFIER_TOKEN")
XERO_CLIENT_ID = os.environ.get("XERO_CLIENT_ID", "")
XERO_CLIENT_SECRET = envsecret("XERO_CLIENT_SECRET")
XERO_API_BASE_URL = os.environ.get("XERO_API_BASE_URL", "https://api.xero.com")
XERO_OAUTH_AUTHORIZE_URL = os.environ.get(
    "XERO_OAUTH_AUTHORIZE_URL", "https://login.xero.com/identity/connect/authorize"
)
XERO_OAUTH_TOKEN_URL = os.environ.get(
    "XERO_OAUTH_TOKEN_URL", "https://identity.xero.com/connect/token"
)
XERO_OAUTH_REVOKE_URL = os.environ.get(
    "XERO_OAUTH_REVOKE_URL", "https://identity.xero.com/connect/revocation"
)
XERO_WEBHOOK_KEY = envsecret("XERO_WEBHOOK_KEY")
# Xero allows 5,000 calls per organisation per day (1,000 on the 2026 Starter tier).
XERO_DAILY_CALL_LIMIT = envint("XERO_DAILY_CALL_LIMIT", "5000")
QUICKBOOKS_DAILY_CALL_LIMIT = envint("QUICKBOOKS_DAILY_CALL_LIMIT", "100000")
# Retries of 429 / 5xx answers: exponential backoff with full jitter, capped.
INTEGRATIONS_MAX_RETRIES = envint("INTEGRATIONS_MAX_RETRIES", "6")
INTEGRATIONS_BACKOFF_BASE_SECONDS = float(os.environ.get("INTEGRATIONS_BACKOFF_BASE_SECONDS", "1"))
INTEGRATIONS_BACKOFF_MAX_SECONDS = float(os.environ.get("INTEGRATIONS_BACKOFF_MAX_SECONDS", "60"))
INTEGRATIONS_HTTP_TIMEOUT_SECONDS = float(os.environ.get("INTEGRATIONS_HTTP_TIMEOUT_SECONDS", "30"))
# Rows per provider page (QuickBooks MAXRESULTS <= 1000; Xero pageSize <= 1000).
INTEGRATIONS_PAGE_SIZE = envint("INTEGRATIONS_PAGE_SIZE", "500")

# ---------------------------------------------------------------- e-mail
# With neither EMAIL_BACKEND nor EMAIL_HOST set (the embedded `make run`), mail is written
# as .eml files into .data/sent-mail/ (a local sink you can open), never sent anywhere.
# SendGrid/SES/Mailgun...: EMAIL_BACKEND=anymail.backends.<esp>.EmailBackend plus ANYMAIL_*.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND") or (
    "django.core.mail.backends.smtp.EmailBackend"
    if os.environ.get("EMAIL_HOST")
    else "django.core.mail.backends.filebased.EmailBackend"
)
EMAIL_FILE_PATH = Path(os.environ.get("EMAIL_FILE_PATH", BASE_DIR / ".data" / "sent-mail"))
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", "25")
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = envsecret("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", "false")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "PayPredict <ar@paypredict.local>")
# django-anymail: ESP credentials and the tracking-webhook secrets (basic auth for every ESP,
# plus the ESP's own signing key where it has one). Unset values are left out.
ANYMAIL = {
    key: value
    for key, value in {
        "WEBHOOK_SECRET": envsecret("ANYMAIL_WEBHOOK_SECRET"),
        "SENDGRID_API_KEY": envsecret("SENDGRID_API_KEY"),
        "MAILGUN_API_KEY": envsecret("MAILGUN_API_KEY"),
        "MAILGUN_WEBHOOK_SIGNING_KEY": envsecret("MAILGUN_WEBHOOK_SIGNING_KEY"),
    }.items()
    if value
}

# ---------------------------------------------------------------- logging
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "pgserver": {"level": "WARNING"},
        # Lockouts and failures stay visible (WARNING); not every successful login.
        "axes": {"level": "WARNING"},
    },
}
