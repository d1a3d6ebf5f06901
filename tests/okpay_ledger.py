"""OKPAY's side of the ledger (the emulator's transactions), as the tests judge it.

A faithful OKPAY files no invoice on a ``PreapprovedPayment_Charge``: the
client sends the invoice as the first word of the charge's comment
(:func:`okpay_gateway.provider.messages.charge_comment`). These helpers find
agreement charges by that word, so the tests count what OKPAY really holds.
"""

from __future__ import annotations

from collections import Counter

from django.db.models import Q, QuerySet

from okpay_gateway.emulator.models import Transaction
from okpay_gateway.provider.messages import split_charge_comment


def charges(invoice: str) -> QuerySet[Transaction]:
    """The agreement charges OKPAY holds for ``invoice`` (comment's first word)."""
    return Transaction.objects.filter(contract__isnull=False).filter(
        Q(comment=invoice) | Q(comment__startswith=f"{invoice} ")
    )


def charges_by_invoice() -> Counter[str]:
    """How many agreement charges OKPAY holds per invoice (comment's first word)."""
    return Counter(
        split_charge_comment(comment)[0]
        for comment in Transaction.objects.filter(contract__isnull=False).values_list(
            "comment", flat=True
        )
    )


def transactions(invoice: str) -> QuerySet[Transaction]:
    """Every transaction OKPAY holds for ``invoice``: filed under it (checkout
    links, ``Send_Money``) or an agreement charge carrying it in its comment."""
    return Transaction.objects.filter(
        Q(invoice=invoice)
        | Q(contract__isnull=False)
        & (Q(comment=invoice) | Q(comment__startswith=f"{invoice} "))
    )
