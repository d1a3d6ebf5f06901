"""Which agreement belongs to which Saleor customer.

The App does not run inside Saleor, so it cannot point ``Contract.customer``
at Saleor's user; :class:`CustomerAgreement` links the agreement to the
Saleor user's global ID instead. The customer's private metadata carries the
agreement ID under the key the plugin uses, so an agreement the plugin
granted (the same ``Contract`` row) is found and adopted on the customer's
next checkout: that is how a shop moves from the plugin to the App.
"""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from okpay_gateway.models import Contract, ContractStatus

from . import documents, saleor_api
from .models import CustomerAgreement, Installation

logger = logging.getLogger(__name__)

# The plugin's key ("<PLUGIN_ID upper>.customer_id", Saleor's gateway customer
# id convention): both routes read and write the same one. A test pins it to
# the plugin's value.
AGREEMENT_METADATA_KEY = "OKPAY_GATEWAY.PAYMENTS.OKPAY.customer_id"


def user_pk(global_id: str) -> int | None:
    """The database pk in Saleor's ``User:<pk>`` global ID, if it is one."""
    try:
        kind, _, pk = base64.b64decode(global_id).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return int(pk) if kind == "User" and pk.isdigit() else None


def _metadata_value(user: dict[str, Any], key: str) -> str | None:
    for item in user.get("privateMetadata") or ():
        if isinstance(item, dict) and item.get("key") == key:
            return str(item.get("value") or "")
    return None


def _usable(queryset: Any, currency: str, channel: str) -> Any:
    today = timezone.now().date()
    return queryset.filter(
        currency=currency.upper(), channel=channel or "", status=ContractStatus.ACTIVE
    ).filter(Q(end_date__isnull=True) | Q(end_date__gte=today))


def active_agreement(
    installation: Installation,
    user: dict[str, Any] | None,
    currency: str,
    channel: str,
) -> Contract | None:
    """The customer's newest usable agreement in ``currency`` and ``channel``."""
    if not user or not user.get("id"):
        return None
    user_id = str(user["id"])
    linked = _usable(
        Contract.objects.filter(
            saleor_app_customer__installation=installation,
            saleor_app_customer__saleor_user_id=user_id,
        ),
        currency,
        channel,
    )
    found = linked.order_by("-granted_at", "-pk").first()
    if found is not None:
        return found
    return _adopt_from_metadata(installation, user, currency, channel)


def _adopt_from_metadata(
    installation: Installation, user: dict[str, Any], currency: str, channel: str
) -> Contract | None:
    raw = _metadata_value(user, AGREEMENT_METADATA_KEY)
    if not raw or not raw.isdigit():
        return None
    contract = _usable(Contract.objects.filter(okpay_id=int(raw)), currency, channel)
    contract = contract.filter(saleor_app_customer__isnull=True).first()
    if contract is None:
        return None
    # The plugin's row names Saleor's user pk; refuse one naming somebody else.
    pk = user_pk(str(user["id"]))
    if contract.customer_id is not None and contract.customer_id != pk:
        return None
    try:
        with transaction.atomic():
            CustomerAgreement.objects.create(
                installation=installation,
                saleor_user_id=str(user["id"]),
                contract=contract,
                stored_on_customer=True,
            )
    except IntegrityError:
        return None
    logger.info("OKPAY agreement %s adopted from customer metadata", raw)
    return contract


def link_customer(
    installation: Installation, user: dict[str, Any] | None, contract: Contract
) -> None:
    """Record that ``contract`` (still pending) belongs to the Saleor ``user``."""
    if not user or not user.get("id"):
        return
    CustomerAgreement.objects.get_or_create(
        contract=contract,
        defaults={"installation": installation, "saleor_user_id": str(user["id"])},
    )


def store_on_customer(link: CustomerAgreement) -> bool:
    """Write the granted agreement's ID to the customer's private metadata.

    Returns whether it is stored; a failure is logged and retried by
    ``okpay_saleor_app_retry``.
    """
    contract = link.contract
    if link.stored_on_customer or contract.okpay_id is None:
        return link.stored_on_customer
    installation = link.installation
    try:
        saleor_api.mutate(
            installation.saleor_api_url,
            installation.token,
            documents.UPDATE_PRIVATE_METADATA,
            "updatePrivateMetadata",
            {
                "id": link.saleor_user_id,
                "input": [
                    {"key": AGREEMENT_METADATA_KEY, "value": str(contract.okpay_id)}
                ],
            },
        )
    except (saleor_api.SaleorUnavailable, saleor_api.SaleorError) as exc:
        logger.warning(
            "OKPAY agreement %s not stored on the Saleor customer yet: %s",
            contract.okpay_id,
            exc,
        )
        return False
    CustomerAgreement.objects.filter(pk=link.pk).update(stored_on_customer=True)
    link.stored_on_customer = True
    return True
