"""``OkPayGatewayPlugin``: OKPAY billing agreements as a Saleor payment gateway.

Translation only: configuration becomes :class:`OkPaySettings`, hook calls
become :mod:`okpay_gateway.payments` calls, results and errors become
``GatewayResponse`` objects (see :mod:`.mapping`). Imports come from
:mod:`okpay_gateway.host.compat`, so the same class runs inside Saleor and
on the standalone host.

Flow (legacy Payment API): ``process_payment`` without an active agreement
returns ``ACTION_TO_CONFIRM`` with the OKPAY approval link; the customer
approves; the IPN (``.../ipn/``) or the return page (``.../return/``)
grants the agreement and charges the waiting payment; the second
``checkoutComplete`` reaches ``confirm_payment``, which returns the recorded
capture. With an active agreement ``process_payment`` charges at once.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from okpay_gateway import alerts, clients, conf, contracts, declines, payments
from okpay_gateway.exceptions import ConfigurationError, OkPayError
from okpay_gateway.host.compat import (
    BasePlugin,
    ConfigurationTypeField,
    CustomerSource,
    GatewayConfig,
    GatewayResponse,
    TransactionKind,
    get_supported_currencies,
)
from okpay_gateway.models import ContractStatus, FeePayer, Payment, PaymentStatus

from . import consts, mapping
from . import receivers as _receivers  # noqa: F401 - connects the signal receivers

logger = logging.getLogger(__name__)

NOT_CONFIGURED = "OKPAY is not configured for this channel."


def _field(kind: str, label: str, help_text: str) -> dict[str, str]:
    return {"type": kind, "label": label, "help_text": help_text}


_S = ConfigurationTypeField.STRING
_B = ConfigurationTypeField.BOOLEAN


class OkPayGatewayPlugin(BasePlugin):
    PLUGIN_ID = consts.PLUGIN_ID
    PLUGIN_NAME = consts.PLUGIN_NAME
    PLUGIN_DESCRIPTION = consts.PLUGIN_DESCRIPTION
    CONFIGURATION_PER_CHANNEL = True
    DEFAULT_ACTIVE = False
    DEFAULT_CONFIGURATION = [
        {"name": name, "value": value} for name, value in consts.DEFAULTS.items()
    ]
    CONFIG_STRUCTURE = {
        consts.WALLET_ID: _field(
            _S, "Wallet ID", "Your OKPAY wallet, e.g. OK123456789."
        ),
        consts.API_PASSWORD: _field(
            ConfigurationTypeField.PASSWORD,
            "API password",
            "The API password from the wallet's integration settings.",
        ),
        consts.RECEIVER_EMAIL: _field(
            _S, "Receiver e-mail", "The wallet's e-mail; IPNs for it are accepted too."
        ),
        consts.SUPPORTED_CURRENCIES: _field(
            _S, "Supported currencies", "Comma-separated codes, e.g. USD,EUR."
        ),
        consts.ENVIRONMENT: _field(
            _S, "Environment", "live, sandbox or emulator (the local stand-in OKPAY)."
        ),
        consts.API_URL: _field(
            _S, "API URL", "SOAP endpoint; blank: the environment's."
        ),
        consts.CHECKOUT_URL: _field(
            _S, "Checkout URL", "Approval page; blank: the environment's."
        ),
        consts.VERIFY_URL: _field(
            _S, "IPN verify URL", "IPN postback endpoint; blank: the environment's."
        ),
        consts.EMULATOR_URL: _field(
            _S,
            "Emulator base URL",
            "Where the emulator is served (environment emulator).",
        ),
        consts.PUBLIC_URL: _field(
            _S,
            "Shop public URL",
            "Base of the IPN and return URLs; blank: settings.PUBLIC_URL.",
        ),
        consts.DAILY_LIMIT: _field(_S, "Daily limit", "Default daily agreement limit."),
        consts.WEEKLY_LIMIT: _field(
            _S, "Weekly limit", "Default weekly agreement limit."
        ),
        consts.MONTHLY_LIMIT: _field(
            _S, "Monthly limit", "Default monthly agreement limit."
        ),
        consts.VALIDITY_DAYS: _field(
            _S, "Agreement validity (days)", "Blank: agreements do not expire."
        ),
        consts.AGREEMENT_TITLE: _field(
            _S, "Agreement title", "Shown to the customer on the approval page."
        ),
        consts.FEE_PAYER: _field(_S, "Fee payer", "merchant or client."),
        consts.AUTOMATIC_CAPTURE: _field(
            _B, "Automatic capture", "Charge at once; off: authorize, capture later."
        ),
        consts.ACCEPT_TEST_IPN: _field(
            _B, "Accept test IPNs", "Only outside the live environment."
        ),
        consts.CONNECT_TIMEOUT: _field(
            _S, "Connect timeout (s)", "Seconds to wait for a connection to OKPAY."
        ),
        consts.READ_TIMEOUT: _field(
            _S, "Read timeout (s)", "Seconds to wait for OKPAY's answer."
        ),
        consts.CHECK_CREDENTIALS: _field(
            _B, "Check credentials on save", "Call OKPAY when the settings are saved."
        ),
        consts.IPN_URL: _field(
            ConfigurationTypeField.OUTPUT,
            "IPN URL",
            "Enter this URL as the IPN URL of the wallet.",
        ),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.config = mapping.config_values(self.configuration)
        self.channel_slug = getattr(self.channel, "slug", "") or ""
        self.okpay_settings = None
        self.configuration_error = ""
        try:
            self.okpay_settings = mapping.settings_from_config(self.config)
        except ConfigurationError as exc:
            self.configuration_error = str(exc)
        if self.okpay_settings is not None and self.active:
            conf.register_channel_settings(self.channel_slug, self.okpay_settings)
        for item in self.configuration:
            if item["name"] == consts.IPN_URL:
                item["value"] = self._url(consts.IPN_PATH)

    # --- helpers -------------------------------------------------------------

    def _url(self, name: str, **query: str) -> str:
        kwargs = {"plugin_id": self.PLUGIN_ID, "channel_slug": self.channel_slug}
        try:
            path = reverse("plugins-per-channel", kwargs=kwargs)
        except NoReverseMatch:
            path = f"/plugins/channel/{self.channel_slug}/{self.PLUGIN_ID}/"
        base = (
            mapping.text(self.config, consts.PUBLIC_URL)
            or conf.options().public_url
            or getattr(django_settings, "PUBLIC_URL", None)
            or "http://localhost:8000"
        )
        url = f"{base.rstrip('/')}{path}{name}/"
        return f"{url}?{urlencode(query)}" if query else url

    def _terms(self) -> payments.AgreementTerms:
        days = mapping.validity_days(self.config)
        fee_payer = mapping.text(self.config, consts.FEE_PAYER)
        return payments.AgreementTerms(
            title=mapping.text(self.config, consts.AGREEMENT_TITLE) or self.PLUGIN_NAME,
            end_date=timezone.now().date() + timedelta(days=days) if days else None,
            fee_payer=FeePayer.CLIENT if fee_payer == "client" else FeePayer.MERCHANT,
            **mapping.limits(self.config),
        )

    def _customer(self, payment_information: Any) -> Any:
        pk = mapping.customer_pk(payment_information)
        if pk is None:
            return None
        return get_user_model().objects.filter(pk=pk).first()

    def _payment(self, payment_information: Any) -> Payment | None:
        return (
            Payment.objects.select_related("contract")
            .filter(invoice=mapping.requested_invoice(payment_information))
            .first()
        )

    def _unusable(self, payment_information: Any) -> Any | None:
        if self.okpay_settings is None:
            return mapping.failure(payment_information, NOT_CONFIGURED)
        if payment_information.currency.upper() not in mapping.currencies(self.config):
            return mapping.failure(
                payment_information,
                f"OKPAY does not accept {payment_information.currency} here.",
            )
        return None

    def _host_return_url(self, payment_information: Any) -> str:
        data = payment_information.data or {}
        for key in ("return_url", "returnUrl", "redirect_url", "redirectUrl"):
            if isinstance(data.get(key), str):
                return data[key]
        # Saleor keeps checkoutPaymentCreate's returnUrl on its Payment model.
        from django.apps import apps

        try:
            model = apps.get_model("payment", "Payment")
        except LookupError:
            return ""
        value = (
            model.objects.filter(pk=payment_information.payment_id)
            .values_list("return_url", flat=True)
            .first()
        )
        return value or ""

    # --- legacy payment hooks ------------------------------------------------

    def process_payment(
        self, payment_information: Any, previous_value: Any, **kwargs: Any
    ) -> Any:
        if not self.active:
            return previous_value
        problem = self._unusable(payment_information)
        if problem is not None:
            return problem
        customer = self._customer(payment_information)
        currency = payment_information.currency.upper()
        invoice = mapping.payment_invoice(payment_information)
        contract = contracts.active_contract_for(customer, currency, self.channel_slug)
        try:
            if mapping.wants_new_agreement(
                payment_information
            ) and declines.retire_unusable_agreement(
                contract, okpay_settings=self.okpay_settings
            ):
                contract = None
            if contract is None:
                contract_invoice = mapping.contract_invoice(payment_information)
                payment, link = payments.request_agreement(
                    payment_invoice=invoice,
                    contract_invoice=contract_invoice,
                    amount=payment_information.amount,
                    currency=currency,
                    terms=self._terms(),
                    okpay_settings=self.okpay_settings,
                    customer=customer,
                    channel=self.channel_slug,
                    ipn_url=self._url(consts.IPN_PATH),
                    return_success=self._url(
                        consts.RETURN_PATH, invoice=contract_invoice
                    ),
                    return_fail=self._url(consts.CANCEL_PATH, invoice=contract_invoice),
                    host_reference=str(payment_information.payment_id),
                    return_url=self._host_return_url(payment_information),
                    payer_email=payment_information.customer_email or "",
                )
                return mapping.action_required(payment_information, payment, link)
            if not mapping.flag(self.config, consts.AUTOMATIC_CAPTURE):
                payment = payments.authorize_on_contract(
                    contract,
                    amount=payment_information.amount,
                    invoice=invoice,
                    host_reference=str(payment_information.payment_id),
                )
                return mapping.response_for_payment(
                    payment_information, payment, waiting_kind=TransactionKind.AUTH
                )
            payment = payments.charge_contract(
                contract,
                amount=payment_information.amount,
                invoice=invoice,
                description=f"Payment {payment_information.payment_id}",
                okpay_settings=self.okpay_settings,
            )
        except OkPayError as exc:
            return mapping.error_failure(
                payment_information, exc, self._payment(payment_information)
            )
        return mapping.response_for_payment(payment_information, payment)

    def confirm_payment(
        self, payment_information: Any, previous_value: Any, **kwargs: Any
    ) -> Any:
        if not self.active:
            return previous_value
        if self.okpay_settings is None:
            return mapping.failure(payment_information, NOT_CONFIGURED)
        payment = self._payment(payment_information)
        if payment is None:
            return mapping.failure(payment_information, "Unknown OKPAY payment.")
        if payment.status in payments.CAPTURED_STATUSES:
            return mapping.response_for_payment(
                payment_information, payment, already_processed=True
            )
        contract = payment.contract
        if contract is not None and payment.status not in (
            PaymentStatus.DECLINED,
            PaymentStatus.CANCELED,
        ):
            try:
                payments.complete_from_return(
                    invoice=contract.invoice, okpay_settings=self.okpay_settings
                )
            except OkPayError as exc:
                return mapping.error_failure(payment_information, exc, payment)
            payment.refresh_from_db()
            contract.refresh_from_db()
        if (
            payment.status == PaymentStatus.ACTION_REQUIRED
            and contract is not None
            and contract.status in (ContractStatus.FAILED, ContractStatus.CANCELED)
        ):
            return mapping.failure(
                payment_information,
                payments.decline_message(payments.CONTRACT_NOT_APPROVED),
            )
        return mapping.response_for_payment(
            payment_information,
            payment,
            already_processed=payment.status in payments.CAPTURED_STATUSES,
        )

    def capture_payment(
        self, payment_information: Any, previous_value: Any, **kwargs: Any
    ) -> Any:
        if not self.active:
            return previous_value
        if self.okpay_settings is None:
            return mapping.failure(payment_information, NOT_CONFIGURED)
        payment = self._payment(payment_information)
        if payment is None:
            return mapping.failure(payment_information, "Unknown OKPAY payment.")
        if payment.status not in payments.CAPTURED_STATUSES:
            try:
                payment = payments.charge_payment(
                    payment, okpay_settings=self.okpay_settings
                )
            except OkPayError as exc:
                return mapping.failure(payment_information, exc.user_message)
        return mapping.response_for_payment(
            payment_information,
            payment,
            already_processed=payment.status in payments.CAPTURED_STATUSES,
        )

    def void_payment(
        self, payment_information: Any, previous_value: Any, **kwargs: Any
    ) -> Any:
        if not self.active:
            return previous_value
        payment = self._payment(payment_information)
        if payment is None:
            return mapping.failure(
                payment_information, "Unknown OKPAY payment.", kind=TransactionKind.VOID
            )
        payment = payments.cancel_payment(payment, reason="voided by the shop")
        if payment.status != PaymentStatus.CANCELED:
            return mapping.failure(
                payment_information,
                "The payment was already charged; refund it instead.",
                kind=TransactionKind.VOID,
            )
        return GatewayResponse(
            is_success=True,
            action_required=False,
            kind=TransactionKind.VOID,
            amount=payment_information.amount,
            currency=payment_information.currency,
            transaction_id=payment.invoice,
            error=None,
        )

    def refund_payment(
        self, payment_information: Any, previous_value: Any, **kwargs: Any
    ) -> Any:
        if not self.active:
            return previous_value
        if self.okpay_settings is None:
            return mapping.failure(
                payment_information, NOT_CONFIGURED, kind=TransactionKind.REFUND
            )
        payment = self._payment(payment_information)
        if payment is None:
            return mapping.failure(
                payment_information,
                "Unknown OKPAY payment.",
                kind=TransactionKind.REFUND,
            )
        try:
            payment = payments.refund_payment(
                payment,
                amount=payment_information.amount,
                okpay_settings=self.okpay_settings,
            )
        except OkPayError as exc:
            return mapping.failure(
                payment_information, exc.user_message, kind=TransactionKind.REFUND
            )
        refund = payment.events.filter(kind="refund").order_by("-pk").first()
        return GatewayResponse(
            is_success=True,
            action_required=False,
            kind=TransactionKind.REFUND,
            amount=payment_information.amount,
            currency=payment_information.currency,
            transaction_id=refund.invoice if refund else payment.invoice,
            error=None,
            psp_reference=str(refund.okpay_txn_id)
            if refund and refund.okpay_txn_id
            else None,
        )

    def list_payment_sources(
        self, customer_id: str, previous_value: Any, **kwargs: Any
    ) -> Any:
        if not self.active:
            return previous_value
        return [
            CustomerSource(
                id=str(contract.okpay_id),
                gateway=self.PLUGIN_ID,
                credit_card_info=mapping.method_info(contract),
                metadata={"currency": contract.currency, "title": contract.title},
            )
            for contract in payments.contracts_for_reference(
                customer_id, self.channel_slug
            )
        ]

    def _gateway_config(self) -> Any:
        return GatewayConfig(
            gateway_name=self.PLUGIN_NAME,
            auto_capture=mapping.flag(self.config, consts.AUTOMATIC_CAPTURE),
            supported_currencies=mapping.text(self.config, consts.SUPPORTED_CURRENCIES),
            connection_params={},
            store_customer=True,
        )

    def get_supported_currencies(self, previous_value: Any, **kwargs: Any) -> Any:
        if not self.active:
            return previous_value
        return get_supported_currencies(self._gateway_config(), self.PLUGIN_NAME)

    def get_payment_config(self, previous_value: Any, **kwargs: Any) -> Any:
        if not self.active:
            return previous_value
        environment = (
            self.okpay_settings.environment.value if self.okpay_settings else ""
        )
        return [
            {"field": "store_customer_card", "value": True},
            {"field": "environment", "value": environment},
            {
                "field": "automatic_capture",
                "value": mapping.flag(self.config, consts.AUTOMATIC_CAPTURE),
            },
        ]

    def token_is_required_as_payment_input(self, previous_value: Any) -> Any:
        if not self.active:
            return previous_value
        return False

    # --- orders --------------------------------------------------------------

    def order_fully_paid(
        self, order: Any, previous_value: Any, webhooks: Any = None, **kwargs: Any
    ) -> Any:
        """Start the subscriptions the paid order's lines ask for.

        Lines whose product or variant metadata carries ``okpay.interval``
        become subscriptions on the customer's active agreement (see
        :mod:`okpay_gateway.billing.subscriptions`); doing it twice for the
        same line finds the first subscription.
        """
        if self.active:
            from okpay_gateway.billing.subscriptions import (
                subscriptions_from_paid_order,
            )

            subscriptions_from_paid_order(order)
        return previous_value

    # --- HTTP ----------------------------------------------------------------

    def webhook(self, request: Any, path: str, previous_value: Any) -> Any:
        if not self.active:
            return previous_value
        name = (path or "").strip("/").split("/")[0]
        if name not in (consts.IPN_PATH, consts.RETURN_PATH, consts.CANCEL_PATH):
            return previous_value
        if self.okpay_settings is None:
            return HttpResponse(NOT_CONFIGURED, status=503, content_type="text/plain")
        if name == consts.IPN_PATH:
            from okpay_gateway import notifications

            return notifications.handle_ipn_request(
                request, okpay_settings=self.okpay_settings, channel=self.channel_slug
            )
        return self._customer_returned(request, failed=name == consts.CANCEL_PATH)

    def _customer_returned(self, request: Any, *, failed: bool) -> HttpResponse:
        # Only the invoice is read from the request; what it stands for is asked
        # of OKPAY (complete_from_return), never taken from the posted fields.
        invoice = request.GET.get("invoice") or request.POST.get("ok_invoice") or ""
        payment = None
        if invoice:
            try:
                payment = payments.complete_from_return(
                    invoice=invoice, okpay_settings=self.okpay_settings
                )
            except OkPayError as exc:
                logger.warning("OKPAY return for %s failed: %s", invoice, exc.code)
        if payment is not None and payment.return_url:
            return HttpResponseRedirect(payment.return_url)
        return HttpResponse(_return_page(payment, failed=failed))

    # --- configuration -------------------------------------------------------

    @classmethod
    def validate_plugin_configuration(
        cls, plugin_configuration: Any, **kwargs: Any
    ) -> None:
        values = mapping.config_values(plugin_configuration.configuration)
        errors = mapping.config_errors(values, active=plugin_configuration.active)
        if not errors and mapping.flag(values, consts.CHECK_CREDENTIALS):
            errors.update(_credential_errors(values))
            if not errors:
                # OKPAY accepted the credentials: the merchant fixed the set-up.
                alerts.resolve(channel=_channel_slug(plugin_configuration))
        if errors:
            raise ValidationError(
                {
                    name: ValidationError(message, code="plugin-misconfigured")
                    for name, message in errors.items()
                }
            )


def _channel_slug(plugin_configuration: Any) -> str:
    # Saleor's configuration points at a Channel, the standalone host's holds the slug.
    channel = getattr(plugin_configuration, "channel", None)
    return str(getattr(channel, "slug", channel) or "")


def _credential_errors(values: dict[str, Any]) -> dict[str, str]:
    try:
        okpay_settings = mapping.settings_from_config(values)
    except ConfigurationError as exc:
        return {consts.WALLET_ID: str(exc)}
    client = clients.client_for(okpay_settings)
    try:
        client.get_date_time()
    except OkPayError:
        return {consts.API_URL: "OKPAY could not be reached at the API URL."}
    try:
        client.wallet_get_balance()
    except OkPayError as exc:
        return {
            consts.API_PASSWORD: (
                f"OKPAY refused the wallet ID or API password ({exc.code})."
            )
        }
    return {}


def _return_page(payment: Payment | None, *, failed: bool) -> str:
    new_agreement = False
    if payment is None:
        state = "unknown"
        message = "This OKPAY payment is not known to the shop."
    elif payment.status in payments.CAPTURED_STATUSES:
        state, message = "paid", "Thank you: your OKPAY payment is complete."
    elif failed:
        state = "not_completed"
        message = "The OKPAY agreement was not completed. You can close this page."
    elif payment.status == PaymentStatus.DECLINED or (
        payment.decline_code in declines.CONFIGURATION_CODES
    ):
        state, message = "declined", declines.message_for(payment)
        new_agreement = declines.unusable_agreement(payment.contract)
    else:
        state = "processing"
        message = "Thank you: your OKPAY payment is being processed."
    return render_to_string(
        "okpay_gateway/checkout/return.html",
        {
            "state": state,
            "message": message,
            "new_agreement": new_agreement,
        },
    )
