"""OkPayClient against the emulator: every implemented operation, refusals, faults.

Tests taking the ``face`` fixture run twice: through the in-process adapter and
over real HTTP (pytest-django ``live_server``).
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connections

from okpay_gateway.emulator import clock, faults, operations
from okpay_gateway.emulator.adapter import emulator_session
from okpay_gateway.emulator.models import ContractStatus, IpnMessage, Transaction
from okpay_gateway.exceptions import (
    AuthenticationFailed,
    DuplicatePayment,
    InsufficientFunds,
    InvalidRequest,
    LimitExceeded,
    NotFound,
    OperationNotAllowed,
    OutcomeUnknown,
    ProviderUnavailable,
)
from okpay_gateway.provider.client import OkPayClient
from okpay_gateway.provider.messages import (
    OperationStatus,
    PreapprovedPaymentStatus,
    VerificationStatus,
)
from okpay_gateway.provider.settings import OkPaySettings
from okpay_gateway.types import FrozenClock
from tests.emulator.conftest import START, Face, make_client

D = Decimal


def balance(wallet, currency="USD") -> Decimal:
    wallet.refresh_from_db()
    return wallet.balance(currency)


# --- general and balances (both faces) ----------------------------------------------


def test_get_date_time_returns_emulator_clock(face, frozen):
    """Get_Date_Time answers the emulator's (frozen) time."""
    client = make_client(face, operations.create_wallet(email="m@x.example"))
    assert client.get_date_time() == START


def test_account_check_by_wallet_and_email(face, merchant, customer):
    """Account_Check gives the account ID for a wallet ID or e-mail, 0 when unknown."""
    client = make_client(face, merchant)
    assert client.account_check(customer.wallet_id) == customer.account_id
    assert client.account_check("BUYER@example.org") == customer.account_id
    assert client.account_check("nobody@example.org") == 0


def test_wallet_balances(face, merchant, customer):
    """Wallet_Get_Balance lists every currency; Wallet_Get_Currency_Balance one."""
    client = make_client(face, customer)
    balances = {b.currency: b.amount for b in client.wallet_get_balance()}
    assert balances == {"EUR": D("100.00"), "USD": D("500.00")}
    one = client.wallet_get_currency_balance("EUR")
    assert (one.currency, one.amount) == ("EUR", D("100.00"))


def test_wallet_currency_balance_unknown_currency_refused(in_process, customer):
    """A currency the emulator does not hold is Currency_Not_Supported."""
    client = make_client(in_process, customer)
    with pytest.raises(InvalidRequest) as caught:
        client.wallet_get_currency_balance("XAU")
    assert caught.value.fault_code == "Currency_Not_Supported"


# --- Send_Money, Transaction_Get, Transaction_History (both faces) -----------------


def test_send_money_sender_pays_fee(face, merchant, customer):
    """Send_Money moves amount+fee from the sender and amount to the receiver."""
    client = make_client(face, customer)
    txn = client.send_money(
        receiver=merchant.wallet_id,
        currency="USD",
        amount=D("40.00"),
        comment="refund",
        invoice="refund-1",
    )
    assert (txn.amount, txn.fees, txn.net) == (D("40.00"), D("0.20"), D("40.00"))
    assert txn.invoice == "refund-1"
    assert txn.comment == "refund"
    assert txn.status is OperationStatus.COMPLETED
    assert txn.sender.wallet_id == customer.wallet_id
    assert txn.receiver.wallet_id == merchant.wallet_id
    assert txn.receiver.verification_status is VerificationStatus.VERIFIED
    assert txn.date == START
    assert balance(customer) == D("459.80")
    assert balance(merchant) == D("40.00")


def test_send_money_receiver_pays_fee_by_email(face, merchant, customer):
    """With IsReceiverPaysFees the receiver (found by e-mail) gets amount-fee."""
    client = make_client(face, customer)
    txn = client.send_money(
        receiver="merchant@shop.example",
        currency="USD",
        amount=D("10.00"),
        receiver_pays_fees=True,
    )
    assert (txn.amount, txn.fees, txn.net) == (D("10.00"), D("0.05"), D("9.95"))
    assert balance(customer) == D("490.00")
    assert balance(merchant) == D("9.95")


def test_transaction_get_by_id_and_invoice(face, merchant, customer):
    """Transaction_Get finds a transaction by TxnID and by the caller's invoice."""
    client = make_client(face, customer)
    sent = client.send_money(
        receiver=merchant.wallet_id, currency="USD", amount=D("5.00"), invoice="inv-77"
    )
    by_id = client.transaction_get(txn_id=sent.id)
    by_invoice = client.transaction_get(invoice="inv-77")
    assert by_id == sent
    assert by_invoice == sent
    with pytest.raises(NotFound) as caught:
        client.transaction_get(invoice="inv-unknown")
    assert caught.value.fault_code == "Transaction_Not_Found"


def test_transaction_history_pages_newest_first(face, merchant, customer):
    """Transaction_History pages newest first with PageCount and TotalCount (G10)."""
    client = make_client(face, customer)
    ids = []
    for n in range(3):
        clock.advance(timedelta(minutes=1))
        ids.append(
            client.send_money(
                receiver=merchant.wallet_id, currency="USD", amount=D(f"{n + 1}.00")
            ).id
        )
    start, end = START, START + timedelta(hours=1)
    first = client.transaction_history(start=start, end=end, page_size=2, page_number=1)
    second = client.transaction_history(
        start=start, end=end, page_size=2, page_number=2
    )
    assert (
        first.total_count,
        first.page_count,
        first.page_number,
        first.page_size,
    ) == (
        3,
        2,
        1,
        2,
    )
    assert [t.id for t in first.transactions] == [ids[2], ids[1]]
    assert [t.id for t in second.transactions] == [ids[0]]
    narrow = client.transaction_history(
        start=START + timedelta(seconds=90), end=end, page_size=50, page_number=1
    )
    assert [t.id for t in narrow.transactions] == [ids[2], ids[1]]


def test_transaction_history_page_size_over_50_refused(in_process, customer):
    """PageSize above 50 is Incorrect_Parameters."""
    client = make_client(in_process, customer)
    with pytest.raises(InvalidRequest) as caught:
        client.transaction_history(
            start=START, end=START + timedelta(days=1), page_size=51, page_number=1
        )
    assert caught.value.fault_code == "Incorrect_Parameters"


def test_send_money_duplicate_invoice_refused(in_process, merchant, customer):
    """A repeated invoice from the same sender is Duplicate_Payment; no money moves."""
    client = make_client(in_process, customer)
    client.send_money(
        receiver=merchant.wallet_id, currency="USD", amount=D("1.00"), invoice="dup"
    )
    with pytest.raises(DuplicatePayment) as caught:
        client.send_money(
            receiver=merchant.wallet_id, currency="USD", amount=D("1.00"), invoice="dup"
        )
    assert caught.value.fault_code == "Duplicate_Payment"
    assert balance(customer) == D("498.99")


def test_send_money_unknown_receiver_and_self_refused(in_process, customer):
    """Unknown receivers and transfers to oneself are refused with OKPAY's codes."""
    client = make_client(in_process, customer)
    with pytest.raises(NotFound) as caught:
        client.send_money(receiver="OK999999999", currency="USD", amount=D("1.00"))
    assert caught.value.fault_code == "Receiver_Not_Found"
    with pytest.raises(InvalidRequest) as caught:
        client.send_money(receiver=customer.wallet_id, currency="USD", amount=D("1.00"))
    assert caught.value.fault_code == "MoneyTransfer_To_Yourself"


# --- pre-approved payments (both faces) --------------------------------------------


def test_preapproved_payment_get_fields(face, merchant, customer, make_contract):
    """PreapprovedPayment_Get reports the agreement as granted."""
    contract = make_contract(daily_limit=D("30.00"), end_date=date(2026, 12, 31))
    got = make_client(face, merchant).preapproved_payment_get(contract.id)
    assert got.id == contract.id
    assert got.status is PreapprovedPaymentStatus.ACTIVE
    assert got.available_amount == D("30.00")
    assert got.currency == "USD"
    assert got.title == "Example Pro plan"
    assert got.invoice == "agreement-1"
    assert got.merchant_wallet_id == merchant.wallet_id
    assert got.client.wallet_id == customer.wallet_id
    assert got.client.account_id == customer.account_id
    assert got.client.country_iso == "DE"
    assert got.end_date == datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert got.start_date == START
    assert (got.payments_done, got.payments_amount) == (0, D("0.00"))
    assert got.last_payment_date is None
    assert got.client_pays_fee is False


def test_preapproved_charge_moves_money_and_updates_contract(
    face, merchant, customer, contract
):
    """A charge debits the client, credits amount-fee, and updates the agreement."""
    client = make_client(face, merchant)
    txn = client.preapproved_payment_charge(
        contract_id=contract.id,
        amount=D("25.00"),
        invoice="sub-1-2026-03",
        comment="March",
    )
    assert (txn.amount, txn.fees, txn.net) == (D("25.00"), D("0.13"), D("24.87"))
    # Like OKPAY: the invoice travels in the comment, none is filed.
    assert (txn.invoice, txn.comment) == (None, "sub-1-2026-03 March")
    assert txn.status is OperationStatus.COMPLETED
    assert txn.sender.wallet_id == customer.wallet_id
    assert txn.receiver.wallet_id == merchant.wallet_id
    assert balance(customer) == D("475.00")
    assert balance(merchant) == D("24.87")
    after = client.preapproved_payment_get(contract.id)
    assert after.available_amount == D("75.00")
    assert (after.payments_done, after.payments_amount) == (1, D("25.00"))
    assert after.last_payment_date == START
    operations_list = client.preapproved_payment_get_operations(contract.id)
    assert [t.id for t in operations_list] == [txn.id]
    with pytest.raises(NotFound):
        client.transaction_get(invoice="sub-1-2026-03")


def test_preapproved_charge_queues_payment_ipn(in_process, merchant, contract):
    """A charge stores a payment IPN for the agreement with its transaction."""
    txn = make_client(in_process, merchant).preapproved_payment_charge(
        contract_id=contract.id, amount=D("2.00"), invoice="ipn-1"
    )
    messages = IpnMessage.objects.filter(contract_id=contract.id, event="payment")
    assert [m.transaction_id for m in messages] == [txn.id]


def test_preapproved_charge_client_pays_fee(
    in_process, merchant, customer, make_contract
):
    """With ClientPaysFee the client pays amount+fee and the merchant gets the amount."""
    contract = make_contract(client_pays_fee=True)
    txn = make_client(in_process, merchant).preapproved_payment_charge(
        contract_id=contract.id, amount=D("20.00")
    )
    assert (txn.fees, txn.net) == (D("0.10"), D("20.00"))
    assert balance(customer) == D("479.90")
    assert balance(merchant) == D("20.00")


def test_preapproved_filter_by_status_title_invoice_client(
    face, merchant, customer, make_contract
):
    """PreapprovedPayments_Filter honours each criterion."""
    first = make_contract(title="Gold plan", invoice="a-1")
    second = make_contract(title="Silver plan", invoice="a-2")
    other_client = operations.create_wallet(email="other@example.org")
    third = make_contract(title="Gold extra", invoice="a-3", client=other_client)
    operations.cancel_contract(wallet=merchant, contract_id=second.id)
    client = make_client(face, merchant)

    def ids(**criteria):
        return [c.id for c in client.preapproved_payments_filter(**criteria)]

    assert ids() == [third.id, second.id, first.id]
    assert ids(statuses=["Canceled"]) == [second.id]
    assert ids(statuses=["Active", "Expired"]) == [third.id, first.id]
    assert ids(title="gold") == [third.id, first.id]
    assert ids(invoice="a-2") == [second.id]
    assert ids(client=other_client.wallet_id) == [third.id]
    assert ids(client="buyer@example.org", title="Gold") == [first.id]


def test_preapproved_cancel_is_final(face, merchant, contract):
    """Cancel ends the agreement; charging or canceling again is refused."""
    client = make_client(face, merchant)
    canceled = client.preapproved_payment_cancel(contract.id, "customer asked")
    assert canceled.status is PreapprovedPaymentStatus.CANCELED
    assert canceled.available_amount == D("0.00")
    with pytest.raises(OperationNotAllowed) as caught:
        client.preapproved_payment_charge(contract_id=contract.id, amount=D("1.00"))
    assert caught.value.fault_code == "Incompatible_PreapprovedPayment_Status"
    with pytest.raises(OperationNotAllowed):
        client.preapproved_payment_cancel(contract.id)
    assert client.preapproved_payment_get(contract.id).status == "Canceled"


# --- refusals (in-process) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "later"),
    [
        ("daily_limit", timedelta(days=1)),
        ("weekly_limit", timedelta(days=5)),  # Wednesday -> next Monday
        ("monthly_limit", timedelta(days=21)),  # 11 March -> 1 April
    ],
)
def test_preapproved_charge_over_limit_refused_until_next_window(
    in_process, merchant, customer, make_contract, limit, later
):
    """Each limit caps its calendar window; the next window allows charging again."""
    limits = {"daily_limit": None, "weekly_limit": None, "monthly_limit": None}
    contract = make_contract(**{**limits, limit: D("30.00")})
    client = make_client(in_process, merchant)
    client.preapproved_payment_charge(contract_id=contract.id, amount=D("20.00"))
    with pytest.raises(LimitExceeded) as caught:
        client.preapproved_payment_charge(contract_id=contract.id, amount=D("10.01"))
    assert caught.value.fault_code == "Limits_Exceeded"
    assert client.preapproved_payment_get(contract.id).available_amount == D("10.00")
    clock.advance(later)
    assert client.preapproved_payment_get(contract.id).available_amount == D("30.00")
    client.preapproved_payment_charge(contract_id=contract.id, amount=D("30.00"))
    assert balance(customer) == D("450.00")


def test_preapproved_end_date_expires_after_clock_advance(
    in_process, merchant, make_contract
):
    """Moving the clock past the end date expires the agreement; charges are refused."""
    contract = make_contract(end_date=date(2026, 3, 31))
    client = make_client(in_process, merchant)
    clock.freeze(datetime(2026, 3, 31, 23, 59, 59, tzinfo=UTC))
    client.preapproved_payment_charge(contract_id=contract.id, amount=D("1.00"))
    clock.advance(timedelta(seconds=1))
    contract.refresh_from_db()
    assert contract.status == ContractStatus.EXPIRED
    assert client.preapproved_payment_get(contract.id).status == "Expired"
    with pytest.raises(OperationNotAllowed) as caught:
        client.preapproved_payment_charge(contract_id=contract.id, amount=D("1.00"))
    assert caught.value.fault_code == "Incompatible_PreapprovedPayment_Status"
    assert IpnMessage.objects.filter(
        contract_id=contract.id, event="access_denied"
    ).exists()


def test_preapproved_charge_expires_overdue_contract_first(
    in_process, merchant, make_contract
):
    """A charge on an overdue agreement expires it (and the expiry stays) before refusing."""
    contract = make_contract(end_date=date(2026, 3, 11))
    clock.freeze(datetime(2026, 3, 12, 0, 0, 1, tzinfo=UTC), expire=False)
    with pytest.raises(OperationNotAllowed):
        make_client(in_process, merchant).preapproved_payment_charge(
            contract_id=contract.id, amount=D("1.00")
        )
    contract.refresh_from_db()
    assert contract.status == ContractStatus.EXPIRED


def test_preapproved_charge_insufficient_funds(
    in_process, merchant, customer, contract
):
    """A charge above the client's balance is Not_Enough_Money and moves nothing."""
    operations.set_balance(customer, "USD", D("3.00"))
    client = make_client(in_process, merchant)
    with pytest.raises(InsufficientFunds) as caught:
        client.preapproved_payment_charge(contract_id=contract.id, amount=D("3.01"))
    assert caught.value.fault_code == "Not_Enough_Money"
    assert balance(customer) == D("3.00")
    assert client.preapproved_payment_get(contract.id).payments_done == 0


def test_preapproved_charge_repeated_is_charged_twice(
    in_process, merchant, customer, contract
):
    """Like OKPAY (no Invoice parameter): a re-sent charge moves money again."""
    client = make_client(in_process, merchant)
    for _ in range(2):
        client.preapproved_payment_charge(
            contract_id=contract.id, amount=D("5.00"), invoice="p-1"
        )
    assert balance(customer) == D("490.00")
    assert client.preapproved_payment_get(contract.id).payments_done == 2


def test_preapproved_charge_duplicate_invoice_refused_when_opted_in(
    in_process, merchant, customer, contract, settings
):
    """CHARGE_COMMENT_IS_INVOICE on: the same invoice twice is Duplicate_Payment."""
    settings.OKPAY_EMULATOR = {"CHARGE_COMMENT_IS_INVOICE": True}
    client = make_client(in_process, merchant)
    client.preapproved_payment_charge(
        contract_id=contract.id, amount=D("5.00"), invoice="p-1"
    )
    with pytest.raises(DuplicatePayment):
        client.preapproved_payment_charge(
            contract_id=contract.id, amount=D("5.00"), invoice="p-1"
        )
    assert balance(customer) == D("495.00")


def test_preapproved_charge_comment_invoice_opted_in_is_filed(
    in_process, merchant, contract, settings
):
    """With CHARGE_COMMENT_IS_INVOICE on the comment's first word is the invoice."""
    settings.OKPAY_EMULATOR = {"CHARGE_COMMENT_IS_INVOICE": True}
    client = make_client(in_process, merchant)
    txn = client.preapproved_payment_charge(
        contract_id=contract.id, amount=D("5.00"), invoice="p-2", comment="May"
    )
    assert (txn.invoice, txn.comment) == ("p-2", "p-2 May")
    assert client.transaction_get(invoice="p-2").id == txn.id


def test_preapproved_unknown_and_foreign_contract_refused(
    in_process, customer, contract
):
    """Unknown IDs are PreapprovedPayment_Not_Found; another merchant gets Access_Denied."""
    stranger = operations.create_wallet(email="s@x.example", api_password="pw")
    client = make_client(in_process, stranger)
    with pytest.raises(NotFound) as caught:
        client.preapproved_payment_get(contract.id + 1000)
    assert caught.value.fault_code == "PreapprovedPayment_Not_Found"
    with pytest.raises(AuthenticationFailed) as caught:
        client.preapproved_payment_charge(contract_id=contract.id, amount=D("1.00"))
    assert caught.value.fault_code == "Access_Denied"


def test_client_with_wrong_password_gets_authentication_failed(in_process, merchant):
    """A wrong API password is Authentication_Failed."""
    settings = OkPaySettings.for_environment(
        "emulator",
        wallet_id=merchant.wallet_id,
        api_password="wrong",
        base_url=in_process.base_url,
    )
    client = OkPayClient(settings=settings, session=in_process.new_session())
    with pytest.raises(AuthenticationFailed) as caught:
        client.wallet_get_balance()
    assert caught.value.fault_code == "Authentication_Failed"


def test_client_with_skewed_clock_resyncs_from_get_date_time(in_process, merchant):
    """A client clock three hours off is fixed by Get_Date_Time after one refusal."""
    settings = OkPaySettings.for_environment(
        "emulator",
        wallet_id=merchant.wallet_id,
        api_password=merchant.api_password,
        base_url=in_process.base_url,
    )
    skewed = FrozenClock(START - timedelta(hours=3))
    client = OkPayClient(
        settings=settings, session=in_process.new_session(), clock=skewed
    )
    assert [b.currency for b in client.wallet_get_balance()] == ["USD"]
    assert client.tokens.offset == timedelta(hours=3)


# --- fault injection -----------------------------------------------------------------


def test_injected_fault_code_reaches_client(in_process, merchant, contract):
    """A forced fault code is raised as that code and the operation does not run."""
    faults.add_rule("fault", contract_id=contract.id, fault_code="Not_Enough_Money")
    client = make_client(in_process, merchant)
    with pytest.raises(InsufficientFunds):
        client.preapproved_payment_charge(contract_id=contract.id, amount=D("1.00"))
    assert not Transaction.objects.exists()


def test_injected_internal_error_is_provider_unavailable(in_process, merchant):
    """A forced Internal_Error becomes the retryable ProviderUnavailable."""
    faults.add_rule(
        "fault", operation="Wallet_Get_Balance", fault_code="Internal_Error"
    )
    with pytest.raises(ProviderUnavailable) as caught:
        make_client(in_process, merchant).wallet_get_balance()
    assert caught.value.retryable is True


def test_injected_http_500_is_outcome_unknown(in_process, merchant, contract):
    """A bare HTTP 500 on a charge leaves the outcome unknown."""
    faults.add_rule("http_500", operation="PreapprovedPayment_Charge")
    with pytest.raises(OutcomeUnknown):
        make_client(in_process, merchant).preapproved_payment_charge(
            contract_id=contract.id, amount=D("1.00")
        )


def test_applied_late_charge_committed_then_listed_on_the_agreement(
    in_process, merchant, customer, contract
):
    """applied_late: the client times out, yet the charge is on the agreement's operations."""
    faults.add_rule(
        "applied_late", operation="PreapprovedPayment_Charge", delay_seconds=60
    )
    client = make_client(in_process, merchant)
    with pytest.raises(OutcomeUnknown):
        client.preapproved_payment_charge(
            contract_id=contract.id, amount=D("7.00"), invoice="late-1"
        )
    (found,) = client.preapproved_payment_get_operations(contract.id)
    assert (found.amount, found.status, found.comment) == (
        D("7.00"),
        OperationStatus.COMPLETED,
        "late-1",
    )
    assert balance(customer) == D("493.00")


def test_slow_beyond_read_timeout_times_out_without_charging(
    in_process, merchant, customer, contract
):
    """slow past the read timeout: the client times out and nothing was charged."""
    faults.add_rule("slow", contract_id=contract.id, delay_seconds=60)
    client = make_client(in_process, merchant)
    with pytest.raises(OutcomeUnknown):
        client.preapproved_payment_charge(
            contract_id=contract.id, amount=D("7.00"), invoice="slow-1"
        )
    assert list(client.preapproved_payment_get_operations(contract.id)) == []
    assert balance(customer) == D("500.00")


@pytest.mark.live
def test_applied_late_over_real_http(live_sessions, live_server, merchant, contract):
    """Over a real socket an applied_late charge also ends in OutcomeUnknown, then is found."""
    faults.add_rule(
        "applied_late", operation="PreapprovedPayment_Charge", delay_seconds=1
    )
    face = Face("live", live_server.url + "/okpay-emulator/", live_sessions)
    client = make_client(face, merchant, read_timeout=0.3)
    with pytest.raises(OutcomeUnknown):
        client.preapproved_payment_charge(
            contract_id=contract.id, amount=D("4.00"), invoice="late-http"
        )
    (found,) = client.preapproved_payment_get_operations(contract.id)
    assert (found.amount, found.comment) == (D("4.00"), "late-http")


@pytest.mark.postgres
def test_concurrent_charges_cannot_overrun_limit(
    transactional_db, merchant, make_contract
):
    """Two simultaneous charges that together exceed the limit: exactly one succeeds."""
    contract = make_contract(daily_limit=D("30.00"), monthly_limit=None)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def charge(invoice: str) -> None:
        client = make_client(
            Face("in_process", "http://okpay.emulator/", emulator_session), merchant
        )
        barrier.wait(timeout=10)
        try:
            client.preapproved_payment_charge(
                contract_id=contract.id, amount=D("20.00"), invoice=invoice
            )
            outcomes.append("charged")
        except LimitExceeded:
            outcomes.append("Limits_Exceeded")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=charge, args=(f"c-{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["Limits_Exceeded", "charged"]
    assert Transaction.objects.filter(contract_id=contract.id).count() == 1
