"""``okpayContractCancel`` (staff): end an agreement at OKPAY and here."""

from __future__ import annotations

from typing import Any

import graphene

from okpay_gateway import exceptions, payments
from okpay_gateway.models import Contract

from ..errors import OkPayError, error_for, not_found, permission_denied
from ..permissions import is_staff, requestor
from ..types import OkPayContract
from ._lookup import find


class OkPayContractCancel(graphene.Mutation):
    """Cancel an agreement (PreapprovedPayment_Cancel); final. Staff only."""

    class Arguments:
        id = graphene.ID(required=True)
        comment = graphene.String(description="Shown in OKPAY's history.")

    contract = graphene.Field(OkPayContract)
    errors = graphene.List(graphene.NonNull(OkPayError), required=True)

    @classmethod
    def mutate(cls, root: Any, info: Any, **data: Any) -> OkPayContractCancel:
        if not is_staff(requestor(info)):
            return cls(errors=[permission_denied()])
        contract = find(Contract.objects.all(), "OkPayContract", data["id"])
        if contract is None:
            return cls(errors=[not_found("id", "The agreement")])
        try:
            contract = payments.cancel_contract(
                contract,
                okpay_settings=payments.settings_for_channel(contract.channel),
                comment=(data.get("comment") or "")[:255],
            )
        except exceptions.OkPayError as exc:
            contract.refresh_from_db()
            return cls(contract=contract, errors=[error_for(exc)])
        return cls(contract=contract, errors=[])
