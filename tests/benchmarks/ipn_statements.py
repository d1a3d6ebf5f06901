"""Middleware of the benchmark shop: SQL statements per request, per handler.

Each request's database work goes through ``connection.execute_wrapper``;
statements (transaction control left out, as in
``tests/core/test_ipn_round_trips.py``) are summed per URL path and served
by ``bench/stats`` so ``bench_ipn.py`` can print statements per IPN.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse

_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK")
_lock = threading.Lock()
statements: Counter[str] = Counter()
requests: Counter[str] = Counter()


def snapshot() -> dict[str, dict[str, int]]:
    with _lock:
        return {"statements": dict(statements), "requests": dict(requests)}


class CountStatements:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST":
            return self.get_response(request)
        seen = [0]

        def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            if sql.split(None, 1)[0].upper() not in _CONTROL:
                seen[0] += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            response = self.get_response(request)
        with _lock:
            statements[request.path] += seen[0]
            requests[request.path] += 1
        return response
