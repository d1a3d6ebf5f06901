"""The access log of our HTTP server: a SOAP fault is an answer, not a server error."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import pytest
import requests
from django.core.wsgi import get_wsgi_application

from okpay_gateway import http_server

SOAP = "/okpay-emulator/OkPayAPI"
ACTION = "https://api.okpay.com/I_OkPayAPI/"
S = "http://schemas.xmlsoap.org/soap/envelope/"


@pytest.fixture
def server_url() -> Iterator[str]:
    server = http_server.bind("127.0.0.1", 0)
    server.set_app(get_wsgi_application())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def access_lines(caplog) -> list[logging.LogRecord]:
    """The access lines, waiting for the first: the server writes it after answering."""
    deadline = time.monotonic() + 10
    while True:
        lines = [r for r in caplog.records if r.name == "django.server"]
        if lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.02)


def post_soap(url: str, body: bytes, operation: str) -> requests.Response:
    with requests.Session() as session:
        return session.post(
            url + SOAP,
            data=body,
            headers={"Content-Type": "text/xml", "SOAPAction": ACTION + operation},
            timeout=10,
        )


def test_client_fault_is_logged_at_info(server_url, caplog):
    """A malformed envelope answers HTTP 500 with a fault, logged at INFO, no traceback."""
    with caplog.at_level(logging.INFO):
        response = post_soap(server_url, b"this is <not xml", "Get_Date_Time")
    assert response.status_code == 500
    assert b"Fault" in response.content
    [line] = access_lines(caplog)
    assert line.levelno == logging.INFO
    assert "500" in line.getMessage()
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_server_fault_is_logged_at_warning(server_url, caplog):
    """A fault with faultcode s:Server (here: an operation the emulator lacks) is WARNING."""
    operation = "Withdraw_To_Ecurrency_Calculate"
    body = (
        f'<s:Envelope xmlns:s="{S}"><s:Body>'
        f'<{operation} xmlns="https://api.okpay.com"/></s:Body></s:Envelope>'
    )
    with caplog.at_level(logging.INFO):
        response = post_soap(server_url, body.encode(), operation)
    assert response.status_code == 500
    assert b"s:Server" in response.content
    [line] = access_lines(caplog)
    assert line.levelno == logging.WARNING


def test_other_errors_keep_their_level(server_url, caplog):
    """Only views that ask get a lower level: a 404 stays a WARNING, as in Django."""
    with caplog.at_level(logging.INFO), requests.Session() as session:
        response = session.get(server_url + "/no-such-page/", timeout=10)
    assert response.status_code == 404
    [line] = access_lines(caplog)
    assert line.levelno == logging.WARNING
