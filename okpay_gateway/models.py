"""Durable state of the gateway: raw IPNs, contracts, payments and their ledger.

Record first, decide later: every inbound IPN is a ``Notification`` row before
anything looks at it, and every money movement leaves ``PaymentEvent`` rows
(append-only) before and after the call to OKPAY.
"""

from __future__ import annotations

import django
from django.conf import settings
from django.db import models

from okpay_gateway.enums import (
    CLOSED_CONTRACT_STATUSES as CLOSED_CONTRACT_STATUSES,
)
from okpay_gateway.enums import (
    LIVE_SUBSCRIPTION_STATUSES as LIVE_SUBSCRIPTION_STATUSES,
)
from okpay_gateway.enums import (
    ChargeAttemptStatus,
    ContractStatus,
    DecisionOutcome,
    FeePayer,
    SubscriptionStatus,
)

# Django 5.1 renamed CheckConstraint(check=...) to condition=...; 4.2 is supported.
_CHECK = "condition" if django.VERSION >= (5, 1) else "check"


class VerificationState(models.TextChoices):
    PENDING = "pending", "Not verified yet"
    VERIFIED = "verified", "Verified"
    TEST = "test", "Verified (TEST answer)"
    INVALID = "invalid", "INVALID (forged or tampered)"
    UNVERIFIABLE = "unverifiable", "Could not verify (will retry)"


class NotificationState(models.TextChoices):
    RECEIVED = "received", "Received"
    PROCESSED = "processed", "Processed"
    IGNORED = "ignored", "Acknowledged, nothing to do"
    DUPLICATE = "duplicate", "Duplicate"
    FLAGGED = "flagged", "Flagged"
    INVALID = "invalid", "Rejected: verification INVALID"
    MALFORMED = "malformed", "Rejected: malformed"
    TOO_LARGE = "too_large", "Rejected: body over the size cap"
    RETRY = "retry", "Waiting for re-verification"
    FAILED = "failed", "Failed with an unexpected error"


class Notification(models.Model):
    """One inbound IPN exactly as it arrived, and what became of it.

    Identical requests (same channel, content type and body bytes) share one
    row: ``fingerprint`` is unique, ``hit_count`` counts the arrivals and
    ``last_seen_at`` holds the latest. A body over the size cap is kept only
    as its first bytes (``body``) with its full length in ``body_length``.
    """

    body = models.BinaryField()
    content_type = models.CharField(max_length=255, blank=True)
    headers = models.JSONField(default=dict)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    received_at = models.DateTimeField(db_index=True)
    channel = models.CharField(max_length=100, blank=True)
    # SHA-256 (hex) of channel, content type and body; NULL on rows stored
    # before de-duplication existed.
    fingerprint = models.CharField(max_length=64, null=True, blank=True, unique=True)
    hit_count = models.PositiveIntegerField(default=1)
    last_seen_at = models.DateTimeField(null=True, blank=True, db_index=True)
    body_length = models.PositiveBigIntegerField(default=0)

    # Copied out of the body when it could be parsed, for search and admin.
    ipn_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    txn_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    txn_status = models.CharField(max_length=20, blank=True)
    event = models.CharField(max_length=30, blank=True)
    contract_okpay_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    invoice = models.CharField(max_length=127, blank=True, db_index=True)
    is_test = models.BooleanField(default=False)

    verification = models.CharField(
        max_length=20,
        choices=VerificationState.choices,
        default=VerificationState.PENDING,
    )
    verification_answer = models.CharField(max_length=255, blank=True)
    verify_attempts = models.PositiveIntegerField(default=0)
    next_verify_at = models.DateTimeField(null=True, blank=True, db_index=True)
    verified_at = models.DateTimeField(null=True, blank=True)

    state = models.CharField(
        max_length=20,
        choices=NotificationState.choices,
        default=NotificationState.RECEIVED,
        db_index=True,
    )
    flags = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        indexes = [models.Index(fields=["state", "next_verify_at"])]

    def __str__(self) -> str:
        label = self.event or self.txn_status or "ipn"
        return f"IPN {self.ipn_id or '?'} {label} ({self.state})"

    @property
    def flag_codes(self) -> list[str]:
        return [flag["code"] for flag in self.flags]


class ProcessedEvent(models.Model):
    """The key that makes applying an IPN happen at most once.

    Keys are ``ipn:<ok_ipn_id>``, ``txn:<ok_txn_id>:<status>`` and
    ``contract:<ok_p_id>:<event>:<status>``; the unique constraint, not a
    read-then-write check, is what stops concurrent duplicates.
    """

    key = models.CharField(max_length=120)
    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="processed_events"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key"], name="okpay_processed_event_key")
        ]

    def __str__(self) -> str:
        return self.key


class Contract(models.Model):
    """A pre-approved payment agreement (billing agreement) with one customer."""

    okpay_id = models.BigIntegerField(unique=True, null=True, blank=True)
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="okpay_contracts",
    )
    channel = models.CharField(max_length=100, blank=True)
    receiver_wallet = models.CharField(max_length=20)
    client_wallet = models.CharField(max_length=20, blank=True, db_index=True)
    client_email = models.EmailField(blank=True, db_index=True)
    client_phone = models.CharField(max_length=40, blank=True)
    client_name = models.CharField(max_length=255, blank=True)
    title = models.CharField(max_length=127)
    currency = models.CharField(max_length=3)
    daily_amount = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True
    )
    weekly_amount = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True
    )
    monthly_amount = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True
    )
    end_date = models.DateField(null=True, blank=True)
    fee_payer = models.CharField(
        max_length=10, choices=FeePayer.choices, default=FeePayer.MERCHANT
    )
    status = models.CharField(
        max_length=10,
        choices=ContractStatus.choices,
        default=ContractStatus.PENDING,
        db_index=True,
    )
    invoice = models.CharField(max_length=127, unique=True)
    available_amount = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True
    )
    # Recorded or granted by a TEST IPN (simulator, sandbox): only TEST IPNs
    # may change it, and TEST IPNs may change nothing else.
    is_test = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    granted_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.title} ({self.okpay_id or 'pending'})"

    @property
    def is_active(self) -> bool:
        return self.status == ContractStatus.ACTIVE


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACTION_REQUIRED = "action_required", "Waiting for the customer's approval"
    SENDING = "sending", "Charge sent, waiting for the answer"
    UNKNOWN = "unknown", "Outcome unknown (resolving)"
    COMPLETED = "completed", "Completed"
    DECLINED = "declined", "Declined"
    REFUNDED = "refunded", "Refunded"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    CANCELED = "canceled", "Canceled"


class Payment(models.Model):
    """One amount the shop wants from a customer, charged at most once.

    ``invoice`` is deterministic (derived from the shop's payment or the
    subscription period) and unique, so retries can only ever find the same
    row, and OKPAY refuses a second charge with the same invoice.
    """

    invoice = models.CharField(max_length=127, unique=True)
    contract = models.ForeignKey(
        Contract,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payments",
    )
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="okpay_payments",
    )
    channel = models.CharField(max_length=100, blank=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    description = models.CharField(max_length=255, blank=True)
    status = models.CharField(
        max_length=20,
        choices=PaymentStatus.choices,
        default=PaymentStatus.PENDING,
        db_index=True,
    )
    okpay_txn_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    fee = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    refunded_amount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    decline_code = models.CharField(max_length=60, blank=True)
    # What the host knows the payment by (Saleor's Payment pk / token).
    host_reference = models.CharField(max_length=255, blank=True, db_index=True)
    return_url = models.URLField(max_length=1000, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.invoice} {self.amount} {self.currency} ({self.status})"


class PaymentEventKind(models.TextChoices):
    CHARGE_REQUESTED = "charge_requested", "Charge requested"
    CHARGE_COMPLETED = "charge_completed", "Charge completed"
    CHARGE_DECLINED = "charge_declined", "Charge declined"
    CHARGE_UNKNOWN = "charge_unknown", "Charge outcome unknown"
    CHARGE_RESOLVED = "charge_resolved", "Unknown charge resolved"
    CAPTURE = "capture", "Capture"
    REFUND = "refund", "Refund"
    REFUND_FAILED = "refund_failed", "Refund failed"
    CANCEL = "cancel", "Cancel"
    CONTRACT_CANCEL = "contract_cancel", "Agreement canceled"
    CHECKOUT_LINK = "checkout_link", "Checkout link issued"


class PaymentEvent(models.Model):
    """Append-only ledger of everything that happened to money."""

    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    contract = models.ForeignKey(
        Contract, null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    kind = models.CharField(max_length=30, choices=PaymentEventKind.choices)
    amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    okpay_txn_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    invoice = models.CharField(max_length=127, blank=True, db_index=True)
    comment = models.CharField(max_length=255, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount or ''} {self.currency}".strip()

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("payment events are append-only")
        super().save(*args, **kwargs)


class ConfigurationAlert(models.Model):
    """OKPAY refused the shop's own set-up (wallet ID, API password, API access).

    One open row per channel and error code: the first failure opens it (and
    is logged at ERROR once), later ones only count. The merchant resolves it
    in the admin, or a successful credentials check on saving the plugin
    configuration does.
    """

    channel = models.CharField(max_length=100, blank=True)
    code = models.CharField(max_length=60)
    operation = models.CharField(max_length=60, blank=True)
    message = models.CharField(max_length=255)
    occurrences = models.PositiveIntegerField(default=1)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_seen_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "code"],
                condition=models.Q(resolved_at__isnull=True),
                name="okpay_alert_one_open_per_channel_code",
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} on channel {self.channel or '(default)'}"


# --- billing: subscriptions and renewals -----------------------------------------
# Owned by okpay_gateway.billing (flow D). The statuses mirror
# okpay_gateway.billing.states, the one table of allowed transitions.


class IntervalUnit(models.TextChoices):
    DAY = "day", "Day"
    WEEK = "week", "Week"
    MONTH = "month", "Month"
    YEAR = "year", "Year"


class Subscription(models.Model):
    """A recurring charge of ``amount`` on a contract, once per billing period.

    Period ``period_index`` is the next one to charge; it starts (and is due)
    at ``next_charge_at`` unless dunning moved that to a retry time.
    ``claimed_until``/``claim_token`` are a short lease taken by the worker
    that processes the subscription, so two workers never charge it at once.
    """

    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="okpay_subscriptions",
    )
    email = models.EmailField(blank=True)
    contract = models.ForeignKey(
        Contract, on_delete=models.PROTECT, related_name="subscriptions"
    )
    channel = models.CharField(max_length=100, blank=True)
    title = models.CharField(max_length=127)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    interval_unit = models.CharField(max_length=5, choices=IntervalUnit.choices)
    interval_count = models.PositiveSmallIntegerField(default=1)
    anchor = models.DateTimeField()
    # The subscription's own end (None: until canceled); the agreement's end
    # date is the contract's.
    ends_at = models.DateTimeField(null=True, blank=True)
    period_index = models.PositiveIntegerField(default=0)
    next_charge_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=10,
        choices=SubscriptionStatus.choices,
        default=SubscriptionStatus.ACTIVE,
    )
    consecutive_failures = models.PositiveSmallIntegerField(default=0)
    last_failed_at = models.DateTimeField(null=True, blank=True)
    suspended_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=40, blank=True)
    # Where it came from (e.g. "saleor-order-line:<id>"): creating it twice
    # from the same purchase finds the first one.
    origin = models.CharField(max_length=255, blank=True)
    reminded_period = models.IntegerField(null=True, blank=True)
    expiry_notice_sent_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    # The run that last claimed it: a run never takes a subscription twice.
    last_run = models.ForeignKey(
        "RenewalRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pk"]
        indexes = [
            models.Index(fields=["status", "next_charge_at"], name="okpay_sub_due_idx")
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["origin"],
                condition=~models.Q(origin=""),
                name="okpay_subscription_origin",
            ),
            models.CheckConstraint(
                **{_CHECK: models.Q(amount__gt=0)}, name="okpay_subscription_amount"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} #{self.pk} ({self.status})"


class ChargeAttempt(models.Model):
    """The charge of one subscription period; written before the SOAP call.

    ``invoice`` is ``<subscription>-<period>`` and unique: a period can only
    ever be charged under this one invoice, whichever worker gets there.
    Retries of a declined period reuse the row (``tries`` counts them).
    """

    subscription = models.ForeignKey(
        Subscription, on_delete=models.PROTECT, related_name="charge_attempts"
    )
    period_index = models.PositiveIntegerField()
    invoice = models.CharField(max_length=127, unique=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(
        max_length=10,
        choices=ChargeAttemptStatus.choices,
        default=ChargeAttemptStatus.SENDING,
        db_index=True,
    )
    payment = models.ForeignKey(
        Payment,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="charge_attempts",
    )
    decline_code = models.CharField(max_length=60, blank=True)
    tries = models.PositiveSmallIntegerField(default=0)
    last_tried_at = models.DateTimeField(null=True, blank=True)
    charged_at = models.DateTimeField(null=True, blank=True)
    resolve_tries = models.PositiveSmallIntegerField(default=0)
    next_resolve_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "period_index"],
                name="okpay_charge_attempt_period",
            )
        ]
        indexes = [
            models.Index(
                fields=["status", "next_resolve_at"], name="okpay_attempt_resolve_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.invoice} ({self.status})"


class RenewalRun(models.Model):
    """One pass of the renewal engine (command, Celery beat, admin)."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    # The engine's "now" (injectable clock); usually equal to started_at.
    as_of = models.DateTimeField()
    trigger = models.CharField(max_length=20, default="command")
    summary = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return f"renewal run {self.pk} at {self.as_of:%Y-%m-%d %H:%M}"


class RenewalDecision(models.Model):
    """What a run decided for one due subscription (one row per run and subscription)."""

    run = models.ForeignKey(
        RenewalRun,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="decisions",
    )
    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="decisions"
    )
    period_index = models.PositiveIntegerField()
    attempt = models.ForeignKey(
        ChargeAttempt,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="decisions",
    )
    outcome = models.CharField(max_length=10, choices=DecisionOutcome.choices)
    # Skip reason, OKPAY decline code or error code.
    reason = models.CharField(max_length=60, blank=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    decided_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-decided_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "subscription"], name="okpay_decision_per_run"
            )
        ]

    def __str__(self) -> str:
        suffix = f" ({self.reason})" if self.reason else ""
        return f"{self.subscription_id}-{self.period_index}: {self.outcome}{suffix}"
