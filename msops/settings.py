"""msops settings, read from the environment (12-factor, django-environ).

With nothing set, msops runs on an SQLite file and a filesystem Celery broker
under ``var/`` so `make run` needs nothing but Python. Set ``DATABASE_URL`` and
``REDIS_URL`` for PostgreSQL and Redis.
"""

from datetime import timedelta
from pathlib import Path

import csp.constants as csp
import environ

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("MSOPS_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env(
    DEBUG=(bool, False),
    ALLOWED_HOSTS=(list, ["localhost", "127.0.0.1", "[::1]"]),
    CSRF_TRUSTED_ORIGINS=(list, []),
    SECURE_SSL_REDIRECT=(bool, True),
    SECURE_HSTS_SECONDS=(int, 60 * 60 * 24 * 365),
    API_THROTTLE_USER=(str, "1200/minute"),
    API_THROTTLE_ANON=(str, "60/minute"),
)
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env("DEBUG")

# A development key exists only while DEBUG is on; production must set one.
if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", default="django-insecure-msops-development-only-key")
else:
    SECRET_KEY = env.str("SECRET_KEY")

ALLOWED_HOSTS = env("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "pgtrigger",
    "msops.tenancy",
    "clients",
    "tickets",
    "billing",
    "transitions",
    "msops.demo",
    "axes",  # sign-in throttling (see AXES_* below)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "msops.tenancy.middleware.OrganizationMiddleware",
    # Last, as django-axes asks: turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

# django-axes first: it refuses a locked-out sign-in before a password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "msops.urls"
WSGI_APPLICATION = "msops.wsgi.application"

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
                "msops.tenancy.context_processors.tenancy",
                "billing.context_processors.nav_counts",
                "billing.context_processors.running_timer",
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    },
]

# Widgets written in Python, as Django's widget templates write them.
FORM_RENDERER = "msops.form_rendering.WidgetRenderer"

# --- Database -------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'msops.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server, the worker and beat share the file.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
elif env.bool("DATABASE_POOL", default=False):
    # psycopg's pool (one per process): a request takes a connection and gives
    # it back, with no health-check round trip. Row-level security is set per
    # transaction (SET LOCAL), so nothing of a tenant stays on a connection.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=1),
        "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=4),
        "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0),
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
# Row-level security (PostgreSQL, msops/tenancy/rls.py): `migrate` runs as the
# tables' owner and grants this role the rows; web, worker and beat connect as it.
DATABASE_APP_ROLE = env.str("DATABASE_APP_ROLE", default="msops_app")
DATABASE_APP_PASSWORD = env.str("DATABASE_APP_PASSWORD", default="")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True  # stored in UTC; shown in the organization's timezone

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=VAR_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Email ----------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="msops <msops@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Where people reach msops (scheme and host, no path): links in notification
# mail are this address joined with the page's path (msops.mail.absolute_url).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

# --- Security (production) --------------------------------------------------
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_SSL_REDIRECT = env("SECURE_SSL_REDIRECT") and not DEBUG
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# How many proxies in front of the app append to X-Forwarded-For: the client's
# address is that many entries from the right. 0: REMOTE_ADDR (no proxy).
TRUSTED_PROXY_HOPS = env.int("TRUSTED_PROXY_HOPS", default=0)
SECURE_HSTS_SECONDS = 0 if DEBUG else env("SECURE_HSTS_SECONDS")
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Scripts and styles only from our own static files: no inline script, no
# inline style, no eval (htmx's own indicator style is off, see base.html).
# The one inline script of a third party, Swagger UI's start-up at /api/docs/,
# carries a per-response nonce (templates/drf_spectacular/swagger_ui.html);
# the nonce appears in the header only on a page that used it.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.SELF],
        "script-src": [csp.SELF, csp.NONCE],
        "style-src": [csp.SELF],
        "img-src": [csp.SELF, "data:"],
        "font-src": [csp.SELF],
        "connect-src": [csp.SELF],
        "object-src": [csp.NONE],
        "base-uri": [csp.SELF],
        "form-action": [csp.SELF],
        "frame-ancestors": [csp.NONE],
    }
}
# Browser features msops never uses are off for it and anything it embeds.
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    )
}

# --- Sign-in throttling (django-axes) ------------------------------------------
# Five wrong passwords for one username from one address lock that pair out for
# 15 minutes, counted from the lock (further tries do not extend it); a
# successful sign-in clears the count. Someone else's address, or another
# username from the same address, is not affected. The API's tokens never pass
# through authenticate(), so axes does not see them.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# The same client address as the rest of msops (TRUSTED_PROXY_HOPS).
AXES_CLIENT_IP_CALLABLE = "msops.tenancy.audit.client_ip_address"
# The login page, with a message, answered 429 (msops.tenancy.views).
AXES_LOCKOUT_CALLABLE = "msops.tenancy.views.sign_in_locked_out"
# Sign-ins and sign-outs are recorded once, in msops' own audit log (AuthEvent).
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False  # no start-up banner on every manage.py command

# --- Celery -----------------------------------------------------------------
# REDIS_URL (or CELERY_BROKER_URL) selects Redis; without it, kombu's
# filesystem transport under var/ needs no server and works with a real worker.
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
CELERY_TASK_MAX_SECONDS = 30 * 60
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    # A task is acknowledged when it finishes; if its worker dies first, Redis
    # hands it to another worker once this many seconds have passed. Longer
    # than any task may run, so a running task is not redelivered early.
    _visibility_timeout = env.int("CELERY_VISIBILITY_TIMEOUT", default=2 * CELERY_TASK_MAX_SECONDS)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": _visibility_timeout,
        # Look for abandoned tasks every tenth of the timeout (at most every 10 s).
        "unacked_restore_interval": max(1, min(10, _visibility_timeout // 10)),
        "unacked_restore_throttle": 1,
    }
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- REST API ---------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "msops.tenancy.api.authentication.MembershipTokenAuthentication"
    ],
    "DEFAULT_PERMISSION_CLASSES": ["msops.tenancy.api.permissions.HasOrganizationRole"],
    "DEFAULT_PAGINATION_CLASS": "msops.tenancy.api.pagination.Pagination",
    # The API speaks JSON: one body format, documented as the only one.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    # The same JSON as DRF's renderer, written by orjson (msops/tenancy/api/renderers.py).
    "DEFAULT_RENDERER_CLASSES": [
        "msops.tenancy.api.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "PAGE_SIZE": 50,
    # msops.tenancy.api.filters.LIST_FILTER_BACKENDS; views with search_fields
    # add search (SEARCHABLE_FILTER_BACKENDS).
    "DEFAULT_FILTER_BACKENDS": [
        "msops.tenancy.api.filters.TenantFilterBackend",
        "msops.tenancy.api.filters.DeclaredOrderingFilter",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.UserRateThrottle",
        "rest_framework.throttling.AnonRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": env("API_THROTTLE_USER"),
        "anon": env("API_THROTTLE_ANON"),
    },
    "DEFAULT_SCHEMA_CLASS": "msops.tenancy.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "msops.tenancy.api.exceptions.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "msops API",
    "DESCRIPTION": (
        "Billing meaning decided at the moment of work. Authenticate with an API token "
        "(`Authorization: Bearer <token>`); the token belongs to one membership, so the "
        "organization always comes from the token."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    # Swagger UI served from our own static files, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "TreatmentEnum": "clients.models.Treatment",
        "FlagKindEnum": "billing.models.ExceptionFlag.Kind",
        "BillingStatusEnum": "tickets.models.TimeEntry.BillingStatus",
        "WaitsOnEnum": "billing.models.EntryPortion.WaitsOn",
        "ContractKindEnum": "clients.models.Contract.Kind",
        "HandoffStatusEnum": "transitions.models.Handoff.Status",
    },
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

# --- Cache -------------------------------------------------------------------
# Per-process memory: throttling must never make a page fail when Redis is down.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    # {% cache %} fragments keyed by their content (msops/fragments.py): per
    # process, apart from the throttle counters in "default".
    "template_fragments": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "template-fragments",
        "OPTIONS": {"MAX_ENTRIES": 5000},
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # django-axes logs every sign-in at INFO; the audit log keeps them instead.
    "loggers": {"axes": {"level": "WARNING"}},
}
