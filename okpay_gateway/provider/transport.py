"""HTTP plumbing for the SOAP client: session, timeouts, the parsed WSDL.

* One :class:`requests.Session` per :class:`~okpay_gateway.provider.client.OkPayClient`
  (callers may pass their own, e.g. with a test adapter mounted on it).
* :class:`OkPayTransport` sends every request with an explicit
  ``(connect, read)`` timeout tuple from :class:`OkPaySettings`; zeep's
  ``operation_timeout`` would be a single number for both phases.
* :func:`load_wsdl_document` parses the vendored WSDL once per process and path;
  every client shares the result.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any

import requests
from zeep import Settings, Transport
from zeep.wsdl import Document

from okpay_gateway.provider.settings import OkPaySettings

__all__ = [
    "USER_AGENT",
    "OkPayTransport",
    "build_session",
    "build_transport",
    "load_wsdl_document",
    "zeep_settings",
]

logger = logging.getLogger(__name__)

USER_AGENT = "okpay-gateway (+zeep)"


def build_session() -> requests.Session:
    """A fresh session for one client (connection pooling, our User-Agent)."""
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    return session


def zeep_settings() -> Settings:
    """zeep settings shared by every client: strict parsing, no huge trees, no DTDs."""
    return Settings(
        strict=True, xml_huge_tree=False, forbid_dtd=True, forbid_entities=True
    )


class OkPayTransport(Transport):
    """zeep transport that posts with ``timeout=(connect, read)``.

    It also skips zeep's own DEBUG dump of raw envelopes (which would log the
    SecurityToken); :mod:`okpay_gateway.provider.redaction` logs them masked.
    """

    def __init__(
        self,
        *,
        session: requests.Session,
        connect_timeout: float,
        read_timeout: float,
    ) -> None:
        super().__init__(  # type: ignore[no-untyped-call]  # zeep's is unannotated
            session=session, operation_timeout=read_timeout, timeout=read_timeout
        )
        self.timeouts: tuple[float, float] = (connect_timeout, read_timeout)

    def post(
        self, address: str, message: Any, headers: dict[str, str]
    ) -> requests.Response:
        return self.session.post(
            address, data=message, headers=headers, timeout=self.timeouts
        )


def build_transport(
    settings: OkPaySettings, session: requests.Session
) -> OkPayTransport:
    """The transport for ``settings``, bound to ``session``."""
    return OkPayTransport(
        session=session,
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
    )


@functools.lru_cache(maxsize=8)
def load_wsdl_document(path: Path) -> Document:
    """The parsed WSDL at ``path``: read and parsed once per process.

    The files are local, so the loading transport never touches the network;
    ``cache_info().misses`` counts the parses.
    """
    logger.debug("parsing WSDL %s", path)
    loader = Transport(session=requests.Session(), operation_timeout=5, timeout=5)
    # zeep annotates this argument as a Transport class; it takes an instance.
    return Document(str(path), loader, settings=zeep_settings())  # type: ignore[arg-type]
