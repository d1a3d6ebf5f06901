"""A postback endpoint that answers ``VERIFIED`` to every POST (benchmarks only).

    python tests/benchmarks/postback_stub.py

Binds a free loopback port, prints ``STUB_URL http://127.0.0.1:<port>/`` and
serves until SIGTERM. It reads the body and answers at once, one thread per
keep-alive connection, Nagle off: next to no CPU per postback, so what a
benchmark measures is the IPN handler, not the verifier. Every handler the
IPN benchmark compares (ours, django-paypal's, the minimal one) posts back
here, each in its own wire format.
"""

from __future__ import annotations

import signal
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ANSWER = b"VERIFIED"


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def get_request(self) -> tuple[socket.socket, object]:
        sock, address = super().get_request()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, address


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(ANSWER)))
        self.end_headers()
        self.wfile.write(ANSWER)

    def log_message(self, format: str, *args: object) -> None:
        return


def main() -> int:
    server = _Server(("127.0.0.1", 0), _Handler)

    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    print(f"STUB_URL http://127.0.0.1:{server.server_address[1]}/", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
