"""Renewal charges become paid Saleor orders.

A subscription started from a Saleor order (:func:`subscriptions_from_order`)
remembers its Saleor side (:class:`AppSubscription`: customer, channel,
variant lines, billing address). Each completed renewal charge — billing's
``subscription_renewed`` — is recorded as a :class:`RenewalOrder` row before
Saleor is called, then turned into an order through Saleor's public API with
the app token:

1. find it: ``order(externalReference: <row's reference>)``, then orders whose
   transaction carries the OKPAY transaction id; an order counts only when its
   private metadata carries the row's reference (another database talking to
   the same Saleor cannot be mistaken for us);
2. ``draftOrderCreate`` (``externalReference`` = the reference, private
   metadata ``okpay.invoice`` = ``<subscription>-<period>`` and
   ``okpay.reference``) → ``draftOrderComplete``;
3. ``transactionCreate`` with ``pspReference`` = OKPAY's transaction id and
   the charged amount, which makes the order paid.

Each step is recorded on the row, so a retry continues where the last run
stopped and a crashed run finds the order instead of creating a second. A
declined renewal sends no signal and creates nothing; Saleor being down
leaves the row pending for ``okpay_saleor_app_retry``.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from okpay_gateway.models import ChargeAttempt, ChargeAttemptStatus, Contract

from . import conf, documents, saleor_api
from .models import (
    AppSubscription,
    Installation,
    RenewalOrder,
    RenewalOrderStatus,
)

logger = logging.getLogger(__name__)

INVOICE_METADATA_KEY = "okpay.invoice"
REFERENCE_METADATA_KEY = "okpay.reference"
SUBSCRIPTION_METADATA_KEY = "okpay.subscription"
PAID_STATUS = RenewalOrderStatus.PAID


# --- subscriptions from a paid Saleor order -----------------------------------


def _metadata_dict(items: Any) -> dict[str, str]:
    return {
        str(item.get("key")): str(item.get("value"))
        for item in items or ()
        if isinstance(item, dict)
    }


def address_input(address: dict[str, Any] | None) -> dict[str, Any]:
    """A Saleor ``Address`` (as queried) as an ``AddressInput``."""
    if not address:
        return {}
    fields = (
        "firstName",
        "lastName",
        "companyName",
        "streetAddress1",
        "streetAddress2",
        "city",
        "cityArea",
        "postalCode",
        "countryArea",
        "phone",
    )
    value = {name: address.get(name) or "" for name in fields}
    value["country"] = (address.get("country") or {}).get("code") or ""
    return {name: item for name, item in value.items() if item}


def subscriptions_from_order(
    installation: Installation, order: dict[str, Any], contract: Contract | None
) -> list[AppSubscription]:
    """Start one subscription per order line whose metadata asks for one."""
    from okpay_gateway.billing.subscriptions import (
        create_subscription_from_purchase,
        parse_subscription_metadata,
    )

    if RenewalOrder.objects.filter(order_id=order.get("id")).exists():
        return []  # a renewal order is paid for by its subscription already
    currency = str(
        ((order.get("total") or {}).get("gross") or {}).get("currency") or ""
    )
    channel = order.get("channel") or {}
    user = order.get("user") or {}
    created: list[AppSubscription] = []
    for line in order.get("lines") or ():
        variant = line.get("variant") or {}
        product = variant.get("product") or {}
        try:
            terms = parse_subscription_metadata(
                _metadata_dict(product.get("metadata")),
                _metadata_dict(variant.get("metadata")),
            )
        except ValueError as exc:
            logger.warning("Saleor order line %s: %s", line.get("id"), exc)
            continue
        if terms is None:
            continue
        if contract is None:
            logger.warning(
                "Saleor order %s has a subscription line but no active OKPAY "
                "agreement in %s",
                order.get("id"),
                currency,
            )
            continue
        gross = ((line.get("totalPrice") or {}).get("gross") or {}).get("amount")
        amount = terms.amount or (Decimal(str(gross)) if gross is not None else None)
        if amount is None or amount <= 0:
            continue
        subscription = create_subscription_from_purchase(
            contract=contract,
            title=terms.title or str(line.get("productName") or "Subscription"),
            amount=Decimal(amount).quantize(Decimal("0.01")),
            interval=terms.interval,
            email=str(order.get("userEmail") or user.get("email") or ""),
            currency=currency or None,
            channel=str(channel.get("slug") or ""),
            origin=f"saleor-app-order-line:{line.get('id')}",
        )
        app_subscription, _ = AppSubscription.objects.get_or_create(
            subscription=subscription,
            defaults={
                "installation": installation,
                "saleor_user_id": str(user.get("id") or ""),
                "user_email": str(order.get("userEmail") or user.get("email") or ""),
                "channel_id": str(channel.get("id") or ""),
                "lines": [
                    {
                        "variantId": variant.get("id"),
                        "quantity": line.get("quantity") or 1,
                    }
                ],
                "billing_address": address_input(order.get("billingAddress")),
                "shipping_address": address_input(order.get("shippingAddress")),
                "origin_order_id": str(order.get("id") or ""),
            },
        )
        created.append(app_subscription)
    return created


# --- renewal orders -------------------------------------------------------------


def record_renewal(attempt: ChargeAttempt) -> RenewalOrder | None:
    """The outbox row of a completed renewal charge (created once per invoice)."""
    app_subscription = AppSubscription.objects.filter(
        subscription_id=attempt.subscription_id
    ).first()
    if app_subscription is None or attempt.payment_id is None:
        return None
    try:
        with transaction.atomic():
            return RenewalOrder.objects.create(
                invoice=attempt.invoice,
                app_subscription=app_subscription,
                payment_id=attempt.payment_id,
            )
    except IntegrityError:
        return RenewalOrder.objects.get(invoice=attempt.invoice)


def record_missing() -> int:
    """Rows for completed renewals whose signal never reached us (a crash)."""
    missing = (
        ChargeAttempt.objects.filter(
            status=ChargeAttemptStatus.COMPLETED,
            subscription__saleor_app__isnull=False,
            payment__isnull=False,
        )
        .exclude(invoice__in=RenewalOrder.objects.values("invoice"))
        .order_by("pk")
    )
    count = 0
    for attempt in missing:
        if record_renewal(attempt) is not None:
            count += 1
    return count


def _call(
    installation: Installation,
    document: str,
    field: str | None,
    variables: dict[str, Any],
) -> dict[str, Any]:
    if field is None:
        return saleor_api.execute(
            installation.saleor_api_url, installation.token, document, variables
        )
    return saleor_api.mutate(
        installation.saleor_api_url, installation.token, document, field, variables
    )


def _ours(order: dict[str, Any] | None, row: RenewalOrder) -> bool:
    if not order:
        return False
    metadata = _metadata_dict(order.get("privateMetadata"))
    return metadata.get(REFERENCE_METADATA_KEY) == row.reference


def _find_order(installation: Installation, row: RenewalOrder) -> dict[str, Any] | None:
    data = _call(
        installation, documents.ORDER_BY_REFERENCE, None, {"reference": row.reference}
    )
    if _ours(data.get("order"), row):
        return data["order"]
    psp = str(row.payment.okpay_txn_id or "")
    if not psp:
        return None
    data = _call(installation, documents.ORDERS_BY_PSP_REFERENCE, None, {"psp": psp})
    for edge in (data.get("orders") or {}).get("edges") or ():
        if _ours(edge.get("node"), row):
            return edge["node"]
    return None


def _lines(app_subscription: AppSubscription, amount: Decimal) -> list[dict[str, Any]]:
    lines = [dict(line) for line in app_subscription.lines]
    if len(lines) == 1:
        quantity = int(lines[0].get("quantity") or 1)
        unit = (amount / quantity).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        if unit * quantity == amount:
            # The order total is what was charged, not today's catalogue price.
            lines[0]["price"] = str(unit)
    return lines


def _draft_input(row: RenewalOrder) -> dict[str, Any]:
    app_subscription = row.app_subscription
    payment = row.payment
    value: dict[str, Any] = {
        "channelId": app_subscription.channel_id,
        "lines": _lines(app_subscription, payment.amount),
        "externalReference": row.reference,
        "privateMetadata": [
            {"key": INVOICE_METADATA_KEY, "value": row.invoice},
            {"key": REFERENCE_METADATA_KEY, "value": row.reference},
            {
                "key": SUBSCRIPTION_METADATA_KEY,
                "value": str(app_subscription.subscription_id),
            },
        ],
    }
    if app_subscription.saleor_user_id:
        value["user"] = app_subscription.saleor_user_id
    if app_subscription.user_email:
        value["userEmail"] = app_subscription.user_email
    if app_subscription.billing_address:
        value["billingAddress"] = app_subscription.billing_address
    if app_subscription.shipping_address:
        value["shippingAddress"] = app_subscription.shipping_address
    return value


def _save(row: RenewalOrder, **changes: Any) -> None:
    for name, value in changes.items():
        setattr(row, name, value)
    row.save(update_fields=[*changes, "updated_at"])


def _has_transaction(order: dict[str, Any], psp: str) -> bool:
    return any(
        (txn or {}).get("pspReference") == psp
        for txn in order.get("transactions") or ()
    )


LEASE_SECONDS = 300


def _claim(row: RenewalOrder) -> bool:
    now = timezone.now()
    taken = (
        RenewalOrder.objects.filter(pk=row.pk)
        .exclude(status=PAID_STATUS)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + timedelta(seconds=LEASE_SECONDS))
    )
    return taken == 1


def create_order(row: RenewalOrder) -> bool:
    """Take the row as far as Saleor lets it; True once the order is paid.

    Another worker holding the row's lease makes this call a no-op (False).
    """
    if row.status == PAID_STATUS:
        return True
    if not _claim(row):
        return False
    try:
        return _advance(row)
    finally:
        RenewalOrder.objects.filter(pk=row.pk).update(claimed_until=None)


def _advance(row: RenewalOrder) -> bool:
    installation = row.app_subscription.installation
    payment = row.payment
    psp = str(payment.okpay_txn_id or payment.invoice)
    try:
        order = _find_order(installation, row)
        if order is None and row.status == RenewalOrderStatus.PENDING:
            created = _call(
                installation,
                documents.DRAFT_ORDER_CREATE,
                "draftOrderCreate",
                {"input": _draft_input(row)},
            )["order"]
            _save(row, status=RenewalOrderStatus.DRAFT, order_id=created["id"])
            order = {**created, "transactions": []}
        elif order is None:
            order = {"id": row.order_id, "status": "DRAFT", "transactions": []}
        elif not row.order_id:
            _save(row, order_id=order["id"])
        if order.get("status") == "DRAFT":
            completed = _call(
                installation,
                documents.DRAFT_ORDER_COMPLETE,
                "draftOrderComplete",
                {"id": order["id"]},
            )["order"]
            _save(
                row,
                status=RenewalOrderStatus.PLACED,
                order_number=str(completed.get("number") or ""),
            )
            order = {**order, **completed, "transactions": []}
        if not _has_transaction(order, psp):
            _call(
                installation,
                documents.TRANSACTION_CREATE,
                "transactionCreate",
                {
                    "id": order["id"],
                    "transaction": {
                        "name": "OKPAY",
                        "pspReference": psp,
                        "message": row.invoice,
                        "amountCharged": {
                            "amount": str(payment.amount),
                            "currency": payment.currency,
                        },
                    },
                },
            )
    except (saleor_api.SaleorUnavailable, saleor_api.SaleorError) as exc:
        attempts = row.attempts + 1
        _save(
            row,
            attempts=attempts,
            last_error=str(exc)[:255],
            next_attempt_at=timezone.now()
            + timedelta(seconds=conf.retry_delay(attempts)),
        )
        logger.warning("Saleor renewal order %s not created yet: %s", row.invoice, exc)
        return False
    _save(
        row,
        status=PAID_STATUS,
        order_number=row.order_number or str(order.get("number") or ""),
        attempts=row.attempts + 1,
        last_error="",
        next_attempt_at=None,
    )
    logger.info("Saleor renewal order %s paid (%s)", row.invoice, row.order_id)
    return True


def create_due(*, now=None, limit: int = 100) -> tuple[int, int]:
    """Record missed renewals, then advance unpaid rows: (paid, still pending)."""
    now = now or timezone.now()
    record_missing()
    rows = (
        RenewalOrder.objects.exclude(status=PAID_STATUS)
        .select_related("app_subscription__installation", "payment")
        .order_by("pk")
    )
    paid = pending = 0
    for row in rows[:limit]:
        if row.next_attempt_at is not None and row.next_attempt_at > now:
            pending += 1
            continue
        if create_order(row):
            paid += 1
        else:
            pending += 1
    return paid, pending
