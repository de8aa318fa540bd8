"""One settings module; everything that differs between machines comes from the environment."""

import os
from datetime import timedelta
from pathlib import Path

from ovarian_web.env import env_bool, env_database, env_int, env_list, env_redis, env_str
from ovarian_web.keys import local_keys

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

_keys = local_keys(VAR_DIR / "local_keys.json")
SECRET_KEY = _keys["SECRET_KEY"]
PSEUDONYM_KEY = _keys["PSEUDONYM_KEY"]
IDENTIFIER_KEY = _keys["IDENTIFIER_KEY"]

DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "base.admin_site.OvarianAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    # Sign-in throttling and lockout, API tokens (stored hashed), two-factor, CSP checks.
    "axes",
    "knox",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    "base",
    "annotation",
    "inference",
    "studies",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "base.session_guard.SessionIdleTimeoutMiddleware",
    "base.session_guard.TwoFactorRequiredMiddleware",
    # Last, as axes asks: it turns a locked-out sign-in into its lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "ovarian_web.urls"
WSGI_APPLICATION = "ovarian_web.wsgi.application"
ASGI_APPLICATION = "ovarian_web.asgi.application"

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
                "base.roles.role_context",
            ],
        },
    },
]

DATABASES = {"default": env_database("DATABASE_URL", str(VAR_DIR / "db.sqlite3"))}
DATABASES["default"]["ATOMIC_REQUESTS"] = True
# Kept connections need a server that runs requests on long-lived threads: the production
# server does (local_services.production_application, which defaults this to 600); daphne
# and the test server start a thread per request, where 0 (close after each) suits.
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # a kept connection is checked before reuse
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web server and worker write to one file; wait for the lock instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 30
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
    # A file, not memory, so a server process started by the browser tests sees the test data.
    # Named per process so that two test runs in one checkout do not share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test_db_{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Axes first: it refuses a locked-out username+address before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "base.auth_backend.RoleModelBackend",
]
# Lockout per username AND address, so someone elsewhere cannot lock a reader out; it lifts
# after the cool-off, or at once when an administrator deletes the attempt in the admin.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 10, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "base.login_throttle.client_address"
AXES_LOCKOUT_CALLABLE = "base.login_throttle.lockout_response"
AXES_VERBOSE = False  # no banner at start-up
# Signed-in sessions end after this long without a request (autosaves count).
SESSION_IDLE_TIMEOUT_SECONDS = env_int("SESSION_IDLE_TIMEOUT_SECONDS", 30 * 60, minimum=60)
# Signed links need no session, so they outlive a logout: an image link lives this to twice
# this (annotation/imaging/links.py), a heatmap link this long. The screens fetch a fresh
# payload when a link has expired.
FILE_LINK_SECONDS = env_int("FILE_LINK_SECONDS", 5 * 60, minimum=30)
HEATMAP_LINK_SECONDS = env_int("HEATMAP_LINK_SECONDS", 10 * 60, minimum=30)
# Roles that must sign in with a TOTP code; anyone may enrol.
TWO_FACTOR_REQUIRED = env_bool("TWO_FACTOR_REQUIRED", False)
OTP_TOTP_ISSUER = "OvaScan"
# API tokens: only a hash is stored; each expires, and each can be revoked.
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=env_int("API_TOKEN_DAYS", 30, minimum=1)),
    "AUTH_HEADER_PREFIX": "Token",
}
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on every start without it
# Serve static/ directly too, so a fresh checkout needs no collectstatic.
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
# Media holds patient images: served only through permission-checked views, never as MEDIA_URL.
DEMO_DATA_DIR = Path(env_str("DEMO_DATA_DIR", str(VAR_DIR / "demo_data")))

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the labelling pages send the token from JavaScript
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG and env_bool("HTTPS", False):
    # Behind a TLS proxy that sets X-Forwarded-Proto (and strips it from clients).
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = env_int("HSTS_SECONDS", 365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("HSTS_PRELOAD", True)
# Scripts from our own origin only, none inline. Inline style attributes stay allowed
# (style-src-attr): templates set widths of bars and swatch colours that way; they cannot
# run code. Websockets go to the same host (ws: or wss:).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "connect-src": ["'self'"],  # CSP3: 'self' covers ws: and wss: to the same host
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

REDIS_URL = env_redis("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            # Misses and skipped writes while Redis is down (base/cache.py).
            "BACKEND": "base.cache.DegradingRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "pool_class": "base.redis_pool.SharedConnectionPool",
                "socket_connect_timeout": 0.5,
                "socket_timeout": 1.0,
            },
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # No socket_timeout: a consumer's blocking read waits longer than any short one.
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_connect_timeout": 0.5}]},
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    # Publishing fails at once without the broker (no connection retries); the job stays
    # queued in the database and the workers' sweep sends it later (jobs.JobTask).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "max_retries": 0,
        "socket_connect_timeout": 0.5,
        "socket_timeout": 5,
    }
    # One immediate retry, which reconnects a pooled connection Redis closed; no more.
    CELERY_TASK_PUBLISH_RETRY_POLICY = {
        "max_retries": 1,
        "interval_start": 0,
        "interval_step": 0.2,
        "interval_max": 0.2,
    }
    # Sessions read from Redis, written through to the database (kept across a Redis restart).
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CELERY_BROKER_URL = "memory://"

CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {"inference.tasks.*": {"queue": "gpu"}}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True  # state lives in our job rows, not in a result backend
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A job whose worker died is claimable again once its lease is older than this.
JOB_LEASE_SECONDS = env_int("JOB_LEASE_SECONDS", 15 * 60, minimum=10)
# A job claimed this many times (its worker died each time) is failed, not claimed again.
JOB_MAX_ATTEMPTS = env_int("JOB_MAX_ATTEMPTS", 3, minimum=1)

# Acquisition. Uploads wait here (never served) until their import job has read them.
UPLOAD_DIR = Path(env_str("UPLOAD_DIR", str(VAR_DIR / "uploads")))
# Pixels per file, every frame counted (decoded whole in memory): a 100-frame 1 MP clip.
IMPORT_MAX_IMAGE_PIXELS = env_int("IMPORT_MAX_IMAGE_PIXELS", 100_000_000, minimum=1)
IMPORT_MAX_ARCHIVE_BYTES = env_int("IMPORT_MAX_ARCHIVE_BYTES", 8 * 1024**3, minimum=1)
IMPORT_WORKERS = env_int("IMPORT_WORKERS", 2, minimum=1)
# Uploaded files of an import never started are deleted this long after it was created (a
# failed import's at once); a report's file paths (often patient IDs) this long after it ended.
IMPORT_UPLOAD_RETENTION_HOURS = env_int("IMPORT_UPLOAD_RETENTION_HOURS", 24, minimum=1)
IMPORT_REPORT_PATH_DAYS = env_int("IMPORT_REPORT_PATH_DAYS", 30, minimum=1)
# Upload caps, checked before a file is kept: one file, and all the files of one import.
IMPORT_MAX_FILE_BYTES = env_int("IMPORT_MAX_FILE_BYTES", 1024**3, minimum=1)
IMPORT_MAX_IMPORT_BYTES = env_int("IMPORT_MAX_IMPORT_BYTES", 20 * 1024**3, minimum=1)
# Request bodies: the production server reads each one before lending it a thread, capped
# at HTTP_MAX_BODY_BYTES, or HTTP_MAX_UPLOAD_BYTES on the upload routes for the roles that
# may use them (ovarian_web/upload_gate.py); a client silent for HTTP_BODY_TIMEOUT_SECONDS
# while sending gets 408. Django's own cap on non-file data matches the first.
HTTP_MAX_BODY_BYTES = env_int("HTTP_MAX_BODY_BYTES", 4 * 1024**2, minimum=64 * 1024)
HTTP_MAX_UPLOAD_BYTES = env_int(
    "HTTP_MAX_UPLOAD_BYTES", IMPORT_MAX_FILE_BYTES + 1024**2, minimum=HTTP_MAX_BODY_BYTES
)
HTTP_BODY_TIMEOUT_SECONDS = env_int("HTTP_BODY_TIMEOUT_SECONDS", 30, minimum=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = HTTP_MAX_BODY_BYTES
# The DICOM receiver (C-STORE SCP) and the PACS we ask for studies (C-FIND, C-MOVE/C-GET).
DICOM_AE_TITLE = env_str("DICOM_AE_TITLE", "OVASCAN")
DICOM_PORT = env_int("DICOM_PORT", 11112, minimum=1)
DICOM_ALLOWED_CALLERS = env_list("DICOM_ALLOWED_CALLERS", [])
DICOM_TLS_CERT = env_str("DICOM_TLS_CERT")
DICOM_TLS_KEY = env_str("DICOM_TLS_KEY")
DICOM_TLS_CA = env_str("DICOM_TLS_CA")
DICOM_DEFAULT_CENTER = env_str("DICOM_DEFAULT_CENTER")
DICOM_SPOOL_DIR = Path(env_str("DICOM_SPOOL_DIR", str(VAR_DIR / "dicom_spool")))
DICOM_PACS_HOST = env_str("DICOM_PACS_HOST", "127.0.0.1")
DICOM_PACS_PORT = env_int("DICOM_PACS_PORT", 104, minimum=1)
DICOM_PACS_AE_TITLE = env_str("DICOM_PACS_AE_TITLE", "PACS")
# An exam counts as complete after this long without a new image for its study.
EXAM_QUIET_SECONDS = env_int("EXAM_QUIET_SECONDS", 120, minimum=1)

# Models: "auto" uses a CUDA GPU where there is one. ImageNet weights are optional local
# files (nothing downloads); when set, training starts from them.
INFERENCE_DEVICE = env_str("INFERENCE_DEVICE", "auto")
INFERENCE_BATCH_SIZE = env_int("INFERENCE_BATCH_SIZE", 32, minimum=1)
DEMO_TRAINING_EPOCHS = env_int("DEMO_TRAINING_EPOCHS", 6, minimum=1)
PRETRAINED_WEIGHTS = {
    "resnet50": env_str("PRETRAINED_RESNET50", ""),
    "resnet18": env_str("PRETRAINED_RESNET18", ""),
    "darknet19": env_str("PRETRAINED_DARKNET19", ""),
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        # Scripts use revocable tokens (Authorization: Token ...), never passwords.
        "knox.auth.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Ovarian ultrasound AI API",
    "DESCRIPTION": "Images, exams and clinical data; labelling, models and reader studies.",
    "VERSION": "0.1.0",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI from the installed sidecar package: no CDN, works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"MassTypeEnum": "annotation.models.MassType"},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # Failed sign-ins and lockouts are warnings; axes narrates every sign-in at INFO.
    "loggers": {"axes": {"level": "WARNING"}},
}
