from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from lxml import etree

from okpay_gateway.exceptions import InvalidRequest, ProtocolError
from okpay_gateway.provider import messages
from okpay_gateway.provider.messages import (
    AccountInfo,
    Address,
    AddressType,
    Balance,
    ClientStatus,
    HistoryInfo,
    HostedSubscriptionStatus,
    OperationStatus,
    PreapprovedPayment,
    PreapprovedPaymentStatus,
    Subscription,
    SubscriptionCycleInterval,
    TransactionInfo,
    VerificationStatus,
    WithdrawalInfo,
    charge_comment,
    format_okpay_datetime,
    parse_okpay_datetime,
    split_charge_comment,
    validate_amount,
)
from okpay_gateway.provider.wsdl import SCHEMA_FILES

XS = "{http://www.w3.org/2001/XMLSchema}"


def _schema_types(name: str) -> etree._Element:
    return etree.parse(str(SCHEMA_FILES[name])).getroot()


def _sequence(schema: str, type_name: str) -> list[str]:
    root = _schema_types(schema)
    node = root.find(f"{XS}complexType[@name='{type_name}']")
    return [el.get("name") for el in node.iter(f"{XS}element")]


def _enum_values(schema: str, type_name: str) -> list[str]:
    root = _schema_types(schema)
    node = root.find(f"{XS}simpleType[@name='{type_name}']")
    return [el.get("value") for el in node.iter(f"{XS}enumeration")]


RECORDS = [
    (Balance, "xsd2", "Balance"),
    (AccountInfo, "xsd2", "AccountInfo"),
    (TransactionInfo, "xsd2", "TransactionInfo"),
    (HistoryInfo, "xsd2", "HistoryInfo"),
    (WithdrawalInfo, "xsd2", "Withdrawal_Info"),
    (Address, "xsd4", "Address"),
    (Subscription, "xsd4", "Subscription"),
    (PreapprovedPayment, "xsd4", "PreapprovedPayment"),
]
ENUMS = [
    (OperationStatus, "xsd2", "OperationStatus"),
    (PreapprovedPaymentStatus, "xsd2", "PreapprovedPaymentStatuses"),
    (HostedSubscriptionStatus, "xsd2", "SubscriptionStatuses"),
    (SubscriptionCycleInterval, "xsd2", "SubscriptionCycleIntervals"),
    (AddressType, "xsd2", "AddressTypes"),
    (VerificationStatus, "xsd3", "VerificationStatuses"),
    (ClientStatus, "xsd3", "ClientStatus"),
]


@pytest.mark.parametrize(("cls", "schema", "type_name"), RECORDS)
def test_record_fields_match_schema_sequence_in_order(cls, schema, type_name):
    """Each dataclass maps exactly the schema type's members, in schema order."""
    wire_names = [f.metadata["wire"].name for f in dataclasses.fields(cls)]
    assert wire_names == _sequence(schema, type_name)
    assert cls.wire_type == type_name


@pytest.mark.parametrize(("enum", "schema", "type_name"), ENUMS)
def test_enum_values_match_schema_exactly(enum, schema, type_name):
    """Each StrEnum has the schema's values, spelled and ordered identically."""
    assert [member.value for member in enum] == _enum_values(schema, type_name)


def test_operation_status_values_spelled_as_contract():
    """OperationStatus keeps the American 'Canceled' and the literal 'None'."""
    assert OperationStatus("Canceled") is OperationStatus.CANCELED
    assert OperationStatus("None") is OperationStatus.NONE
    assert str(OperationStatus.COMPLETED) == "Completed"


def test_parse_okpay_datetime_text_gives_aware_utc():
    """OKPAY's 'yyyy-MM-dd HH:mm:ss' text becomes an aware UTC datetime."""
    assert parse_okpay_datetime("2011-05-16 10:22:33") == datetime(
        2011, 5, 16, 10, 22, 33, tzinfo=UTC
    )


@pytest.mark.parametrize("text", [None, "", "   "])
def test_parse_okpay_datetime_nil_or_empty_gives_none(text):
    """Nil or empty date text means 'no date'."""
    assert parse_okpay_datetime(text) is None


def test_parse_okpay_datetime_other_format_rejected():
    """ISO 'T' format is not OKPAY's format and is refused."""
    with pytest.raises(ValueError):
        parse_okpay_datetime("2011-05-16T10:22:33")


def test_format_okpay_datetime_converts_to_utc():
    """Aware datetimes in other zones are written as UTC text."""
    at = datetime(2011, 5, 16, 13, 22, 33, tzinfo=timezone(timedelta(hours=3)))
    assert format_okpay_datetime(at) == "2011-05-16 10:22:33"


def test_format_okpay_datetime_naive_rejected():
    """Naive datetimes cannot be formatted (their zone is unknown)."""
    with pytest.raises(ValueError):
        format_okpay_datetime(datetime(2011, 5, 16, 10, 22, 33))


def _transaction_wire() -> dict:
    account = {
        "AccountID": 11,
        "Country_ISO": "EST",
        "Email": "shop@example.com",
        "Name": "Shop",
        "VerificationStatus": "Verified",
        "WalletID": "OK111111111",
    }
    return {
        "Amount": Decimal("12.50"),
        "Comment": "hello",
        "Currency": "EUR",
        "Date": "2010-06-01 15:20:33",
        "Fees": Decimal("0.10"),
        "ID": 9001,
        "Invoice": "INV-1",
        "Net": Decimal("12.40"),
        "OperationName": "Transfer",
        "Receiver": account,
        "Sender": None,
        "Status": "Completed",
    }


def test_transaction_from_wire_decimal_and_nested_values():
    """A wire mapping becomes a TransactionInfo with Decimal money and typed parties."""
    txn = TransactionInfo.from_wire(_transaction_wire())
    assert txn.amount == Decimal("12.50")
    assert isinstance(txn.fees, Decimal)
    assert str(txn.fees) == "0.10"
    assert txn.date == datetime(2010, 6, 1, 15, 20, 33, tzinfo=UTC)
    assert txn.receiver == AccountInfo(
        11,
        "EST",
        "shop@example.com",
        "Shop",
        VerificationStatus.VERIFIED,
        "OK111111111",
    )
    assert txn.sender is None
    assert txn.status is OperationStatus.COMPLETED


def test_transaction_to_wire_round_trip_identical():
    """to_wire followed by from_wire gives an equal object, money unchanged."""
    txn = TransactionInfo.from_wire(_transaction_wire())
    wire = txn.to_wire()
    assert wire["Amount"] == Decimal("12.50")
    assert wire["Date"] == "2010-06-01 15:20:33"
    assert wire["Status"] == "Completed"
    assert list(wire) == _sequence("xsd2", "TransactionInfo")
    assert TransactionInfo.from_wire(wire) == txn


def test_from_wire_missing_value_members_get_wcf_defaults():
    """Missing value-type members take WCF defaults: 0, false, first enum member."""
    address = Address.from_wire({"City": "Tallinn"})
    assert address.is_verified is False
    assert address.type is AddressType.UNSET
    assert address.zip_code is None
    assert Balance.from_wire({}).amount == Decimal(0)


def test_from_wire_float_money_rejected():
    """Money arriving as float is a protocol error, never silently accepted."""
    with pytest.raises(ProtocolError, match="Balance"):
        Balance.from_wire({"Amount": 1.5, "Currency": "EUR"})


def test_from_wire_unknown_enum_value_rejected():
    """A status outside the contract's enumeration is a protocol error."""
    wire = _transaction_wire() | {"Status": "Cancelled"}
    with pytest.raises(ProtocolError):
        TransactionInfo.from_wire(wire)


def test_history_from_wire_array_items_unwrapped():
    """HistoryInfo.Transactions (ArrayOfTransactionInfo) becomes a tuple of records."""
    history = HistoryInfo.from_wire(
        {
            "PageCount": 1,
            "PageNumber": 1,
            "PageSize": 50,
            "TotalCount": 2,
            "Transactions": {
                "TransactionInfo": [_transaction_wire(), _transaction_wire()]
            },
        }
    )
    assert len(history.transactions) == 2
    assert all(isinstance(t, TransactionInfo) for t in history.transactions)
    assert HistoryInfo.from_wire({"Transactions": None}).transactions == ()


def test_subscription_round_trip_keeps_dates_and_address():
    """A Subscription survives to_wire/from_wire with dates and nested address."""
    wire = {
        "ID": 77,
        "RegularInterval": "Months",
        "RegularPrice": "9.99",
        "StartDateTime": "2014-01-01 00:00:00",
        "ShippingAddress": {"City": "Riga", "Type": "Postal", "IsVerified": "true"},
        "Status": "Active",
    }
    sub = Subscription.from_wire(wire)
    assert sub.regular_price == Decimal("9.99")
    assert sub.shipping_address.type is AddressType.POSTAL
    assert sub.shipping_address.is_verified is True
    assert sub.start_at == datetime(2014, 1, 1, tzinfo=UTC)
    assert Subscription.from_wire(sub.to_wire()) == sub


def test_preapproved_payment_is_frozen():
    """Value objects are immutable."""
    contract = PreapprovedPayment.from_wire({"ID": 5, "Status": "Active"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        contract.id = 6  # type: ignore[misc]


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (Decimal("12.5"), "12.50"),
        (Decimal("1E+2"), "100.00"),
        (7, "7.00"),
        (Decimal("0.01"), "0.01"),
    ],
)
def test_validate_amount_valid_quantized_to_cents(amount, expected):
    """Valid amounts come back as cents-quantized Decimals in plain notation."""
    assert str(validate_amount(amount)) == expected


@pytest.mark.parametrize(
    "amount",
    [
        Decimal("0"),
        Decimal("-1"),
        Decimal("1.005"),
        1.5,
        "1.50",
        Decimal("NaN"),
        Decimal("Infinity"),
        True,
    ],
)
def test_validate_amount_invalid_raises_invalid_request(amount):
    """Zero, negative, over-precise, float, text and non-finite amounts are refused."""
    with pytest.raises(InvalidRequest) as info:
        validate_amount(amount, operation="Send_Money")
    assert info.value.field == "amount"
    assert info.value.fault_code == "Incorrect_Amount"
    assert info.value.operation == "Send_Money"


@pytest.mark.parametrize(
    ("invoice", "comment", "expected"),
    [
        (None, None, None),
        (None, "note", "note"),
        ("INV-1", None, "INV-1"),
        ("INV-1", "", "INV-1"),
        ("INV-1", "May renewal", "INV-1 May renewal"),
    ],
)
def test_charge_comment_rule_and_inverse(invoice, comment, expected):
    """charge_comment puts the invoice first; split_charge_comment recovers it."""
    text = charge_comment(invoice, comment)
    assert text == expected
    if invoice is not None:
        assert split_charge_comment(text) == (invoice, comment or None)


def test_charge_comment_invoice_with_space_rejected():
    """An invoice containing whitespace could not be recovered, so it is refused."""
    with pytest.raises(InvalidRequest) as info:
        charge_comment("INV 1", None)
    assert info.value.field == "invoice"


def test_messages_module_exports_every_public_name():
    """__all__ lists only names that exist."""
    assert all(hasattr(messages, name) for name in messages.__all__)
