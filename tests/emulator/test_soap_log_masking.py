"""The shop's SOAP DEBUG log never shows a wallet, through real calls to the emulator."""

from __future__ import annotations

import logging
import re
from decimal import Decimal as D

from okpay_gateway.provider.redaction import MASK
from tests.emulator.conftest import make_client

WALLET_ID = re.compile(r"OK\d{9}")


def shop_records(caplog) -> list[logging.LogRecord]:
    # The emulator's own log stands for OKPAY's side of the wire.
    return [
        r for r in caplog.records if not r.name.startswith("okpay_gateway.emulator")
    ]


def test_debug_log_masks_every_wallet_field_in_requests_and_replies(
    in_process, merchant, customer, contract, caplog
):
    """Charge, Get, Filter, Operations, Send_Money and Account_Check log no wallet."""
    shop = make_client(in_process, merchant)
    payer = make_client(in_process, customer)
    with caplog.at_level(logging.DEBUG):
        txn = shop.preapproved_payment_charge(
            contract_id=contract.id,
            amount=D("5.00"),
            invoice="mask-1",
            receiver=merchant.wallet_id,
        )
        shop.preapproved_payment_get(contract.id)
        shop.preapproved_payments_filter(client=customer.email)
        shop.preapproved_payment_get_operations(contract.id)
        shop.transaction_get(txn_id=txn.id)
        shop.account_check(customer.wallet_id)
        payer.send_money(
            receiver=merchant.email, currency="USD", amount=D("1.00"), invoice="m-2"
        )
    envelopes = [r for r in caplog.records if r.name == "okpay_gateway.provider.soap"]
    text = "\n".join(r.getMessage() for r in envelopes)
    # The replies did carry the wallets: they were masked, not absent.
    for element in (
        "MerchantWalletID",
        "WalletID",
        "AccountID",
        "Email",
        "Receiver",
        "Client",
    ):
        assert f"{element}>{MASK}<" in text, element
    assert "Account>***<" in text
    logged = "\n".join(r.getMessage() for r in shop_records(caplog))
    assert WALLET_ID.findall(logged) == []
    for secret in (merchant.email, customer.email, merchant.api_password):
        assert secret not in logged
