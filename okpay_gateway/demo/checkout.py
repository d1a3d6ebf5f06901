"""Paying an order through the host's plugin manager, the way Saleor's checkout does.

An :class:`~okpay_gateway.demo.models.Order` is the shop's checkout; its
token is the checkout token. Its payments are the host's
:class:`~okpay_gateway.host.models.HostPayment` rows (Saleor's ``Payment``),
shared with the GraphQL API (``checkoutPaymentCreate``/``checkoutComplete``),
so the plugin's invoices (``pay-<host payment pk>``) never collide whichever
path the customer takes.

The form path below does what ``checkoutComplete`` does: the first call runs
``process_payment``; when the gateway answers ``action_required`` the customer
goes to ``confirmationData``, and once back the next call runs
``confirm_payment`` with the confirmation token.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from okpay_gateway.demo.models import Order, OrderStatus
from okpay_gateway.demo.tokens import follow_emulator_clock
from okpay_gateway.host.compat import PaymentData, TransactionKind
from okpay_gateway.host.manager import get_plugins_manager
from okpay_gateway.host.models import HostPayment
from okpay_gateway.host.payment import ChargeStatus

logger = logging.getLogger(__name__)


def gateway_id() -> str:
    from okpay_gateway.contrib.saleor.consts import PLUGIN_ID

    return PLUGIN_ID


@dataclass(frozen=True, slots=True)
class CheckoutStep:
    """What the storefront does next for an order.

    ``kind`` is ``"redirect"`` (send the customer to OKPAY: ``url`` for a
    GET, or ``action`` plus ``fields`` for a POST form), ``"paid"``,
    ``"pending"`` (wait for OKPAY's notification) or ``"failed"``.
    """

    kind: str
    order: Order
    url: str = ""
    method: str = "GET"
    action: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    error: str = ""


def global_id(type_name: str, pk: object) -> str:
    """Saleor's GraphQL ID (``base64("<Type>:<pk>")``)."""
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def active_payment(order: Order) -> HostPayment | None:
    """The order's current host payment (either checkout path made it)."""
    return (
        HostPayment.objects.filter(checkout_token=str(order.token), is_active=True)
        .order_by("-pk")
        .first()
    )


def _new_payment(order: Order, return_url: str) -> HostPayment:
    HostPayment.objects.filter(checkout_token=str(order.token), is_active=True).update(
        is_active=False
    )
    return HostPayment.objects.create(
        checkout_token=str(order.token),
        gateway=gateway_id(),
        channel=settings.CHANNEL_SLUG,
        total=order.amount,
        currency=order.currency,
        return_url=return_url,
    )


def payment_data(
    order: Order,
    payment: HostPayment,
    *,
    token: str | None = None,
    ip: str | None = None,
    new_agreement: bool = False,
) -> Any:
    """The ``PaymentData`` Saleor's ``create_payment_information`` would build.

    ``new_agreement`` is what a storefront puts in checkoutComplete's
    ``paymentData`` to replace an agreement that cannot pay.
    """
    from okpay_gateway.contrib.saleor.consts import NEW_AGREEMENT_KEY

    data: dict[str, Any] = (
        {"return_url": payment.return_url} if payment.return_url else {}
    )
    if new_agreement:
        data[NEW_AGREEMENT_KEY] = True
    user = order.customer
    return PaymentData(
        gateway=payment.gateway,
        amount=payment.total,
        currency=payment.currency,
        billing=None,
        shipping=None,
        payment_id=payment.pk,
        graphql_payment_id=global_id("Payment", payment.pk),
        order_id="None",
        customer_ip_address=ip,
        customer_email=user.email,
        order_channel_slug=payment.channel,
        token=token,
        graphql_customer_id=global_id("User", user.pk),
        checkout_token=str(order.token),
        data=data,
    )


def _record(payment: HostPayment, response: Any) -> None:
    """What Saleor's ``gateway_postprocess`` keeps on the host payment."""
    with transaction.atomic():
        locked = HostPayment.objects.select_for_update().get(pk=payment.pk)
        if response.psp_reference:
            locked.psp_reference = str(response.psp_reference)[:512]
        if not response.is_success:
            locked.is_active = False
        elif response.action_required:
            locked.to_confirm = True
            if response.kind == TransactionKind.ACTION_TO_CONFIRM:
                locked.confirm_token = response.transaction_id or ""
        elif response.kind == TransactionKind.CAPTURE:
            locked.to_confirm = False
            locked.captured_amount = locked.total
            locked.charge_status = ChargeStatus.FULLY_CHARGED
        elif response.kind == TransactionKind.PENDING:
            locked.charge_status = ChargeStatus.PENDING
        locked.save()


def _set_status(order: Order, status: str, **values: Any) -> None:
    """Change the order unless it is paid: a late answer never un-pays it."""
    Order.objects.filter(pk=order.pk).exclude(status=OrderStatus.PAID).update(
        status=status, **values
    )
    order.refresh_from_db()


def _apply(order: Order, payment: HostPayment, response: Any) -> CheckoutStep:
    """Record a ``GatewayResponse`` and say what comes next."""
    _record(payment, response)
    if response.transaction_id:
        order.gateway_reference = response.transaction_id
    if response.psp_reference:
        order.psp_reference = str(response.psp_reference)[:64]
    references = {
        "gateway_reference": order.gateway_reference,
        "psp_reference": order.psp_reference,
    }
    if not response.is_success:
        error = (response.error or "The payment failed.")[:255]
        _set_status(order, OrderStatus.FAILED, error=error, **references)
        if order.is_paid:
            return CheckoutStep("paid", order)
        return CheckoutStep("failed", order, error=error)
    if response.action_required:
        data = response.action_required_data or {}
        _set_status(order, OrderStatus.AWAITING_APPROVAL, error="", **references)
        return CheckoutStep(
            "redirect",
            order,
            url=str(data.get("redirect_url") or ""),
            method=str(data.get("method") or "GET").upper(),
            action=str(data.get("action") or ""),
            fields={str(k): str(v) for k, v in (data.get("fields") or {}).items()},
        )
    if response.kind == TransactionKind.CAPTURE:
        mark_paid(order)
        return CheckoutStep("paid", order)
    _set_status(order, OrderStatus.PROCESSING, **references)
    return CheckoutStep("pending", order)


def start_payment(
    order: Order,
    *,
    return_url: str,
    ip: str | None = None,
    new_agreement: bool = False,
) -> CheckoutStep:
    """The first ``checkoutComplete``: ask the gateway to take the payment.

    Pressing the button again while OKPAY waits for the customer reuses the
    payment (the plugin hands out the same approval link). After a refusal a
    new host payment is made and the refused ones are voided, so a charge
    that was not made then can never be made later as well.
    ``new_agreement``: replace the agreement that cannot pay (see
    :mod:`okpay_gateway.declines`).
    """
    if order.is_paid:
        return CheckoutStep("paid", order)
    follow_emulator_clock()
    manager = get_plugins_manager(allow_replica=False)
    payment = active_payment(order)
    if payment is None or payment.charge_status == ChargeStatus.FULLY_CHARGED:
        _void_refused(order, manager)
        payment = _new_payment(order, return_url)
    response = manager.process_payment(
        payment.gateway,
        payment_data(order, payment, ip=ip, new_agreement=new_agreement),
        payment.channel,
    )
    return _apply(order, payment, response)


def _void_refused(order: Order, manager: Any) -> None:
    refused = HostPayment.objects.filter(
        checkout_token=str(order.token), is_active=False
    ).exclude(charge_status=ChargeStatus.FULLY_CHARGED)
    for payment in refused:
        manager.void_payment(
            payment.gateway, payment_data(order, payment), payment.channel
        )


def confirm_payment(order: Order) -> CheckoutStep:
    """The second ``checkoutComplete``: the customer is back from OKPAY."""
    if order.is_paid:
        return CheckoutStep("paid", order)
    payment = active_payment(order)
    if payment is None:
        return CheckoutStep("failed", order, error="The payment was never started.")
    if payment.charge_status == ChargeStatus.FULLY_CHARGED:
        mark_paid(order)
        return CheckoutStep("paid", order)
    if not payment.to_confirm:
        return CheckoutStep("pending", order)
    follow_emulator_clock()
    manager = get_plugins_manager(allow_replica=False)
    response = manager.confirm_payment(
        payment.gateway,
        payment_data(order, payment, token=payment.confirm_token or None),
        payment.channel,
    )
    if response.is_success and response.kind == TransactionKind.PENDING:
        _set_status(order, OrderStatus.PROCESSING)
        return CheckoutStep("pending", order)
    if not response.is_success and _not_over(payment):
        # Not approved yet, or a charge still on its way (the IPN and the
        # return page race): the order page asks again in a moment.
        return CheckoutStep("pending", order, error=response.error or "")
    return _apply(order, payment, response)


def _gateway_payment(host_payment: HostPayment) -> Any:
    from okpay_gateway.models import Payment

    return (
        Payment.objects.select_related("contract")
        .filter(host_reference=str(host_payment.pk))
        .order_by("-pk")
        .first()
    )


def _not_over(host_payment: HostPayment) -> bool:
    """Whether the gateway's payment may still complete (or already has)."""
    from okpay_gateway import payments
    from okpay_gateway.models import ContractStatus, PaymentStatus

    payment = _gateway_payment(host_payment)
    if payment is None:
        return False
    if payment.status in (*payments.CAPTURED_STATUSES, *payments.IN_FLIGHT_STATUSES):
        return True
    if payment.status == PaymentStatus.PENDING:
        # A decline code on a pending payment says why its charge was not
        # made (the shop's API password, say): waiting would be for nothing.
        return not payment.decline_code
    return (
        payment.status == PaymentStatus.ACTION_REQUIRED
        and payment.contract is not None
        and payment.contract.status in (ContractStatus.PENDING, ContractStatus.ACTIVE)
    )


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why the order's payment was refused and what the shopper can do."""

    message: str
    new_agreement: bool
    retry: bool


def refusal(order: Order) -> Refusal | None:
    """The way out for a failed order, from the gateway's last refused payment."""
    from okpay_gateway import declines

    if order.is_paid:
        return None
    host_payment = (
        HostPayment.objects.filter(checkout_token=str(order.token))
        .order_by("-pk")
        .first()
    )
    payment = _gateway_payment(host_payment) if host_payment else None
    if payment is None or not payment.decline_code:
        return None
    advice = declines.advice_for(payment.decline_code)
    can_replace = declines.unusable_agreement(payment.contract)
    return Refusal(
        message=advice.message(can_replace=can_replace),
        new_agreement=can_replace,
        retry=advice.retry,
    )


def mark_paid(order: Order) -> Order:
    """Mark the order paid once, and start its subscription."""
    from okpay_gateway.demo import subscriptions

    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.status != OrderStatus.PAID:
            locked.status = OrderStatus.PAID
            locked.paid_at = timezone.now()
            locked.error = ""
            locked.gateway_reference = (
                order.gateway_reference or locked.gateway_reference
            )
            locked.psp_reference = order.psp_reference or locked.psp_reference
            locked.save()
    try:
        subscriptions.start_for_order(locked)
    except Exception:
        # The order is paid either way; sync_paid_orders starts it later.
        logger.exception("could not start the subscription of order %s", locked.pk)
    order.refresh_from_db()
    return order


def order_for_gateway_payment(payment: Any) -> Order | None:
    """The order an ``okpay_gateway.Payment`` pays (through its host payment)."""
    reference = getattr(payment, "host_reference", "") or ""
    if not reference.isdigit():
        return None
    token = (
        HostPayment.objects.filter(pk=int(reference))
        .values_list("checkout_token", flat=True)
        .first()
    )
    return Order.objects.filter(token=token).first() if token else None


def on_payment_completed(sender: Any, *, payment: Any, **kwargs: Any) -> None:
    """``payment_completed`` receiver: the IPN alone may complete an order."""
    from okpay_gateway import payments

    order = order_for_gateway_payment(payment)
    if order is None or order.is_paid:
        return
    if payment.status not in payments.CAPTURED_STATUSES:
        return
    host_payment = active_payment(order)
    if host_payment is not None:
        HostPayment.objects.filter(pk=host_payment.pk).update(
            to_confirm=False,
            charge_status=ChargeStatus.FULLY_CHARGED,
            captured_amount=host_payment.total,
        )
    order.gateway_reference = payment.invoice
    if payment.okpay_txn_id:
        order.psp_reference = str(payment.okpay_txn_id)
    mark_paid(order)


def sync_paid_orders() -> int:
    """Catch up on orders an IPN paid and subscriptions not started yet."""
    from okpay_gateway import payments
    from okpay_gateway.demo import subscriptions
    from okpay_gateway.models import Payment

    count = 0
    waiting = Order.objects.filter(
        status__in=[OrderStatus.AWAITING_APPROVAL, OrderStatus.PROCESSING]
    )
    for order in waiting:
        host_payments = HostPayment.objects.filter(checkout_token=str(order.token))
        references = [str(pk) for pk in host_payments.values_list("pk", flat=True)]
        paid = Payment.objects.filter(
            host_reference__in=references, status__in=payments.CAPTURED_STATUSES
        ).first()
        if paid is not None:
            on_payment_completed(None, payment=paid)
            count += 1
    for order in Order.objects.filter(
        status=OrderStatus.PAID, subscription_id__isnull=True
    ).select_related("plan", "customer"):
        try:
            subscriptions.start_for_order(order)
        except Exception:
            logger.exception("could not start the subscription of order %s", order.pk)
    return count
