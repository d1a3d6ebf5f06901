"""The hand-written floor of a renewal run, for :mod:`bench_renewals_floor`.

The same write-before-call guarantee as the engine, with nothing else: per
batch, claim the due subscriptions with one ``UPDATE … RETURNING`` under
``SKIP LOCKED``, insert their attempts in one statement and commit, send the
charges from a pool of ``concurrency`` threads over one pooled HTTP session
(envelopes from a string template, answers read with raw lxml), then write
the results back (attempts and subscriptions) in one statement and commit.
No ledger, no signals, no dunning: what no engine can go below.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

import psycopg
import requests
from lxml import etree
from requests.adapters import HTTPAdapter

from okpay_gateway.provider.auth import security_token

_ENVELOPE = (
    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
    '<PreapprovedPayment_Charge xmlns="https://api.okpay.com">'
    "<WalletID>{wallet}</WalletID><SecurityToken>{token}</SecurityToken>"
    "<PreapprovedPaymentID>{contract}</PreapprovedPaymentID>"
    "<Amount>{amount}</Amount><Comment>{invoice}</Comment>"
    "</PreapprovedPayment_Charge></s:Body></s:Envelope>"
)
_ACTION = '"https://api.okpay.com/I_OkPayAPI/PreapprovedPayment_Charge"'
_T = "{http://schemas.datacontract.org/2004/07/OkPayAPI}"


@dataclass
class FloorResult:
    charged: int
    wall: float
    cpu: float
    statements: int


class Floor:
    """One floor run over a PostgreSQL database (the shop's tables)."""

    def __init__(self, dsn: str, api_url: str, wallet: str, password: str) -> None:
        self.dsn = dsn
        self.api_url = api_url
        self.wallet = wallet
        self.password = password
        self.statements = 0

    def _execute(self, cursor: Any, sql: str, params: Any = None) -> Any:
        self.statements += 1
        return cursor.execute(sql, params)

    def run(self, now: datetime, *, concurrency: int, batch: int) -> FloorResult:
        session = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=concurrency)
        session.mount("http://", adapter)
        token = security_token(self.password, now)
        started, cpu = time.perf_counter(), time.process_time()
        charged = 0
        with (
            psycopg.connect(self.dsn) as conn,
            ThreadPoolExecutor(concurrency) as pool,
        ):
            okpay_ids = dict(
                conn.execute("SELECT id, okpay_id FROM okpay_gateway_contract")
            )
            while True:
                claimed = self._claim(conn, now, batch)
                if not claimed:
                    break
                attempts = self._insert_attempts(conn, claimed, now)
                replies = list(
                    pool.map(
                        lambda row: self._charge(session, token, okpay_ids, row),
                        attempts,
                    )
                )
                charged += self._write_back(conn, attempts, replies, now)
        return FloorResult(
            charged=charged,
            wall=time.perf_counter() - started,
            cpu=time.process_time() - cpu,
            statements=self.statements,
        )

    def _claim(self, conn: Any, now: datetime, batch: int) -> list[tuple]:
        with conn.cursor() as cur:
            self._execute(
                cur,
                "UPDATE okpay_gateway_subscription SET claim_token = %s,"
                " claimed_until = %s WHERE id IN (SELECT id FROM"
                " okpay_gateway_subscription WHERE status IN ('active', 'past_due')"
                " AND next_charge_at <= %s AND (claimed_until IS NULL OR"
                " claimed_until <= %s) ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED)"
                " RETURNING id, period_index, amount, contract_id, anchor",
                (uuid.uuid4().hex, now + timedelta(minutes=10), now, now, batch),
            )
            rows = cur.fetchall()
        conn.commit()
        return rows

    def _insert_attempts(self, conn: Any, claimed: list[tuple], now: datetime) -> list:
        values = []
        params: list[Any] = []
        for sub_id, period, amount, _contract, _anchor in claimed:
            values.append("(%s, %s, %s, %s, 'EUR', 'sending', '', 1, %s, 0, %s, %s)")
            params += [sub_id, period, f"{sub_id}-{period}", amount, now, now, now]
        with conn.cursor() as cur:
            self._execute(
                cur,
                "INSERT INTO okpay_gateway_chargeattempt (subscription_id,"
                " period_index, invoice, amount, currency, status, decline_code,"
                " tries, last_tried_at, resolve_tries, created_at, updated_at)"
                f" VALUES {', '.join(values)} RETURNING id",
                params,
            )
            ids = [row[0] for row in cur.fetchall()]
        conn.commit()
        return [
            (attempt_id, *row) for attempt_id, row in zip(ids, claimed, strict=True)
        ]

    def _charge(
        self, session: requests.Session, token: str, okpay_ids: dict, row: tuple
    ) -> tuple[str, int | None]:
        _attempt, sub_id, period, amount, contract_id, _anchor = row
        body = _ENVELOPE.format(
            wallet=self.wallet,
            token=token,
            contract=okpay_ids[contract_id],
            amount=f"{Decimal(amount):.2f}",
            invoice=escape(f"{sub_id}-{period}"),
        )
        try:
            response = session.post(
                self.api_url,
                data=body.encode(),
                headers={
                    "Content-Type": "text/xml; charset=utf-8",
                    "SOAPAction": _ACTION,
                },
                timeout=(5, 30),
            )
            root = etree.fromstring(response.content)
        except (requests.RequestException, etree.XMLSyntaxError):
            return "unknown", None
        status = root.findtext(f".//{_T}Status")
        txn = root.findtext(f".//{_T}ID")
        if status == "Completed" and txn:
            return "completed", int(txn)
        return "unknown", None

    def _write_back(
        self, conn: Any, attempts: list, replies: list, now: datetime
    ) -> int:
        values = []
        params: list[Any] = []
        for (attempt_id, sub_id, period, _amount, _c, anchor), (status, _txn) in zip(
            attempts, replies, strict=True
        ):
            # Monthly plans: the next period starts a month after this one.
            values.append("(%s::bigint, %s::bigint, %s, %s::timestamptz)")
            params += [attempt_id, sub_id, status, _next_month(anchor, period + 1)]
        with conn.cursor() as cur:
            self._execute(
                cur,
                "WITH v(attempt_id, sub_id, status, next_at) AS (VALUES"
                f" {', '.join(values)}), a AS (UPDATE okpay_gateway_chargeattempt"
                " t SET status = v.status, charged_at = %s, updated_at = %s FROM v"
                " WHERE t.id = v.attempt_id) UPDATE okpay_gateway_subscription s"
                " SET period_index = s.period_index + 1, next_charge_at = v.next_at,"
                " claim_token = '', claimed_until = NULL FROM v WHERE s.id = v.sub_id"
                " AND v.status = 'completed'",
                [*params, now, now],
            )
        conn.commit()
        return sum(1 for status, _ in replies if status == "completed")


def _next_month(anchor: datetime, index: int) -> datetime:
    months = anchor.month - 1 + index
    year, month = anchor.year + months // 12, months % 12 + 1
    return anchor.replace(year=year, month=month, day=min(anchor.day, 28))
