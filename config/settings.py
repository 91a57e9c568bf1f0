"""Settings for Stripe Sources, all read from the environment (see .env.example)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Final

import dj_database_url
from django.utils.translation import gettext_lazy as _

from config.env import (
    PASSWORD_LOGIN_MODES,
    ConfigError,
    check_sso_settings,
    env_bool,
    env_choice,
    env_fernet_keys,
    env_int,
    env_list,
    env_oidc_issuer,
    env_str,
    env_url,
)
from config.queues import DEFAULT, QUEUES
from core.logging import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not DEBUG and len(SECRET_KEY) < 32:
    raise ConfigError("SECRET_KEY must be at least 32 characters when DEBUG is off")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
if not DEBUG and not ALLOWED_HOSTS:
    raise ConfigError("ALLOWED_HOSTS is required when DEBUG is off (comma-separated host names)")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

# Fernet keys for secrets at rest, newest first; see core/crypto.py.
FIELD_ENCRYPTION_KEYS = env_fernet_keys("FIELD_ENCRYPTION_KEY")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "axes",
    "core",
    "monitoring",
    "onboarding",
    "operations",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "api",
]

MIDDLEWARE = [
    "core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "core.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before CSRF, the first to read the body: oversized uploads are refused as they arrive.
    "core.uploads.UploadLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.middleware.SessionIdleMiddleware",
    # The person's saved language and time zone; after authentication and LocaleMiddleware.
    "core.preferences.PreferenceMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes requires: turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "core.context_processors.navigation",
            ],
        },
    },
]

try:
    DATABASES = {
        "default": dj_database_url.parse(
            env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"), conn_max_age=60
        )
    }
except ValueError as exc:
    raise ConfigError(f"DATABASE_URL is not a database URL ({exc})") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one SQLite file: wait for locks instead of failing at once.
    # WAL lets readers and the writer work at once; IMMEDIATE transactions take the write lock
    # up front, so two writers queue (within the timeout) instead of failing mid-transaction.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # First: refuses locked-out username+address pairs before a password is checked.
    "core.security.LoginThrottleBackend",
    # Passwords, as far as PASSWORD_LOGIN allows (core/sso.py).
    "core.sso.PasswordBackend",
    # OpenID Connect single sign-on, when OIDC_ISSUER is set.
    "core.sso.SSOBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGES = [("en", _("English")), ("ko", _("Korean"))]
# For browsers that ask for none of LANGUAGES, and for alert emails.
LANGUAGE_CODE = env_str("LANGUAGE_CODE", "en")
if LANGUAGE_CODE not in dict(LANGUAGES):
    raise ConfigError(f"LANGUAGE_CODE={LANGUAGE_CODE!r} must be one of: en, ko")
LOCALE_PATHS = [BASE_DIR / "locale"]
# The language picker's choice outlives the session (a year); until then the browser decides.
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE: Final = "Lax"
# Stored times are UTC. Pages show each person's own zone (core.preferences); this one is for
# browsers that report none, and for what workers write.
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# In development whitenoise serves straight from STATICFILES_DIRS, no collectstatic needed.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# Keep oversized posts out of memory; the wizard's largest form is a mapping of a few hundred rows.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# Uploaded files (mapping CSVs) are refused past this size before they are stored (core/uploads.py).
UPLOAD_MAX_BYTES = 512 * 1024

# --- Security ---------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
# Sessions end after 12 hours without a request: a signed-in person's requests start the 12
# hours again (at most every few minutes, core.middleware.SessionIdleMiddleware).
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_HOURS", 12, minimum=1) * 3600
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Pages put the token in forms and in htmx's x-csrftoken header; no script reads the cookie.
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# Load balancers probe these over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz(/(live|ready|background))?$", r"^metrics$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 3600, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
# Behind a TLS-terminating proxy: the header it sets to "https", e.g. X-Forwarded-Proto.
_proxy_ssl_header = env_str("SECURE_PROXY_SSL_HEADER", "")
if _proxy_ssl_header:
    SECURE_PROXY_SSL_HEADER = (
        "HTTP_" + _proxy_ssl_header.strip().upper().replace("-", "_"),
        "https",
    )
# How many proxies of ours append to X-Forwarded-For (0: use the connection's address).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)

# Inline scripts and eval are not allowed; inline style attributes are (SVG charts, htmx swaps).
CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
    "base-uri": ["'self'"],
}

# Login throttling (django-axes): lock a username+address pair out after repeated failures.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# The second tier (core/security.py): one username from any number of addresses.
LOGIN_USERNAME_FAILURE_LIMIT = env_int("LOGIN_USERNAME_FAILURE_LIMIT", 20, minimum=1)
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "core.security.client_ip"
AXES_LOCKOUT_CALLABLE = "core.security.lockout_response"

# --- Single sign-on (OpenID Connect) -----------------------------------------------------------
# Empty OIDC_ISSUER: local passwords only. Set, the login page offers "Sign in with SSO"; the
# provider's endpoints come from its discovery document (core/sso.py).
OIDC_ISSUER = env_oidc_issuer("OIDC_ISSUER", debug=DEBUG)
OIDC_RP_CLIENT_ID = env_str("OIDC_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = env_str("OIDC_CLIENT_SECRET", "")
OIDC_RP_SCOPES = env_str("OIDC_SCOPES", "openid email profile")
OIDC_RP_SIGN_ALGO = env_str("OIDC_SIGN_ALGO", "RS256")
# The claim listing the person's groups (Okta, Keycloak: groups; Azure AD: groups or roles).
OIDC_GROUPS_CLAIM = env_str("OIDC_GROUPS_CLAIM", "groups")
# The identity provider's groups that grant each role, comma-separated. A person's role is
# re-derived at every sign-in (the most powerful one their groups grant); no mapped group, no entry.
SSO_ROLE_GROUPS = {
    "Admin": env_list("OIDC_ADMIN_GROUPS", ""),
    "Support": env_list("OIDC_SUPPORT_GROUPS", ""),
    "Marketing Ops": env_list("OIDC_MARKETING_OPS_GROUPS", ""),
}
# Password sign-in: on (everyone), admins (a break-glass Admin only, for when the identity
# provider is down), or off.
PASSWORD_LOGIN = env_choice("PASSWORD_LOGIN", PASSWORD_LOGIN_MODES, "on")
check_sso_settings(
    issuer=OIDC_ISSUER,
    client_id=OIDC_RP_CLIENT_ID,
    client_secret=OIDC_RP_CLIENT_SECRET,
    role_groups=SSO_ROLE_GROUPS,
    password_login=PASSWORD_LOGIN,
)
# mozilla-django-oidc: PKCE, the nonce, and the ID token kept for signing out at the provider.
OIDC_USE_PKCE = True
OIDC_STORE_ID_TOKEN = True
OIDC_AUTHENTICATION_CALLBACK_URL = "sso-callback"
LOGIN_REDIRECT_URL_FAILURE = "login"
OIDC_TIMEOUT = 10

# --- The REST API (/api/v1/, api/) ---------------------------------------------------------------
# Bearer tokens only (no session cookies, so no CSRF); errors as RFC 9457 problem+json.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.auth.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["api.access.HasRole"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.TokenRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "api.schema.ApiSchema",
    "EXCEPTION_HANDLER": "api.problems.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
# Requests per token per minute; past it the API answers 429 with Retry-After.
API_RATE_PER_MINUTE = env_int("API_RATE_PER_MINUTE", 120, minimum=1)
SPECTACULAR_SETTINGS = {
    "TITLE": "Stripe Sources API",
    "DESCRIPTION": "Monitor and operate the Stripe dataflows into Adobe Experience Platform.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    # Swagger UI from the installed package's static files: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "HealthEnum": "monitoring.models.Dataflow.Health",
        "OperationStatusEnum": "operations.models.Operation.Status",
    },
}

# --- Redis and Celery -------------------------------------------------------------------------
REDIS_URL = env_url("REDIS_URL", "redis://127.0.0.1:6379/0", schemes=("redis", "rediss", "unix"))

# https://docs.celeryq.dev/en/stable/userguide/configuration.html#broker-url
CELERY_BROKER_URL = REDIS_URL
# Pages read job status from the database, never from a result backend.
CELERY_TASK_IGNORE_RESULT = True
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#task-time-limit
CELERY_TASK_TIME_LIMIT = 10 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 9 * 60
# Countdowns and backoffs stay below this, or Redis redelivers the task to a second worker.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 60 * 60}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# Three queues, interactive, sync and default; interactive has workers of its own, and
# config/queues.py routes every task. The broker knows a queue as this prefix + its name
# (tests set a prefix).
TASK_QUEUE_PREFIX = ""
CELERY_TASK_ROUTES = ("config.queues.route",)
CELERY_TASK_DEFAULT_QUEUE = TASK_QUEUE_PREFIX + DEFAULT
# Periodic work; task names are the stable strings given in each app's tasks.py.
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    # Flags late flows and dispatches the dataflow syncs that are due (monitoring/scheduler.py).
    # `expires` drops ticks no worker took in time instead of letting them pile up.
    "monitoring-schedule-syncs": {
        "task": "monitoring.schedule_syncs",
        "schedule": 30.0,
        "options": {"expires": 30},
    },
    # Adopts Stripe flows created outside the dashboard and marks flows deleted in AEP.
    "monitoring-discover-flows": {
        "task": "monitoring.discover_flows",
        "schedule": 300.0,
        "options": {"expires": 300},
    },
    "monitoring-housekeeping": {"task": "monitoring.housekeeping", "schedule": 3600.0},
    # Forget Stripe keys kept past their lifetime: abandoned drafts' (7 days untouched) and
    # unconfirmed key rotations' (1 hour).
    "onboarding-housekeeping": {"task": "onboarding.housekeeping", "schedule": 3600.0},
    "operations-housekeeping": {"task": "operations.housekeeping", "schedule": 600.0},
    # Dispatches the daily Stripe schema-drift check of each active flow (monitoring/drift.py).
    "monitoring-schema-drift": {
        "task": "monitoring.schedule_drift_checks",
        "schedule": 3600.0,
        "options": {"expires": 3600},
    },
    # Resumes wizard provisioning and discards whose worker went away (onboarding/provisioning.py).
    "onboarding-resume-stalled": {
        "task": "onboarding.resume_stalled",
        "schedule": 60.0,
        "options": {"expires": 60},
    },
    # Resumes support operations whose worker went away (operations/service.py).
    "operations-resume-stuck": {
        "task": "operations.resume_stuck",
        "schedule": 60.0,
        "options": {"expires": 60},
    },
    # Starts the enable of paused dataflows whose automatic resume is due (operations/resume.py).
    "operations-resume-due-dataflows": {
        "task": "operations.resume_due_dataflows",
        "schedule": 60.0,
        "options": {"expires": 60},
    },
}

# --- Health and metrics -----------------------------------------------------------------------
# Beat sends core.heartbeat into each queue this often; /healthz/background fails a queue whose
# workers, or beat, stay silent for twice as long.
HEARTBEAT_SECONDS = env_int("HEARTBEAT_SECONDS", 30, minimum=1)
for _queue in QUEUES:
    CELERY_BEAT_SCHEDULE[f"core.heartbeat.{_queue}"] = {
        "task": "core.heartbeat",
        "schedule": HEARTBEAT_SECONDS,
        "args": (_queue,),
        # A heartbeat stuck in the queue behind a backlog proves nothing: let it expire, so a
        # queue that falls behind reads as failing too.
        "options": {"expires": HEARTBEAT_SECONDS},
    }
HEARTBEAT_REDIS_PREFIX = "stripe-sources:heartbeat:"
METRICS_REDIS_PREFIX = "stripe-sources:metrics:"
# Bearer token that /metrics requires. Required when DEBUG is off; with DEBUG, empty leaves
# /metrics open for local use.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
if not DEBUG and not METRICS_TOKEN:
    raise ConfigError(
        "METRICS_TOKEN is required when DEBUG is off (the bearer token Prometheus sends to "
        "/metrics)"
    )

# --- AEP and Stripe ---------------------------------------------------------------------------
AEP_PLATFORM_URL = env_url("AEP_PLATFORM_URL", "https://platform.adobe.io")
AEP_IMS_URL = env_url("AEP_IMS_URL", "https://ims-na1.adobelogin.com")
AEP_SCOPE = env_str(
    "AEP_SCOPE", "openid,AdobeID,read_organizations,additional_info.projectedProductContext,session"
)
# Let sandboxes reach AEP over plain http: only for the local emulator. Off, a sandbox's
# platform and IMS URLs must be https (they carry the client secret and every token).
AEP_ALLOW_HTTP = env_bool("AEP_ALLOW_HTTP", DEBUG)
AEP_TIMEOUT_SECONDS = env_int("AEP_TIMEOUT_SECONDS", 30, minimum=1)
STRIPE_API_BASE = env_url("STRIPE_API_BASE", "https://api.stripe.com")
# The address people open the dashboard at (https://stripe-sources.example.com): links in alert
# emails and Slack/Teams posts start with it. Empty, they are bare paths a chat cannot open.
SITE_URL = env_url("SITE_URL") if env_str("SITE_URL", "") else ""
# How many times a wizard provisioning step retries a 429, 5xx or timeout before it fails.
ONBOARDING_STEP_RETRIES = env_int("ONBOARDING_STEP_RETRIES", 2, minimum=0)
# A provisioning or discard whose worker has not beaten its heartbeat for this long lost its
# worker: a person may resume or cancel it, and beat resumes it on its own (below).
ONBOARDING_STALE_AFTER_SECONDS = env_int("ONBOARDING_STALE_AFTER_SECONDS", 180, minimum=10)
# How many times beat resumes one stalled provisioning or discard (and one stuck support
# operation) before it fails it and tells its owner.
AUTOMATIC_RESUMES = env_int("AUTOMATIC_RESUMES", 3, minimum=0)

# --- Email ------------------------------------------------------------------------------------
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "stripe-sources@localhost")
# Let alert webhooks reach loopback and private addresses, over plain http too: only for a
# receiver on your own machine in development or tests. Off, webhooks go only to public
# https addresses, so a rule cannot make the worker call internal services (SSRF).
ALERT_WEBHOOK_ALLOW_PRIVATE = env_bool("ALERT_WEBHOOK_ALLOW_PRIVATE", False)

# --- Logging ----------------------------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in ("DEBUG", "INFO", "WARNING", "ERROR"):
    raise ConfigError(f"LOG_LEVEL={LOG_LEVEL!r} must be DEBUG, INFO, WARNING or ERROR")
# json: one object per line with request_id/task_id (for log shippers); plain: for people.
LOG_FORMAT = env_str("LOG_FORMAT", "plain" if DEBUG else "json").lower()
if LOG_FORMAT not in ("json", "plain"):
    raise ConfigError(f"LOG_FORMAT={LOG_FORMAT!r} must be json or plain")
# Every handler masks Stripe keys, bearer tokens and Fernet tokens; see core/logging.py.
LOGGING = logging_config(log_format=LOG_FORMAT, level=LOG_LEVEL)
