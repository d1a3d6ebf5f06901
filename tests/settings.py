"""Django settings for the test suite.

``OKPAY_TEST_DB=postgres`` runs the suite on the local PostgreSQL server
(``OKPAY_TEST_PG_*`` override host, port, user and database); anything else
runs it on SQLite.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "UTC"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "okpay_gateway",
    "okpay_gateway.host",
    "okpay_gateway.emulator",
    "okpay_gateway.contrib.saleor_app",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "tests.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # In a checkout the top-level templates/ is not inside the package;
        # an installed wheel finds the same names through the app loader.
        "DIRS": [REPO / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

STATIC_URL = "/static/"
STATICFILES_DIRS = [REPO / "static"]

if os.environ.get("OKPAY_TEST_DB") == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": os.environ.get("OKPAY_TEST_PG_HOST", "127.0.0.1"),
            "PORT": os.environ.get("OKPAY_TEST_PG_PORT", "5432"),
            "USER": os.environ.get("OKPAY_TEST_PG_USER", "postgres"),
            "NAME": os.environ.get("OKPAY_TEST_PG_NAME", "postgres"),
            "TEST": {"NAME": os.environ.get("OKPAY_TEST_PG_TEST_NAME", "okpay_test")},
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": REPO / ".okpay-test.sqlite3",
            "TEST": {"NAME": ":memory:"},
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# The emulator is served in-process by the tests; it is never part of a
# production configuration (a system check refuses it when DEBUG is off
# outside tests).
OKPAY_EMULATOR = {"IPN_RETRY_DELAYS": [0, 0, 0], "ALLOW_WITHOUT_DEBUG": True}

# The Saleor App's tests mount its urls at this address (tests/saleor_app/urls.py).
OKPAY_SALEOR_APP = {
    "APP_URL": "http://testserver/okpay-app/",
    "ALLOWED_SALEOR_URLS": ["http://127.0.0.1:*/graphql/"],
    "SUPPORTED_CURRENCIES": ["USD"],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"null": {"class": "logging.NullHandler"}},
    "root": {"handlers": ["null"], "level": "WARNING"},
}
