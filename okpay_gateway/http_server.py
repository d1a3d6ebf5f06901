"""The small threaded HTTP server behind ``okpay-gateway emulator`` and ``demo``.

Django's development ``WSGIServer`` with one thread per request and Nagle's
algorithm switched off on accepted sockets. wsgiref writes a response's
headers and body in two sends; on a kept-alive connection (the shop's shared
``requests`` session) Nagle then holds the body back until the client's
delayed ACK, which added about 40 ms to every SOAP call and postback.
"""

from __future__ import annotations

import socket
import socketserver
from typing import Any

from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, address


def bind(host: str, port: int) -> ThreadingWSGIServer:
    """Bind ``host:port`` (0 picks a free port); the WSGI app is set later."""
    return ThreadingWSGIServer((host, port), WSGIRequestHandler, ipv6=":" in host)
