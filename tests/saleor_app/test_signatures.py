"""Webhook signatures: JWS against the instance's JWKS, 401 on anything else."""

from __future__ import annotations

import json

import pytest

from okpay_gateway.contrib.saleor_app.models import Installation, TransactionLink
from okpay_gateway.models import Payment
from tests.saleor_app.standin import SigningKey
from tests.saleor_app.support import initialize_event

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

HOOK = "webhooks/transaction-initialize-session/"
EVENT = "TRANSACTION_INITIALIZE_SESSION"


def _nothing_changed() -> None:
    assert not Payment.objects.exists()
    assert not TransactionLink.objects.exists()


def test_signed_webhook_is_accepted_and_keys_are_cached(app, installed, standin):
    """A good signature passes; the JWKS is fetched once and then cached."""
    first = standin.send_webhook(app + HOOK, EVENT, initialize_event())
    second = standin.send_webhook(app + HOOK, EVENT, initialize_event())
    assert (first.status_code, second.status_code) == (200, 200)
    assert standin.jwks_requests == 1
    assert Installation.objects.get().jwks["keys"][0]["kid"] == "key-1"


def test_missing_signature_is_401(app, installed, standin):
    response = standin.send_webhook(app + HOOK, EVENT, initialize_event(), signature="")
    assert response.status_code == 401
    _nothing_changed()


def test_tampered_body_is_401(app, installed, standin):
    """The signature of one body does not cover another."""
    event = initialize_event()
    signature = standin.key.sign(json.dumps(event).encode())
    event["action"]["amount"] = "0.01"
    response = standin.send_webhook(app + HOOK, EVENT, event, signature=signature)
    assert response.status_code == 401
    _nothing_changed()


def test_forged_key_with_known_kid_is_401(app, installed, standin):
    """Signed by a key Saleor never published, claiming Saleor's kid."""
    forger = SigningKey("key-1")
    response = standin.send_webhook(app + HOOK, EVENT, initialize_event(), key=forger)
    assert response.status_code == 401
    _nothing_changed()


def test_garbage_signature_is_401(app, installed, standin):
    for signature in ("x", "a.b.c", "e30..AAAA", "e30.payload.AAAA"):
        response = standin.send_webhook(
            app + HOOK, EVENT, initialize_event(), signature=signature
        )
        assert response.status_code == 401, signature
    _nothing_changed()


def test_unknown_kid_refetches_keys_once(app, installed, standin):
    """After a key rotation the new kid is fetched once, then cached again."""
    assert (
        standin.send_webhook(app + HOOK, EVENT, initialize_event()).status_code == 200
    )
    assert standin.jwks_requests == 1
    standin.rotate_key()
    assert (
        standin.send_webhook(app + HOOK, EVENT, initialize_event()).status_code == 200
    )
    assert standin.jwks_requests == 2
    assert (
        standin.send_webhook(app + HOOK, EVENT, initialize_event()).status_code == 200
    )
    assert standin.jwks_requests == 2


def test_unknown_kid_not_published_is_401_after_one_refetch(app, installed, standin):
    assert (
        standin.send_webhook(app + HOOK, EVENT, initialize_event()).status_code == 200
    )
    stranger = SigningKey("key-unknown")
    response = standin.send_webhook(app + HOOK, EVENT, initialize_event(), key=stranger)
    assert response.status_code == 401
    assert standin.jwks_requests == 2
    assert Payment.objects.count() == 1


def test_webhook_from_uninstalled_saleor_is_401(app, installed, standin):
    """Signed correctly but naming another Saleor: no installation, 401."""
    response = standin.send_webhook(
        app + HOOK, EVENT, initialize_event(), api_url="http://127.0.0.1:9/graphql/"
    )
    assert response.status_code == 401
    _nothing_changed()


def test_unknown_kids_do_not_refetch_keys_faster_than_the_pause(
    app, installed, standin, settings
):
    """Forged kids cannot make the App hammer Saleor's JWKS endpoint."""
    settings.OKPAY_SALEOR_APP = {
        **settings.OKPAY_SALEOR_APP,
        "JWKS_MIN_REFRESH_SECONDS": 3600,
    }
    assert (
        standin.send_webhook(app + HOOK, EVENT, initialize_event()).status_code == 200
    )
    for n in range(3):
        forged = SigningKey(f"random-{n}")
        response = standin.send_webhook(
            app + HOOK, EVENT, initialize_event(), key=forged
        )
        assert response.status_code == 401
    assert standin.jwks_requests == 1
