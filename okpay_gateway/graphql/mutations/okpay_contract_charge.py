"""``okpayContractCharge`` (staff): charge an amount on an active agreement."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import graphene

from okpay_gateway import exceptions, payments
from okpay_gateway.models import Contract, PaymentStatus

from ..errors import (
    ErrorItem,
    OkPayError,
    decline_error,
    error_for,
    invalid,
    not_found,
    permission_denied,
)
from ..permissions import is_staff, requestor
from ..types import OkPayContract, OkPayDecimal, OkPayPayment
from ._lookup import find

CENT = Decimal("0.01")


class OkPayContractCharge(graphene.Mutation):
    """Charge an amount on an active agreement (PreapprovedPayment_Charge). Staff only.

    `invoice` is the idempotency key: repeating the mutation with the same
    invoice returns the first charge and never moves money twice. Without it
    every call is a new charge.
    """

    class Arguments:
        id = graphene.ID(required=True)
        amount = OkPayDecimal(required=True)
        comment = graphene.String()
        invoice = graphene.String(description="Idempotency key (at most 127 chars).")

    contract = graphene.Field(OkPayContract)
    payment = graphene.Field(OkPayPayment)
    errors = graphene.List(graphene.NonNull(OkPayError), required=True)

    @classmethod
    def mutate(cls, root: Any, info: Any, **data: Any) -> OkPayContractCharge:
        if not is_staff(requestor(info)):
            return cls(errors=[permission_denied()])
        contract = find(Contract.objects.all(), "OkPayContract", data["id"])
        if contract is None:
            return cls(errors=[not_found("id", "The agreement")])
        amount: Decimal = data["amount"]
        if amount <= 0 or amount != amount.quantize(CENT):
            return cls(
                contract=contract,
                errors=[
                    invalid("amount", "Give a positive amount with at most 2 decimals.")
                ],
            )
        if not contract.is_active:
            return cls(
                contract=contract,
                errors=[ErrorItem("NOT_ALLOWED", "The agreement is not active.", "id")],
            )
        invoice = (data.get("invoice") or "").strip() or payments.manual_invoice(
            contract
        )
        if len(invoice) > 127:
            return cls(
                contract=contract,
                errors=[invalid("invoice", "The invoice is too long.")],
            )
        try:
            payment = payments.charge_contract(
                contract,
                amount=amount,
                invoice=invoice,
                description=(data.get("comment") or "")[:255],
                okpay_settings=payments.settings_for_channel(contract.channel),
            )
        except exceptions.OkPayError as exc:
            return cls(contract=contract, errors=[error_for(exc, "amount")])
        contract.refresh_from_db()
        errors: list[ErrorItem] = []
        if payment.status == PaymentStatus.DECLINED:
            errors.append(decline_error(payment.decline_code, "amount"))
        elif payment.status == PaymentStatus.UNKNOWN:
            errors.append(
                ErrorItem(
                    "OUTCOME_UNKNOWN",
                    "OKPAY did not answer; the charge is being checked.",
                    None,
                )
            )
        return cls(contract=contract, payment=payment, errors=errors)
