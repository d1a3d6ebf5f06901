"""A provider stub that answers ``PreapprovedPayment_Charge`` after a delay, at ~0 CPU.

    python tests/benchmarks/charge_stub.py [--port 0] [--latency 0.05]

One asyncio process: each request is read, answered after ``--latency``
seconds of sleeping (no CPU), with a ``Completed`` transaction echoing the
request's amount and comment. Keep-alive connections, no parsing beyond two
byte searches, no database: only the shop's own cost shows in a benchmark.
It prints ``listening on http://127.0.0.1:<port>/`` once ready. Any other
operation gets a SOAP fault.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import re

_AMOUNT = re.compile(rb"<(?:\w+:)?Amount>([^<]*)</")
_COMMENT = re.compile(rb"<(?:\w+:)?Comment>([^<]*)</")
_ACTION = re.compile(rb"(?i)soapaction:\s*\"?[^\r\n]*/([A-Za-z_]+)\"?\r\n")
_T = "http://schemas.datacontract.org/2004/07/OkPayAPI"

_PARTY = (
    "<t:{role}><t:AccountID>{account}</t:AccountID>"
    '<t:Country_ISO xsi:nil="true"/><t:Email>{email}</t:Email><t:Name>{name}</t:Name>'
    "<t:VerificationStatus>Verified</t:VerificationStatus>"
    "<t:WalletID>{wallet}</t:WalletID></t:{role}>"
)
_CHARGED = (
    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><s:Body>'
    '<PreapprovedPayment_ChargeResponse xmlns="https://api.okpay.com">'
    f'<PreapprovedPayment_ChargeResult xmlns:t="{_T}">'
    "<t:Amount>{amount}</t:Amount><t:Comment>{comment}</t:Comment>"
    "<t:Currency>EUR</t:Currency><t:Date>2026-01-01 00:00:00</t:Date>"
    "<t:Fees>0.01</t:Fees><t:ID>{txn}</t:ID>"
    '<t:Invoice xsi:nil="true"/><t:Net>{amount}</t:Net>'
    "<t:OperationName>Preapproved Payment</t:OperationName>"
    + _PARTY.format(
        role="Receiver",
        account=1,
        email="shop@example.com",
        name="Shop",
        wallet="OK426375901",
    )
    + _PARTY.format(
        role="Sender",
        account=2,
        email="customer@example.com",
        name="Customer",
        wallet="OK100000000",
    )
    + "<t:Status>Completed</t:Status>"
    "</PreapprovedPayment_ChargeResult></PreapprovedPayment_ChargeResponse>"
    "</s:Body></s:Envelope>"
)
_FAULT = (
    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
    "<s:Fault><faultcode>s:Server</faultcode><faultstring>Internal_Error"
    "</faultstring></s:Fault></s:Body></s:Envelope>"
)


def _answer(status: str, body: str) -> bytes:
    data = body.encode()
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: text/xml; charset=utf-8\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    ).encode() + data


async def _serve(latency: float, port: int) -> None:
    ids = itertools.count(7_000_000)

    async def handle(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                body = await reader.readexactly(length) if length else b""
                action = _ACTION.search(head)
                await asyncio.sleep(latency)
                if action and action.group(1) == b"PreapprovedPayment_Charge":
                    amount = _AMOUNT.search(body)
                    comment = _COMMENT.search(body)
                    writer.write(
                        _answer(
                            "200 OK",
                            _CHARGED.format(
                                amount=amount.group(1).decode() if amount else "0.00",
                                comment=comment.group(1).decode() if comment else "",
                                txn=next(ids),
                            ),
                        )
                    )
                else:
                    writer.write(_answer("500 Internal Server Error", _FAULT))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=512)
    bound = server.sockets[0].getsockname()[1]
    print(f"listening on http://127.0.0.1:{bound}/", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()
    asyncio.run(_serve(args.latency, args.port))


if __name__ == "__main__":
    main()
