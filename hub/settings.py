"""GradHub settings: one module, everything from the environment.

Defaults are for a newcomer's machine (SQLite, an embedded filesystem broker, an in-memory
cache). Setting DATABASE_URL / REDIS_URL switches to PostgreSQL / Redis; GRADHUB_MODE=production
switches on the production safety net and refuses to start without a real SECRET_KEY.
"""

import os
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from hub.accounts.providers import social_providers
from hub.traces.storage import s3_storage_config, s3_storage_from_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"  # local state of the embedded run: database, broker, media

env = environ.Env()

MODE = env.str("GRADHUB_MODE", default="development")
if MODE not in ("development", "production"):
    raise ImproperlyConfigured("GRADHUB_MODE must be 'development' or 'production'")
PRODUCTION = MODE == "production"

DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"
SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY)
if PRODUCTION and (
    SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5
):
    raise ImproperlyConfigured(
        "Production mode needs a real SECRET_KEY (50+ random characters) in the environment."
    )

DEBUG = env.bool("DEBUG", default=not PRODUCTION)
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "hub.core",
    "hub.accounts",
    "hub.forum",
    "hub.notifications",
    "hub.moderation",
    "hub.glossary",
    "hub.learn",
    "hub.api",
    "hub.traces",
    # Sign in with GitHub, Google or an OpenID Connect provider: allauth's social accounts only;
    # the site's own log-in, sign-up and password pages stay ours (hub/accounts/urls.py).
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.github",
    "allauth.socialaccount.providers.google",
    "allauth.socialaccount.providers.openid_connect",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before the shared page cache, whose hits skip everything below it: every page has them.
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "hub.forum.page_cache.SharedPageMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "hub.core.middleware.PresenceMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "hub.urls"
WSGI_APPLICATION = "hub.wsgi.application"

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
                "hub.core.context_processors.site",
                "hub.accounts.context_processors.roles",
                "hub.notifications.context_processors.notifications",
            ],
        },
    },
]

# --- Data ---------------------------------------------------------------------------------
# An empty variable counts as unset, so `DATABASE_URL= make run` still gets the embedded default.
DATABASE_URL = env.str("DATABASE_URL", default="")
if not DATABASE_URL:
    VAR_DIR.mkdir(exist_ok=True)  # a fresh clone has no var/ yet
    DATABASE_URL = f"sqlite:///{VAR_DIR / 'gradhub.sqlite3'}"
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
# A persistent connection that the server dropped (a restart, a failover) is replaced when the
# next request begins, instead of failing that request with a 500.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded run has a web process and a worker on one file: wait instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        timeout=20, transaction_mode="IMMEDIATE", init_command="PRAGMA journal_mode=WAL;"
    )
USES_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
# A down Redis must cost a request little: short timeouts, and after one failure hub.core.cache
# skips Redis (misses, no-ops) for this many seconds before trying again.
REDIS_TIMEOUTS = {"socket_connect_timeout": 0.25, "socket_timeout": 0.5}
REDIS_BREAKER_SECONDS = env.float("REDIS_BREAKER_SECONDS", default=5.0)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "hub.core.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": REDIS_TIMEOUTS,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")
MEDIA_URL = "/media/"
STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]

# --- Uploads ------------------------------------------------------------------------------
# A trace of 100k steps x 1000 parameters is ~60 MB; anything larger is refused before reading.
TRACE_MAX_UPLOAD_BYTES = env.int("TRACE_MAX_UPLOAD_BYTES", default=64 * 1024 * 1024)
# Uploads (each may queue a diagnosis) per person and hour, whatever the entry point: web or API.
TRACE_UPLOADS_PER_HOUR = env.int("TRACE_UPLOADS_PER_HOUR", default=30)
# Training steps of each replay that verifies a fix (analysis.replay; the default 200).
TRACE_REPLAY_STEPS = env.int("TRACE_REPLAY_STEPS", default=200)
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=5 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = env.int("FILE_UPLOAD_MAX_MEMORY_SIZE", default=2 * 1024 * 1024)
# First: refuses a body over TRACE_MAX_UPLOAD_BYTES on its Content-Length, and stops reading at it.
FILE_UPLOAD_HANDLERS = [
    "hub.core.uploads.UploadSizeLimitHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# Trace files: local disk under MEDIA_ROOT unless STORAGE_URL (or AWS_STORAGE_BUCKET_NAME) names
# an S3-compatible bucket, e.g. s3://BUCKET?endpoint_url=http://minio:9000&region_name=us-east-1.
# Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, never from the URL; left
# empty, boto3 finds its own (instance role, ~/.aws). Objects are private: only the
# permission-checked download view serves them (hub/traces/views.py).
STORAGE_URL = env.str("STORAGE_URL", default="")
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
_s3_options = {
    "access_key": env.str("AWS_ACCESS_KEY_ID", default=""),
    "secret_key": env.str("AWS_SECRET_ACCESS_KEY", default=""),
    "spool_bytes": FILE_UPLOAD_MAX_MEMORY_SIZE,
}
if STORAGE_URL:
    DEFAULT_STORAGE = s3_storage_from_url(STORAGE_URL, **_s3_options)
elif AWS_STORAGE_BUCKET_NAME:
    DEFAULT_STORAGE = s3_storage_config(
        bucket=AWS_STORAGE_BUCKET_NAME,
        endpoint_url=env.str("AWS_S3_ENDPOINT_URL", default=""),
        region_name=env.str("AWS_S3_REGION_NAME", default=""),
        **_s3_options,
    )
else:
    DEFAULT_STORAGE = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": DEFAULT_STORAGE,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Celery ---------------------------------------------------------------------------------
# Without a broker URL the embedded run uses kombu's filesystem transport: a real worker
# process, no services to install.
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
    CELERY_WORKER_ENABLE_REMOTE_CONTROL = False
else:
    # With acks_late, a task whose worker died is redelivered after this many seconds.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
        "socket_connect_timeout": REDIS_TIMEOUTS["socket_connect_timeout"],
    }
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="gradhub")
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=120)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=180)
# kilobytes; a child that grows past this is replaced after its current task
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env.int(
    "CELERY_WORKER_MAX_MEMORY_PER_CHILD", default=1_000_000
)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A request sending a task to a down broker gives up quickly (hub/traces/queue.py): the sweep
# sends it again later.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2,
}  # fmt: skip
CELERY_BEAT_SCHEDULE = {
    "core.heartbeat": {"task": "core.heartbeat", "schedule": timedelta(minutes=1)},
    "traces.sweep-stuck": {"task": "traces.sweep_stuck_traces", "schedule": timedelta(minutes=5)},
}

# --- Auth, email --------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

# Sign in with GitHub, Google or an OpenID Connect provider: each id and secret pair set turns
# its provider on (hub/accounts/providers.py).
SOCIALACCOUNT_PROVIDERS, SOCIAL_LOGIN_ORIGINS = social_providers(
    github=(env.str("GITHUB_CLIENT_ID", default=""), env.str("GITHUB_CLIENT_SECRET", default="")),
    google=(env.str("GOOGLE_CLIENT_ID", default=""), env.str("GOOGLE_CLIENT_SECRET", default="")),
    oidc=(env.str("OIDC_CLIENT_ID", default=""), env.str("OIDC_CLIENT_SECRET", default="")),
    oidc_server_url=env.str("OIDC_SERVER_URL", default=""),
    oidc_provider_id=env.str("OIDC_PROVIDER_ID", default="sso"),
    oidc_name=env.str("OIDC_PROVIDER_NAME", default="single sign-on"),
)
SOCIALACCOUNT_ADAPTER = "hub.accounts.social.SocialAccountAdapter"
# A provider's verified e-mail that matches an account signs in to that account and links it
# (allauth removes the password of an account whose address was never verified, so whoever
# typed it at sign-up cannot share the account). Unverified addresses never link.
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_QUERY_EMAIL = True
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"  # the provider verified it, or it is not used to link
SOCIALACCOUNT_AUTO_SIGNUP = True

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="GradHub <noreply@gradhub.local>")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- REST API -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "GradHub API",
    "DESCRIPTION": "Questions, answers, gradient traces and their diagnoses, for scripts.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# --- Webhooks -----------------------------------------------------------------------------
# Outgoing webhooks may target loopback/private addresses only outside production.
WEBHOOK_ALLOW_PRIVATE_HOSTS = env.bool("WEBHOOK_ALLOW_PRIVATE_HOSTS", default=not PRODUCTION)

# --- Security -----------------------------------------------------------------------------
# The same Content-Security-Policy everywhere, so development catches what production blocks:
# no inline scripts, no third-party origins (the site works offline).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, "'unsafe-inline'"],  # KaTeX and Pygments emit style attributes
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF, *SOCIAL_LOGIN_ORIGINS],
    }
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Sessions are read from Redis and written through to the database: a member's layer request
# is answered without a query (hub.forum.page_cache); while Redis is down, from the database.
# The Redis copy is kept minutes, not the session's age (hub.accounts.sessions: a logout Redis
# missed must not stay undone).
# Without Redis only the database: a process's own memory would keep a session another ended.
SESSION_ENGINE = "hub.accounts.sessions" if REDIS_URL else "django.contrib.sessions.backends.db"
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https"  # providers' callback URLs

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# How many reverse proxies of ours append to X-Forwarded-For: per-IP limits read the client
# address that many entries from the right (0: ignore the header, for an app reached directly).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
if "TRUST_X_FORWARDED_FOR" in os.environ:  # the old setting trusted the client-written entry
    raise ImproperlyConfigured(
        "TRUST_X_FORWARDED_FOR is gone: set TRUSTED_PROXY_COUNT to the number of proxies."
    )

# --- Presence -----------------------------------------------------------------------------
PRESENCE_WINDOW_SECONDS = 300  # "online" = seen in the last five minutes
