"""Host-neutral money operations: charge, resolve, refund, cancel, sync.

Every operation writes its ``PaymentEvent`` rows and state change in the
database *before* it talks to OKPAY when money could move, so a crash or a
read timeout can always be resolved later by asking OKPAY for the invoice.
Hosts and adapters (the Saleor plugin, the renewal engine, the admin) call
only the names exported here.

==============  ===============================================================
module          what it holds
==============  ===============================================================
``ledger``      payment statuses, ledger events, recording completions/declines
``charging``    :class:`ChargeAction`, charging exactly once per invoice
``replies``     what charge calls returned, recorded for a batch at once
``resolution``  finding out what became of a charge with no known outcome
``agreements``  asking for an agreement, the customer's return, cancel, sync
``refunds``     refunds with ``Send_Money``
==============  ===============================================================
"""

from __future__ import annotations

from okpay_gateway.conf import register_channel_settings, settings_for_channel
from okpay_gateway.payments.agreements import (
    AgreementTerms,
    SyncReport,
    cancel_contract,
    complete_from_return,
    contracts_for_reference,
    request_agreement,
    sync_contracts,
)
from okpay_gateway.payments.charging import (
    ChargeAction,
    ChargeRequest,
    authorize_on_contract,
    begin_charges,
    begin_contract_charge,
    charge_contract,
    charge_payment,
    charge_waiting_payments,
    finish_charge,
    manual_invoice,
)
from okpay_gateway.payments.ledger import (
    CAPTURED_STATUSES,
    CONTRACT_INACTIVE,
    CONTRACT_NOT_APPROVED,
    FINAL_PAYMENT_STATUSES,
    IN_FLIGHT_STATUSES,
    NOT_PERFORMED_ERRORS,
    WAITING_STATUSES,
    cancel_payment,
    complete_payment_from_notification,
    decline_message,
)
from okpay_gateway.payments.refunds import refund_payment
from okpay_gateway.payments.replies import ChargeReply, call_charge, record_replies
from okpay_gateway.payments.resolution import (
    find_charge,
    resolve_payment,
    sending_is_fresh,
)

__all__: list[str] = [
    "CAPTURED_STATUSES",
    "CONTRACT_INACTIVE",
    "CONTRACT_NOT_APPROVED",
    "FINAL_PAYMENT_STATUSES",
    "IN_FLIGHT_STATUSES",
    "NOT_PERFORMED_ERRORS",
    "WAITING_STATUSES",
    "AgreementTerms",
    "ChargeAction",
    "ChargeReply",
    "ChargeRequest",
    "SyncReport",
    "authorize_on_contract",
    "begin_charges",
    "begin_contract_charge",
    "call_charge",
    "cancel_contract",
    "cancel_payment",
    "charge_contract",
    "charge_payment",
    "charge_waiting_payments",
    "complete_from_return",
    "complete_payment_from_notification",
    "contracts_for_reference",
    "decline_message",
    "find_charge",
    "finish_charge",
    "manual_invoice",
    "record_replies",
    "refund_payment",
    "register_channel_settings",
    "request_agreement",
    "resolve_payment",
    "sending_is_fresh",
    "settings_for_channel",
    "sync_contracts",
]
