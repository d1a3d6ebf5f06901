"""Sending a batch's charges, concurrently, and settling the payments.

The calls go out from a :class:`concurrent.futures.ThreadPoolExecutor`
(one per run, ``concurrency`` threads). A call touches no database row
(:func:`okpay_gateway.payments.call_charge`); what came back is recorded for
the whole batch at once by :func:`okpay_gateway.payments.record_replies`.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass

from django.db import connection

from okpay_gateway import payments
from okpay_gateway.billing.attempts import Begun
from okpay_gateway.models import Payment
from okpay_gateway.provider.settings import OkPaySettings

__all__ = ["Sent", "charge_pool", "close_pool", "send_batch"]


@dataclass(slots=True)
class Sent:
    """A charge that went out (or was looked up): the settled payment, the error."""

    entry: Begun
    payment: Payment | None
    error: BaseException | None


def charge_pool(concurrency: int) -> ThreadPoolExecutor | None:
    """The run's pool of sender threads; None sends from the calling thread."""
    if concurrency <= 1:
        return None
    return ThreadPoolExecutor(
        max_workers=concurrency, thread_name_prefix="okpay-charge"
    )


def close_pool(pool: ThreadPoolExecutor | None, concurrency: int) -> None:
    """Shut the pool down, closing any database connection its threads opened.

    The calls themselves use none, but an in-process emulator (tests, demo)
    answers on the caller's thread and does. A barrier makes each of the
    ``concurrency`` threads run exactly one closing task.
    """
    if pool is None:
        return
    barrier = threading.Barrier(concurrency)

    def close() -> None:
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=5)
        connection.close()

    for future in [pool.submit(close) for _ in range(concurrency)]:
        future.result()
    pool.shutdown(wait=True)


def send_batch(
    begun: Sequence[Begun],
    *,
    pool: Executor | None,
    settings_for: Callable[[str], OkPaySettings],
) -> list[Sent]:
    """Send every ``send`` charge of the batch and settle the payments.

    A payment whose earlier attempt has no known outcome (``resolve``) is
    looked up with OKPAY first, one by one; ``done`` payments are returned
    as they are.
    """
    to_send = [b for b in begun if b.action == payments.ChargeAction.SEND]
    calls = [
        (entry.payment, settings_for(entry.subscription.channel)) for entry in to_send
    ]
    if pool is None:
        replies = [payments.call_charge(p, s) for p, s in calls]
    else:
        replies = list(pool.map(lambda call: payments.call_charge(*call), calls))
    sent: list[Sent] = []
    by_settings: dict[OkPaySettings, list[tuple[Begun, payments.ChargeReply]]] = {}
    for entry, reply in zip(to_send, replies, strict=True):
        by_settings.setdefault(settings_for(entry.subscription.channel), []).append(
            (entry, reply)
        )
    for okpay_settings, pairs in by_settings.items():
        settled = payments.record_replies(
            [reply for _, reply in pairs], okpay_settings=okpay_settings
        )
        sent.extend(
            Sent(entry, payment, reply.error)
            for (entry, reply), payment in zip(pairs, settled, strict=True)
        )
    for entry in begun:
        if entry.action == payments.ChargeAction.RESOLVE:
            sent.append(_finish_one(entry, settings_for))
        elif entry.action == payments.ChargeAction.DONE:
            sent.append(Sent(entry, entry.payment, None))
    return sent


def _finish_one(entry: Begun, settings_for: Callable[[str], OkPaySettings]) -> Sent:
    assert entry.payment is not None and entry.action is not None
    try:
        payment = payments.finish_charge(
            entry.payment,
            entry.action,
            okpay_settings=settings_for(entry.subscription.channel),
        )
    except Exception as exc:  # the engine decides from the error and the row
        return Sent(entry, Payment.objects.get(pk=entry.payment.pk), exc)
    return Sent(entry, payment, None)
