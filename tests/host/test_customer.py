from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser, User

from okpay_gateway.host.customer import (
    fetch_customer_id,
    prepare_key_for_gateway_customer_id,
    store_customer_id,
)
from okpay_gateway.host.models import CustomerMetadata


def test_prepare_key_upper_cases_and_strips_gateway():
    """The key is the stripped, upper-cased gateway id plus ".customer_id"."""
    assert (
        prepare_key_for_gateway_customer_id(" saleor.payments.stripe ")
        == "SALEOR.PAYMENTS.STRIPE.customer_id"
    )


@pytest.mark.django_db
def test_store_customer_id_django_user_uses_customer_metadata():
    """A plain Django user gets a CustomerMetadata row holding the key."""
    user = User.objects.create_user("buyer")
    store_customer_id(user, "okpay.gateway", "OK123")
    metadata = CustomerMetadata.objects.get(user=user)
    assert metadata.private_metadata == {"OKPAY.GATEWAY.customer_id": "OK123"}
    assert fetch_customer_id(user, "okpay.gateway") == "OK123"


@pytest.mark.django_db
def test_store_customer_id_keeps_other_gateways_keys():
    """Storing for a second gateway, or again, leaves other keys in place."""
    user = User.objects.create_user("buyer")
    store_customer_id(user, "a.gw", "A1")
    store_customer_id(user, "b.gw", "B1")
    store_customer_id(user, "a.gw", "A2")
    assert CustomerMetadata.objects.get(user=user).private_metadata == {
        "A.GW.customer_id": "A2",
        "B.GW.customer_id": "B1",
    }


@pytest.mark.django_db
def test_fetch_customer_id_unknown_user_or_gateway_returns_none():
    """Users without metadata, anonymous users and None give None."""
    user = User.objects.create_user("buyer")
    assert fetch_customer_id(user, "okpay.gateway") is None
    store_customer_id(user, "other", "X")
    assert fetch_customer_id(user, "okpay.gateway") is None
    assert fetch_customer_id(AnonymousUser(), "okpay.gateway") is None
    assert fetch_customer_id(None, "okpay.gateway") is None


@pytest.mark.django_db
def test_store_customer_id_object_with_private_metadata_is_saved_directly():
    """An object carrying private_metadata (Saleor's User) is written and saved itself."""
    user = User.objects.create_user("buyer")
    metadata = CustomerMetadata.objects.create(user=user, private_metadata={"k": 1})
    store_customer_id(metadata, "okpay.gateway", "OK9")
    metadata.refresh_from_db()
    assert metadata.private_metadata == {"k": 1, "OKPAY.GATEWAY.customer_id": "OK9"}
    assert fetch_customer_id(metadata, "okpay.gateway") == "OK9"


def test_store_customer_id_saleor_like_user_saves_update_fields():
    """Saleor's User API is used: store_value_in_private_metadata, then a narrow save."""
    saved = []

    class SaleorLikeUser(SimpleNamespace):
        def store_value_in_private_metadata(self, items):
            self.private_metadata.update(items)

        def save(self, update_fields):
            saved.append(update_fields)

    user = SaleorLikeUser(private_metadata={}, updated_at=None, is_authenticated=True)
    store_customer_id(user, "okpay.gateway", "OK1")
    assert user.private_metadata == {"OKPAY.GATEWAY.customer_id": "OK1"}
    assert saved == [["private_metadata", "updated_at"]]
    assert fetch_customer_id(user, "okpay.gateway") == "OK1"
