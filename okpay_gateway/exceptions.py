"""Every exception okpay_gateway raises.

::

    OkPayError                         base; .code, .user_message
    ├── ConfigurationError             bad or missing settings (also a system check)
    ├── ProviderError                  talking to OKPAY; .operation, .retryable
    │   ├── TransportError             the request never got an answer
    │   │   ├── RequestNotSent         connect failure: OKPAY did not receive it
    │   │   └── OutcomeUnknown         read timeout / broken answer after sending:
    │   │                              the call may or may not have taken effect
    │   ├── ProtocolError              unparseable XML, unexpected shape, HTTP error
    │   └── ProviderFault              a SOAP fault; .fault_code (OKPAY's spelling)
    │       ├── AuthenticationFailed   token, password, IP or API access refused
    │       ├── InsufficientFunds      Not_Enough_Money
    │       ├── LimitExceeded          Limits_Exceeded (contract allowance used up)
    │       ├── NotFound               unknown wallet, transaction, contract, ...
    │       ├── InvalidRequest         bad amount, currency, parameters; .field
    │       ├── DuplicatePayment       the invoice was used before
    │       ├── OperationNotAllowed    wrong state, blocked account, obsolete call
    │       └── ProviderUnavailable    Internal_Error and API_Disabled (retryable)
    ├── LinkError                      a checkout link could not be built; .field
    ├── NotificationError              an inbound IPN that cannot be trusted
    │   └── MalformedNotification      not a readable ok_* form
    ├── RefundRefused                  a refund refused before anything was sent
    │   ├── NotRefundable              the payment is not captured
    │   ├── RefundAmountInvalid        not between 0.01 and what is left; .remaining
    │   └── NoRefundReceiver           no customer wallet or e-mail to send it to
    └── BillingError
        ├── InvalidTransition          .current, .requested
        └── RenewalConflict            a period's invoice is taken by another attempt

Which exception a SOAP fault code becomes is decided in one table,
:data:`okpay_gateway.provider.faults.FAULT_TABLE`.
"""

from __future__ import annotations


class OkPayError(Exception):
    """Base of every error raised by okpay_gateway.

    ``code`` is a stable machine-readable string; ``user_message`` is safe to
    show to a shopper (it never contains OKPAY's raw text or secrets).
    """

    code = "okpay_error"
    default_user_message = "The payment could not be processed."
    retryable = False

    def __init__(self, message: str = "", *, user_message: str | None = None) -> None:
        super().__init__(message or self.default_user_message)
        self.user_message = user_message or self.default_user_message


class ConfigurationError(OkPayError):
    """Settings are missing or contradict each other."""

    code = "configuration"
    default_user_message = "The payment method is not configured correctly."


class ProviderError(OkPayError):
    """Something went wrong while talking to OKPAY."""

    code = "provider"

    def __init__(
        self,
        message: str = "",
        *,
        operation: str = "",
        retryable: bool | None = None,
        user_message: str | None = None,
    ) -> None:
        super().__init__(message, user_message=user_message)
        self.operation = operation
        if retryable is not None:
            self.retryable = retryable

    def __str__(self) -> str:
        text = super().__str__()
        return f"{self.operation}: {text}" if self.operation else text


class TransportError(ProviderError):
    """No usable HTTP answer arrived."""

    code = "transport"
    retryable = True
    default_user_message = "OKPAY could not be reached. Please try again."


class RequestNotSent(TransportError):
    """The connection failed before OKPAY received the request: safe to retry."""

    code = "not_sent"


class OutcomeUnknown(TransportError):
    """The request was sent but no answer came back in time.

    For money-moving calls this means the money may or may not have moved;
    the caller must look the operation up (by invoice) before trying again.
    """

    code = "outcome_unknown"


class ProtocolError(ProviderError):
    """OKPAY answered with something that is not a valid SOAP reply."""

    code = "protocol"


class ProviderFault(ProviderError):
    """OKPAY answered with a SOAP fault.

    ``fault_code`` is OKPAY's code exactly as sent (``Not_Enough_Money``),
    ``provider_message`` the full faultstring.
    """

    code = "fault"

    def __init__(
        self,
        message: str = "",
        *,
        fault_code: str,
        operation: str = "",
        provider_message: str = "",
        retryable: bool | None = None,
        field: str | None = None,
        user_message: str | None = None,
    ) -> None:
        super().__init__(
            message or fault_code,
            operation=operation,
            retryable=retryable,
            user_message=user_message,
        )
        self.fault_code = fault_code
        self.provider_message = provider_message or fault_code
        self.field = field


class AuthenticationFailed(ProviderFault):
    code = "authentication_failed"
    default_user_message = "The payment method is not configured correctly."


class InsufficientFunds(ProviderFault):
    code = "insufficient_funds"
    default_user_message = "The OKPAY wallet does not hold enough money."


class LimitExceeded(ProviderFault):
    code = "limit_exceeded"
    default_user_message = "The charge is over the limits of your OKPAY agreement."


class NotFound(ProviderFault):
    code = "not_found"


class InvalidRequest(ProviderFault):
    code = "invalid_request"


class DuplicatePayment(ProviderFault):
    code = "duplicate_payment"


class OperationNotAllowed(ProviderFault):
    code = "not_allowed"


class ProviderUnavailable(ProviderFault):
    code = "provider_unavailable"
    retryable = True
    default_user_message = "OKPAY is not available right now. Please try again."


class LinkError(OkPayError):
    """A checkout link could not be built from the given values."""

    code = "invalid_link"

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message, user_message=message)
        self.field = field


class NotificationError(OkPayError):
    """An inbound IPN that cannot be trusted or read."""

    code = "notification"


class MalformedNotification(NotificationError):
    code = "malformed_notification"


class RefundRefused(OkPayError):
    """A refund our own checks refused; OKPAY was not called."""

    code = "refund_refused"
    default_user_message = "The refund could not be made."


class NotRefundable(RefundRefused):
    code = "not_refundable"
    default_user_message = "Only a completed payment can be refunded."


class RefundAmountInvalid(RefundRefused):
    code = "refund_amount_invalid"

    def __init__(self, message: str, *, remaining: object) -> None:
        super().__init__(
            message, user_message=f"The refund must be between 0.01 and {remaining}."
        )
        self.remaining = remaining


class NoRefundReceiver(RefundRefused):
    code = "no_refund_receiver"
    default_user_message = "The customer's OKPAY wallet is not known."


class BillingError(OkPayError):
    code = "billing"


class InvalidTransition(BillingError):
    """A state change that the transition table does not allow."""

    code = "invalid_transition"

    def __init__(self, current: str, requested: str) -> None:
        super().__init__(f"cannot go from {current!r} to {requested!r}")
        self.current = current
        self.requested = requested


class RenewalConflict(BillingError):
    code = "renewal_conflict"
