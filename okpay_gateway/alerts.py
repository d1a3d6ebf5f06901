"""Telling the merchant, once, that OKPAY refuses the shop's own set-up.

A wrong API password or a wallet without API access fails every charge the
same way. Logging each of them would bury the one line that matters, and a
shopper cannot fix it, so :func:`configuration_failed` keeps one open
:class:`~okpay_gateway.models.ConfigurationAlert` per channel and error
code: the first failure opens it, logs at ERROR and sends
:data:`okpay_gateway.signals.configuration_failed`; the following ones only
count. The admin shows open alerts on every OKPAY page until the merchant
resolves them or a credentials check passes (:func:`resolve`).
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from okpay_gateway import signals
from okpay_gateway.exceptions import OkPayError
from okpay_gateway.models import ConfigurationAlert

logger = logging.getLogger(__name__)

_MESSAGES = {
    "authentication_failed": (
        "OKPAY refused the shop's wallet ID or API password "
        "(Authentication_Failed): no charge can be made. Check the wallet ID, "
        "the API password and the wallet's API access, then save the "
        "configuration with the credentials check on."
    ),
}


def configuration_failed(*, channel: str, exc: OkPayError) -> ConfigurationAlert:
    """Record a configuration failure on ``channel``; announce only the first."""
    now = timezone.now()
    code = exc.code
    open_alerts = ConfigurationAlert.objects.filter(
        channel=channel, code=code, resolved_at__isnull=True
    )
    if open_alerts.update(occurrences=F("occurrences") + 1, last_seen_at=now):
        return open_alerts.get()
    message = _MESSAGES.get(code, f"OKPAY refused the shop's configuration ({code}).")
    try:
        with transaction.atomic():
            alert = ConfigurationAlert.objects.create(
                channel=channel,
                code=code,
                operation=getattr(exc, "operation", "")[:60],
                message=message[:255],
                first_seen_at=now,
                last_seen_at=now,
            )
    except IntegrityError:
        # Another request opened it a moment ago; that one announced it.
        open_alerts.update(occurrences=F("occurrences") + 1, last_seen_at=now)
        return open_alerts.get()
    logger.error(
        "OKPAY configuration failure on channel %r: %s",
        channel,
        message,
        extra={"okpay_alert_id": alert.pk, "okpay_error": code},
    )
    transaction.on_commit(
        lambda: signals.configuration_failed.send(
            sender=ConfigurationAlert, alert=alert
        )
    )
    return alert


def open_alerts() -> list[ConfigurationAlert]:
    """Alerts nobody has resolved yet, newest first."""
    return list(ConfigurationAlert.objects.filter(resolved_at__isnull=True))


def resolve(*, channel: str | None = None) -> int:
    """Close the open alerts (of ``channel``); the number closed."""
    alerts = ConfigurationAlert.objects.filter(resolved_at__isnull=True)
    if channel is not None:
        alerts = alerts.filter(channel=channel)
    return alerts.update(resolved_at=timezone.now())
