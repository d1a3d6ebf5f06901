"""``okpay-gateway emulator`` as a real process: banner, WSDL, SOAP, checkout, IPN."""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.emulator_web.conftest import Listener

pytestmark = pytest.mark.live

TIMEOUT = (5, 30)
# A guard against a hung process, not a speed assertion.
STARTUP_DEADLINE_SECONDS = 90


@dataclass
class Emulator:
    process: subprocess.Popen
    banner: str
    base_url: str
    lines: queue.Queue

    def url(self, label: str) -> str:
        match = re.search(rf"{label}:\s+(\S+)", self.banner)
        assert match, self.banner
        return match.group(1)


def _start(data_dir: Path, *extra: str) -> Emulator:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "okpay_gateway.cli",
            "emulator",
            "--port",
            "0",
            "--data-dir",
            str(data_dir),
            *extra,
        ],
        cwd=data_dir.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=(data_dir.parent / "stderr.log").open("wb"),
        text=True,
    )
    lines: queue.Queue = queue.Queue()

    def pump() -> None:
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    banner = []
    deadline = time.monotonic() + STARTUP_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        if line is None:
            break
        banner.append(line)
        if line.startswith("Press Ctrl-C"):
            break
    text = "".join(banner)
    if "Press Ctrl-C" not in text:
        process.kill()
        log = (data_dir.parent / "stderr.log").read_text(errors="replace")
        pytest.fail(f"emulator did not start:\n{text}\n{log}")
    base = re.search(r"Checkout:\s+(\S+)", text).group(1)
    return Emulator(process=process, banner=text, base_url=base, lines=lines)


def _stop(emulator: Emulator) -> str:
    emulator.process.terminate()
    emulator.process.wait(timeout=30)
    rest = []
    while True:
        line = emulator.lines.get(timeout=10)
        if line is None:
            break
        rest.append(line)
    return "".join(rest)


@pytest.fixture
def emulator(tmp_path) -> Iterator[Emulator]:
    running = _start(tmp_path / "data")
    yield running
    if running.process.poll() is None:
        running.process.kill()
        running.process.wait()


def test_cli_emulator_serves_wsdl_and_soap_over_http(emulator):
    """The printed endpoint serves the WSDL and answers Get_Date_Time; SIGTERM stops it."""
    soap_url = emulator.url("SOAP endpoint")
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/OkPayAPI", soap_url)
    assert emulator.url("WSDL") == soap_url + "?wsdl"
    assert emulator.url("IPN verify") == emulator.base_url + "ipn-verify"
    assert emulator.url("Control page") == emulator.base_url + "control/"
    merchant_page = requests.get(emulator.url("Merchant page"), timeout=TIMEOUT)
    assert merchant_page.url.startswith(emulator.base_url + "merchant/sign-in")
    assert "Merchant sign-in" in merchant_page.text
    assert (
        "merchant@example.com  password=merchant-pass  api_password=merchant-api-pass"
        in (emulator.banner)
    )
    assert "alice@example.com  password=customer-pass" in emulator.banner

    wsdl = requests.get(soap_url + "?wsdl", timeout=TIMEOUT)
    assert wsdl.status_code == 200
    assert b'name="OkPayAPIImplementation"' in wsdl.content
    assert f'location="{soap_url}"'.encode() in wsdl.content

    envelope = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
        '<soap:Body><Get_Date_Time xmlns="https://api.okpay.com"/></soap:Body>'
        "</soap:Envelope>"
    )
    answer = requests.post(
        soap_url,
        data=envelope.encode(),
        headers={
            "Content-Type": "text/xml; charset=utf-8",
            "SOAPAction": '"https://api.okpay.com/I_OkPayAPI/Get_Date_Time"',
        },
        timeout=TIMEOUT,
    )
    assert answer.status_code == 200
    assert re.search(
        rb"<[^>]*Get_Date_TimeResult>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d</", answer.content
    )
    assert "Stopping the OKPAY emulator." in _stop(emulator)
    assert emulator.process.returncode == 0


def test_cli_emulator_checkout_delivers_ipn_that_verifies(emulator):
    """Over real HTTP: approve an agreement, receive the IPN, post it back: VERIFIED."""
    listener = Listener().start()
    try:
        browser = requests.Session()
        link = {
            "ok_receiver": "merchant@example.com",
            "ok_kind": "preapproved",
            "ok_p_title": "Cloud plan",
            "ok_currency": "USD",
            "ok_p_monthly_amount": "30.00",
            "ok_invoice": "cli-1",
            "ok_ipn": listener.url,
            "ok_return_success": "http://127.0.0.1:9/success",
        }
        page = browser.get(emulator.base_url, params=link, timeout=TIMEOUT)
        assert page.status_code == 200
        token_url = page.url
        csrf = browser.cookies["csrftoken"]
        signed_in = browser.post(
            token_url + "sign-in",
            data={
                "email": "alice@example.com",
                "password": "customer-pass",
                "csrfmiddlewaretoken": csrf,
            },
            timeout=TIMEOUT,
        )
        assert "Signed in as alice@example.com" in signed_in.text
        csrf = browser.cookies["csrftoken"]
        approved = browser.post(
            token_url + "approve",
            data={"ok_p_monthly_amount": "25.00", "csrfmiddlewaretoken": csrf},
            timeout=TIMEOUT,
        )
        assert approved.status_code == 200
        assert 'action="http://127.0.0.1:9/success"' in approved.text

        deadline = time.monotonic() + 30
        while not listener.bodies and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(listener.bodies) == 1
        fields = listener.bodies[0]
        received = dict(fields)
        assert received["ok_p_event"] == "access_granted"
        assert received["ok_p_monthly_amount"] == "25.00"

        verify = requests.post(
            emulator.url("IPN verify"),
            data=[("ok_verify", "true"), *fields],
            timeout=TIMEOUT,
        )
        assert verify.text == "VERIFIED"
        tampered = [
            (n, "99.00" if n == "ok_p_monthly_amount" else v) for n, v in fields
        ]
        invalid = requests.post(
            emulator.url("IPN verify"),
            data=[("ok_verify", "true"), *tampered],
            timeout=TIMEOUT,
        )
        assert invalid.text == "INVALID"
    finally:
        listener.stop()
    _stop(emulator)


def test_cli_emulator_restart_keeps_data_and_credentials(tmp_path):
    """A second start on the same data dir does not reseed and prints the same wallets."""
    data_dir = tmp_path / "data"
    first = _start(data_dir)
    wallets_first = re.findall(r"OK\d{9}  \S+", first.banner)
    _stop(first)
    second = _start(data_dir)
    try:
        assert re.findall(r"OK\d{9}  \S+", second.banner) == wallets_first
        assert "password=customer-pass" in second.banner
    finally:
        _stop(second)


def test_cli_emulator_loads_seed_file_into_empty_database(tmp_path):
    """--seed FILE creates exactly the wallets of the file and prints them."""
    seed_file = tmp_path / "seed.json"
    seed_file.write_text(
        '{"wallets": [{"wallet_id": "OK111111111", "email": "seller@example.com",'
        ' "password": "s-pw", "api_password": "s-api", "balances": {"EUR": "5.00"}}]}',
        encoding="utf-8",
    )
    running = _start(tmp_path / "data", "--seed", str(seed_file))
    try:
        assert (
            "OK111111111  seller@example.com  password=s-pw  api_password=s-api  "
            "balances=5.00 EUR"
        ) in running.banner
        assert "alice@example.com" not in running.banner
    finally:
        _stop(running)
