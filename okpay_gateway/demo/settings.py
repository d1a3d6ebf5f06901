"""Django settings of the demo shop (``okpay-gateway demo``).

The CLI exports two variables before Django reads this module:

* ``OKPAY_DEMO_DATA_DIR``: where the SQLite database and the generated secret
  key live (default ``./.okpay-demo``);
* ``OKPAY_DEMO_BASE_URL``: the server's own URL, e.g. ``http://127.0.0.1:8000/``.
  The emulator is mounted below it at ``okpay-emulator/`` and the plugin's
  ``EMULATOR_URL`` points there; the shop's own SOAP calls and IPN postbacks to
  that URL are served in-process (see :mod:`.sessions`), while browsers and the
  emulator's IPN sender use real HTTP.

A local demonstration only: DEBUG is on and the emulator is installed, which a
system check forbids in production.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import okpay_gateway
from okpay_gateway.sqlite import shared_file_options

DATA_DIR = Path(os.environ.get("OKPAY_DEMO_DATA_DIR", ".okpay-demo")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

# ``okpay-gateway demo --log-level``; every request's access line shows at DEBUG.
LOG_LEVEL = os.environ.get("OKPAY_DEMO_LOG_LEVEL", "INFO").upper()

BASE_URL = os.environ.get("OKPAY_DEMO_BASE_URL", "http://127.0.0.1:8000/")
if not BASE_URL.endswith("/"):
    BASE_URL += "/"
EMULATOR_PREFIX = "okpay-emulator/"
EMULATOR_URL = BASE_URL + EMULATOR_PREFIX
PUBLIC_URL = BASE_URL.rstrip("/")

CHANNEL_SLUG = "default-channel"
PLUGIN_PATH = "okpay_gateway.contrib.saleor.plugin.OkPayGatewayPlugin"

# The merchant wallet the seed creates; a demo secret, shown in the banner.
MERCHANT_WALLET_ID = "OK100000001"
MERCHANT_API_PASSWORD = "demo-api-password"
MERCHANT_EMAIL = "shop@okpay-demo.test"

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
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
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
    "okpay_gateway.demo",
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

ROOT_URLCONF = "okpay_gateway.demo.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": _existing(_PACKAGE / "templates", _PACKAGE.parent / "templates"),
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csrf",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "okpay_gateway.demo.context.demo",
            ]
        },
    }
]

STATIC_URL = "/static/"
STATICFILES_DIRS = _existing(_PACKAGE / "static", _PACKAGE.parent / "static")

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": DATA_DIR / "demo.sqlite3",
        # Server threads, the IPN sender and the renewal thread share one
        # file: IMMEDIATE transactions plus WAL keep "database is locked" away.
        "OPTIONS": shared_file_options(timeout=30),
    }
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGIN_URL = "okpay_demo:login"
LOGIN_REDIRECT_URL = "okpay_demo:account"
LOGOUT_REDIRECT_URL = "okpay_demo:plans"

# Renewal reminders and dunning e-mails are printed, not sent.
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = "shop@okpay-demo.test"

# The Saleor-compatible host: one channel, the OKPAY plugin configured for it
# by the seed (okpay_gateway.demo.seed.configure_plugin).
PLUGINS = [PLUGIN_PATH]
OKPAY_HOST_CHANNELS = [CHANNEL_SLUG]

OKPAY_GATEWAY = {
    "WALLET_ID": MERCHANT_WALLET_ID,
    "API_PASSWORD": MERCHANT_API_PASSWORD,
    "RECEIVER_EMAIL": MERCHANT_EMAIL,
    "ENVIRONMENT": "emulator",
    "EMULATOR_URL": EMULATOR_URL,
    "ACCEPT_TEST_IPN": True,
    "PUBLIC_URL": PUBLIC_URL,
    # Requests to EMULATOR_URL are answered in-process, in the calling
    # thread and database connection (see okpay_gateway.demo.sessions).
    "SESSION_FACTORY": "okpay_gateway.demo.sessions.emulator_session",
}

OKPAY_EMULATOR = {
    # Deliver each IPN in a background thread right after its transaction
    # commits; the CLI's loop sends the retries.
    "IPN_DELIVERY": "thread",
    "IPN_RETRY_DELAYS": [2, 5, 10, 30, 60],
}

OKPAY_GRAPHQL_CHECKOUT_RESOLVER = "okpay_gateway.demo.graphql_checkout.resolve_checkout"
# Return URLs name this server with its port.
OKPAY_GRAPHQL_ALLOWED_CLIENT_HOSTS = [urlsplit(BASE_URL).netloc]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "okpay_gateway": {"handlers": ["console"], "level": LOG_LEVEL},
        "django.server": {
            "handlers": ["console"],
            "level": "INFO" if LOG_LEVEL == "DEBUG" else "WARNING",
        },
    },
}
