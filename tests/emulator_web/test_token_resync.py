"""A fresh process charges an emulator whose clock was moved (issue: renewals after a clock move).

The emulator checks tokens against its own (moved) clock; a new process does not
know that clock yet, so its first money call is refused with
``Authentication_Failed``. That refusal proves nothing was performed, so the
client re-reads OKPAY's time and sends the call once more.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap

import pytest
import requests

from tests.emulator_web.test_cli import TIMEOUT, _start, _stop

pytestmark = pytest.mark.live

MERCHANT = "OK100000001"
SEED = {
    "wallets": [
        {
            "wallet_id": MERCHANT,
            "email": "shop@example.com",
            "password": "shop-pass",
            "api_password": "shop-api-pass",
            "balances": {"EUR": "50.00"},
        },
        {"wallet_id": "OK100000002", "email": "payee@example.com"},
    ]
}

SEND_IN_NEW_PROCESS = textwrap.dedent(
    """
    import sys
    from decimal import Decimal
    from okpay_gateway.provider.client import OkPayClient
    from okpay_gateway.provider.settings import OkPaySettings

    settings = OkPaySettings.for_environment(
        "emulator", wallet_id=sys.argv[1], api_password="shop-api-pass",
        base_url=sys.argv[2],
    )
    txn = OkPayClient(settings=settings).send_money(
        receiver="payee@example.com", currency="EUR", amount=Decimal("2.50"),
        invoice="moved-clock-1",
    )
    print(txn.id, txn.status.value)
    """
)


def test_new_process_money_call_succeeds_once_after_emulator_clock_moved(tmp_path):
    """Clock moved 31 days: the fresh process's Send_Money is refused, resynced, sent once."""
    seed_file = tmp_path / "seed.json"
    seed_file.write_text(json.dumps(SEED))
    emulator = _start(tmp_path / "data", "--seed", str(seed_file))
    try:
        moved = requests.post(
            emulator.base_url + "control/api/clock",
            json={"action": "advance", "days": 31},
            timeout=TIMEOUT,
        )
        assert moved.status_code == 200, moved.text
        env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
        run = subprocess.run(
            [sys.executable, "-c", SEND_IN_NEW_PROCESS, MERCHANT, emulator.base_url],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr
        assert re.fullmatch(r"\d+ Completed\n", run.stdout), run.stdout
        assert "retrying once with server time" in run.stderr

        ledger = requests.get(
            emulator.base_url + "control/api/ledger", timeout=TIMEOUT
        ).json()
        sent = [t for t in ledger["transactions"] if t["invoice"] == "moved-clock-1"]
        assert [(t["amount"], t["status"]) for t in sent] == [("2.50", "Completed")]
        balances = {w["wallet_id"]: w["balances"] for w in ledger["wallets"]}
        # Charged once: 2.50 plus the sender's 0.5 % fee (at least 0.01).
        assert balances[MERCHANT]["EUR"] == "47.49"
    finally:
        _stop(emulator)
