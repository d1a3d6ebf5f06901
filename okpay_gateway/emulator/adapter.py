"""The emulator served in-process: a ``requests`` transport adapter.

Mount it on the session a client uses and every request to the mounted base
URL goes through Django's real request handling (URL routing, middleware, the
SOAP view, zeep serialization) without a socket::

    session = emulator_session()              # http://okpay.emulator/ -> /okpay-emulator/
    client = OkPayClient(settings=..., session=session)

The adapter turns the :class:`requests.PreparedRequest` into a WSGI environ and
hands it to a test-client style handler that, like Django's test client, does
not close the database connection after the request: in a test the calls
share the test's transaction.

Injected delays (see :mod:`.faults`) do not sleep here when the caller's read
timeout would expire first: ``slow`` raises :class:`requests.exceptions.ReadTimeout`
without running the operation, ``applied_late`` runs and commits it, then
raises ``ReadTimeout``.
"""

from __future__ import annotations

import io
import logging
import sys
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import requests
from django.test.client import ClientHandler
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers

from okpay_gateway.emulator.soap import IN_PROCESS_ENVIRON_KEY, TIMEOUT_HEADER

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "http://okpay.emulator/"
DEFAULT_PREFIX = "/okpay-emulator/"


def _read_timeout(timeout: Any) -> float | None:
    if isinstance(timeout, tuple):
        return timeout[1] if len(timeout) > 1 else None
    return timeout


class EmulatorAdapter(BaseAdapter):
    """Serve ``requests`` calls from the Django app in this process.

    ``prefix`` is where the project's URLconf includes the emulator's URLs
    (``tests/urls.py`` uses ``/okpay-emulator/``); the path of the requested
    URL below the mount point is appended to it. ``remote_addr`` is the
    caller address the emulator sees (for wallet IP allow-lists).
    """

    def __init__(
        self, *, prefix: str = DEFAULT_PREFIX, remote_addr: str = "127.0.0.1"
    ) -> None:
        super().__init__()
        self.prefix = "/" + prefix.strip("/") + "/" if prefix.strip("/") else "/"
        self.remote_addr = remote_addr
        self._handler = ClientHandler(enforce_csrf_checks=False)
        self._mount_path = ""

    def __repr__(self) -> str:
        return f"EmulatorAdapter(prefix={self.prefix!r})"

    def mounted_at(self, base_url: str) -> EmulatorAdapter:
        """Record the mount URL so its path is stripped before adding ``prefix``."""
        self._mount_path = urlsplit(base_url).path.rstrip("/")
        return self

    def _path(self, url_path: str) -> str:
        path = unquote(url_path or "/")
        if self._mount_path and path.startswith(self._mount_path):
            path = path[len(self._mount_path) :]
        return self.prefix + path.lstrip("/")

    def _environ(
        self, request: requests.PreparedRequest, read_timeout: float | None
    ) -> dict[str, Any]:
        parts = urlsplit(request.url)
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif not isinstance(body, bytes):
            body = b"".join(
                chunk.encode() if isinstance(chunk, str) else chunk for chunk in body
            )
        scheme = parts.scheme or "http"
        port = parts.port or (443 if scheme == "https" else 80)
        environ: dict[str, Any] = {
            "REQUEST_METHOD": (request.method or "GET").upper(),
            "SCRIPT_NAME": "",
            "PATH_INFO": self._path(parts.path),
            "QUERY_STRING": parts.query,
            "SERVER_NAME": parts.hostname or "okpay.emulator",
            "SERVER_PORT": str(port),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": self.remote_addr,
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": scheme,
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            IN_PROCESS_ENVIRON_KEY: {
                "read_timeout": read_timeout,
                "url": urlunsplit((scheme, parts.netloc, parts.path, "", "")),
            },
        }
        for name, value in request.headers.items():
            key = name.upper().replace("-", "_")
            if key == "CONTENT_TYPE":
                environ["CONTENT_TYPE"] = value
            elif key != "CONTENT_LENGTH":
                environ[f"HTTP_{key}"] = value
        environ.setdefault("HTTP_HOST", parts.netloc or "okpay.emulator")
        return environ

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        environ = self._environ(request, _read_timeout(timeout))
        django_response = self._handler(environ)
        marker = django_response.get(TIMEOUT_HEADER) if django_response else None
        if marker:
            logger.info("emulator answer withheld (%s): read timeout", marker)
            raise requests.exceptions.ReadTimeout(
                f"emulator: injected {marker} delay exceeds the read timeout",
                request=request,
            )
        content = (
            b"".join(django_response.streaming_content)
            if django_response.streaming
            else django_response.content
        )
        response = requests.Response()
        response.status_code = django_response.status_code
        response.reason = django_response.reason_phrase
        response.headers = CaseInsensitiveDict(dict(django_response.items()))
        for cookie in django_response.cookies.values():
            response.headers.setdefault("Set-Cookie", cookie.OutputString())
        response.encoding = get_encoding_from_headers(response.headers)
        response.raw = io.BytesIO(content)
        response._content = content
        response._content_consumed = True
        response.url = request.url
        response.request = request
        response.connection = self
        return response

    def close(self) -> None:
        """Nothing to release: there is no socket."""


def emulator_session(
    base_url: str = DEFAULT_BASE_URL,
    *,
    prefix: str = DEFAULT_PREFIX,
    remote_addr: str = "127.0.0.1",
    session: requests.Session | None = None,
) -> requests.Session:
    """A session whose requests to ``base_url`` are served by the in-process emulator."""
    session = session if session is not None else requests.Session()
    base = base_url if base_url.endswith("/") else base_url + "/"
    adapter = EmulatorAdapter(prefix=prefix, remote_addr=remote_addr).mounted_at(base)
    session.mount(base, adapter)
    return session
