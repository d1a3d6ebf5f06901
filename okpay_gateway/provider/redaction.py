"""A zeep plugin that logs SOAP envelopes at DEBUG with secrets masked.

Envelopes go to the logger ``okpay_gateway.provider.soap``. The text of every
``WalletID`` and ``SecurityToken`` element (in any namespace, so also the
``WalletID`` of parties in replies) is replaced before the envelope is written.
When DEBUG is off for that logger nothing is copied, masked or logged.

zeep's own ``zeep.transports`` logger dumps raw, unmasked envelopes at DEBUG;
our transport does not call it, but keep that logger off in production anyway.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from lxml import etree
from zeep import Plugin

__all__ = ["MASK", "SECRET_ELEMENTS", "RedactingLogPlugin", "mask_envelope"]

logger = logging.getLogger("okpay_gateway.provider.soap")

MASK = "***"
SECRET_ELEMENTS: frozenset[str] = frozenset({"WalletID", "SecurityToken"})


def mask_envelope(envelope: etree._Element) -> bytes:
    """A masked, pretty-printed copy of ``envelope``; the original is untouched."""
    masked = copy.deepcopy(envelope)
    for element in masked.iter():
        if not isinstance(element.tag, str):
            continue  # comments and processing instructions
        if etree.QName(element).localname in SECRET_ELEMENTS and element.text:
            element.text = MASK
    text: bytes = etree.tostring(masked, pretty_print=True, encoding="utf-8")
    return text


class RedactingLogPlugin(Plugin):
    """Logs outgoing and incoming envelopes, masked, when DEBUG is enabled."""

    def egress(
        self,
        envelope: etree._Element,
        http_headers: dict[str, Any],
        operation: Any,
        binding_options: Any,
    ) -> tuple[etree._Element, dict[str, Any]]:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "SOAP request %s:\n%s",
                getattr(operation, "name", operation),
                mask_envelope(envelope).decode("utf-8"),
                extra={"okpay_operation": getattr(operation, "name", "")},
            )
        return envelope, http_headers

    def ingress(
        self,
        envelope: etree._Element,
        http_headers: Any,
        operation: Any,
    ) -> tuple[etree._Element, Any]:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "SOAP reply %s:\n%s",
                getattr(operation, "name", operation),
                mask_envelope(envelope).decode("utf-8"),
                extra={"okpay_operation": getattr(operation, "name", "")},
            )
        return envelope, http_headers
