"""A zeep plugin that logs SOAP envelopes at DEBUG with secrets masked.

Envelopes go to the logger ``okpay_gateway.provider.soap``. The security token
and every field that names a wallet are replaced before the envelope is
written, in requests and replies and in any namespace: the caller's
``WalletID``, ``MerchantWalletID``, a ``Receiver``/``Account``/``Client``
given as a wallet ID or e-mail, and the ``WalletID``, ``AccountID`` and
``Email`` of the parties (``Sender``, ``Receiver``, ``Client``) in replies.
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
SECRET_ELEMENTS: frozenset[str] = frozenset(
    {
        "SecurityToken",
        "WalletID",
        "MerchantWalletID",
        "AccountID",
        "Email",
        # Text when a request names a wallet or e-mail; in replies these are
        # parties whose children above are masked instead.
        "Receiver",
        "Sender",
        "Client",
        "Account",
    }
)


def mask_envelope(envelope: etree._Element) -> bytes:
    """A masked, pretty-printed copy of ``envelope``; the original is untouched."""
    masked = copy.deepcopy(envelope)
    for element in masked.iter():
        if not isinstance(element.tag, str):
            continue  # comments and processing instructions
        if etree.QName(element).localname not in SECRET_ELEMENTS:
            continue
        if len(element) == 0 and element.text and element.text.strip():
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
