from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import requests
from lxml import etree

from okpay_gateway.exceptions import (
    AuthenticationFailed,
    InsufficientFunds,
    InvalidRequest,
    NotFound,
    OkPayError,
    OutcomeUnknown,
    ProtocolError,
    RequestNotSent,
    TransportError,
)
from okpay_gateway.provider import OkPayClient, OkPaySettings
from okpay_gateway.provider.auth import security_token
from okpay_gateway.provider.client import OPERATION_METHODS
from okpay_gateway.provider.messages import (
    AccountInfo,
    Balance,
    ClientStatus,
    OperationStatus,
    PreapprovedPayment,
    PreapprovedPaymentStatus,
    Subscription,
    TransactionInfo,
    VerificationStatus,
)
from okpay_gateway.provider.transport import load_wsdl_document
from okpay_gateway.provider.wsdl import BINDING_QNAME, WSDL_PATH
from okpay_gateway.types import FrozenClock

from .canned import (
    A_NS,
    API,
    DC,
    DC_NS,
    TNS,
    CannedAdapter,
    Reply,
    fault,
    ok,
    transaction_xml,
)

WALLET = "OK123456789"
PASSWORD = "MyApiPass"
NOW = datetime(2010, 6, 1, 15, 20, tzinfo=UTC)
TOKEN = "5950F9BDA723ECDF9859AD205412BB44E0DAB16630CA4462490DE64B02305F8D"
URL = "https://okpay.test/OkPayAPI"


@pytest.fixture
def adapter() -> CannedAdapter:
    return CannedAdapter()


@pytest.fixture
def client(adapter) -> OkPayClient:
    session = requests.Session()
    session.mount("https://okpay.test/", adapter)
    settings = OkPaySettings(
        wallet_id=WALLET,
        api_password=PASSWORD,
        api_url=URL,
        connect_timeout=3.0,
        read_timeout=20.0,
    )
    return OkPayClient(settings=settings, session=session, clock=FrozenClock(NOW))


def _texts(element) -> list[tuple[str, str | None]]:
    return [(child.tag, child.text) for child in element]


def charge_reply() -> Reply:
    return ok("PreapprovedPayment_Charge", transaction_xml(), result_ns_decls=A_NS)


# --- requests ----------------------------------------------------------------


def test_charge_request_envelope_action_order_and_token(client, adapter):
    """Charge posts to api_url with its SOAPAction, tns parameters in order and the hour's token."""
    adapter.queue(charge_reply())
    client.preapproved_payment_charge(
        contract_id=5, amount=Decimal("12.5"), invoice="INV-1", receiver="OK111111111"
    )
    (sent,) = adapter.sent
    assert sent.url == URL
    assert (
        sent.soap_action == "https://api.okpay.com/I_OkPayAPI/PreapprovedPayment_Charge"
    )
    assert sent.headers["Content-Type"].startswith("text/xml")
    operation = sent.operation_element()
    assert operation.tag == f"{{{TNS}}}PreapprovedPayment_Charge"
    assert _texts(operation) == [
        (f"{{{TNS}}}WalletID", WALLET),
        (f"{{{TNS}}}SecurityToken", TOKEN),
        (f"{{{TNS}}}PreapprovedPaymentID", "5"),
        (f"{{{TNS}}}Amount", "12.50"),
        (f"{{{TNS}}}Comment", "INV-1"),
        (f"{{{TNS}}}Receiver", "OK111111111"),
    ]
    assert sent.xml().find("{http://schemas.xmlsoap.org/soap/envelope/}Header") is None


def test_charge_request_without_receiver_omits_sixth_parameter(client, adapter):
    """Without a receiver, the optional 6th parameter is left out entirely."""
    adapter.queue(charge_reply())
    client.preapproved_payment_charge(
        contract_id=5, amount=Decimal("1.00"), comment="hello", invoice="INV-2"
    )
    names = [child.tag.split("}")[1] for child in adapter.sent[0].operation_element()]
    assert names == [
        "WalletID",
        "SecurityToken",
        "PreapprovedPaymentID",
        "Amount",
        "Comment",
    ]
    assert adapter.sent[0].operation_element()[4].text == "INV-2 hello"


def test_requests_use_connect_and_read_timeout_tuple(client, adapter):
    """Every request carries the (connect, read) timeouts from the settings."""
    adapter.queue(ok("Get_Date_Time", "2010-06-01 15:20:33"))
    client.get_date_time()
    assert adapter.sent[0].timeout == (3.0, 20.0)


def test_get_date_time_sends_no_credentials(client, adapter):
    """Get_Date_Time is an empty wrapper: no wallet, no token."""
    adapter.queue(ok("Get_Date_Time", "2011-05-16 10:22:33"))
    assert client.get_date_time() == datetime(2011, 5, 16, 10, 22, 33, tzinfo=UTC)
    assert len(adapter.sent[0].operation_element()) == 0


def test_filter_statuses_items_in_api_namespace(client, adapter):
    """PreapprovedPayments_Filter sends Statuses (tns) with items in api."""
    adapter.queue(ok("PreapprovedPayments_Filter", "", result_ns_decls=DC_NS))
    result = client.preapproved_payments_filter(
        statuses=[PreapprovedPaymentStatus.ACTIVE, "Failed"]
    )
    assert result == ()
    statuses = adapter.sent[0].operation_element().find(f"{{{TNS}}}Statuses")
    assert _texts(statuses) == [
        (f"{{{API}}}PreapprovedPaymentStatuses", "Active"),
        (f"{{{API}}}PreapprovedPaymentStatuses", "Failed"),
    ]


def test_subscription_update_sends_dc_members_and_api_client(client, adapter):
    """Subscription_Update serializes Sub's members in dc and its Client's in api."""
    sub = Subscription.from_wire(
        {
            "ID": 77,
            "Client": {"AccountID": 22, "WalletID": "OK222222222"},
            "RegularPrice": Decimal("9.99"),
            "StartDateTime": "2014-01-01 00:00:00",
            "Status": "Active",
            "RegularInterval": "Months",
        }
    )
    adapter.queue(
        ok(
            "Subscription_Update",
            "<a:ID>77</a:ID><a:Status>Canceled</a:Status>",
            result_ns_decls=DC_NS,
        )
    )
    updated = client.subscription_update(sub, comment="stop")
    assert updated.status.value == "Canceled"
    sent_sub = adapter.sent[0].operation_element().find(f"{{{TNS}}}Sub")
    assert sent_sub.find(f"{{{DC}}}RegularPrice").text == "9.99"
    assert sent_sub.find(f"{{{DC}}}StartDateTime").text == "2014-01-01 00:00:00"
    assert sent_sub.find(f"{{{DC}}}Client/{{{API}}}WalletID").text == "OK222222222"


def test_transaction_get_by_invoice_omits_txn_id(client, adapter):
    """Transaction_Get by invoice leaves TxnID out, as S8 did."""
    adapter.queue(ok("Transaction_Get", transaction_xml(), result_ns_decls=A_NS))
    client.transaction_get(invoice="INV-1")
    names = [child.tag.split("}")[1] for child in adapter.sent[0].operation_element()]
    assert names == ["WalletID", "SecurityToken", "Invoice"]


def test_transaction_history_sends_okpay_date_text(client, adapter):
    """From/Till are sent as yyyy-MM-dd HH:mm:ss UTC text with the page parameters."""
    adapter.queue(
        ok(
            "Transaction_History",
            f"<a:PageCount>1</a:PageCount><a:PageNumber>1</a:PageNumber><a:PageSize>50</a:PageSize>"
            f"<a:TotalCount>1</a:TotalCount><a:Transactions><a:TransactionInfo>{transaction_xml()}"
            "</a:TransactionInfo></a:Transactions>",
            result_ns_decls=A_NS,
        )
    )
    page = client.transaction_history(start=datetime(2010, 6, 1, tzinfo=UTC), end=NOW)
    sent = dict(_texts(adapter.sent[0].operation_element()))
    assert sent[f"{{{TNS}}}From"] == "2010-06-01 00:00:00"
    assert sent[f"{{{TNS}}}Till"] == "2010-06-01 15:20:00"
    assert sent[f"{{{TNS}}}PageSize"] == "50"
    assert page.total_count == 1
    assert page.transactions[0].id == 9001


# --- replies -------------------------------------------------------------------


def test_charge_reply_converted_to_dataclasses_with_decimal(client, adapter):
    """A WCF-style charge reply becomes a TransactionInfo with exact Decimals and parties."""
    adapter.queue(charge_reply())
    txn = client.preapproved_payment_charge(
        contract_id=5, amount=Decimal("12.50"), invoice="INV-1"
    )
    assert type(txn) is TransactionInfo
    assert txn.amount == Decimal("12.50")
    assert str(txn.fees) == "0.10"
    assert txn.net == Decimal("12.40")
    assert txn.date == datetime(2010, 6, 1, 15, 20, 33, tzinfo=UTC)
    assert txn.status is OperationStatus.COMPLETED
    assert txn.invoice == "INV-1"
    assert txn.receiver == AccountInfo(
        11,
        "EST",
        "shop@example.com",
        "Shop",
        VerificationStatus.VERIFIED,
        "OK111111111",
    )
    assert type(txn.sender) is AccountInfo


def test_wallet_get_balance_reply_tuple_of_balances(client, adapter):
    """Wallet_Get_Balance returns a tuple of Balance with Decimal amounts."""
    adapter.queue(
        ok(
            "Wallet_Get_Balance",
            "<a:Balance><a:Amount>100.25</a:Amount><a:Currency>EUR</a:Currency></a:Balance>"
            "<a:Balance><a:Amount>0.00</a:Amount><a:Currency>USD</a:Currency></a:Balance>",
            result_ns_decls=A_NS,
        )
    )
    assert client.wallet_get_balance() == (
        Balance(Decimal("100.25"), "EUR"),
        Balance(Decimal("0.00"), "USD"),
    )


def test_wallet_get_balance_nil_result_empty_tuple(client, adapter):
    """A nil array result is an empty tuple."""
    adapter.queue(ok("Wallet_Get_Balance", None))
    assert client.wallet_get_balance() == ()


def test_preapproved_payment_get_reply_dc_and_api(client, adapter):
    """PreapprovedPayment_Get reads dc members and the api Client inside."""
    adapter.queue(
        ok(
            "PreapprovedPayment_Get",
            "<a:AvailableAmount>40.00</a:AvailableAmount>"
            "<a:Client><b:AccountID>22</b:AccountID><b:WalletID>OK222222222</b:WalletID></a:Client>"
            '<a:EndDate i:nil="true"/><a:ID>5</a:ID><a:StartDate>2015-01-01 10:00:00</a:StartDate>'
            "<a:Status>Active</a:Status><a:Title>Monthly</a:Title>",
            result_ns_decls=DC_NS,
        )
    )
    contract = client.preapproved_payment_get(5)
    assert type(contract) is PreapprovedPayment
    assert contract.available_amount == Decimal("40.00")
    assert contract.client.wallet_id == "OK222222222"
    assert contract.end_date is None
    assert contract.start_date == datetime(2015, 1, 1, 10, tzinfo=UTC)
    assert contract.status is PreapprovedPaymentStatus.ACTIVE


def test_account_check_and_client_status_scalars(client, adapter):
    """Account_Check gives an int, EX_Client_Check_Status a ClientStatus."""
    adapter.queue(ok("Account_Check", "123"), ok("EX_Client_Check_Status", "Verified"))
    assert client.account_check("someone@example.com") == 123
    assert client.ex_client_check_status("someone@example.com") is ClientStatus.VERIFIED


def test_send_money_request_parameters_and_decimal(client, adapter):
    """Send_Money sends all eight parameters in contract order."""
    adapter.queue(ok("Send_Money", transaction_xml(), result_ns_decls=A_NS))
    client.send_money(
        receiver="OK111111111", currency="EUR", amount=Decimal("0.10"), invoice="INV-9"
    )
    assert [
        (c.tag.split("}")[1], c.text) for c in adapter.sent[0].operation_element()
    ] == [
        ("WalletID", WALLET),
        ("SecurityToken", TOKEN),
        ("Receiver", "OK111111111"),
        ("Currency", "EUR"),
        ("Amount", "0.10"),
        ("Comment", None),
        ("IsReceiverPaysFees", "false"),
        ("Invoice", "INV-9"),
    ]


# --- faults and transport errors ---------------------------------------------------


def test_http_500_fault_mapped_to_insufficient_funds(client, adapter):
    """An HTTP 500 SOAP 1.1 fault with Not_Enough_Money becomes InsufficientFunds."""
    adapter.queue(fault("Not_Enough_Money"))
    with pytest.raises(InsufficientFunds) as info:
        client.send_money(
            receiver="OK111111111", currency="EUR", amount=Decimal("5.00")
        )
    assert info.value.fault_code == "Not_Enough_Money"
    assert info.value.operation == "Send_Money"
    assert info.value.retryable is False
    assert info.value.__cause__ is not None


def test_fault_transaction_not_found_mapped(client, adapter):
    """Transaction_Not_Found becomes NotFound."""
    adapter.queue(fault("Transaction_Not_Found"))
    with pytest.raises(NotFound):
        client.transaction_get(txn_id=1)


def test_read_timeout_on_charge_outcome_unknown(client, adapter):
    """A read timeout while charging is OutcomeUnknown, and the charge is not re-sent."""
    adapter.queue(requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(OutcomeUnknown) as info:
        client.preapproved_payment_charge(
            contract_id=5, amount=Decimal("1.00"), invoice="INV-3"
        )
    assert info.value.retryable is False
    assert isinstance(info.value.__cause__, requests.exceptions.ReadTimeout)
    assert len(adapter.sent) == 1


def test_connect_timeout_on_charge_request_not_sent(client, adapter):
    """A connect timeout while charging is RequestNotSent (safe to retry)."""
    adapter.queue(requests.exceptions.ConnectTimeout("connect timed out"))
    with pytest.raises(RequestNotSent) as info:
        client.preapproved_payment_charge(contract_id=5, amount=Decimal("1.00"))
    assert info.value.retryable is True


def test_read_timeout_on_balance_plain_transport_error(client, adapter):
    """A read timeout on a read-only call is a retryable TransportError, not OutcomeUnknown."""
    adapter.queue(requests.exceptions.ReadTimeout())
    with pytest.raises(TransportError) as info:
        client.wallet_get_balance()
    assert not isinstance(info.value, OutcomeUnknown)
    assert info.value.retryable is True


@pytest.mark.parametrize(
    "body", [b"this is not xml", b"<html><body>oops</body></html>"]
)
def test_garbage_body_protocol_error(client, adapter, body):
    """A 200 reply that is not a SOAP envelope is a ProtocolError."""
    adapter.queue(Reply(200, body))
    with pytest.raises(ProtocolError):
        client.wallet_get_balance()


def test_http_502_html_on_charge_outcome_unknown(client, adapter):
    """A proxy's HTML 502 on a charge leaves the outcome unknown."""
    adapter.queue(Reply(502, b"<html>Bad Gateway</html>", "text/html"))
    with pytest.raises(OutcomeUnknown):
        client.preapproved_payment_charge(contract_id=5, amount=Decimal("1.00"))


def test_unknown_enum_in_reply_protocol_error(client, adapter):
    """A status outside the contract in a reply is a ProtocolError with the operation."""
    adapter.queue(
        ok("Send_Money", transaction_xml(status="Cancelled"), result_ns_decls=A_NS)
    )
    with pytest.raises(ProtocolError) as info:
        client.send_money(
            receiver="OK111111111", currency="EUR", amount=Decimal("1.00")
        )
    assert info.value.operation == "Send_Money"


def test_nil_result_for_record_protocol_error(client, adapter):
    """A nil Transaction_GetResult is a ProtocolError, not None."""
    adapter.queue(ok("Transaction_Get", None))
    with pytest.raises(ProtocolError):
        client.transaction_get(txn_id=1)


# --- token rebuild ---------------------------------------------------------------


def test_auth_failed_read_only_call_resyncs_and_retries_once(client, adapter):
    """On Authentication_Failed a read-only call rebuilds the token from server time and retries once."""
    adapter.queue(
        fault("Authentication_Failed"),
        ok("Get_Date_Time", "2010-06-01 16:00:05"),
        ok(
            "Wallet_Get_Currency_Balance",
            "<a:Amount>3.00</a:Amount><a:Currency>EUR</a:Currency>",
            result_ns_decls=A_NS,
        ),
    )
    assert client.wallet_get_currency_balance("EUR") == Balance(Decimal("3.00"), "EUR")
    actions = [sent.soap_action.rsplit("/", 1)[1] for sent in adapter.sent]
    assert actions == [
        "Wallet_Get_Currency_Balance",
        "Get_Date_Time",
        "Wallet_Get_Currency_Balance",
    ]
    tokens = [
        sent.operation_element().find(f"{{{TNS}}}SecurityToken").text
        for sent in (adapter.sent[0], adapter.sent[2])
    ]
    assert tokens == [
        TOKEN,
        security_token(PASSWORD, datetime(2010, 6, 1, 16, tzinfo=UTC)),
    ]


def test_auth_failed_twice_read_only_call_gives_up(client, adapter):
    """A second Authentication_Failed after the rebuild is raised, not retried again."""
    adapter.queue(
        fault("Authentication_Failed"),
        ok("Get_Date_Time", "2010-06-01 15:20:05"),
        fault("Authentication_Failed"),
    )
    with pytest.raises(AuthenticationFailed):
        client.wallet_get_balance()
    assert len(adapter.sent) == 3


def test_auth_failed_money_call_resyncs_and_is_sent_once_more(client, adapter):
    """A refused token proves nothing was charged: the charge is resent once with server time."""
    adapter.queue(
        fault("Authentication_Failed"),
        ok("Get_Date_Time", "2010-06-01 16:00:05"),
        fault("Authentication_Failed"),
    )
    with pytest.raises(AuthenticationFailed) as info:
        client.preapproved_payment_charge(contract_id=5, amount=Decimal("1.00"))
    assert info.value.operation == "PreapprovedPayment_Charge"
    actions = [sent.soap_action.rsplit("/", 1)[1] for sent in adapter.sent]
    assert actions == [
        "PreapprovedPayment_Charge",
        "Get_Date_Time",
        "PreapprovedPayment_Charge",
    ]
    resent_token = adapter.sent[2].operation_element().find(f"{{{TNS}}}SecurityToken")
    assert resent_token.text == security_token(
        PASSWORD, datetime(2010, 6, 1, 16, tzinfo=UTC)
    )


def test_other_auth_codes_not_retried(client, adapter):
    """Invalid_IP_Address is an AuthenticationFailed but no token problem: no retry."""
    adapter.queue(fault("Invalid_IP_Address"))
    with pytest.raises(AuthenticationFailed) as info:
        client.wallet_get_balance()
    assert info.value.fault_code == "Invalid_IP_Address"
    assert len(adapter.sent) == 1


# --- validation ----------------------------------------------------------------------


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-5"), Decimal("1.001"), 1.5])
def test_invalid_amount_rejected_before_sending(client, adapter, amount):
    """Bad amounts raise InvalidRequest(field='amount') and nothing is sent."""
    with pytest.raises(InvalidRequest) as info:
        client.preapproved_payment_charge(contract_id=5, amount=amount)
    assert info.value.field == "amount"
    assert adapter.sent == []


def test_transaction_get_needs_exactly_one_key(client, adapter):
    """Transaction_Get refuses neither or both of txn_id and invoice."""
    with pytest.raises(InvalidRequest):
        client.transaction_get()
    with pytest.raises(InvalidRequest):
        client.transaction_get(txn_id=1, invoice="INV-1")
    assert adapter.sent == []


# --- logging -------------------------------------------------------------------------


def test_debug_log_masks_wallet_and_token(client, adapter, caplog):
    """At DEBUG, envelopes are logged masked and no logger anywhere shows the secrets."""
    adapter.queue(charge_reply())
    with caplog.at_level(logging.DEBUG):  # every logger, zeep's included
        client.preapproved_payment_charge(
            contract_id=5, amount=Decimal("1.00"), invoice="INV-1"
        )
    records = [r for r in caplog.records if r.name == "okpay_gateway.provider.soap"]
    assert len(records) == 2
    text = "\n".join(r.getMessage() for r in records)
    assert "PreapprovedPayment_Charge" in text
    assert "***" in text
    assert TOKEN not in text
    assert WALLET not in text
    assert "OK111111111" not in text  # party wallets in the reply are masked too
    assert PASSWORD not in caplog.text
    assert TOKEN not in caplog.text


def test_no_envelope_log_when_debug_off(client, adapter, caplog):
    """With DEBUG off nothing at all is logged on the SOAP logger."""
    adapter.queue(charge_reply())
    with caplog.at_level(logging.INFO):
        client.preapproved_payment_charge(contract_id=5, amount=Decimal("1.00"))
    assert [r for r in caplog.records if r.name == "okpay_gateway.provider.soap"] == []
    assert TOKEN not in caplog.text


# --- construction --------------------------------------------------------------------


def test_wsdl_parsed_once_for_many_clients(adapter):
    """Constructing more clients reuses the cached WSDL document (no re-parse)."""
    load_wsdl_document(WSDL_PATH)
    misses = load_wsdl_document.cache_info().misses
    settings = OkPaySettings(wallet_id=WALLET, api_password=PASSWORD, api_url=URL)
    first = OkPayClient(settings=settings)
    second = OkPayClient(settings=settings, clock=FrozenClock(NOW))
    assert load_wsdl_document.cache_info().misses == misses
    assert first._zeep.wsdl is second._zeep.wsdl


def test_client_binds_to_settings_api_url_not_placeholder(client):
    """The service proxy posts to OkPaySettings.api_url."""
    assert client._service._binding_options["address"] == URL
    assert client._service._binding.name.text == BINDING_QNAME


def test_client_constructor_keyword_only():
    """Positional construction is refused."""
    settings = OkPaySettings(wallet_id=WALLET, api_password=PASSWORD)
    with pytest.raises(TypeError):
        OkPayClient(settings)  # type: ignore[misc]


def test_client_repr_hides_password(client):
    """The client's repr shows the wallet but never the API password."""
    assert PASSWORD not in repr(client)
    assert WALLET in repr(client)


def test_operation_methods_cover_all_operations_and_exist():
    """Each of the 26 SOAP operations has its snake_case method, listed in the docstring."""
    document = load_wsdl_document(WSDL_PATH)
    operations = set(document.bindings[BINDING_QNAME]._operations)
    assert set(OPERATION_METHODS) == operations
    for soap_name, method in OPERATION_METHODS.items():
        assert callable(getattr(OkPayClient, method))
        assert f"{soap_name:<44}{method}" in OkPayClient.__doc__


def test_all_errors_are_okpay_errors(client, adapter):
    """A variety of failures all surface as OkPayError subclasses."""
    adapter.queue(
        Reply(200, b"garbage"),
        requests.exceptions.ConnectionError("boom"),
        fault("Something_New"),
    )
    for _ in range(3):
        with pytest.raises(OkPayError):
            client.wallet_get_balance()


def test_reply_serialized_by_zeep_from_to_wire_round_trips(client, adapter):
    """A reply built the emulator's way (zeep output.serialize of to_wire()) parses back equal."""
    original = TransactionInfo.from_wire(
        {
            "Amount": Decimal("20.00"),
            "Comment": "INV-7 renewal",
            "Currency": "USD",
            "Date": "2015-03-01 08:00:00",
            "Fees": Decimal("0.40"),
            "ID": 4242,
            "Invoice": "INV-7",
            "Net": Decimal("19.60"),
            "OperationName": "Transfer",
            "Receiver": {"AccountID": 1, "WalletID": "OK111111111"},
            "Sender": {
                "AccountID": 2,
                "WalletID": "OK222222222",
                "VerificationStatus": "Formal",
            },
            "Status": "Pending",
        }
    )
    document = load_wsdl_document(WSDL_PATH)
    operation = document.bindings[BINDING_QNAME]._operations[
        "PreapprovedPayment_Charge"
    ]
    serialized = operation.output.serialize(
        PreapprovedPayment_ChargeResult=original.to_wire()
    )
    adapter.queue(Reply(200, etree.tostring(serialized.content)))
    result = client.preapproved_payment_charge(
        contract_id=5, amount=Decimal("20.00"), invoice="INV-7", comment="renewal"
    )
    assert result == original
