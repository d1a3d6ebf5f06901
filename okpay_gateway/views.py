"""Standalone HTTP endpoints for shops that do not route OKPAY through a plugin.

``ipn_view`` is OKPAY's IPN listener (``ok_ipn``). It is CSRF-exempt (OKPAY
cannot send a token) and excluded from ``ATOMIC_REQUESTS``: the pipeline
commits the raw message first and manages its own transactions, so a
request-wide transaction must never roll the stored row back.
"""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from okpay_gateway import notifications


@csrf_exempt
@transaction.non_atomic_requests
def ipn_view(request: HttpRequest) -> HttpResponse:
    """Hand the request to :func:`okpay_gateway.notifications.handle_ipn_request`.

    The settings are resolved after the body is stored (``OKPAY_GATEWAY``, or
    what the plugin registered for the default channel), so even a broken
    configuration leaves the message on record.
    """
    return notifications.handle_ipn_request(request, okpay_settings=None)
