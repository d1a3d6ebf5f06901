"""A Saleor-compatible plugin host for Django shops that do not run Saleor.

Plugin code imports from :mod:`okpay_gateway.host.compat` only; the other
modules mirror Saleor's (``base_plugin``, ``interface``, ``payment``,
``manager``, ``models``, ``urls``/``views``, ``customer``, ``masking``).
Settings: ``PLUGINS`` (dotted plugin paths, as in Saleor),
``OKPAY_HOST_CHANNELS`` (channel slugs) and ``OKPAY_HOST_USE_SALEOR``.
"""

from __future__ import annotations
