"""OKPAY pre-approved payments for Django and Saleor.

Importing this package pulls in nothing from Django, so the protocol layer
(:mod:`okpay_gateway.provider`) can be used on its own.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("okpay-gateway")
except PackageNotFoundError:  # running from a plain checkout
    __version__ = "0.0.0"
