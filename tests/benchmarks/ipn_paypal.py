"""django-paypal's IPN view as the benchmark's peer (needs the ``bench`` extra).

The view is django-paypal's own (``paypal.standard.ipn.views.ipn``),
unchanged. Two things are wired for the benchmark:

* its postback goes to the same stub as ours: django-paypal takes the
  endpoint from a module constant (``paypal.standard.models.POSTBACK_ENDPOINT``,
  no setting exists), so :func:`point_postback_at` sets that constant;
* a ``valid_ipn_received`` receiver does the business write our webhook does
  for a ``payment`` IPN, in one statement: the payment named by ``invoice``
  becomes completed.
"""

from __future__ import annotations

from typing import Any

PAYPAL_INVOICE_PREFIX = "pp-"


def available() -> bool:
    from importlib.util import find_spec

    return find_spec("paypal") is not None


def point_postback_at(url: str) -> None:
    import paypal.standard.models

    paypal.standard.models.POSTBACK_ENDPOINT = url
    paypal.standard.models.SANDBOX_POSTBACK_ENDPOINT = url


def _payment_received(sender: Any, **kwargs: Any) -> None:
    from django.db.models import Q
    from django.utils import timezone

    from okpay_gateway.models import Payment, PaymentStatus

    Payment.objects.filter(
        Q(invoice=sender.invoice) & ~Q(status=PaymentStatus.COMPLETED)
    ).update(
        status=PaymentStatus.COMPLETED,
        completed_at=timezone.now(),
        updated_at=timezone.now(),
    )


def connect() -> None:
    from paypal.standard.ipn.signals import valid_ipn_received

    valid_ipn_received.connect(_payment_received, dispatch_uid="bench-paypal")


def paypal_body(n: int, amount: str, receiver: str) -> bytes:
    """A PayPal ``web_accept`` IPN for payment ``pp-<n>`` (form-encoded)."""
    from urllib.parse import urlencode

    return urlencode(
        [
            ("charset", "utf-8"),
            ("txn_type", "web_accept"),
            ("txn_id", f"BENCH{n:012d}"),
            ("payment_status", "Completed"),
            ("receiver_email", receiver),
            ("business", receiver),
            ("mc_gross", amount),
            ("mc_currency", "EUR"),
            ("invoice", f"{PAYPAL_INVOICE_PREFIX}{n}"),
            ("item_name", f"Plan {n}"),
            ("payer_email", f"customer{n % 10}@bench.example"),
            ("payer_id", f"PAYER{n % 10:08d}"),
            ("notify_version", "3.9"),
            ("verify_sign", "A" * 56),
        ]
    ).encode("ascii")
