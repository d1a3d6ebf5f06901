"""OKPAY's business operations on the emulator's books.

Every function that moves money or changes an agreement runs in one database
transaction and locks what it changes (the contract, then the balances in
primary-key order) so concurrent calls serialise the way OKPAY's would.
A refusal raises :class:`Refused` carrying the OKPAY fault code; the SOAP
endpoint turns it into a SOAP fault, the checkout pages into an error page.

IPNs are queued through ``okpay_gateway.emulator.ipn_sender.notify_contract_event``
inside the same transaction (an outbox row commits with the state change).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q

from okpay_gateway.emulator import clock, ipn_sender, rules
from okpay_gateway.emulator.models import (
    Balance,
    Contract,
    ContractStatus,
    FeeSide,
    OperationStatus,
    Transaction,
    VerificationStatus,
    Wallet,
)
from okpay_gateway.emulator.models import Sequence as IdSequence
from okpay_gateway.emulator.rules import FaultCode
from okpay_gateway.emulator.settings import get_settings
from okpay_gateway.provider.currencies import CENT

logger = logging.getLogger(__name__)

CHARGE_OPERATION_NAME = "Preapproved Payment"
TRANSFER_OPERATION_NAME = "Transfer"


class Refused(Exception):
    """OKPAY refuses the request with ``code`` (its fault-code spelling)."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = str(code)
        self.detail = detail


# --- identifiers and wallets -------------------------------------------------


def next_contract_id() -> int:
    return IdSequence.next_value("contract", get_settings().contract_id_start)


def next_transaction_id() -> int:
    return IdSequence.next_value("transaction", get_settings().transaction_id_start)


def create_wallet(
    *,
    email: str,
    name: str = "",
    api_password: str = "",
    password: str | None = None,
    balances: dict[str, Decimal | str | int] | None = None,
    wallet_id: str | None = None,
    account_id: int | None = None,
    api_enabled: bool = True,
    ip_allow_list: str = "",
    ipn_url: str = "",
    verification_status: str = VerificationStatus.VERIFIED,
    country_iso: str = "",
) -> Wallet:
    """A new wallet with its balances; IDs are generated unless given."""
    current = get_settings()
    with transaction.atomic():
        if account_id is None:
            account_id = IdSequence.next_value("account", current.account_id_start)
        if wallet_id is None:
            number = IdSequence.next_value("wallet", current.wallet_number_start)
            wallet_id = f"OK{number:09d}"
        wallet = Wallet(
            wallet_id=wallet_id,
            account_id=account_id,
            email=email,
            name=name,
            api_password=api_password,
            api_enabled=api_enabled,
            ip_allow_list=ip_allow_list,
            ipn_url=ipn_url,
            verification_status=verification_status,
            country_iso=country_iso,
        )
        if password:
            wallet.set_password(password)
        wallet.save()
        for currency, amount in (balances or {}).items():
            set_balance(wallet, currency, Decimal(str(amount)))
    return wallet


def set_balance(wallet: Wallet, currency: str, amount: Decimal) -> Balance:
    """Set a balance outright (seeding and the control pages)."""
    row, _ = Balance.objects.update_or_create(
        wallet=wallet,
        currency=currency.upper(),
        defaults={"amount": Decimal(amount).quantize(CENT)},
    )
    return row


def find_wallet(identifier: str | None) -> Wallet | None:
    """A wallet by wallet ID (``OK`` + 9 digits) or e-mail, case-insensitively."""
    text = (identifier or "").strip()
    if not text:
        return None
    if "@" in text:
        return Wallet.objects.filter(email__iexact=text).first()
    return Wallet.objects.filter(wallet_id__iexact=text).first()


def account_check(identifier: str | None) -> int:
    """``Account_Check``: the account ID of a wallet ID or e-mail, 0 if unknown (G11)."""
    wallet = find_wallet(identifier)
    return wallet.account_id if wallet is not None else 0


def wallet_balances(wallet: Wallet) -> list[Balance]:
    return list(wallet.balances.order_by("currency"))


def currency_balance(wallet: Wallet, currency: str | None) -> tuple[str, Decimal]:
    """``(currency, amount)``; an unsupported currency is ``Currency_Not_Supported``."""
    code = rules.normalise_currency(currency, get_settings().currencies)
    if code is None:
        raise Refused(FaultCode.CURRENCY_NOT_SUPPORTED, str(currency))
    return code, wallet.balance(code)


# --- money movement ----------------------------------------------------------


def _lock_balances(
    sender: Wallet, receiver: Wallet, currency: str
) -> dict[int, Balance]:
    ids = sorted({sender.pk, receiver.pk})
    query = (
        Balance.objects.select_for_update()
        .filter(wallet_id__in=ids, currency=currency)
        .order_by("pk")
    )
    rows = {row.wallet_id: row for row in query}
    if len(rows) == len(ids):
        return rows
    # A wallet without a row in this currency yet: create it, then lock again.
    for wallet_pk in ids:
        Balance.objects.get_or_create(wallet_id=wallet_pk, currency=currency)
    return {row.wallet_id: row for row in query.all()}


def transfer(
    *,
    sender: Wallet,
    receiver: Wallet,
    amount: Decimal,
    currency: str,
    sender_pays_fee: bool,
    merchant: Wallet | None = None,
    invoice: str | None = None,
    comment: str = "",
    operation_name: str = TRANSFER_OPERATION_NAME,
    contract: Contract | None = None,
    status: str = OperationStatus.COMPLETED,
    now: datetime | None = None,
) -> Transaction:
    """Move ``amount`` (plus or minus the fee) and record the transaction.

    Also what the checkout pages call for a plain payment. ``merchant`` owns
    ``invoice``: a second transaction with the same pair is ``Duplicate_Payment``.
    """
    code = rules.check_amount(amount)
    if code:
        raise Refused(code, f"amount {amount}")
    currency_code = rules.normalise_currency(currency, get_settings().currencies)
    if currency_code is None:
        raise Refused(FaultCode.CURRENCY_NOT_SUPPORTED, str(currency))
    if sender.pk == receiver.pk:
        raise Refused(FaultCode.MONEY_TRANSFER_TO_YOURSELF)
    if sender.blocked:
        raise Refused(FaultCode.SOURCE_ACCOUNT_BLOCKED)
    if receiver.blocked:
        raise Refused(FaultCode.TARGET_ACCOUNT_BLOCKED)
    invoice = invoice or None
    at = now or clock.now()
    settlement = rules.settle(
        Decimal(amount), currency_code, sender_pays_fee=sender_pays_fee
    )
    with transaction.atomic():
        if (
            invoice is not None
            and merchant is not None
            and Transaction.objects.filter(merchant=merchant, invoice=invoice).exists()
        ):
            raise Refused(FaultCode.DUPLICATE_PAYMENT, invoice)
        balances = _lock_balances(sender, receiver, currency_code)
        source, target = balances[sender.pk], balances[receiver.pk]
        if source.amount < settlement.sender_debit:
            raise Refused(FaultCode.NOT_ENOUGH_MONEY)
        source.amount -= settlement.sender_debit
        target.amount += settlement.receiver_credit
        source.save(update_fields=["amount"])
        target.save(update_fields=["amount"])
        try:
            with transaction.atomic():
                txn = Transaction.objects.create(
                    id=next_transaction_id(),
                    sender=sender,
                    receiver=receiver,
                    merchant=merchant,
                    amount=settlement.amount,
                    fee=settlement.fee,
                    net=settlement.net,
                    fee_payer=FeeSide.SENDER if sender_pays_fee else FeeSide.RECEIVER,
                    currency=currency_code,
                    comment=comment or "",
                    invoice=invoice,
                    operation_name=operation_name,
                    status=status,
                    contract=contract,
                    created_at=at,
                )
        except IntegrityError as exc:
            # A concurrent call filed the same invoice between our check and insert.
            raise Refused(FaultCode.DUPLICATE_PAYMENT, str(invoice)) from exc
    logger.info(
        "emulator transfer %s: %s %s from %s to %s",
        txn.id,
        txn.amount,
        txn.currency,
        sender.wallet_id,
        receiver.wallet_id,
    )
    return txn


def send_money(
    *,
    sender: Wallet,
    receiver: str | None,
    currency: str | None,
    amount: Decimal | None,
    comment: str | None = None,
    receiver_pays_fees: bool = False,
    invoice: str | None = None,
    now: datetime | None = None,
) -> Transaction:
    """``Send_Money``: to a wallet ID or e-mail; the sender pays the fee unless told otherwise."""
    code = rules.check_amount(amount)
    if code:
        raise Refused(code)
    target = find_wallet(receiver)
    if target is None:
        raise Refused(FaultCode.RECEIVER_NOT_FOUND, str(receiver))
    return transfer(
        sender=sender,
        receiver=target,
        amount=Decimal(amount),
        currency=currency or "",
        sender_pays_fee=not receiver_pays_fees,
        merchant=sender,
        invoice=invoice,
        comment=comment or "",
        operation_name=TRANSFER_OPERATION_NAME,
        now=now,
    )


# --- pre-approved agreements -------------------------------------------------


def grant_contract(
    *,
    receiver: Wallet,
    client: Wallet,
    title: str,
    currency: str,
    daily_limit: Decimal | None = None,
    weekly_limit: Decimal | None = None,
    monthly_limit: Decimal | None = None,
    end_date: date | None = None,
    client_pays_fee: bool = False,
    invoice: str = "",
    ipn_url: str = "",
    return_success_url: str = "",
    return_fail_url: str = "",
    status: str = ContractStatus.ACTIVE,
    notify: bool = True,
    now: datetime | None = None,
) -> Contract:
    """Record an agreement the client approved (or, with ``status=Failed``, declined).

    With ``notify`` the ``access_granted`` (or ``access_denied``) IPN is queued.
    """
    at = now or clock.now()
    currency_code = rules.normalise_currency(currency, get_settings().currencies)
    if currency_code is None:
        raise Refused(FaultCode.CURRENCY_NOT_SUPPORTED, str(currency))
    with transaction.atomic():
        contract = Contract.objects.create(
            id=next_contract_id(),
            receiver=receiver,
            client=client,
            title=title,
            currency=currency_code,
            daily_limit=daily_limit,
            weekly_limit=weekly_limit,
            monthly_limit=monthly_limit,
            end_date=end_date,
            client_pays_fee=client_pays_fee,
            status=status,
            invoice=invoice or "",
            ipn_url=ipn_url,
            return_success_url=return_success_url,
            return_fail_url=return_fail_url,
            created_at=at,
            closed_at=None if status == ContractStatus.ACTIVE else at,
        )
        if notify:
            event = (
                "access_granted" if status == ContractStatus.ACTIVE else "access_denied"
            )
            _notify(contract, event)
    return contract


def contract_limits(contract: Contract) -> rules.Limits:
    return rules.Limits(
        daily=contract.daily_limit,
        weekly=contract.weekly_limit,
        monthly=contract.monthly_limit,
    )


def contract_spent(contract: Contract, now: datetime) -> rules.Spent:
    """Completed charges of the agreement in the day/week/month windows around ``now``."""
    since = rules.windows_at(now).earliest
    charges = contract.transactions.filter(
        status=OperationStatus.COMPLETED, created_at__gte=since
    ).values_list("created_at", "amount")
    return rules.spent_in_windows(charges, now)


def contract_available_amount(
    contract: Contract, now: datetime | None = None
) -> Decimal:
    """``PreapprovedPayment.AvailableAmount`` (see :func:`.rules.available_amount`)."""
    at = now or clock.now()
    return rules.available_amount(
        active=contract.is_active,
        end_date=contract.end_date,
        limits=contract_limits(contract),
        spent=contract_spent(contract, at),
        now=at,
        unlimited=get_settings().unlimited_available_amount,
    )


def _notify(
    contract: Contract, event: str, *, transaction: Transaction | None = None
) -> None:
    ipn_sender.notify_contract_event(contract, event, transaction=transaction)


def _contract_for(
    wallet: Wallet, contract_id: int | None, *, lock: bool, client_may: bool = False
) -> Contract:
    query = Contract.objects.select_related("receiver", "client")
    if lock:
        query = query.select_for_update(of=("self",))
    contract = query.filter(pk=contract_id or 0).first()
    if contract is None:
        raise Refused(FaultCode.PREAPPROVED_PAYMENT_NOT_FOUND, str(contract_id))
    allowed = {contract.receiver_id} | ({contract.client_id} if client_may else set())
    if wallet.pk not in allowed:
        raise Refused(FaultCode.ACCESS_DENIED, f"contract {contract_id}")
    return contract


def get_contract(*, wallet: Wallet, contract_id: int | None) -> Contract:
    """``PreapprovedPayment_Get``: the merchant's (or client's) own agreement."""
    return _contract_for(wallet, contract_id, lock=False, client_may=True)


def filter_contracts(
    *,
    merchant: Wallet,
    title: str | None = None,
    invoice: str | None = None,
    client: str | None = None,
    statuses: Iterable[str] | None = None,
) -> list[Contract]:
    """``PreapprovedPayments_Filter``: the merchant's agreements, newest first.

    ``title`` matches case-insensitively as a substring, ``invoice`` exactly,
    ``client`` is the client's wallet ID or e-mail; empty criteria are ignored.
    """
    query = Contract.objects.filter(receiver=merchant).select_related(
        "receiver", "client"
    )
    if title:
        query = query.filter(title__icontains=title)
    if invoice:
        query = query.filter(invoice=invoice)
    if client:
        query = query.filter(
            Q(client__wallet_id__iexact=client) | Q(client__email__iexact=client)
        )
    wanted = [str(s) for s in (statuses or []) if s]
    if wanted:
        query = query.filter(status__in=wanted)
    return list(query.order_by("-id"))


def contract_operations(
    *, wallet: Wallet, contract_id: int | None
) -> list[Transaction]:
    """``PreapprovedPayment_Get_Operations``: the agreement's transactions, newest first."""
    contract = _contract_for(wallet, contract_id, lock=False, client_may=True)
    return list(
        contract.transactions.select_related("sender", "receiver").order_by(
            "-created_at", "-id"
        )
    )


def _expire_if_due(contract_id: int | None, now: datetime) -> None:
    # Most agreements are nowhere near their end: one plain read decides
    # whether the locking transaction is needed at all.
    if not Contract.objects.filter(
        pk=contract_id or 0,
        status=ContractStatus.ACTIVE,
        end_date__lt=rules.windows_at(now).day.date(),
    ).exists():
        return
    with transaction.atomic():
        contract = (
            Contract.objects.select_for_update()
            .filter(pk=contract_id or 0, status=ContractStatus.ACTIVE)
            .first()
        )
        if contract is not None and rules.is_past_end_date(contract.end_date, now):
            _close(contract, ContractStatus.EXPIRED, now)


def _close(contract: Contract, status: str, now: datetime) -> None:
    contract.status = status
    contract.closed_at = now
    contract.save(update_fields=["status", "closed_at"])
    logger.info("emulator contract %s is now %s", contract.id, status)
    _notify(contract, "access_denied")


def charge_contract(
    *,
    merchant: Wallet,
    contract_id: int | None,
    amount: Decimal | None,
    comment: str | None = None,
    receiver: str | None = None,
    invoice: str | None = None,
    now: datetime | None = None,
) -> Transaction:
    """``PreapprovedPayment_Charge``: take ``amount`` from the client under the agreement.

    Checks, in order: amount (``Incorrect_Amount``), agreement exists
    (``PreapprovedPayment_Not_Found``) and belongs to the caller
    (``Access_Denied``), end date (an overdue agreement is expired first, then
    refused), status Active (``Incompatible_PreapprovedPayment_Status``),
    ``receiver`` (G12; ``Receiver_Not_Found``), invoice unused
    (``Duplicate_Payment``), limits (``Limits_Exceeded``), funds
    (``Not_Enough_Money``). The fee is the merchant's unless the agreement
    says the client pays. A ``payment`` IPN is queued with the transaction.
    """
    at = now or clock.now()
    code = rules.check_amount(amount)
    if code:
        raise Refused(code)
    amount = Decimal(amount)
    # The expiry must survive the refusal that follows, so it commits on its own.
    _expire_if_due(contract_id, at)
    with transaction.atomic():
        contract = _contract_for(merchant, contract_id, lock=True)
        if not contract.is_active:
            raise Refused(
                FaultCode.INCOMPATIBLE_PREAPPROVED_PAYMENT_STATUS, contract.status
            )
        target = contract.receiver
        if receiver:
            target = find_wallet(receiver)
            if target is None:
                raise Refused(FaultCode.RECEIVER_NOT_FOUND, receiver)
        if (
            invoice
            and Transaction.objects.filter(merchant=merchant, invoice=invoice).exists()
        ):
            raise Refused(FaultCode.DUPLICATE_PAYMENT, invoice)
        code = rules.check_limits(
            amount, contract_limits(contract), contract_spent(contract, at)
        )
        if code:
            raise Refused(code)
        txn = transfer(
            sender=contract.client,
            receiver=target,
            amount=amount,
            currency=contract.currency,
            sender_pays_fee=contract.client_pays_fee,
            merchant=merchant,
            invoice=invoice,
            comment=comment or "",
            operation_name=CHARGE_OPERATION_NAME,
            contract=contract,
            now=at,
        )
        contract.payments_done += 1
        contract.payments_amount += txn.amount
        contract.last_payment_at = at
        contract.save(
            update_fields=["payments_done", "payments_amount", "last_payment_at"]
        )
        _notify(contract, "payment", transaction=txn)
    return txn


def cancel_contract(
    *,
    wallet: Wallet,
    contract_id: int | None,
    comment: str | None = None,
    now: datetime | None = None,
) -> Contract:
    """``PreapprovedPayment_Cancel`` (merchant) or a revocation (client): final.

    Only an Active agreement can be canceled; anything else is
    ``Incompatible_PreapprovedPayment_Status``. Queues the
    ``access_denied``/``canceled`` IPN.
    """
    at = now or clock.now()
    _expire_if_due(contract_id, at)
    with transaction.atomic():
        contract = _contract_for(wallet, contract_id, lock=True, client_may=True)
        if not contract.is_active:
            raise Refused(
                FaultCode.INCOMPATIBLE_PREAPPROVED_PAYMENT_STATUS, contract.status
            )
        if comment:
            logger.info("emulator contract %s canceled: %s", contract.id, comment[:200])
        _close(contract, ContractStatus.CANCELED, at)
    return contract


def expire_due_contracts(now: datetime | None = None) -> list[Contract]:
    """Expire every Active agreement whose (inclusive) end date is over; queue their IPNs."""
    at = now or clock.now()
    today = rules.windows_at(at).day.date()
    expired: list[Contract] = []
    due = Contract.objects.filter(status=ContractStatus.ACTIVE, end_date__lt=today)
    for contract_id in due.values_list("pk", flat=True).order_by("pk"):
        with transaction.atomic():
            contract = (
                Contract.objects.select_for_update()
                .filter(pk=contract_id, status=ContractStatus.ACTIVE)
                .first()
            )
            if contract is not None and rules.is_past_end_date(contract.end_date, at):
                _close(contract, ContractStatus.EXPIRED, at)
                expired.append(contract)
    return expired


clock.on_move(expire_due_contracts)


# --- transactions ------------------------------------------------------------


def get_transaction(
    *, wallet: Wallet, txn_id: int | None = None, invoice: str | None = None
) -> Transaction:
    """``Transaction_Get`` by ID (a party's transaction) or by the caller's invoice."""
    query = Transaction.objects.select_related("sender", "receiver")
    txn = None
    if txn_id:
        txn = (
            query.filter(pk=txn_id)
            .filter(Q(sender=wallet) | Q(receiver=wallet) | Q(merchant=wallet))
            .first()
        )
    elif invoice:
        txn = query.filter(merchant=wallet, invoice=invoice).first()
    if txn is None:
        raise Refused(FaultCode.TRANSACTION_NOT_FOUND)
    return txn


@dataclass(frozen=True, slots=True)
class HistoryPage:
    transactions: Sequence[Transaction]
    total_count: int
    page_count: int
    page_number: int
    page_size: int


def transaction_history(
    *,
    wallet: Wallet,
    start: datetime | None,
    end: datetime | None,
    page_size: int,
    page_number: int,
) -> HistoryPage:
    """``Transaction_History``: the wallet's transactions in [start, end], newest first (G10)."""
    query = Transaction.objects.filter(Q(sender=wallet) | Q(receiver=wallet))
    if start is not None:
        query = query.filter(created_at__gte=start)
    if end is not None:
        query = query.filter(created_at__lte=end)
    total = query.count()
    page = rules.page_of(
        total, page_size, page_number, max_size=get_settings().history_max_page_size
    )
    if isinstance(page, FaultCode):
        raise Refused(page, f"page size {page_size}, page {page_number}")
    rows = list(
        query.select_related("sender", "receiver").order_by("-created_at", "-id")[
            page.offset : page.offset + page.size
        ]
    )
    return HistoryPage(
        transactions=rows,
        total_count=total,
        page_count=page.count,
        page_number=page.number,
        page_size=page.size,
    )
