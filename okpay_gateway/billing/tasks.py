"""Celery tasks for renewals: a beat task that fans out small batches to workers.

Celery is optional: without it these are plain functions (the management
command ``okpay_renew`` does the same work in one process). With it they are
``shared_task``s, so they bind to whatever app the project runs (Saleor's
``saleor.celeryconf:app``, or your own), and the module is auto-discovered
when it sits in an installed app's package.

The guarantees do not depend on Celery's delivery: a batch delivered twice,
two beats, or a worker killed mid-batch can never charge a period twice (the
lease, the unique charge-attempt invoice and OKPAY's invoice check), and a
killed batch's subscriptions are taken again by the next beat after the lease.

**Plain Django settings**::

    CELERY_BEAT_SCHEDULE = {
        "okpay-renew-subscriptions": {
            "task": "okpay_gateway.billing.tasks.renew_due_subscriptions",
            "schedule": 300.0,                     # every 5 minutes
            "options": {"expires": 240},
        },
        "okpay-resolve-unknown-charges": {
            "task": "okpay_gateway.billing.tasks.resolve_unknown_charges",
            "schedule": 60.0,
            "options": {"expires": 50},
        },
        "okpay-billing-notices": {
            "task": "okpay_gateway.billing.tasks.send_billing_notices",
            "schedule": crontab(minute=0, hour="*/6"),
        },
    }

**Saleor**: put the same entries into the settings module that wraps
``saleor.settings`` (``CELERY_BEAT_SCHEDULE.update({...})``); Saleor has no
plugin hook for beat entries. With Saleor's ``DatabaseScheduler`` create the
equivalent ``CustomPeriodicTask`` rows instead (e.g. in a data migration).
Saleor's test settings forbid writer-DB access in tasks
(``CELERY_RESTRICT_WRITER_METHOD = restrict_writer``); these tasks write, so
run them with Saleor's ``allow_writer()`` there (production only logs).
Tasks are routed by name; set ``OKPAY_GATEWAY["RENEWAL_QUEUE"]`` to send the
fanned-out batches to a dedicated queue.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.utils.module_loading import import_string

from okpay_gateway import conf
from okpay_gateway.billing import engine, notifications_mail, resolver
from okpay_gateway.billing.schedule import to_utc
from okpay_gateway.models import RenewalRun
from okpay_gateway.types import SystemClock

logger = logging.getLogger(__name__)

__all__ = [
    "renew_due_subscriptions",
    "renew_subscriptions_batch",
    "resolve_unknown_charges",
    "send_billing_notices",
]

try:  # Celery is an optional extra.
    from celery import shared_task as _shared_task
except ImportError:  # pragma: no cover - exercised only without celery
    _shared_task = None


def _task_context() -> contextlib.AbstractContextManager[Any]:
    # OKPAY_GATEWAY["TASK_CONTEXT"]: a dotted path to a zero-argument context
    # manager every task runs in. Saleor's task class logs each query sent to
    # the writer database outside "saleor.core.db.connection.allow_writer";
    # these tasks write by nature.
    path = conf.setting("TASK_CONTEXT")
    return import_string(str(path))() if path else contextlib.nullcontext()


def _task(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    def wrap(func: Callable[..., Any]) -> Any:
        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            with _task_context():
                return func(*args, **kwargs)

        if _shared_task is None:
            return run
        return _shared_task(name=f"{__name__}.{func.__name__}", **options)(run)

    return wrap


def _as_of(value: str | None) -> datetime:
    if value:
        return to_utc(datetime.fromisoformat(value), "as_of")
    return SystemClock().now()


def _dispatch(run_id: int, ids: list[int], as_of: str) -> None:
    task = renew_subscriptions_batch
    if hasattr(task, "apply_async"):
        queue = conf.options().renewal_queue
        task.apply_async(
            args=(run_id, ids, as_of), **({"queue": queue} if queue else {})
        )
    else:
        task(run_id, ids, as_of)


@_task(ignore_result=True)
def renew_subscriptions_batch(
    run_id: int, subscription_ids: list[int], as_of: str | None = None
) -> dict[str, int]:
    """Claim and renew these subscriptions (the fanned-out unit of work)."""
    config = engine.RenewalConfig.from_settings()
    now = _as_of(as_of)
    run = RenewalRun.objects.filter(pk=run_id).first()
    counts: dict[str, int] = {}
    claimed = engine.claim_subscriptions(
        list(subscription_ids), now, run=run, lease=config.lease
    )
    for decision in engine.renew_batch(claimed, now=now, run=run, config=config):
        counts[decision.outcome] = counts.get(decision.outcome, 0) + 1
    return counts


def _reverify_notifications() -> None:
    """IPNs whose postback failed are re-verified on every tick (one job for both)."""
    try:
        from okpay_gateway.notifications import reverify_due
    except ImportError:
        return
    try:
        reverify_due()
    except Exception:
        logger.exception("re-verifying stored IPNs failed")


@_task(ignore_result=True)
def renew_due_subscriptions(
    as_of: str | None = None, batch_size: int | None = None
) -> dict[str, Any]:
    """Beat entry point: resolve unknown outcomes, then fan out due subscriptions."""
    config = engine.RenewalConfig.from_settings()
    now = _as_of(as_of)
    _reverify_notifications()
    resolved = resolver.resolve_pending_attempts(now=now, config=config)
    run = engine.start_run(now, "celery")
    size = batch_size or config.batch_size
    stamp = now.isoformat()
    batches = subscriptions = 0
    for ids in engine.iter_due_ids(now, batch_size=size):
        _dispatch(run.pk, ids, stamp)
        batches += 1
        subscriptions += len(ids)
    summary = {
        "run": run.pk,
        "batches": batches,
        "subscriptions": subscriptions,
        "resolved": resolved.as_dict(),
    }
    RenewalRun.objects.filter(pk=run.pk).update(summary=summary)
    logger.info(
        "renewal run %s: %s subscriptions in %s batches", run.pk, subscriptions, batches
    )
    return summary


@_task(ignore_result=True)
def resolve_unknown_charges(as_of: str | None = None) -> dict[str, int]:
    """Ask OKPAY about renewal charges whose outcome is unknown."""
    return resolver.resolve_pending_attempts(now=_as_of(as_of)).as_dict()


@_task(ignore_result=True)
def send_billing_notices(as_of: str | None = None) -> dict[str, int]:
    """Upcoming-renewal and agreement-expiring e-mails."""
    return notifications_mail.send_due_notices(_as_of(as_of))
