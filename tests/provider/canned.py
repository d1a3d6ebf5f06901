"""A requests adapter that answers from a queue of canned replies.

Our own transport seam for provider tests: mount it on the client's session,
queue replies (or requests exceptions to raise), then inspect what was sent.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import requests
from lxml import etree
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
TNS = "https://api.okpay.com"
API = "http://schemas.datacontract.org/2004/07/OkPayAPI"
DC = "http://schemas.datacontract.org/2004/07/OkPayAPI.DataContract"


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str = "text/xml; charset=utf-8"


@dataclass(frozen=True)
class SentRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    timeout: Any

    @property
    def soap_action(self) -> str:
        return self.headers.get("SOAPAction", "").strip('"')

    def xml(self) -> etree._Element:
        return etree.fromstring(self.body)

    def operation_element(self) -> etree._Element:
        return self.xml().find(f"{{{SOAP_ENV}}}Body")[0]


class CannedAdapter(BaseAdapter):
    """Pops one queued reply per request; raising queued exceptions instead."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[SentRequest] = []
        self._replies: deque[Reply | BaseException] = deque()

    def queue(self, *replies: Reply | BaseException) -> None:
        self._replies.extend(replies)

    def send(
        self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None
    ):
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.sent.append(
            SentRequest(
                request.method, request.url, dict(request.headers), body, timeout
            )
        )
        if not self._replies:
            raise AssertionError(f"no canned reply left for {request.url}")
        reply = self._replies.popleft()
        if isinstance(reply, BaseException):
            raise reply
        response = requests.Response()
        response.status_code = reply.status
        response._content = reply.body
        response.headers = CaseInsensitiveDict({"Content-Type": reply.content_type})
        response.url = request.url
        response.request = request
        response.encoding = "utf-8"
        response.reason = "OK" if reply.status == 200 else "Error"
        return response

    def close(self) -> None:
        pass


def envelope(body: str) -> bytes:
    return (
        f'<s:Envelope xmlns:s="{SOAP_ENV}"><s:Body>{body}</s:Body></s:Envelope>'
    ).encode()


def ok(operation: str, result_inner: str | None, *, result_ns_decls: str = "") -> Reply:
    """A WCF-style 200 reply: ``<OpResponse><OpResult>inner</OpResult></OpResponse>``."""
    if result_inner is None:
        result = f'<{operation}Result i:nil="true"/>'
    else:
        result = (
            f"<{operation}Result{result_ns_decls}>{result_inner}</{operation}Result>"
        )
    body = (
        f'<{operation}Response xmlns="{TNS}" '
        f'xmlns:i="http://www.w3.org/2001/XMLSchema-instance">{result}</{operation}Response>'
    )
    return Reply(200, envelope(body))


def fault(code: str, faultcode: str = "s:Client") -> Reply:
    """A SOAP 1.1 fault as G1 assumes OKPAY sent it (HTTP 500, code in faultstring)."""
    body = (
        f"<s:Fault><faultcode>{faultcode}</faultcode>"
        f'<faultstring xml:lang="en-US">{code}</faultstring></s:Fault>'
    )
    return Reply(500, envelope(body))


def account_xml(prefix: str, wallet: str, account_id: int, email: str) -> str:
    p = prefix
    return (
        f"<{p}:AccountID>{account_id}</{p}:AccountID><{p}:Country_ISO>EST</{p}:Country_ISO>"
        f"<{p}:Email>{email}</{p}:Email><{p}:Name>Shop</{p}:Name>"
        f"<{p}:VerificationStatus>Verified</{p}:VerificationStatus>"
        f"<{p}:WalletID>{wallet}</{p}:WalletID>"
    )


def transaction_xml(
    *,
    txn_id: int = 9001,
    amount: str = "12.50",
    fees: str = "0.10",
    net: str = "12.40",
    invoice: str = "INV-1",
    comment: str = "INV-1",
    status: str = "Completed",
) -> str:
    """Members of an ``api:TransactionInfo`` with prefix ``a`` (declare it on the parent)."""
    return (
        f"<a:Amount>{amount}</a:Amount><a:Comment>{comment}</a:Comment>"
        "<a:Currency>EUR</a:Currency><a:Date>2010-06-01 15:20:33</a:Date>"
        f"<a:Fees>{fees}</a:Fees><a:ID>{txn_id}</a:ID><a:Invoice>{invoice}</a:Invoice>"
        f"<a:Net>{net}</a:Net><a:OperationName>Transfer</a:OperationName>"
        f"<a:Receiver>{account_xml('a', 'OK111111111', 11, 'shop@example.com')}</a:Receiver>"
        f"<a:Sender>{account_xml('a', 'OK222222222', 22, 'buyer@example.com')}</a:Sender>"
        f"<a:Status>{status}</a:Status>"
    )


A_NS = f' xmlns:a="{API}"'
DC_NS = f' xmlns:a="{DC}" xmlns:b="{API}"'
