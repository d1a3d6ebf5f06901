"""Django settings of the shop that ``bench_ipn.py`` serves over HTTP.

A plain Django shop with the gateway installed standalone: ``okpay/ipn/`` is
the real webhook (``okpay_gateway.urls``), ``bench/floor/`` the floor handler
(:mod:`tests.benchmarks.ipn_floor`). Everything comes from environment
variables set by ``ipn_shop_server.py``:

* ``BENCH_DB``: ``sqlite`` (file ``BENCH_SQLITE_PATH``) or ``postgres``
  (``BENCH_PG_NAME`` on 127.0.0.1:5432, user postgres);
* ``BENCH_EMULATOR_URL``, ``BENCH_WALLET_ID``, ``BENCH_API_PASSWORD``: the
  emulator and the seeded merchant wallet;
* ``BENCH_VERIFY_URL`` (optional): where postbacks go instead of the
  emulator's ``/ipn-verify`` (the benchmark's stub).

django-paypal's IPN app is installed when the ``bench`` extra is.

Database connections are persistent (``CONN_MAX_AGE = None``): the threaded
server keeps one thread per keep-alive client connection, so each client
reuses one database connection, as a production worker would.
"""

from __future__ import annotations

import os

SECRET_KEY = "bench-only-not-secret"
# DEBUG would keep every SQL query in memory and slow both handlers down.
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "UTC"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "okpay_gateway",
    "okpay_gateway.host",
]
try:
    import paypal.standard.ipn  # noqa: F401  (the ``bench`` extra)
except ImportError:
    pass
else:
    INSTALLED_APPS.append("paypal.standard.ipn")

# A typical shop's middleware; both handlers go through all of it.
MIDDLEWARE = [
    # Outermost: counts every statement a request causes (see its docstring).
    "tests.benchmarks.ipn_statements.CountStatements",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "tests.benchmarks.ipn_shop_urls"

if os.environ.get("BENCH_DB") == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": "127.0.0.1",
            "PORT": "5432",
            "USER": "postgres",
            "NAME": os.environ.get("BENCH_PG_NAME", "okpay_bench_ipn"),
            "CONN_MAX_AGE": None,
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("BENCH_SQLITE_PATH", "bench-ipn.sqlite3"),
            "CONN_MAX_AGE": None,
            # Concurrent request threads write to one file: WAL lets readers
            # go on, IMMEDIATE transactions take the write lock up front (no
            # lock-upgrade deadlocks) and the timeout makes writers queue.
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL;",
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

OKPAY_GATEWAY = {
    "ENVIRONMENT": "emulator",
    "EMULATOR_URL": os.environ.get("BENCH_EMULATOR_URL", "http://127.0.0.1:8765/"),
    "WALLET_ID": os.environ.get("BENCH_WALLET_ID", ""),
    "API_PASSWORD": os.environ.get("BENCH_API_PASSWORD", ""),
    "STANDALONE": True,
}
if os.environ.get("BENCH_VERIFY_URL"):
    # The benchmarks' postback stub instead of the emulator's /ipn-verify.
    OKPAY_GATEWAY["VERIFY_URL"] = os.environ["BENCH_VERIFY_URL"]
# The emulator environment with DEBUG off is refused by the system checks
# unless the run says it is a test double on purpose.
OKPAY_EMULATOR = {"ALLOW_WITHOUT_DEBUG": True}

# One log line per request (django.server) or per IPN (okpay_gateway, INFO)
# would measure the terminal, not the handlers; warnings still show.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {"django.server": {"level": "WARNING"}},
}
