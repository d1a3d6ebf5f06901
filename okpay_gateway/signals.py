"""Signals sent on every state change the shop may care about.

Every signal is sent after the database transaction that made the change
has committed, so receivers always see the new state.
"""

from __future__ import annotations

from django.dispatch import Signal

# sender: Contract class; kwargs: contract
contract_granted = Signal()
# kwargs: contract, reason ("canceled" | "expired" | "failed" | "revoked")
contract_closed = Signal()
# kwargs: payment
payment_completed = Signal()
# kwargs: payment, code
payment_declined = Signal()
# kwargs: payment (status UNKNOWN: a read timeout or crash after sending)
payment_outcome_unknown = Signal()
# kwargs: payment, amount
payment_refunded = Signal()
# sender: ConfigurationAlert class; kwargs: alert (OKPAY refused the shop's
# wallet ID / API password; sent once per alert, not per failed call)
configuration_failed = Signal()
# kwargs: notification, flags
notification_flagged = Signal()
# kwargs: notification
notification_processed = Signal()

# --- billing (okpay_gateway.billing) -----------------------------------------------
# sender: Subscription class. Sent after the change has committed.
# kwargs: subscription, attempt, payment, period
subscription_renewed = Signal()
# kwargs: subscription, attempt, code, step (DunningStep)
subscription_past_due = Signal()
# kwargs: subscription, attempt (None when suspended without a new decline), step
subscription_suspended = Signal()
# kwargs: subscription, reason ("dunning" | "contract_canceled" | "merchant" | ...)
subscription_canceled = Signal()
# kwargs: subscription, reason ("term_over" | "contract_expired")
subscription_expired = Signal()
# kwargs: subscription, attempt, code, step (every declined renewal charge)
renewal_declined = Signal()
