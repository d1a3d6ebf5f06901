"""`OkPayClient`: one typed method per OkPayAPI SOAP operation."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, Self, TypeVar, cast

import requests
import zeep
from zeep.helpers import serialize_object

from okpay_gateway.exceptions import (
    AuthenticationFailed,
    InvalidRequest,
    OkPayError,
    ProtocolError,
)
from okpay_gateway.provider.auth import TokenSource
from okpay_gateway.provider.faults import translate_error
from okpay_gateway.provider.messages import (
    Balance,
    ClientStatus,
    HistoryInfo,
    HostedSubscriptionStatus,
    PreapprovedPayment,
    PreapprovedPaymentStatus,
    Subscription,
    TransactionInfo,
    WithdrawalInfo,
    charge_comment,
    format_okpay_datetime,
    parse_okpay_datetime,
    validate_amount,
)
from okpay_gateway.provider.redaction import RedactingLogPlugin
from okpay_gateway.provider.settings import OkPaySettings
from okpay_gateway.provider.transport import (
    build_session,
    build_transport,
    load_wsdl_document,
    zeep_settings,
)
from okpay_gateway.provider.wsdl import BINDING_QNAME, WSDL_PATH
from okpay_gateway.types import Clock, SystemClock

__all__ = ["OPERATION_METHODS", "OkPayClient"]

logger = logging.getLogger(__name__)

# SOAP operation -> OkPayClient method (also listed in the class docstring).
OPERATION_METHODS: dict[str, str] = {
    "Get_Date_Time": "get_date_time",
    "Wallet_Get_Balance": "wallet_get_balance",
    "Wallet_Get_Currency_Balance": "wallet_get_currency_balance",
    "Send_Money": "send_money",
    "Transaction_Get": "transaction_get",
    "Transaction_History": "transaction_history",
    "DebitCard_Prepay": "debit_card_prepay",
    "Account_Check": "account_check",
    "Withdraw_To_Ecurrency_Calculate": "withdraw_to_ecurrency_calculate",
    "Withdraw_To_Ecurrency": "withdraw_to_ecurrency",
    "Withdraw_To_Card_RU": "withdraw_to_card_ru",
    "Withdraw_To_Card_RU_Full": "withdraw_to_card_ru_full",
    "Withdraw_To_Card_World": "withdraw_to_card_world",
    "Withdraw_To_CryptoCurrency_Calculate": "withdraw_to_cryptocurrency_calculate",
    "Withdraw_To_CryptoCurrency": "withdraw_to_cryptocurrency",
    "EX_Account_Check": "ex_account_check",
    "EX_Client_Check_Status": "ex_client_check_status",
    "Subscription_Get": "subscription_get",
    "Subscriptions_Filter": "subscriptions_filter",
    "Subscription_Update": "subscription_update",
    "Subscription_Get_Operations": "subscription_get_operations",
    "PreapprovedPayment_Get": "preapproved_payment_get",
    "PreapprovedPayment_Charge": "preapproved_payment_charge",
    "PreapprovedPayment_Cancel": "preapproved_payment_cancel",
    "PreapprovedPayment_Get_Operations": "preapproved_payment_get_operations",
    "PreapprovedPayments_Filter": "preapproved_payments_filter",
}


def _is_nil(result: Any) -> bool:
    # zeep turns an xsi:nil complex result into an object whose members are
    # all None; a real record always has its value-type members (G5).
    if result is None:
        return True
    return (
        isinstance(result, dict)
        and bool(result)
        and all(value is None for value in result.values())
    )


def _required(result: Any, operation: str) -> Any:
    if _is_nil(result):
        raise ProtocolError("OKPAY returned an empty result", operation=operation)
    return result


def _text_param(value: str | None, *, operation: str, field: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise InvalidRequest(
            f"{field} must be text",
            fault_code="Incorrect_Parameters",
            operation=operation,
            retryable=False,
            field=field,
        )
    return value


def _id_param(value: int, *, operation: str, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidRequest(
            f"{field} must be a positive integer",
            fault_code="Incorrect_Parameters",
            operation=operation,
            retryable=False,
            field=field,
        )
    return value


class OkPayClient:
    """Typed client for OKPAY's ``OkPayAPI`` SOAP service (one merchant wallet).

    Built from :class:`OkPaySettings` (endpoint ``api_url``, wallet, API
    password, ``(connect_timeout, read_timeout)``). Every argument is keyword
    only. ``session`` is the :class:`requests.Session` used for every call
    (tests mount adapters on it); ``clock`` feeds the hourly SecurityToken.

    Method names are the snake_case form of the SOAP operations:

    ==========================================  ======================================
    SOAP operation                              method
    ==========================================  ======================================
    Get_Date_Time                               get_date_time
    Wallet_Get_Balance                          wallet_get_balance
    Wallet_Get_Currency_Balance                 wallet_get_currency_balance
    Send_Money                                  send_money
    Transaction_Get                             transaction_get
    Transaction_History                         transaction_history
    DebitCard_Prepay                            debit_card_prepay
    Account_Check                               account_check
    Withdraw_To_Ecurrency_Calculate             withdraw_to_ecurrency_calculate
    Withdraw_To_Ecurrency                       withdraw_to_ecurrency
    Withdraw_To_Card_RU                         withdraw_to_card_ru
    Withdraw_To_Card_RU_Full                    withdraw_to_card_ru_full
    Withdraw_To_Card_World                      withdraw_to_card_world
    Withdraw_To_CryptoCurrency_Calculate        withdraw_to_cryptocurrency_calculate
    Withdraw_To_CryptoCurrency                  withdraw_to_cryptocurrency
    EX_Account_Check                            ex_account_check
    EX_Client_Check_Status                      ex_client_check_status
    Subscription_Get                            subscription_get
    Subscriptions_Filter                        subscriptions_filter
    Subscription_Update                         subscription_update
    Subscription_Get_Operations                 subscription_get_operations
    PreapprovedPayment_Get                      preapproved_payment_get
    PreapprovedPayment_Charge                   preapproved_payment_charge
    PreapprovedPayment_Cancel                   preapproved_payment_cancel
    PreapprovedPayment_Get_Operations           preapproved_payment_get_operations
    PreapprovedPayments_Filter                  preapproved_payments_filter
    ==========================================  ======================================

    Behaviour common to every method:

    * results are our frozen dataclasses / enums / ``int`` / ``datetime``;
      no zeep object is returned;
    * every failure is an :class:`~okpay_gateway.exceptions.OkPayError`
      (see :mod:`okpay_gateway.provider.faults` for the policy);
    * amounts are validated before sending (positive Decimal, at most two
      places; else :class:`InvalidRequest` with ``field="amount"``);
    * on ``Authentication_Failed`` the client re-reads OKPAY's clock
      (``Get_Date_Time``), rebuilds the token and sends the call once more
      (money-moving calls too: the refusal proves nothing was performed).
    """

    def __init__(
        self,
        *,
        settings: OkPaySettings,
        session: requests.Session | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._settings = settings
        self._clock: Clock = clock or SystemClock()
        self._session = session if session is not None else build_session()
        self._tokens = TokenSource(settings.api_password, self._clock)
        zeep_client = zeep.Client(
            load_wsdl_document(WSDL_PATH),
            transport=build_transport(settings, self._session),
            plugins=[RedactingLogPlugin()],
            settings=zeep_settings(),
        )
        self._zeep = zeep_client
        self._service = zeep_client.create_service(BINDING_QNAME, settings.api_url)

    def __repr__(self) -> str:
        return f"OkPayClient(wallet_id={self._settings.wallet_id!r}, api_url={self._settings.api_url!r})"

    @property
    def settings(self) -> OkPaySettings:
        return self._settings

    @property
    def session(self) -> requests.Session:
        return self._session

    @property
    def tokens(self) -> TokenSource:
        """The token source (exposes the measured offset to OKPAY's clock)."""
        return self._tokens

    # --- plumbing ----------------------------------------------------------

    def _invoke(self, operation: str, params: dict[str, Any]) -> Any:
        if operation != "Get_Date_Time":
            params = {
                "WalletID": self._settings.wallet_id,
                "SecurityToken": self._tokens.token(),
                **params,
            }
        try:
            result = getattr(self._service, operation)(**params)
            return serialize_object(result, dict)
        except OkPayError:
            raise
        except Exception as exc:  # translate_error leaves nothing foreign escaping
            raise translate_error(exc, operation=operation) from exc

    def _call(self, operation: str, **params: Any) -> Any:
        """Invoke ``operation``; handle ``Authentication_Failed`` as documented."""
        try:
            return self._invoke(operation, params)
        except AuthenticationFailed as exc:
            if (
                exc.fault_code != "Authentication_Failed"
                or operation == "Get_Date_Time"
            ):
                raise
            # OKPAY checks the token before it performs anything, so a refused
            # token proves no money moved: one retry is safe for every call.
            if not self._resync_clock():
                raise
            logger.warning(
                "OKPAY refused the token for %s; retrying once with server time",
                operation,
                extra={"okpay_operation": operation, "okpay_attempt": 2},
            )
            return self._invoke(operation, params)

    def _resync_clock(self) -> bool:
        try:
            server_now = self.get_date_time()
        except OkPayError:
            logger.warning(
                "could not read OKPAY's clock to rebuild the token", exc_info=True
            )
            return False
        self._tokens.resync(server_now)
        return True

    # --- general -----------------------------------------------------------

    def get_date_time(self) -> datetime:
        """``Get_Date_Time``: OKPAY's current UTC time (no credentials needed)."""
        text = _required(self._call("Get_Date_Time"), "Get_Date_Time")
        try:
            parsed = parse_okpay_datetime(str(text))
        except ValueError as exc:
            raise ProtocolError(
                f"unreadable server time {text!r}", operation="Get_Date_Time"
            ) from exc
        return cast(datetime, _required(parsed, "Get_Date_Time"))

    def account_check(self, account: str) -> int:
        """``Account_Check``: the account ID of a wallet ID or e-mail, ``0`` if unknown."""
        op = "Account_Check"
        _text_param(account, operation=op, field="account")
        return int(self._call(op, Account=account) or 0)

    def ex_account_check(self, account: str) -> int:
        """``EX_Account_Check``: like :meth:`account_check` (exchange variant)."""
        op = "EX_Account_Check"
        _text_param(account, operation=op, field="account")
        return int(self._call(op, Account=account) or 0)

    def ex_client_check_status(self, email: str) -> ClientStatus:
        """``EX_Client_Check_Status``: registration/verification state of an e-mail."""
        op = "EX_Client_Check_Status"
        _text_param(email, operation=op, field="email")
        value = _required(self._call(op, Email=email), op)
        try:
            return ClientStatus(str(value))
        except ValueError as exc:
            raise ProtocolError(
                f"unknown ClientStatus {value!r}", operation=op
            ) from exc

    # --- balance -----------------------------------------------------------

    def wallet_get_balance(self) -> tuple[Balance, ...]:
        """``Wallet_Get_Balance``: every currency balance of the wallet."""
        result = self._call("Wallet_Get_Balance")
        return _records(Balance, result, "Balance", "Wallet_Get_Balance")

    def wallet_get_currency_balance(self, currency: str) -> Balance:
        """``Wallet_Get_Currency_Balance``: the balance in one currency."""
        op = "Wallet_Get_Currency_Balance"
        _text_param(currency, operation=op, field="currency")
        return _record(Balance, self._call(op, Currency=currency), op)

    # --- transfers and history -------------------------------------------

    def send_money(
        self,
        *,
        receiver: str,
        currency: str,
        amount: Decimal,
        comment: str = "",
        receiver_pays_fees: bool = False,
        invoice: str | None = None,
    ) -> TransactionInfo:
        """``Send_Money``: transfer to a wallet ID or e-mail (money-moving)."""
        op = "Send_Money"
        value = validate_amount(amount, operation=op)
        for name, text in (
            ("receiver", receiver),
            ("currency", currency),
            ("comment", comment),
            ("invoice", invoice),
        ):
            _text_param(text, operation=op, field=name)
        result = self._call(
            op,
            Receiver=receiver,
            Currency=currency,
            Amount=value,
            Comment=comment,
            IsReceiverPaysFees=bool(receiver_pays_fees),
            Invoice=invoice,
        )
        return _record(TransactionInfo, result, op)

    def transaction_get(
        self, *, txn_id: int | None = None, invoice: str | None = None
    ) -> TransactionInfo:
        """``Transaction_Get``: one transaction by OKPAY ID or by our invoice."""
        op = "Transaction_Get"
        if (txn_id is None) == (invoice is None):
            raise InvalidRequest(
                "give exactly one of txn_id and invoice",
                fault_code="Incorrect_Parameters",
                operation=op,
                retryable=False,
                field="txn_id",
            )
        params: dict[str, Any] = {}
        if txn_id is not None:
            params["TxnID"] = _id_param(txn_id, operation=op, field="txn_id")
        else:
            params["Invoice"] = _text_param(invoice, operation=op, field="invoice")
        return _record(TransactionInfo, self._call(op, **params), op)

    def transaction_history(
        self,
        *,
        start: datetime,
        end: datetime,
        page_size: int = 50,
        page_number: int = 1,
    ) -> HistoryInfo:
        """``Transaction_History``: one page (1-based) of transactions in ``[start, end]``."""
        op = "Transaction_History"
        _id_param(page_size, operation=op, field="page_size")
        _id_param(page_number, operation=op, field="page_number")
        result = self._call(
            op,
            From=_date_param(start, operation=op, field="start"),
            Till=_date_param(end, operation=op, field="end"),
            PageSize=page_size,
            PageNumber=page_number,
        )
        return _record(HistoryInfo, result, op)

    # --- withdrawals and debit card ---------------------------------------

    def debit_card_prepay(
        self,
        *,
        email: str,
        currency: str,
        courier_delivery: bool = False,
        comment: str | None = None,
    ) -> int:
        """``DebitCard_Prepay``: order a prepaid debit card; returns the operation ID."""
        op = "DebitCard_Prepay"
        for name, text in (
            ("email", email),
            ("currency", currency),
            ("comment", comment),
        ):
            _text_param(text, operation=op, field=name)
        result = self._call(
            op,
            Email=email,
            Currency=currency,
            IsCourierDelivery=bool(courier_delivery),
            Comment=comment,
        )
        return int(_required(result, op))

    def withdraw_to_ecurrency_calculate(
        self,
        *,
        payment_method: str,
        amount: Decimal,
        currency: str,
        fees_from_amount: bool = False,
    ) -> WithdrawalInfo:
        """``Withdraw_To_Ecurrency_Calculate``: the cost of an e-currency withdrawal."""
        op = "Withdraw_To_Ecurrency_Calculate"
        result = self._call(
            op,
            PaymentMethod=_text_param(
                payment_method, operation=op, field="payment_method"
            ),
            Amount=validate_amount(amount, operation=op),
            Currency=_text_param(currency, operation=op, field="currency"),
            FeesFromAmount=bool(fees_from_amount),
        )
        return _record(WithdrawalInfo, result, op)

    def withdraw_to_ecurrency(
        self,
        *,
        payment_method: str,
        pay_system_account: str,
        amount: Decimal,
        currency: str,
        fees_from_amount: bool = False,
        invoice: str | None = None,
    ) -> WithdrawalInfo:
        """``Withdraw_To_Ecurrency``: withdraw to another payment system (money-moving)."""
        op = "Withdraw_To_Ecurrency"
        result = self._call(
            op,
            PaymentMethod=_text_param(
                payment_method, operation=op, field="payment_method"
            ),
            PaySystemAccount=_text_param(
                pay_system_account, operation=op, field="pay_system_account"
            ),
            Amount=validate_amount(amount, operation=op),
            Currency=_text_param(currency, operation=op, field="currency"),
            FeesFromAmount=bool(fees_from_amount),
            Invoice=_text_param(invoice, operation=op, field="invoice"),
        )
        return _record(WithdrawalInfo, result, op)

    def withdraw_to_card_ru(
        self,
        *,
        card_number: str,
        amount: Decimal,
        invoice: str | None = None,
    ) -> WithdrawalInfo:
        """``Withdraw_To_Card_RU``: withdraw to a Russian bank card (money-moving)."""
        op = "Withdraw_To_Card_RU"
        result = self._call(
            op,
            CardNumber=_text_param(card_number, operation=op, field="card_number"),
            Amount=validate_amount(amount, operation=op),
            Invoice=_text_param(invoice, operation=op, field="invoice"),
        )
        return _record(WithdrawalInfo, result, op)

    def withdraw_to_card_ru_full(
        self,
        *,
        card_number: str,
        amount: Decimal,
        first_name: str | None = None,
        last_name: str | None = None,
        mid_name: str | None = None,
        phone: str | None = None,
        document_number: str | None = None,
        second_document_type: str | None = None,
        second_document_number: str | None = None,
        invoice: str | None = None,
    ) -> WithdrawalInfo:
        """``Withdraw_To_Card_RU_Full``: card withdrawal with holder details (money-moving).

        ``second_document_type`` is sent as the contract's ``SecodDocumentType`` (sic).
        """
        op = "Withdraw_To_Card_RU_Full"
        texts = {
            "FirstName": ("first_name", first_name),
            "LastName": ("last_name", last_name),
            "MidName": ("mid_name", mid_name),
            "Phone": ("phone", phone),
            "DocumentNumber": ("document_number", document_number),
            "SecodDocumentType": ("second_document_type", second_document_type),
            "SecondDocumentNumber": ("second_document_number", second_document_number),
            "Invoice": ("invoice", invoice),
        }
        params: dict[str, Any] = {
            "CardNumber": _text_param(card_number, operation=op, field="card_number"),
            "Amount": validate_amount(amount, operation=op),
        }
        for wire, (name, value) in texts.items():
            params[wire] = _text_param(value, operation=op, field=name)
        return _record(WithdrawalInfo, self._call(op, **params), op)

    def withdraw_to_card_world(
        self,
        *,
        card_number: str,
        currency: str,
        amount: Decimal,
        expiry_month: str,
        expiry_year: str,
        invoice: str | None = None,
    ) -> WithdrawalInfo:
        """``Withdraw_To_Card_World``: withdraw to an international card (money-moving)."""
        op = "Withdraw_To_Card_World"
        result = self._call(
            op,
            CardNumber=_text_param(card_number, operation=op, field="card_number"),
            Currency=_text_param(currency, operation=op, field="currency"),
            Amount=validate_amount(amount, operation=op),
            ExpiryMonth=_text_param(expiry_month, operation=op, field="expiry_month"),
            ExpiryYear=_text_param(expiry_year, operation=op, field="expiry_year"),
            Invoice=_text_param(invoice, operation=op, field="invoice"),
        )
        return _record(WithdrawalInfo, result, op)

    def withdraw_to_cryptocurrency_calculate(
        self,
        *,
        payment_method: str,
        amount: Decimal,
        currency: str,
    ) -> WithdrawalInfo:
        """``Withdraw_To_CryptoCurrency_Calculate``: the cost of a crypto withdrawal."""
        op = "Withdraw_To_CryptoCurrency_Calculate"
        result = self._call(
            op,
            PaymentMethod=_text_param(
                payment_method, operation=op, field="payment_method"
            ),
            Amount=validate_amount(amount, operation=op),
            Currency=_text_param(currency, operation=op, field="currency"),
        )
        return _record(WithdrawalInfo, result, op)

    def withdraw_to_cryptocurrency(
        self,
        *,
        payment_method: str,
        pay_system_account: str,
        amount: Decimal,
        currency: str,
        invoice: str | None = None,
    ) -> WithdrawalInfo:
        """``Withdraw_To_CryptoCurrency``: withdraw to a crypto address (money-moving)."""
        op = "Withdraw_To_CryptoCurrency"
        result = self._call(
            op,
            PaymentMethod=_text_param(
                payment_method, operation=op, field="payment_method"
            ),
            PaySystemAccount=_text_param(
                pay_system_account, operation=op, field="pay_system_account"
            ),
            Amount=validate_amount(amount, operation=op),
            Currency=_text_param(currency, operation=op, field="currency"),
            Invoice=_text_param(invoice, operation=op, field="invoice"),
        )
        return _record(WithdrawalInfo, result, op)

    # --- subscriptions -------------------------------------------------------

    def subscription_get(self, subscription_id: int) -> Subscription:
        """``Subscription_Get``: one subscription by ID."""
        op = "Subscription_Get"
        sid = _id_param(subscription_id, operation=op, field="subscription_id")
        return _record(Subscription, self._call(op, SubscriptionID=sid), op)

    def subscriptions_filter(
        self,
        *,
        title: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        statuses: Iterable[HostedSubscriptionStatus | str] = (),
    ) -> tuple[Subscription, ...]:
        """``Subscriptions_Filter``: subscriptions matching every given criterion."""
        op = "Subscriptions_Filter"
        result = self._call(
            op,
            Title=_text_param(title, operation=op, field="title"),
            From=None
            if start is None
            else _date_param(start, operation=op, field="start"),
            Till=None if end is None else _date_param(end, operation=op, field="end"),
            Statuses=_statuses(
                HostedSubscriptionStatus, statuses, "SubscriptionStatuses", op
            ),
        )
        return _records(Subscription, result, "Subscription", op)

    def subscription_update(
        self, subscription: Subscription, comment: str | None = None
    ) -> Subscription:
        """``Subscription_Update``: send a changed subscription back (money-moving)."""
        op = "Subscription_Update"
        if not isinstance(subscription, Subscription):
            raise InvalidRequest(
                "subscription must be a Subscription",
                fault_code="Incorrect_Parameters",
                operation=op,
                retryable=False,
                field="subscription",
            )
        result = self._call(
            op,
            Sub=subscription.to_wire(),
            Comment=_text_param(comment, operation=op, field="comment"),
        )
        return _record(Subscription, result, op)

    def subscription_get_operations(
        self, subscription_id: int
    ) -> tuple[TransactionInfo, ...]:
        """``Subscription_Get_Operations``: the payments made under a subscription."""
        op = "Subscription_Get_Operations"
        sid = _id_param(subscription_id, operation=op, field="subscription_id")
        return _records(
            TransactionInfo, self._call(op, SubscriptionID=sid), "TransactionInfo", op
        )

    # --- pre-approved payments ----------------------------------------------

    def preapproved_payment_get(self, contract_id: int) -> PreapprovedPayment:
        """``PreapprovedPayment_Get``: one pre-approved payment contract."""
        op = "PreapprovedPayment_Get"
        cid = _id_param(contract_id, operation=op, field="contract_id")
        return _record(PreapprovedPayment, self._call(op, PreapprovedPaymentID=cid), op)

    def preapproved_payments_filter(
        self,
        *,
        title: str | None = None,
        invoice: str | None = None,
        client: str | None = None,
        statuses: Iterable[PreapprovedPaymentStatus | str] = (),
    ) -> tuple[PreapprovedPayment, ...]:
        """``PreapprovedPayments_Filter``: contracts matching every given criterion."""
        op = "PreapprovedPayments_Filter"
        result = self._call(
            op,
            Title=_text_param(title, operation=op, field="title"),
            Invoice=_text_param(invoice, operation=op, field="invoice"),
            Client=_text_param(client, operation=op, field="client"),
            Statuses=_statuses(
                PreapprovedPaymentStatus, statuses, "PreapprovedPaymentStatuses", op
            ),
        )
        return _records(PreapprovedPayment, result, "PreapprovedPayment", op)

    def preapproved_payment_charge(
        self,
        *,
        contract_id: int,
        amount: Decimal,
        comment: str | None = None,
        invoice: str | None = None,
        receiver: str | None = None,
    ) -> TransactionInfo:
        """``PreapprovedPayment_Charge``: charge a contract (money-moving).

        The operation has no ``Invoice`` parameter, so ``invoice`` travels in
        ``Comment`` as built by :func:`~okpay_gateway.provider.messages.charge_comment`.
        ``receiver`` is the optional 6th parameter (default: our wallet, G12).
        """
        op = "PreapprovedPayment_Charge"
        cid = _id_param(contract_id, operation=op, field="contract_id")
        value = validate_amount(amount, operation=op)
        _text_param(comment, operation=op, field="comment")
        _text_param(invoice, operation=op, field="invoice")
        result = self._call(
            op,
            PreapprovedPaymentID=cid,
            Amount=value,
            Comment=charge_comment(invoice, comment),
            Receiver=_text_param(receiver, operation=op, field="receiver"),
        )
        return _record(TransactionInfo, result, op)

    def preapproved_payment_cancel(
        self, contract_id: int, comment: str | None = None
    ) -> PreapprovedPayment:
        """``PreapprovedPayment_Cancel``: end a contract (money-moving: never retried)."""
        op = "PreapprovedPayment_Cancel"
        cid = _id_param(contract_id, operation=op, field="contract_id")
        result = self._call(
            op,
            PreapprovedPaymentID=cid,
            Comment=_text_param(comment, operation=op, field="comment"),
        )
        return _record(PreapprovedPayment, result, op)

    def preapproved_payment_get_operations(
        self, contract_id: int
    ) -> tuple[TransactionInfo, ...]:
        """``PreapprovedPayment_Get_Operations``: the charges made under a contract."""
        op = "PreapprovedPayment_Get_Operations"
        cid = _id_param(contract_id, operation=op, field="contract_id")
        result = self._call(op, PreapprovedPaymentID=cid)
        return _records(TransactionInfo, result, "TransactionInfo", op)


class _FromWire(Protocol):
    @classmethod
    def from_wire(cls, data: Any) -> Self: ...


_Message = TypeVar("_Message", bound=_FromWire)


def _record(cls: type[_Message], result: Any, operation: str) -> _Message:
    try:
        return cls.from_wire(_required(result, operation))
    except ProtocolError as exc:
        exc.operation = exc.operation or operation
        raise


def _records(
    cls: type[_Message], result: Any, item: str, operation: str
) -> tuple[_Message, ...]:
    if result is None:
        return ()
    items = result.get(item) if isinstance(result, dict) else result
    try:
        return tuple(cls.from_wire(entry) for entry in (items or ()))
    except ProtocolError as exc:
        exc.operation = exc.operation or operation
        raise


def _date_param(value: datetime, *, operation: str, field: str) -> str:
    try:
        return format_okpay_datetime(value)
    except (ValueError, AttributeError) as exc:
        raise InvalidRequest(
            f"{field} must be a timezone-aware datetime",
            fault_code="Incorrect_Parameters",
            operation=operation,
            retryable=False,
            field=field,
        ) from exc


def _statuses(
    enum: Any, values: Iterable[Any], item: str, operation: str
) -> dict[str, list[str]] | None:
    given = list(values)
    try:
        names = [str(enum(value).value) for value in given]
    except ValueError as exc:
        raise InvalidRequest(
            f"unknown status in {given!r}",
            fault_code="Incorrect_Parameters",
            operation=operation,
            retryable=False,
            field="statuses",
        ) from exc
    return {item: names} if names else None
