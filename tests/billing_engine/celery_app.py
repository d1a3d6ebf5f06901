"""The Celery app of the broker test: ``celery -A tests.billing_engine.celery_app worker``."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.billing_engine.worker_settings")

from celery import Celery

app = Celery("okpay_gateway_tests")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.imports = ("okpay_gateway.billing.tasks",)
app.set_current()
app.set_default()
