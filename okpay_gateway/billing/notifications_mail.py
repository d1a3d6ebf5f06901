"""E-mails to the customer about their subscription, through Django's mail.

Four messages, each a template triple under ``templates/okpay_gateway/email/``
(``<name>_subject.txt``, ``<name>.txt``, ``<name>.html``) that a project may
override like any Django template:

* ``upcoming_renewal``: a renewal charge is near (``RENEWAL_REMINDER_DAYS``
  days ahead, default 3; sent once per period by :func:`send_due_notices`);
* ``failed_charge``: a renewal charge was declined; says what the dunning
  ladder does next (retry on a date, suspended, canceled);
* ``agreement_expiring``: the contract's end date is near
  (``AGREEMENT_EXPIRY_NOTICE_DAYS``, default 14) and the customer must approve
  a new agreement; ``AGREEMENT_RENEW_URL`` (optional) goes into the message;
* ``subscription_canceled``: the subscription ended (dunning, contract closed).

The sender is ``OKPAY_GATEWAY["EMAIL_FROM"]``, else ``DEFAULT_FROM_EMAIL``.
A failing mail backend is logged, never raised: the money side has already
committed when these are sent. Without a usable ``EMAIL_BACKEND`` (Saleor
without ``EMAIL_URL``) each mail is one warning line, and system check
``okpay_gateway.W003`` says so at startup.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings as django_settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string

from okpay_gateway import checks, conf
from okpay_gateway.models import (
    LIVE_SUBSCRIPTION_STATUSES,
    ChargeAttempt,
    ContractStatus,
    Subscription,
    SubscriptionStatus,
)

logger = logging.getLogger(__name__)

__all__ = [
    "recipient_for",
    "send_agreement_expiring",
    "send_due_notices",
    "send_failed_charge",
    "send_subscription_canceled",
    "send_upcoming_renewal",
]

TEMPLATE_DIR = "okpay_gateway/email"

_REASON_TEXT = {
    "dunning": "the renewal payment kept failing",
    "contract_canceled": "the OKPAY agreement was canceled",
    "contract_revoked": "the OKPAY agreement was revoked",
    "contract_failed": "the OKPAY agreement failed",
    "contract_expired": "the OKPAY agreement ended",
    "term_over": "its term is over",
}


def recipient_for(subscription: Subscription) -> str:
    """Where mail about ``subscription`` goes ("" when nobody is known)."""
    if subscription.email:
        return subscription.email
    customer = subscription.customer
    email = getattr(customer, "email", "") if customer is not None else ""
    return email or subscription.contract.client_email or ""


def _send(name: str, subscription: Subscription, context: Mapping[str, Any]) -> bool:
    problem = checks.email_backend_problem()
    if problem is not None:
        # Reported once at startup by system check W003; a traceback per mail
        # would only bury that.
        logger.warning(
            "%s mail for subscription %s not sent: %s (system check %s.W003)",
            name,
            subscription.pk,
            problem,
            checks.TAG,
            extra={"okpay_subscription_id": subscription.pk},
        )
        return False
    to = recipient_for(subscription)
    if not to:
        logger.info(
            "no address for subscription %s: %s mail not sent",
            subscription.pk,
            name,
            extra={"okpay_subscription_id": subscription.pk},
        )
        return False
    full = {"subscription": subscription, **context}
    subject = " ".join(
        render_to_string(f"{TEMPLATE_DIR}/{name}_subject.txt", full).split()
    )
    text = render_to_string(f"{TEMPLATE_DIR}/{name}.txt", full)
    html = render_to_string(f"{TEMPLATE_DIR}/{name}.html", full)
    sender = conf.options().email_from or django_settings.DEFAULT_FROM_EMAIL
    message = EmailMultiAlternatives(subject, text, sender, [to])
    message.attach_alternative(html, "text/html")
    try:
        message.send()
    except Exception:
        logger.exception(
            "%s mail for subscription %s failed",
            name,
            subscription.pk,
            extra={"okpay_subscription_id": subscription.pk},
        )
        return False
    return True


def _after_commit(
    name: str, subscription: Subscription, context: Mapping[str, Any]
) -> None:
    transaction.on_commit(lambda: _send(name, subscription, context))


def send_upcoming_renewal(subscription: Subscription, charge_at: datetime) -> bool:
    """Tell the customer a renewal charge is coming at ``charge_at``."""
    return _send("upcoming_renewal", subscription, {"charge_at": charge_at})


def send_failed_charge(
    subscription: Subscription, attempt: ChargeAttempt, code: str, step: Any
) -> None:
    """Queue (on commit) the "we could not charge you" mail for one decline."""
    from okpay_gateway.payments import decline_message

    _after_commit(
        "failed_charge",
        subscription,
        {
            "attempt": attempt,
            "code": code,
            "message": decline_message(code),
            "step": step,
        },
    )


def send_subscription_canceled(subscription: Subscription, reason: str) -> None:
    """Queue (on commit) the "your subscription has ended" mail."""
    _after_commit(
        "subscription_canceled",
        subscription,
        {"reason": reason, "reason_text": _REASON_TEXT.get(reason, reason)},
    )


def send_agreement_expiring(subscription: Subscription) -> bool:
    """Tell the customer the agreement paying for ``subscription`` ends soon."""
    return _send(
        "agreement_expiring",
        subscription,
        {
            "contract": subscription.contract,
            "renew_url": conf.options().agreement_renew_url,
        },
    )


def send_due_notices(now: datetime) -> dict[str, int]:
    """Send the upcoming-renewal and agreement-expiring mails that are due.

    Each is sent once: per period for reminders (``reminded_period``), per
    subscription for the expiry notice (``expiry_notice_sent_at``). Returns
    how many of each were sent.
    """
    reminder_days = conf.options().renewal_reminder_days
    notice_days = conf.options().agreement_expiry_notice_days
    sent = {"upcoming_renewal": 0, "agreement_expiring": 0}
    upcoming = (
        Subscription.objects.filter(
            status=SubscriptionStatus.ACTIVE,
            next_charge_at__gt=now,
            next_charge_at__lte=now + timedelta(days=reminder_days),
        )
        .filter(
            Q(reminded_period__isnull=True) | Q(reminded_period__lt=F("period_index"))
        )
        .select_related("contract", "customer")
        .order_by("pk")
    )
    for subscription in upcoming.iterator(chunk_size=500):
        # The conditional update makes the reminder once-only across workers.
        claimed = Subscription.objects.filter(
            pk=subscription.pk, reminded_period=subscription.reminded_period
        ).update(reminded_period=subscription.period_index)
        if claimed and send_upcoming_renewal(subscription, subscription.next_charge_at):
            sent["upcoming_renewal"] += 1
    horizon = (now + timedelta(days=notice_days)).date()
    expiring = (
        Subscription.objects.filter(
            status__in=LIVE_SUBSCRIPTION_STATUSES,
            expiry_notice_sent_at__isnull=True,
            contract__status=ContractStatus.ACTIVE,
            contract__end_date__isnull=False,
            contract__end_date__lte=horizon,
            contract__end_date__gte=now.date(),
        )
        .select_related("contract", "customer")
        .order_by("pk")
    )
    for subscription in expiring.iterator(chunk_size=500):
        claimed = Subscription.objects.filter(
            pk=subscription.pk, expiry_notice_sent_at__isnull=True
        ).update(expiry_notice_sent_at=now)
        if claimed and send_agreement_expiring(subscription):
            sent["agreement_expiring"] += 1
    return sent
