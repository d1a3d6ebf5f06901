"""Django settings for ``okpay-gateway emulator``: the emulator alone, over HTTP.

The CLI sets ``OKPAY_EMULATOR_DATA_DIR`` before Django reads this module; the
SQLite database and a generated secret key live there, so wallets, contracts
and sessions survive a restart. This configuration is a local test double and
must never serve real traffic.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import okpay_gateway
from okpay_gateway.sqlite import shared_file_options

DATA_DIR = Path(os.environ.get("OKPAY_EMULATOR_DATA_DIR", ".okpay-emulator")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

_PACKAGE = Path(okpay_gateway.__file__).resolve().parent


def _existing(*candidates: Path) -> list[Path]:
    # An installed wheel carries templates/static inside the package; an
    # editable checkout keeps them at the repository's top level.
    return [path for path in candidates if path.is_dir()]


def _secret_key() -> str:
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(48), encoding="utf-8")
        key_file.chmod(0o600)
    return key_file.read_text(encoding="utf-8").strip()


SECRET_KEY = _secret_key()
# DEBUG stays off so no traceback page can ever show a wallet password.
DEBUG = False
# Only loopback is expected, but a developer may bind 0.0.0.0 on purpose.
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "UTC"

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "okpay_gateway.emulator",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "okpay_gateway.emulator.server_urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": _existing(_PACKAGE / "templates", _PACKAGE.parent / "templates"),
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csrf",
            ]
        },
    }
]

STATIC_URL = "/static/"
STATICFILES_DIRS = _existing(_PACKAGE / "static", _PACKAGE.parent / "static")

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": DATA_DIR / "emulator.sqlite3",
        # The HTTP threads and the IPN delivery loop share one file; IMMEDIATE
        # transactions plus WAL keep them from failing with "database is locked".
        "OPTIONS": shared_file_options(timeout=20),
    }
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

OKPAY_EMULATOR = {
    # Deliver each IPN in a background thread right after its transaction
    # commits; the CLI's loop picks up retries.
    "IPN_DELIVERY": "thread",
    # This settings module only ever runs the local test double.
    "ALLOW_WITHOUT_DEBUG": True,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "okpay_gateway": {"handlers": ["console"], "level": "INFO"},
        "django.server": {"handlers": ["console"], "level": "INFO"},
    },
}
