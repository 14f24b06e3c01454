"""Settings of the django-helpdesk 2.6.1 peer (bench/peer/README.md).

A minimal project as django-helpdesk's install docs describe it, served like
msops in the page benchmark: PostgreSQL through psycopg 3, CONN_MAX_AGE 60,
DEBUG off. Only for benchmarking on 127.0.0.1.
"""

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

BASE_DIR = Path(__file__).resolve().parent
VAR_DIR = BASE_DIR.parent.parent.parent / "var" / "peer-helpdesk"

SECRET_KEY = os.environ.get("PEER_SECRET_KEY", "peer-helpdesk-bench-only-not-a-secret")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

INSTALLED_APPS = [
    "django.contrib.admin",  # required for helpdesk admin/maintenance
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",  # helpdesk builds absolute links from the current Site
    "django.contrib.humanize",  # elapsed-time formatting in helpdesk's templates
    "rest_framework",  # helpdesk's /api/
    "helpdesk",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "urls"
WSGI_APPLICATION = "wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _database(url: str) -> dict:
    parts = urlsplit(url)
    return {
        "ENGINE": "django.db.backends.postgresql",  # psycopg 3 when installed
        "NAME": parts.path.lstrip("/"),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        "CONN_MAX_AGE": 60,  # as msops
        "CONN_HEALTH_CHECKS": True,  # as msops
    }


DATABASES = {
    "default": _database(
        os.environ.get(
            "PEER_DATABASE_URL",
            "postgres://postgres@127.0.0.1:5432/msops_peer_helpdesk",
        )
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
SITE_ID = 1

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = VAR_DIR / "media"

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"

# Nothing leaves the machine.
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

# django-helpdesk: the REST API (/api/tickets/ ...) is on by default in 2.6.1
# (HELPDESK_API_ENABLED; older docs call it HELPDESK_ACTIVATE_API_ENDPOINT).
# Teams mode needs pinax-teams; its docs describe switching it off, as here.
# The knowledge base stays on (the default): 2.6.1's urls.py fails to import
# with HELPDESK_KB_ENABLED = False.
HELPDESK_API_ENABLED = True
HELPDESK_ACTIVATE_API_ENDPOINT = True
HELPDESK_TEAMS_MODE_ENABLED = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
