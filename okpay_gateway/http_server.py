"""The small threaded HTTP server behind ``okpay-gateway emulator`` and ``demo``.

Django's development ``WSGIServer`` with one thread per request and Nagle's
algorithm switched off on accepted sockets. wsgiref writes a response's
headers and body in two sends; on a kept-alive connection (the shop's shared
``requests`` session) Nagle then holds the body back until the client's
delayed ACK, which added about 40 ms to every SOAP call and postback.

Django's handler writes every 5xx access line at ERROR. A view whose 5xx is
an ordinary answer (a SOAP fault is HTTP 500 by the SOAP 1.1 rules) calls
:func:`set_access_log_level` with ``request.META``, and the access line is
written at that level instead.
"""

from __future__ import annotations

import logging
import socket
import socketserver
from typing import Any

from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer

# wsgiref copies the environ before the app sees it, so the handler shares a
# mutable holder through it rather than a plain value.
ACCESS_LOG_ENVIRON_KEY = "okpay_gateway.access_log"


def set_access_log_level(meta: dict[str, Any], level: int) -> None:
    """Ask our server to write this request's access line at ``level``.

    A no-op under any other server (test client, in-process adapter, gunicorn).
    """
    holder = meta.get(ACCESS_LOG_ENVIRON_KEY)
    if isinstance(holder, dict):
        holder["level"] = level


access_logger = logging.getLogger("django.server")


class RequestHandler(WSGIRequestHandler):
    """Django's request handler, with the access-log level a view may lower."""

    def handle_one_request(self) -> None:
        # One handler serves every request of a kept-alive connection.
        self._access_log: dict[str, int] = {}
        super().handle_one_request()

    def get_environ(self) -> dict[str, Any]:
        environ = super().get_environ()
        environ[ACCESS_LOG_ENVIRON_KEY] = self._access_log
        return environ

    def log_message(self, format: str, *args: Any) -> None:
        level = getattr(self, "_access_log", {}).get("level")
        if level is None:
            super().log_message(format, *args)
            return
        extra = {"request": self.request, "server_time": self.log_date_time_string()}
        if len(args) > 1 and str(args[1]).isdigit():
            extra["status_code"] = int(args[1])
        access_logger.log(level, format, *args, extra=extra)


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, address


def bind(host: str, port: int) -> ThreadingWSGIServer:
    """Bind ``host:port`` (0 picks a free port); the WSGI app is set later."""
    return ThreadingWSGIServer((host, port), RequestHandler, ipv6=":" in host)
