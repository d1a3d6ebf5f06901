"""The standalone host's checkout payments, the way Saleor's checkout runs them.

Saleor keeps checkouts and payments in its own tables; a Django shop running
our host keeps checkouts itself and describes one on demand:

* ``OKPAY_GRAPHQL_CHECKOUT_RESOLVER`` (setting): dotted path to a function
  ``resolve(token: str) -> CheckoutInfo | None``. The token is whatever the
  shop hands its storefront (e.g. a plan purchase's UUID); the shop decides
  amount, currency, channel, customer, e-mail and lines. ``None`` means "no
  such checkout".
* ``OKPAY_GRAPHQL_ALLOWED_CLIENT_HOSTS`` (setting, default ``ALLOWED_HOSTS``):
  hosts a ``returnUrl``/``redirectUrl`` may point at; ``"*"`` allows any.

The host's side of a payment is a :class:`~okpay_gateway.host.models.HostPayment`
row (Saleor's ``Payment``). ``checkoutPaymentCreate`` creates it without
calling the gateway; ``checkoutComplete`` builds a ``PaymentData`` as
Saleor's ``create_payment_information`` does and calls the plugins manager's
``process_payment`` (or ``confirm_payment`` when the previous call asked for
an action), then applies the response as ``gateway_postprocess`` does.

There is no order here: the shop learns that a checkout is paid from the
core's ``payment_completed`` signal (it fires whether the customer comes back
or only the IPN arrives) and maps the payment to its checkout with
:func:`checkout_token_for`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.module_loading import import_string

from okpay_gateway.exceptions import ConfigurationError
from okpay_gateway.host.channels import configured_channels
from okpay_gateway.host.customer import fetch_customer_id, store_customer_id
from okpay_gateway.host.interface import (
    CustomerSource,
    GatewayResponse,
    PaymentData,
    PaymentGateway,
    StorePaymentMethodEnum,
)
from okpay_gateway.host.manager import PluginsManager, get_plugins_manager
from okpay_gateway.host.models import HostPayment
from okpay_gateway.host.payment import (
    ALLOWED_GATEWAY_KINDS,
    ChargeStatus,
    GatewayError,
    PaymentError,
    StorePaymentMethod,
    TransactionKind,
)

from .errors import ErrorItem, invalid
from .ids import to_global_id

logger = logging.getLogger(__name__)

RESOLVER_SETTING = "OKPAY_GRAPHQL_CHECKOUT_RESOLVER"
ALLOWED_HOSTS_SETTING = "OKPAY_GRAPHQL_ALLOWED_CLIENT_HOSTS"


@dataclass(frozen=True, slots=True)
class CheckoutLineInfo:
    """One thing bought: a plan and its billing interval."""

    plan_id: str
    title: str
    interval: str
    quantity: int = 1
    amount: Decimal | None = None


@dataclass(frozen=True, slots=True)
class CheckoutInfo:
    """What the shop says a checkout is. ``amount`` is the total to pay."""

    token: str
    amount: Decimal
    currency: str
    channel: str
    email: str = ""
    customer: Any = None
    lines: tuple[CheckoutLineInfo, ...] = ()
    return_url: str = ""


@dataclass(slots=True)
class Completion:
    """The outcome of :func:`complete_checkout`."""

    payment: HostPayment | None = None
    confirmation_needed: bool = False
    confirmation_data: Any = None
    errors: list[ErrorItem] = field(default_factory=list)


# --- looking things up ------------------------------------------------------------


def resolve_checkout(token: str | None) -> CheckoutInfo | None:
    """The shop's description of checkout ``token`` (None when unknown)."""
    if not token:
        return None
    path = getattr(settings, RESOLVER_SETTING, None)
    if not path:
        raise ConfigurationError(f"{RESOLVER_SETTING} is not set")
    return import_string(path)(str(token))


def plugins_manager(request: Any) -> PluginsManager:
    """One manager per request (built lazily, as Saleor's context does)."""
    manager = getattr(request, "_okpay_plugins_manager", None)
    if manager is None:
        manager = get_plugins_manager(allow_replica=False)
        if request is not None:
            request._okpay_plugins_manager = manager
    return manager


def default_channel() -> str:
    channels = configured_channels()
    return channels[0].slug if channels else ""


def may_use(checkout: CheckoutInfo, user: Any) -> bool:
    """A checkout with a customer is that customer's; one without is anyone's."""
    if checkout.customer is None:
        return True
    if user is None:
        return False
    return user.pk == checkout.customer.pk or bool(user.is_staff)


def list_gateways(
    manager: PluginsManager, *, currency: str | None, channel: str
) -> list[PaymentGateway]:
    return manager.list_payment_gateways(
        currency=currency.upper() if currency else None, channel_slug=channel
    )


def stored_payment_sources(
    manager: PluginsManager, user: Any, channel: str
) -> list[CustomerSource]:
    """Saleor's ``resolve_stored_payment_sources`` for ``user``."""
    sources: list[CustomerSource] = []
    for gateway in list_gateways(manager, currency=None, channel=channel):
        customer_id = fetch_customer_id(user, gateway.id)
        if customer_id:
            sources.extend(
                manager.list_payment_sources(gateway.id, customer_id, channel)
            )
    return sources


def active_payment(checkout: CheckoutInfo) -> HostPayment | None:
    return (
        HostPayment.objects.filter(checkout_token=checkout.token, is_active=True)
        .order_by("-pk")
        .first()
    )


def checkout_token_for(okpay_payment: Any) -> str | None:
    """The checkout an ``okpay_gateway.Payment`` pays (plugin ``host_reference``)."""
    reference = getattr(okpay_payment, "host_reference", "") or ""
    if not reference.isdigit():
        return None
    return (
        HostPayment.objects.filter(pk=int(reference))
        .values_list("checkout_token", flat=True)
        .first()
    )


# --- checkoutPaymentCreate ----------------------------------------------------------


def allowed_client_url(url: str) -> bool:
    """An absolute http(s) URL on a host the shop allows."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    hosts = getattr(settings, ALLOWED_HOSTS_SETTING, None)
    if hosts is None:
        hosts = settings.ALLOWED_HOSTS
    if "*" in hosts:
        return True
    return url_has_allowed_host_and_scheme(url, allowed_hosts=set(hosts))


def _gateway_problem(
    manager: PluginsManager, checkout: CheckoutInfo, gateway: str
) -> ErrorItem | None:
    listed = list_gateways(
        manager, currency=checkout.currency, channel=checkout.channel
    )
    if gateway not in {item.id for item in listed}:
        return invalid(
            "gateway",
            f"The gateway {gateway!r} is not available for {checkout.currency} "
            "in this channel.",
        )
    return None


def _void(
    manager: PluginsManager, payment: HostPayment, checkout: CheckoutInfo
) -> bool:
    """Void a payment waiting for the customer; False when the gateway refused."""
    info = payment_information(
        payment, checkout, token=payment.confirm_token or payment.token
    )
    try:
        response = manager.void_payment(payment.gateway, info, payment.channel)
    except (PaymentError, GatewayError):
        return False
    return bool(response and response.is_success)


def create_payment(
    manager: PluginsManager,
    checkout: CheckoutInfo,
    *,
    gateway: str,
    amount: Decimal | None,
    token: str | None,
    return_url: str | None,
    store_payment_method: str | None,
) -> tuple[HostPayment | None, list[ErrorItem]]:
    """Record the checkout's payment with ``gateway`` (no gateway call).

    Earlier active payments are deactivated; one that waits for the customer
    at the gateway is voided first, so a late approval cannot charge twice.
    A checkout already paid gets no new payment.
    """
    problem = _gateway_problem(manager, checkout, gateway)
    if problem is not None:
        return None, [problem]
    if amount is None:
        amount = checkout.amount
    if amount != checkout.amount:
        return None, [
            invalid(
                "amount",
                f"The amount must equal the checkout total, {checkout.amount}.",
            )
        ]
    if amount <= 0:
        return None, [invalid("amount", "There is nothing to pay.")]
    if token and len(token) > 512:
        return None, [invalid("token", "The token is too long.")]
    if not token and manager.token_is_required_as_payment_input(
        gateway, checkout.channel
    ):
        return None, [ErrorItem("REQUIRED", "This gateway needs a token.", "token")]
    url = return_url or checkout.return_url or ""
    if url and not allowed_client_url(url):
        return None, [invalid("returnUrl", "The return URL is not allowed.")]
    for previous in HostPayment.objects.filter(
        checkout_token=checkout.token, is_active=True
    ):
        if previous.charge_status == ChargeStatus.FULLY_CHARGED:
            return None, [
                ErrorItem("NOT_ALLOWED", "This checkout is already paid.", None)
            ]
        if previous.to_confirm and not _void(manager, previous, checkout):
            return None, [
                ErrorItem(
                    "NOT_ALLOWED",
                    "The previous payment could not be canceled; complete the "
                    "checkout instead.",
                    None,
                )
            ]
        HostPayment.objects.filter(pk=previous.pk).update(is_active=False)
    payment = HostPayment.objects.create(
        checkout_token=checkout.token,
        gateway=gateway,
        channel=checkout.channel,
        total=amount,
        currency=checkout.currency.upper(),
        token=token or "",
        return_url=url,
        store_payment_method=store_payment_method or StorePaymentMethod.NONE,
    )
    return payment, []


# --- checkoutComplete ---------------------------------------------------------------


def _client_ip(request: Any) -> str | None:
    if request is None:
        return None
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    return forwarded.split(",")[0].strip() or request.META.get("REMOTE_ADDR")


def payment_information(
    payment: HostPayment,
    checkout: CheckoutInfo,
    *,
    token: str | None = None,
    customer_id: str | None = None,
    store_source: bool = False,
    additional_data: dict[str, Any] | None = None,
    request: Any = None,
) -> PaymentData:
    """``PaymentData`` as Saleor's ``create_payment_information`` fills it.

    ``data`` carries ``return_url`` (Saleor plugins read it from the Payment
    row, which our host does not share with them).
    """
    data = dict(additional_data or {})
    if payment.return_url:
        data["return_url"] = payment.return_url
    customer = checkout.customer
    return PaymentData(
        gateway=payment.gateway,
        amount=payment.total,
        currency=payment.currency,
        billing=None,
        shipping=None,
        payment_id=payment.pk,
        graphql_payment_id=to_global_id("Payment", payment.pk),
        # Saleor passes str(None) while there is no order yet.
        order_id="None",
        customer_ip_address=_client_ip(request),
        customer_email=checkout.email,
        order_channel_slug=payment.channel,
        token=token,
        customer_id=customer_id,
        reuse_source=store_source,
        data=data,
        graphql_customer_id=to_global_id("User", customer.pk) if customer else None,
        checkout_token=checkout.token,
        store_payment_method=StorePaymentMethodEnum[
            payment.store_payment_method.upper()
        ],
    )


def _postprocess(payment: HostPayment, response: GatewayResponse) -> HostPayment:
    """Saleor's ``gateway_postprocess`` + ``update_payment_charge_status``."""
    with transaction.atomic():
        locked = HostPayment.objects.select_for_update().get(pk=payment.pk)
        if response.psp_reference:
            locked.psp_reference = response.psp_reference[:512]
        if response.action_required:
            locked.to_confirm = True
            if response.kind == TransactionKind.ACTION_TO_CONFIRM:
                locked.confirm_token = response.transaction_id or ""
        elif response.kind == TransactionKind.CAPTURE:
            locked.to_confirm = False
            if locked.charge_status != ChargeStatus.FULLY_CHARGED:
                captured = min(locked.total, locked.captured_amount + response.amount)
                locked.captured_amount = captured
                locked.charge_status = (
                    ChargeStatus.FULLY_CHARGED
                    if captured >= locked.total
                    else ChargeStatus.PARTIALLY_CHARGED
                )
        elif response.kind == TransactionKind.PENDING:
            # Saleor would create a pending order here. Without orders the
            # confirmation stays due, so the next checkoutComplete asks again.
            locked.charge_status = ChargeStatus.PENDING
        elif response.kind in (TransactionKind.VOID, TransactionKind.CANCEL):
            locked.to_confirm = False
            locked.is_active = False
            locked.charge_status = ChargeStatus.CANCELLED
        else:
            locked.to_confirm = False
        locked.save()
    return locked


def complete_checkout(
    manager: PluginsManager,
    checkout: CheckoutInfo,
    *,
    request: Any = None,
    payment_data: dict[str, Any] | None = None,
    store_source: bool = False,
    redirect_url: str | None = None,
) -> Completion:
    """Process (or confirm) the checkout's active payment through its plugin."""
    payment = active_payment(checkout)
    if payment is None:
        return Completion(
            errors=[
                ErrorItem(
                    "CHECKOUT_NOT_FULLY_PAID",
                    "Create a payment (checkoutPaymentCreate) first.",
                    None,
                )
            ]
        )
    if (
        payment.total != checkout.amount
        or payment.currency != checkout.currency.upper()
    ):
        return Completion(
            payment=payment,
            errors=[
                ErrorItem(
                    "CHECKOUT_NOT_FULLY_PAID",
                    "The checkout total changed; create a new payment.",
                    None,
                )
            ],
        )
    if payment.charge_status == ChargeStatus.FULLY_CHARGED:
        return Completion(payment=payment)
    if redirect_url and not allowed_client_url(redirect_url):
        return Completion(
            payment=payment,
            errors=[invalid("redirectUrl", "The redirect URL is not allowed.")],
        )
    if redirect_url and not payment.return_url:
        payment.return_url = redirect_url
        payment.save(update_fields=["return_url", "updated_at"])
    problem = _gateway_problem(manager, checkout, payment.gateway)
    if problem is not None:
        return Completion(payment=payment, errors=[problem])

    customer = checkout.customer
    info = payment_information(
        payment,
        checkout,
        token=payment.confirm_token if payment.to_confirm else payment.token or None,
        customer_id=fetch_customer_id(customer, payment.gateway) if customer else None,
        store_source=store_source,
        additional_data=payment_data,
        request=request,
    )
    method = manager.confirm_payment if payment.to_confirm else manager.process_payment
    try:
        response = method(payment.gateway, info, payment.channel)
    except (PaymentError, GatewayError) as exc:
        return Completion(
            payment=payment, errors=[ErrorItem("PAYMENT_ERROR", str(exc), None)]
        )
    if response.kind not in ALLOWED_GATEWAY_KINDS:
        logger.error("gateway %s returned kind %r", payment.gateway, response.kind)
        return Completion(
            payment=payment,
            errors=[ErrorItem("PAYMENT_ERROR", "The gateway answered oddly.", None)],
        )
    if not response.is_success:
        # A refused payment is not retried: the next attempt is a new payment.
        HostPayment.objects.filter(pk=payment.pk).update(is_active=False)
        payment.refresh_from_db()
        return Completion(
            payment=payment,
            errors=[
                ErrorItem(
                    "PAYMENT_ERROR",
                    response.error or "The payment was refused.",
                    None,
                )
            ],
        )
    if response.customer_id and customer is not None:
        store_customer_id(customer, payment.gateway, response.customer_id)
    payment = _postprocess(payment, response)
    if response.action_required:
        return Completion(
            payment=payment,
            confirmation_needed=True,
            confirmation_data=response.action_required_data,
        )
    return Completion(payment=payment)
