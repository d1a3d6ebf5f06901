"""Settings of renewal subprocesses (crash test, Celery workers) on the test database.

The parent test passes the PostgreSQL test database's name in
``OKPAY_TEST_PG_NAME``; the gateway points at the in-process emulator.
"""

from __future__ import annotations

import os

from tests.billing_engine.wiring import gateway_settings
from tests.settings import *  # noqa: F403
from tests.settings import DATABASES

DATABASES["default"]["NAME"] = os.environ.get("OKPAY_TEST_PG_NAME", "okpay_test")
OKPAY_GATEWAY = gateway_settings(
    RESOLVER_SENDING_STALE_SECONDS=float(os.environ.get("OKPAY_TEST_STALE", "120")),
    RENEWAL_LEASE_SECONDS=float(os.environ.get("OKPAY_TEST_LEASE", "600")),
    RENEWAL_BATCH_SIZE=int(os.environ.get("OKPAY_TEST_BATCH", "50")),
    SENDING_GRACE_SECONDS=float(os.environ.get("OKPAY_TEST_GRACE", "30")),
    RESOLVER_BACKOFF_SECONDS=[
        float(s) for s in os.environ.get("OKPAY_TEST_BACKOFF", "60,300").split(",")
    ],
)
CELERY_BROKER_URL = os.environ.get("OKPAY_TEST_BROKER", "redis://127.0.0.1:6379/15")
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("OKPAY_TEST_QUEUE", "celery")
