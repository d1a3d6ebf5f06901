from __future__ import annotations

import re

import pytest
import requests
import urllib3.exceptions
import zeep.exceptions
from lxml import etree

from okpay_gateway.exceptions import (
    AuthenticationFailed,
    DuplicatePayment,
    InsufficientFunds,
    InvalidRequest,
    LimitExceeded,
    NotFound,
    OperationNotAllowed,
    OutcomeUnknown,
    ProtocolError,
    ProviderFault,
    ProviderUnavailable,
    RequestNotSent,
    TransportError,
)
from okpay_gateway.provider.faults import (
    FAULT_TABLE,
    MONEY_MOVING_OPERATIONS,
    PREFIX_CODES,
    classify_fault,
    fault_from_string,
    translate_error,
)


def _doc():
    from tests.conftest import shared_doc

    return shared_doc("okpay-soap-api.md")


EXPECTED = {
    "API_Disabled": ProviderUnavailable,
    "API_Function_Disabled": AuthenticationFailed,
    "Invalid_IP_Address": AuthenticationFailed,
    "Authentication_Failed": AuthenticationFailed,
    "Account_API_Disabled": AuthenticationFailed,
    "Access_Denied": AuthenticationFailed,
    "Internal_Error": ProviderUnavailable,
    "Payment_Method_Not_Supported": InvalidRequest,
    "Source_Account_Blocked": OperationNotAllowed,
    "Target_Account_Blocked": OperationNotAllowed,
    "Receiver_Not_Found": NotFound,
    "Transaction_Not_Found": NotFound,
    "Currency_Disabled": InvalidRequest,
    "Currency_Not_Found": InvalidRequest,
    "Incorrect_Amount": InvalidRequest,
    "Not_Enough_Money": InsufficientFunds,
    "Limits_Exceeded": LimitExceeded,
    "MoneyTransfer_To_Yourself": InvalidRequest,
    "Duplicate_Payment": DuplicatePayment,
    "Incorrect_Email": InvalidRequest,
    "Function_Is_Obsolete": OperationNotAllowed,
    "Maximum_Amount_Is_": InvalidRequest,
    "Minimum_Amount_Is_": InvalidRequest,
    "Incorrect_Account": InvalidRequest,
    "Incorrect_Parameters": InvalidRequest,
    "Currency_Not_Supported": InvalidRequest,
    "Account_Not_Found": NotFound,
    "Client_Not_Found": NotFound,
    "Image_Not_Found": NotFound,
    "Client_Access_Denied": OperationNotAllowed,
    "Incompatible_Subscription_Status": OperationNotAllowed,
    "Subscription_Not_Found": NotFound,
    "Incompatible_PreapprovedPayment_Status": OperationNotAllowed,
    "PreapprovedPayment_Not_Found": NotFound,
}


def _documented_codes() -> list[str]:
    """Fault codes of the section 4.1 table of okpay-soap-api.md."""
    text = _doc().read_text(encoding="utf-8")
    section = text.split("### 4.1", 1)[1].split("Meanings given", 1)[0]
    codes = []
    for line in section.splitlines():
        cells = line.split("|")
        if len(cells) >= 3 and cells[2].strip().startswith("`"):
            codes.extend(re.findall(r"`([^`]+)`", cells[2]))
    return codes


def test_fault_table_covers_every_documented_code_exactly():
    """FAULT_TABLE has exactly the codes of section 4.1, spelled identically."""
    codes = _documented_codes()
    assert len(codes) == 34
    assert set(FAULT_TABLE) == set(codes)


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_fault_from_string_each_code_maps_to_expected_class(code):
    """Each documented code becomes its exception class with structured fields."""
    error = fault_from_string(code, operation="Send_Money")
    assert type(error) is EXPECTED[code]
    assert error.fault_code == code
    assert error.operation == "Send_Money"
    assert error.retryable is FAULT_TABLE[code][1]


def test_fault_table_only_service_outages_retryable():
    """Only Internal_Error and API_Disabled are retryable faults."""
    assert {code for code, (_, retry) in FAULT_TABLE.items() if retry} == {
        "Internal_Error",
        "API_Disabled",
    }


@pytest.mark.parametrize(
    "text", ["Minimum_Amount_Is_0.01", "Maximum_Amount_Is_15000.00 EUR"]
)
def test_classify_fault_amount_limits_matched_by_prefix(text):
    """Amount-limit codes carry a value after the prefix and still match (G2)."""
    code, cls, retryable = classify_fault(text)
    assert code in PREFIX_CODES
    assert text.startswith(code)
    assert cls is InvalidRequest
    assert retryable is False
    error = fault_from_string(text)
    assert error.provider_message == text
    assert error.field == "amount"


def test_classify_fault_other_codes_need_exact_match():
    """Codes other than the two prefixes are matched by equality only."""
    assert classify_fault("Not_Enough_Money_Really")[1] is ProviderFault


def test_fault_from_string_unknown_code_is_plain_provider_fault():
    """An unknown code becomes ProviderFault, not retryable, code kept verbatim."""
    error = fault_from_string("ActionNotSupported", operation="Get_Date_Time")
    assert type(error) is ProviderFault
    assert error.fault_code == "ActionNotSupported"
    assert error.retryable is False


def test_translate_error_zeep_fault_uses_faultstring():
    """A zeep Fault is keyed on its faultstring, not its faultcode."""
    exc = zeep.exceptions.Fault("Duplicate_Payment", code="s:Client")
    error = translate_error(exc, operation="Send_Money")
    assert isinstance(error, DuplicatePayment)
    assert error.fault_code == "Duplicate_Payment"


@pytest.mark.parametrize("operation", sorted(MONEY_MOVING_OPERATIONS))
def test_translate_error_read_timeout_money_call_outcome_unknown(operation):
    """A read timeout on a money-moving call means the outcome is unknown, not retryable."""
    error = translate_error(
        requests.exceptions.ReadTimeout("read timed out"), operation=operation
    )
    assert type(error) is OutcomeUnknown
    assert error.retryable is False
    assert error.operation == operation


def test_translate_error_read_timeout_read_only_call_transport_error():
    """A read timeout on a call that moves no money is a retryable TransportError."""
    error = translate_error(
        requests.exceptions.ReadTimeout(), operation="Wallet_Get_Balance"
    )
    assert type(error) is TransportError
    assert error.retryable is True


@pytest.mark.parametrize(
    "operation", ["PreapprovedPayment_Charge", "Wallet_Get_Balance"]
)
def test_translate_error_connect_timeout_request_not_sent(operation):
    """A connect timeout means OKPAY never got the request, on any call."""
    error = translate_error(requests.exceptions.ConnectTimeout(), operation=operation)
    assert type(error) is RequestNotSent
    assert error.retryable is True


def test_translate_error_connection_refused_request_not_sent():
    """A refused connection (urllib3 NewConnectionError inside MaxRetryError) is 'not sent'."""
    cause = urllib3.exceptions.NewConnectionError(None, "Connection refused")
    wrapped = urllib3.exceptions.MaxRetryError(None, "/OkPayAPI", reason=cause)
    error = translate_error(
        requests.exceptions.ConnectionError(wrapped), operation="Send_Money"
    )
    assert type(error) is RequestNotSent


def test_translate_error_connection_dropped_after_send_outcome_unknown():
    """A connection aborted mid-answer on a money call leaves the outcome unknown."""
    cause = urllib3.exceptions.ProtocolError(
        "Connection aborted.", ConnectionResetError()
    )
    error = translate_error(
        requests.exceptions.ConnectionError(cause), operation="Send_Money"
    )
    assert type(error) is OutcomeUnknown


@pytest.mark.parametrize(
    ("operation", "expected"),
    [
        ("PreapprovedPayment_Charge", OutcomeUnknown),
        ("Transaction_Get", TransportError),
    ],
)
def test_translate_error_http_5xx_without_fault(operation, expected):
    """HTTP 5xx with no SOAP fault: outcome unknown on money calls, transport error otherwise."""
    exc = zeep.exceptions.TransportError(
        "bad gateway", status_code=502, content=b"<html/>"
    )
    assert type(translate_error(exc, operation=operation)) is expected


def test_translate_error_http_4xx_without_fault_protocol_error():
    """HTTP 404 without a fault is a protocol problem, not retryable."""
    exc = zeep.exceptions.TransportError("not found", status_code=404)
    error = translate_error(exc, operation="Send_Money")
    assert type(error) is ProtocolError
    assert error.retryable is False


@pytest.mark.parametrize(
    "exc",
    [
        zeep.exceptions.XMLSyntaxError("not an envelope"),
        zeep.exceptions.XMLParseError("unexpected"),
        zeep.exceptions.ValidationError("missing"),
    ],
)
def test_translate_error_xml_problems_protocol_error(exc):
    """zeep XML errors become ProtocolError."""
    assert type(translate_error(exc, operation="Get_Date_Time")) is ProtocolError


def test_translate_error_lxml_syntax_error_protocol_error():
    """A raw lxml parse error becomes ProtocolError."""
    try:
        etree.fromstring(b"<<garbage")
    except etree.XMLSyntaxError as exc:
        error = translate_error(exc, operation="Get_Date_Time")
    assert type(error) is ProtocolError


def test_translate_error_our_errors_pass_through_unchanged():
    """Our own exceptions are returned as they are."""
    original = NotFound(fault_code="Transaction_Not_Found")
    assert translate_error(original, operation="Transaction_Get") is original
