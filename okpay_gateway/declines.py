"""What a refused charge means for the shopper, and the way out of it.

A first charge made right after the customer approved an agreement can be
refused: the customer lowered a limit below the payment on OKPAY's page,
the wallet is short, or the shop's own API credentials are wrong. The
agreement is stored either way, so "try again" would only meet the same
refusal. :func:`advice_for` says, in the shopper's terms, what happened and
whether approving a *new* agreement would help; :func:`retire_unusable_agreement`
cancels the agreement that cannot pay (``PreapprovedPayment_Cancel``) so the
next attempt asks for a new one.

Configuration failures are the shop's problem, not the shopper's: they are
reported to the merchant by :mod:`okpay_gateway.alerts`, and the shopper is
only told that nothing was charged.
"""

from __future__ import annotations

from dataclasses import dataclass

from okpay_gateway import exceptions, payments
from okpay_gateway.models import (
    Contract,
    ContractStatus,
    Payment,
    PaymentStatus,
)
from okpay_gateway.provider.settings import OkPaySettings

# Error codes that say the shop's OKPAY set-up is wrong (wallet ID, API
# password, API access); the shopper can do nothing about them.
CONFIGURATION_CODES = frozenset(
    {exceptions.AuthenticationFailed.code, exceptions.ConfigurationError.code}
)


@dataclass(frozen=True, slots=True)
class ShopperAdvice:
    """What happened, in the shopper's terms, and what can get them out of it.

    ``new_agreement``: approving a new agreement can make the payment go
    through. ``retry``: the same agreement may work later (a topped-up
    wallet, the shop's settings fixed). ``merchant_problem``: the cause is
    the shop's configuration.
    """

    reason: str
    next_step: str = ""
    next_step_with_new_agreement: str = ""
    new_agreement: bool = False
    retry: bool = True
    merchant_problem: bool = False

    def message(self, *, can_replace: bool = False) -> str:
        """The whole text; ``can_replace``: the shop offers a new agreement."""
        step = (
            self.next_step_with_new_agreement
            if can_replace and self.new_agreement
            else self.next_step
        )
        return " ".join(part for part in (self.reason, step) if part)


_SHOP_SIDE = ShopperAdvice(
    "The shop cannot take OKPAY payments at the moment because of a problem "
    "with its own OKPAY settings; the shop has been told. Nothing was charged.",
    next_step="Please try again later.",
    merchant_problem=True,
)

_ADVICE: dict[str, ShopperAdvice] = {
    exceptions.LimitExceeded.code: ShopperAdvice(
        "OKPAY refused the payment because it is more than a limit set on your "
        "OKPAY agreement. Nothing was charged.",
        next_step_with_new_agreement=(
            "Approve a new agreement with a limit that covers this payment."
        ),
        new_agreement=True,
        retry=False,
    ),
    exceptions.InsufficientFunds.code: ShopperAdvice(
        "Your OKPAY wallet does not hold enough money for this payment. "
        "Nothing was charged.",
        next_step="Top up the wallet and try again.",
        next_step_with_new_agreement=(
            "Top up the wallet and try again, or approve a new agreement from "
            "another wallet."
        ),
        new_agreement=True,
    ),
    exceptions.OperationNotAllowed.code: ShopperAdvice(
        "OKPAY does not allow this payment on your agreement. Nothing was charged.",
        next_step_with_new_agreement="Approve a new agreement to pay.",
        new_agreement=True,
        retry=False,
    ),
    payments.CONTRACT_INACTIVE: ShopperAdvice(
        "Your OKPAY agreement is not active any more. Nothing was charged.",
        next_step_with_new_agreement="Approve a new agreement to pay.",
        new_agreement=True,
        retry=False,
    ),
    exceptions.AuthenticationFailed.code: _SHOP_SIDE,
    exceptions.ConfigurationError.code: _SHOP_SIDE,
}


def advice_for(code: str, *, default: str = "") -> ShopperAdvice:
    """The advice for a ``Payment.decline_code`` or an :class:`OkPayError` code."""
    if code in _ADVICE:
        return _ADVICE[code]
    return ShopperAdvice(default or payments.decline_message(code))


def message_for(payment: Payment) -> str:
    """The shopper's message for a refused ``payment``, with the way out."""
    return advice_for(payment.decline_code).message(
        can_replace=unusable_agreement(payment.contract)
    )


def unusable_agreement(contract: Contract | None) -> bool:
    """Whether ``contract`` is an agreement that never paid and cannot pay.

    True for an active agreement on which no payment ever completed and whose
    latest refused charge was refused for a reason a new agreement fixes. Agreements
    that paid before are never called unusable: they may carry subscriptions,
    and cancelling them is the customer's or the merchant's decision.
    """
    if contract is None or contract.status != ContractStatus.ACTIVE:
        return False
    charges = Payment.objects.filter(contract=contract)
    if charges.filter(status__in=payments.CAPTURED_STATUSES).exists():
        return False
    # A refused payment the shop voided afterwards keeps its decline code.
    refused = charges.exclude(decline_code="").order_by("-pk").first()
    return (
        refused is not None
        and refused.status in (PaymentStatus.DECLINED, PaymentStatus.CANCELED)
        and advice_for(refused.decline_code).new_agreement
    )


def retire_unusable_agreement(
    contract: Contract | None, *, okpay_settings: OkPaySettings
) -> bool:
    """Cancel ``contract`` at OKPAY if it is :func:`unusable_agreement`.

    Returns True when it was canceled, so the caller asks for a new one.
    Raises the provider error when OKPAY refuses the cancel.
    """
    if not unusable_agreement(contract):
        return False
    assert contract is not None
    payments.cancel_contract(
        contract,
        okpay_settings=okpay_settings,
        comment="replaced: the customer approves a new agreement",
    )
    return True
