"""Payment constants and errors, with Saleor's names and string values.

Mirrors ``saleor/payment/__init__.py``: the string values are stored in
databases and compared by plugins, so they must match Saleor byte for byte.
"""

from __future__ import annotations


class PaymentError(Exception):
    """A gateway refused or could not perform a payment operation."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message, code)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return self.message


class GatewayError(IOError):
    """A gateway answered with something the core cannot accept."""


class TransactionKind:
    """Type of a legacy payment ``Transaction`` row."""

    EXTERNAL = "external"
    AUTH = "auth"
    CAPTURE = "capture"
    CAPTURE_FAILED = "capture_failed"
    ACTION_TO_CONFIRM = "action_to_confirm"
    VOID = "void"
    PENDING = "pending"
    REFUND = "refund"
    REFUND_ONGOING = "refund_ongoing"
    REFUND_FAILED = "refund_failed"
    REFUND_REVERSED = "refund_reversed"
    CONFIRM = "confirm"
    CANCEL = "cancel"
    # Saleor leaves CAPTURE_FAILED, REFUND_FAILED and REFUND_REVERSED out on
    # purpose: a gateway hook returning one of them is rejected by the core.
    CHOICES = [
        (EXTERNAL, "External reference"),
        (AUTH, "Authorization"),
        (PENDING, "Pending"),
        (ACTION_TO_CONFIRM, "Action to confirm"),
        (REFUND, "Refund"),
        (REFUND_ONGOING, "Refund in progress"),
        (CAPTURE, "Capture"),
        (VOID, "Void"),
        (CONFIRM, "Confirm"),
        (CANCEL, "Cancel"),
    ]


# The kinds a gateway hook may return (``saleor/payment/utils.py``).
ALLOWED_GATEWAY_KINDS = {choice[0] for choice in TransactionKind.CHOICES}


class ChargeStatus:
    """Charge state of a legacy ``Payment``."""

    NOT_CHARGED = "not-charged"
    PENDING = "pending"
    PARTIALLY_CHARGED = "partially-charged"
    FULLY_CHARGED = "fully-charged"
    PARTIALLY_REFUNDED = "partially-refunded"
    FULLY_REFUNDED = "fully-refunded"
    REFUSED = "refused"
    CANCELLED = "cancelled"

    CHOICES = [
        (NOT_CHARGED, "Not charged"),
        (PENDING, "Pending"),
        (PARTIALLY_CHARGED, "Partially charged"),
        (FULLY_CHARGED, "Fully charged"),
        (PARTIALLY_REFUNDED, "Partially refunded"),
        (FULLY_REFUNDED, "Fully refunded"),
        (REFUSED, "Refused"),
        (CANCELLED, "Cancelled"),
    ]


class CustomPaymentChoices:
    MANUAL = "manual"

    CHOICES = [(MANUAL, "Manual")]


class StorePaymentMethod:
    """Model-side (lowercase) values of ``Payment.store_payment_method``."""

    ON_SESSION = "on_session"
    OFF_SESSION = "off_session"
    NONE = "none"

    CHOICES = [
        (ON_SESSION, "On session"),
        (OFF_SESSION, "Off session"),
        (NONE, "None"),
    ]


class TransactionAction:
    CHARGE = "charge"
    REFUND = "refund"
    CANCEL = "cancel"

    CHOICES = [
        (CHARGE, "Charge payment"),
        (REFUND, "Refund payment"),
        (CANCEL, "Cancel payment"),
    ]


class PaymentMethodType:
    CARD = "card"
    OTHER = "other"
    GIFT_CARD = "gift_card"
