"""Tables of the stand-in OKPAY: wallets, agreements, transactions, IPNs, clock, faults.

These are OKPAY's books, not the shop's: nothing here knows about the
gateway's own models. Identifiers (wallet IDs, contract and transaction IDs,
IPN IDs) come from :class:`Sequence` so they look like OKPAY's and are
handed out without races.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth.hashers import check_password, make_password
from django.db import models, transaction
from django.db.models import Q


class Currency(models.TextChoices):
    USD = "USD"
    EUR = "EUR"
    GBP = "GBP"


class VerificationStatus(models.TextChoices):
    """``link:VerificationStatuses``."""

    UNVERIFIED = "Unverified"
    FORMAL = "Formal"
    VERIFIED = "Verified"


class ContractStatus(models.TextChoices):
    """``api:PreapprovedPaymentStatuses`` (OKPAY spells ``Canceled`` with one l)."""

    ACTIVE = "Active"
    CANCELED = "Canceled"
    FAILED = "Failed"
    EXPIRED = "Expired"


class OperationStatus(models.TextChoices):
    """``api:OperationStatus``: the status of a transaction."""

    NONE = "None"
    ERROR = "Error"
    CANCELED = "Canceled"
    PENDING = "Pending"
    REVERSED = "Reversed"
    HOLD = "Hold"
    COMPLETED = "Completed"


class FeeSide(models.TextChoices):
    SENDER = "sender"
    RECEIVER = "receiver"


class IpnStatus(models.TextChoices):
    """The statuses of OKPAY's IPN History page."""

    QUEUED = "Queued"
    SENT = "Sent"
    RETRYING = "Retrying"
    FAILED = "Failed"


class FaultKind(models.TextChoices):
    FAULT = "fault", "answer with a SOAP fault (fault_code)"
    HTTP_500 = "http_500", "answer HTTP 500 without a SOAP envelope"
    SLOW = "slow", "wait delay_seconds, then do the call"
    APPLIED_LATE = "applied_late", "do the call and commit, then wait delay_seconds"
    INVALID_VERIFY = "invalid_verify", "ipn-verify answers INVALID"
    DUPLICATE_IPN = "duplicate_ipn", "deliver the IPN twice"
    OUT_OF_ORDER_IPN = "out_of_order_ipn", "hold the IPN back behind the next one"
    IPN_ENDPOINT_DOWN = "ipn_endpoint_down", "treat the listener as unreachable"


MONEY = {"max_digits": 18, "decimal_places": 2}
ZERO = Decimal("0.00")


class Sequence(models.Model):
    """A named counter: the last value handed out."""

    name = models.CharField(max_length=40, primary_key=True)
    last_value = models.BigIntegerField()

    class Meta:
        verbose_name = "identifier sequence"

    def __str__(self) -> str:
        return f"{self.name}={self.last_value}"

    @classmethod
    def next_value(cls, name: str, start: int) -> int:
        """The next value of ``name``; the first call returns ``start``."""
        with transaction.atomic():
            row = cls.objects.select_for_update().filter(name=name).first()
            if row is None:
                cls.objects.create(name=name, last_value=start)
                return start
            row.last_value += 1
            row.save(update_fields=["last_value"])
            return row.last_value


class Wallet(models.Model):
    """An OKPAY account with its wallet: merchant and customer alike."""

    wallet_id = models.CharField(max_length=11, unique=True)
    account_id = models.BigIntegerField(unique=True)
    email = models.EmailField(unique=True)
    name = models.CharField(max_length=127, blank=True)
    country_iso = models.CharField(max_length=3, blank=True)
    # Login password of the checkout pages, hashed like a Django user's.
    password = models.CharField(max_length=128, blank=True)
    # The API password is a test double's secret: stored so the emulator can
    # recompute tokens; never logged, never shown in repr.
    api_password = models.CharField(max_length=128, blank=True)
    api_enabled = models.BooleanField(default=True)
    # Whitespace/comma separated addresses or networks; empty means any address.
    ip_allow_list = models.TextField(blank=True)
    ipn_url = models.URLField(max_length=500, blank=True)
    verification_status = models.CharField(
        max_length=12,
        choices=VerificationStatus.choices,
        default=VerificationStatus.VERIFIED,
    )
    blocked = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["wallet_id"]

    def __str__(self) -> str:
        return self.wallet_id

    def __repr__(self) -> str:
        return f"<Wallet {self.wallet_id} {self.email}>"

    def set_password(self, raw_password: str) -> None:
        self.password = make_password(raw_password)

    def check_password(self, raw_password: str) -> bool:
        return bool(self.password) and check_password(raw_password, self.password)

    def balance(self, currency: str) -> Decimal:
        row = self.balances.filter(currency=currency).first()
        return row.amount if row else ZERO


class Balance(models.Model):
    wallet = models.ForeignKey(
        Wallet, on_delete=models.CASCADE, related_name="balances"
    )
    currency = models.CharField(max_length=3, choices=Currency.choices)
    amount = models.DecimalField(default=ZERO, **MONEY)

    class Meta:
        ordering = ["wallet", "currency"]
        constraints = [
            models.UniqueConstraint(
                fields=["wallet", "currency"], name="okpay_emu_balance_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.wallet_id}: {self.amount} {self.currency}"


class Contract(models.Model):
    """A pre-approved payment agreement (``dc:PreapprovedPayment``)."""

    id = models.BigIntegerField(primary_key=True)
    receiver = models.ForeignKey(
        Wallet, on_delete=models.PROTECT, related_name="contracts_received"
    )
    client = models.ForeignKey(
        Wallet, on_delete=models.PROTECT, related_name="contracts_granted"
    )
    title = models.CharField(max_length=127)
    currency = models.CharField(max_length=3, choices=Currency.choices)
    daily_limit = models.DecimalField(null=True, blank=True, **MONEY)
    weekly_limit = models.DecimalField(null=True, blank=True, **MONEY)
    monthly_limit = models.DecimalField(null=True, blank=True, **MONEY)
    # Inclusive: the agreement is valid until 23:59:59 UTC of this day (A13).
    end_date = models.DateField(null=True, blank=True)
    client_pays_fee = models.BooleanField(default=False)
    status = models.CharField(
        max_length=10, choices=ContractStatus.choices, default=ContractStatus.ACTIVE
    )
    invoice = models.CharField(max_length=127, blank=True)
    ipn_url = models.URLField(max_length=500, blank=True)
    return_success_url = models.URLField(max_length=500, blank=True)
    return_fail_url = models.URLField(max_length=500, blank=True)
    # Emulator time, not wall-clock time.
    created_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    payments_done = models.IntegerField(default=0)
    payments_amount = models.DecimalField(default=ZERO, **MONEY)
    last_payment_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["receiver", "status"])]

    def __str__(self) -> str:
        return f"contract {self.id} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status == ContractStatus.ACTIVE


class Transaction(models.Model):
    """A completed (or otherwise final) money movement (``api:TransactionInfo``).

    ``amount`` is the gross, ``net`` what the receiver got; the sender paid
    ``amount + fee`` when ``fee_payer`` is the sender, else ``amount``.
    ``merchant`` is the wallet whose ``invoice`` this is (the API caller or
    the checkout receiver); an invoice is unique per merchant.
    """

    id = models.BigIntegerField(primary_key=True)
    sender = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="sent")
    receiver = models.ForeignKey(
        Wallet, on_delete=models.PROTECT, related_name="received"
    )
    merchant = models.ForeignKey(
        Wallet,
        on_delete=models.PROTECT,
        related_name="invoiced",
        null=True,
        blank=True,
    )
    amount = models.DecimalField(**MONEY)
    fee = models.DecimalField(default=ZERO, **MONEY)
    net = models.DecimalField(**MONEY)
    fee_payer = models.CharField(
        max_length=8, choices=FeeSide.choices, default=FeeSide.RECEIVER
    )
    currency = models.CharField(max_length=3, choices=Currency.choices)
    comment = models.TextField(blank=True)
    # NULL, not "", means "no invoice" so the per-merchant unique constraint skips it.
    invoice = models.CharField(max_length=127, null=True, blank=True)  # noqa: DJ001
    operation_name = models.CharField(max_length=60, default="Transfer")
    status = models.CharField(
        max_length=10,
        choices=OperationStatus.choices,
        default=OperationStatus.COMPLETED,
    )
    pending_reason = models.CharField(max_length=40, blank=True)
    contract = models.ForeignKey(
        Contract,
        on_delete=models.PROTECT,
        related_name="transactions",
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "invoice"],
                condition=Q(invoice__isnull=False),
                name="okpay_emu_invoice_per_merchant",
            )
        ]
        indexes = [models.Index(fields=["contract", "status", "created_at"])]

    def __str__(self) -> str:
        return f"txn {self.id} {self.amount} {self.currency} ({self.status})"

    @property
    def sender_debit(self) -> Decimal:
        return self.amount + (self.fee if self.fee_payer == FeeSide.SENDER else ZERO)


class IpnMessage(models.Model):
    """One IPN as OKPAY would send it, kept for redelivery and for ``/ipn-verify``."""

    ipn_id = models.BigIntegerField(unique=True)
    url = models.URLField(max_length=500)
    # [[name, value], ...] in send order: the verify postback compares them.
    fields = models.JSONField(default=list)
    is_test = models.BooleanField(default=False)
    event = models.CharField(max_length=40, blank=True)
    contract = models.ForeignKey(
        Contract,
        on_delete=models.SET_NULL,
        related_name="ipn_messages",
        null=True,
        blank=True,
    )
    transaction = models.ForeignKey(
        Transaction,
        on_delete=models.SET_NULL,
        related_name="ipn_messages",
        null=True,
        blank=True,
    )
    status = models.CharField(
        max_length=10, choices=IpnStatus.choices, default=IpnStatus.QUEUED
    )
    attempts = models.IntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.IntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-ipn_id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"IPN {self.ipn_id} {self.event} ({self.status})"

    def field_dict(self) -> dict[str, str]:
        return {str(pair[0]): str(pair[1]) for pair in self.fields}


class IpnDeliveryAttempt(models.Model):
    message = models.ForeignKey(
        IpnMessage, on_delete=models.CASCADE, related_name="delivery_attempts"
    )
    attempted_at = models.DateTimeField()
    status_code = models.IntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.IntegerField(null=True, blank=True)

    class Meta:
        ordering = ["attempted_at", "id"]

    def __str__(self) -> str:
        return f"attempt {self.pk} of IPN {self.message_id}: {self.status_code}"


class EmulatorClock(models.Model):
    """The single row holding emulator time (see :mod:`.clock`)."""

    SINGLETON_ID = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_ID)
    frozen_at = models.DateTimeField(null=True, blank=True)
    offset_seconds = models.DecimalField(max_digits=18, decimal_places=6, default=0)

    class Meta:
        verbose_name = "emulator clock"

    def __str__(self) -> str:
        if self.frozen_at is not None:
            return f"frozen at {self.frozen_at.isoformat()}"
        return f"real time {self.offset_seconds:+}s"


class FaultRule(models.Model):
    """A scripted misbehaviour; empty targets match anything (see :mod:`.faults`)."""

    wallet_id = models.CharField(max_length=11, blank=True)
    contract_id = models.BigIntegerField(null=True, blank=True)
    operation = models.CharField(max_length=60, blank=True)
    kind = models.CharField(max_length=20, choices=FaultKind.choices)
    fault_code = models.CharField(max_length=60, blank=True)
    delay_seconds = models.DecimalField(max_digits=9, decimal_places=3, default=0)
    # None: every matching call; n: the next n matching calls.
    remaining_uses = models.IntegerField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        target = self.operation or "*"
        return f"{self.kind} on {target} ({self.remaining_uses or 'always'})"
