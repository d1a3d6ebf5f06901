"""A small Saleor stand-in for the App's tests: a real loopback HTTP server.

It serves ``/.well-known/jwks.json`` (real RSA keys, rotatable), answers the
App's GraphQL calls at ``/graphql/`` from an in-memory model of the few
objects the App touches (app, customers' private metadata, transactions'
reported events, orders) and records every call. It signs webhooks exactly
as Saleor does (detached JWS, RS256, ``b64: false``) and posts them to the
App. This is the one seam the tests replace: Saleor itself.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

APP_TOKEN = "app-token-7f3c9a"
STAFF_TOKEN = "staff-token-1b2d"
APP_ID = base64.b64encode(b"App:1").decode()

_OPERATION = re.compile(r"\b(?:query|mutation)\s+(\w+)")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class SigningKey:
    kid: str
    private: Any = field(
        default_factory=lambda: rsa.generate_private_key(
            public_exponent=65537, key_size=2048
        )
    )

    def jwk(self) -> dict[str, Any]:
        numbers = self.private.public_key().public_numbers()

        def encode(value: int) -> str:
            return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))

        return {
            "kty": "RSA",
            "kid": self.kid,
            "use": "sig",
            "alg": "RS256",
            "n": encode(numbers.n),
            "e": encode(numbers.e),
        }

    def sign(self, body: bytes) -> str:
        header = {
            "alg": "RS256",
            "b64": False,
            "crit": ["b64"],
            "kid": self.kid,
            "typ": "JWT",
        }
        encoded = b64url(json.dumps(header, separators=(",", ":")).encode())
        signature = self.private.sign(
            encoded.encode() + b"." + body, padding.PKCS1v15(), hashes.SHA256()
        )
        return f"{encoded}..{b64url(signature)}"

    def pem(self) -> bytes:
        return self.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


@dataclass
class Call:
    operation: str
    query: str
    variables: dict[str, Any]
    token: str


class SaleorStandIn:
    """The server and its state; ``down = True`` answers 503 to every GraphQL call."""

    def __init__(self, validate_with: Any = None) -> None:
        self.key = SigningKey("key-1")
        self.published = [self.key]
        self.calls: list[Call] = []
        self.jwks_requests = 0
        self.down = False
        # Operations to carry out and then answer 503 for (answer lost).
        self.lose_answer_of: set[str] = set()
        self.metadata: dict[str, dict[str, str]] = {}
        self.reports: list[dict[str, Any]] = []
        self.orders: dict[str, dict[str, Any]] = {}
        self.webhooks: list[dict[str, Any]] = []
        self.schema = validate_with
        self.invalid_documents: list[str] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # --- lifecycle ---------------------------------------------------------

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        return self.base_url + "/graphql/"

    def start(self) -> SaleorStandIn:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def rotate_key(self) -> SigningKey:
        self.key = SigningKey(f"key-{len(self.published) + 1}")
        self.published = [*self.published, self.key]
        return self.key

    def operations(self, name: str | None = None) -> list[Call]:
        return [call for call in self.calls if name is None or call.operation == name]

    # --- webhooks to the App ------------------------------------------------

    def send_webhook(
        self,
        url: str,
        event: str,
        payload: dict[str, Any],
        *,
        signature: str | None = None,
        key: SigningKey | None = None,
        body: bytes | None = None,
        api_url: str | None = None,
    ) -> requests.Response:
        raw = body if body is not None else json.dumps(payload).encode()
        headers = {
            "Content-Type": "application/json",
            "Saleor-Event": event.lower(),
            "Saleor-Domain": self.base_url.split("//", 1)[1],
            "Saleor-Api-Url": api_url or self.api_url,
        }
        if signature is None:
            signature = (key or self.key).sign(raw)
        if signature:
            headers["Saleor-Signature"] = signature
        return requests.post(url, data=raw, headers=headers, timeout=(5, 60))

    # --- GraphQL -----------------------------------------------------------

    def _next_id(self, kind: str) -> str:
        return base64.b64encode(f"{kind}:{next(self._ids)}".encode()).decode()

    def _validate(self, query: str) -> None:
        if self.schema is None:
            return
        from graphql import parse, validate

        errors = validate(self.schema, parse(query))
        if errors:
            self.invalid_documents.append(f"{query[:60]}: {errors[0].message}")

    def answer(self, call: Call) -> dict[str, Any]:
        handler = getattr(self, f"_op_{call.operation}", None)
        if handler is None:
            return {"errors": [{"message": f"stand-in: no {call.operation}"}]}
        if call.operation != "StaffToken" and call.token not in (
            APP_TOKEN,
            STAFF_TOKEN,
        ):
            return {"errors": [{"message": "invalid token"}]}
        return {"data": handler(call.variables, call.token)}

    def _op_AppId(self, variables, token):
        return {"app": {"id": APP_ID} if token == APP_TOKEN else None}

    def _op_StaffToken(self, variables, token):
        return {"tokenCreate": {"token": STAFF_TOKEN, "errors": []}}

    def _op_OkPayAppCreate(self, variables, token):
        self.created_app = variables["input"]
        return {
            "appCreate": {
                "authToken": APP_TOKEN,
                "app": {"id": APP_ID, "identifier": variables["input"]["identifier"]},
                "errors": [],
            }
        }

    def _op_OkPayWebhookCreate(self, variables, token):
        self.webhooks.append({**variables["input"], "token": token})
        return {
            "webhookCreate": {"webhook": {"id": self._next_id("Webhook")}, "errors": []}
        }

    def _op_ReportTransactionEvent(self, variables, token):
        duplicate = any(
            report["id"] == variables["id"]
            and report["type"] == variables["type"]
            and report["pspReference"] == variables["pspReference"]
            for report in self.reports
        )
        self.reports.append(variables)
        return {
            "transactionEventReport": {
                "alreadyProcessed": duplicate,
                "transactionEvent": {
                    "id": self._next_id("TransactionEvent"),
                    "type": variables["type"],
                    "pspReference": variables["pspReference"],
                },
                "errors": [],
            }
        }

    def _op_UpdatePrivateMetadata(self, variables, token):
        target = self.metadata.setdefault(variables["id"], {})
        for item in variables["input"]:
            target[item["key"]] = item["value"]
        return {"updatePrivateMetadata": {"errors": []}}

    def _order_view(self, order):
        view = {
            key: order[key]
            for key in ("id", "number", "status", "chargeStatus", "transactions")
        }
        view["privateMetadata"] = order["input"].get("privateMetadata") or []
        return view

    def _op_OrderByReference(self, variables, token):
        for order in self.orders.values():
            if order["externalReference"] == variables["reference"]:
                return {"order": self._order_view(order)}
        return {"order": None}

    def _op_OrdersByPspReference(self, variables, token):
        found = [
            {"node": self._order_view(order)}
            for order in self.orders.values()
            if any(t["pspReference"] == variables["psp"] for t in order["transactions"])
        ]
        return {"orders": {"edges": found}}

    def _op_RenewalDraftCreate(self, variables, token):
        data = variables["input"]
        reference = data.get("externalReference")
        if any(o["externalReference"] == reference for o in self.orders.values()):
            return {
                "draftOrderCreate": {
                    "order": None,
                    "errors": [
                        {
                            "field": "externalReference",
                            "message": "exists",
                            "code": "UNIQUE",
                        }
                    ],
                }
            }
        order_id = self._next_id("Order")
        order = {
            "id": order_id,
            "number": str(len(self.orders) + 1),
            "status": "DRAFT",
            "chargeStatus": "NONE",
            "transactions": [],
            "externalReference": reference,
            "input": data,
        }
        self.orders[order_id] = order
        return {"draftOrderCreate": {"order": self._order_view(order), "errors": []}}

    def _op_RenewalDraftComplete(self, variables, token):
        order = self.orders[variables["id"]]
        if not order["input"].get("billingAddress"):
            return {
                "draftOrderComplete": {
                    "order": None,
                    "errors": [
                        {
                            "field": None,
                            "message": "no billing",
                            "code": "BILLING_ADDRESS_NOT_SET",
                        }
                    ],
                }
            }
        order["status"] = "UNFULFILLED"
        return {"draftOrderComplete": {"order": self._order_view(order), "errors": []}}

    def _op_RenewalTransactionCreate(self, variables, token):
        order = self.orders[variables["id"]]
        txn = variables["transaction"]
        order["transactions"].append(
            {
                "id": self._next_id("TransactionItem"),
                "pspReference": txn["pspReference"],
            }
        )
        order["chargeStatus"] = "FULL"
        order["charged"] = txn["amountCharged"]
        return {
            "transactionCreate": {
                "transaction": order["transactions"][-1],
                "errors": [],
            }
        }

    def _handler(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status: int, payload: Any) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path == "/.well-known/jwks.json":
                    standin.jwks_requests += 1
                    self._send(200, {"keys": [key.jwk() for key in standin.published]})
                else:
                    self._send(404, {})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path != "/graphql/":
                    self._send(404, {})
                    return
                if standin.down:
                    self._send(503, {"error": "down"})
                    return
                query = body.get("query") or ""
                match = _OPERATION.search(query)
                auth = self.headers.get("Authorization") or ""
                call = Call(
                    operation=match.group(1) if match else "",
                    query=query,
                    variables=body.get("variables") or {},
                    token=auth.removeprefix("Bearer ").strip(),
                )
                with standin._lock:
                    standin.calls.append(call)
                    standin._validate(query)
                    answer = standin.answer(call)
                    lost = call.operation in standin.lose_answer_of
                    if lost:
                        standin.lose_answer_of.discard(call.operation)
                if lost:
                    self._send(503, {"error": "answer lost"})
                else:
                    self._send(200, answer)

        return Handler
