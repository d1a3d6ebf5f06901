"""Bounded IPN storage: the body cap, one row per distinct request, retention."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from okpay_gateway import ipn_log, notifications
from okpay_gateway.emulator import faults
from okpay_gateway.emulator.models import FaultKind
from okpay_gateway.models import (
    Contract,
    ContractStatus,
    Notification,
    NotificationState,
    ProcessedEvent,
    VerificationState,
)
from tests.core import support

pytestmark = pytest.mark.usefixtures("gateway")


def _post(client, body: bytes, content_type: str = support.FORM):
    return client.generic(
        "POST", support.IPN_PATH, data=body, content_type=content_type
    )


def test_body_over_the_cap_is_413_and_only_its_head_is_kept(client, db, gateway):
    """A 2.4 MB POST is refused and stored as its first KiB, length and flag."""
    body = b"ok_txn_id=1&junk=" + b"x" * 2_400_000

    response = _post(client, body)

    assert response.status_code == 413
    row = Notification.objects.get()
    assert row.state == NotificationState.TOO_LARGE
    assert row.flag_codes == ["too_large"]
    assert bytes(row.body) == body[: ipn_log.OVERSIZE_PREFIX_BYTES]
    assert row.body_length == len(body)


def test_body_cap_is_a_setting_and_fits_a_real_ipn(client, merchant, buyer, gateway):
    """A genuine IPN fits the default cap; a cap below its size refuses it."""
    support.grant_at_emulator(merchant, buyer, invoice="agr-1")
    body = support.body_of(support.last_ipn("access_granted"))
    assert len(body) < ipn_log.DEFAULT_MAX_BODY_BYTES // 8

    gateway.OKPAY_GATEWAY = {
        **gateway.OKPAY_GATEWAY,
        "IPN_MAX_BODY_BYTES": len(body) - 1,
    }
    assert _post(client, body).status_code == 413
    gateway.OKPAY_GATEWAY = {**gateway.OKPAY_GATEWAY, "IPN_MAX_BODY_BYTES": len(body)}
    assert _post(client, body).status_code == 200

    states = sorted(Notification.objects.values_list("state", flat=True))
    assert states == [NotificationState.PROCESSED, NotificationState.TOO_LARGE]


def test_identical_junk_is_one_row_with_a_counter(client, db):
    """Twenty identical malformed POSTs: one row, hit_count 20, each answered 400."""
    body = b"\xff\xfe not a form"

    statuses = {_post(client, body).status_code for _ in range(20)}

    assert statuses == {400}
    row = Notification.objects.get()
    assert (row.state, row.hit_count) == (NotificationState.MALFORMED, 20)
    assert bytes(row.body) == body
    assert row.last_seen_at >= row.received_at


def test_identical_oversized_bodies_are_one_row(client, db):
    """Twenty identical 2.4 MB POSTs add one small row, not 48 MB."""
    body = b"a" * 2_400_000

    statuses = {_post(client, body).status_code for _ in range(20)}

    assert statuses == {413}
    row = Notification.objects.get()
    assert row.hit_count == 20
    assert len(bytes(row.body)) == ipn_log.OVERSIZE_PREFIX_BYTES


def test_same_bytes_with_another_content_type_is_another_row(client, db):
    """The charset changes how a body reads, so it is part of what makes a repeat."""
    body = b"ok_x=%FF"

    _post(client, body)
    _post(client, body, support.FORM + "; charset=latin-1")

    assert Notification.objects.count() == 2


def _row(state: str, *, days_ago: float, n: int) -> Notification:
    seen = timezone.now() - timedelta(days=days_ago)
    return Notification.objects.create(
        body=f"row-{n}".encode(),
        received_at=seen,
        last_seen_at=seen,
        state=state,
        fingerprint=f"{n:064d}",
    )


def test_prune_deletes_old_junk_and_keeps_applied_rows(db):
    """Malformed, INVALID, duplicate and too-large rows go; applied and waiting rows stay."""
    old_junk = [
        _row(state, days_ago=40, n=n) for n, state in enumerate(ipn_log.PRUNABLE_STATES)
    ]
    kept = [
        _row(NotificationState.MALFORMED, days_ago=5, n=10),
        *(
            _row(state, days_ago=400, n=20 + n)
            for n, state in enumerate(
                [
                    NotificationState.PROCESSED,
                    NotificationState.IGNORED,
                    NotificationState.FLAGGED,
                    NotificationState.RETRY,
                    NotificationState.FAILED,
                ]
            )
        ),
    ]

    assert ipn_log.prune(days=30, dry_run=True) == {
        str(s): 1 for s in ipn_log.PRUNABLE_STATES
    }
    assert Notification.objects.count() == len(old_junk) + len(kept)
    deleted = ipn_log.prune(days=30)

    assert sum(deleted.values()) == len(old_junk)
    assert set(Notification.objects.values_list("pk", flat=True)) == {
        r.pk for r in kept
    }


def test_okpay_prune_ipns_command_uses_the_retention_setting(db, gateway):
    """The command reads IPN_RETENTION_DAYS; --days overrides it."""
    _row(NotificationState.INVALID, days_ago=10, n=1)
    gateway.OKPAY_GATEWAY = {**gateway.OKPAY_GATEWAY, "IPN_RETENTION_DAYS": 20}

    out = StringIO()
    call_command("okpay_prune_ipns", stdout=out)
    assert out.getvalue().strip() == "0 stored IPNs older than 20 days deleted"

    out = StringIO()
    call_command("okpay_prune_ipns", "--days", "7", stdout=out)
    assert out.getvalue().strip() == (
        "1 stored IPNs older than 7 days deleted (invalid: 1)"
    )
    assert Notification.objects.count() == 0


def test_redelivery_of_a_retry_row_verifies_and_applies_it(client, merchant, buyer):
    """After a verify outage, OKPAY's redelivery takes the same row up and applies it."""
    support.grant_at_emulator(merchant, buyer, invoice="agr-1")
    body = support.body_of(support.last_ipn("access_granted"))
    rule = faults.add_rule(FaultKind.HTTP_500, operation="ipn-verify", uses=None)
    assert _post(client, body).status_code == 503
    rule.delete()

    assert _post(client, body).status_code == 200

    row = Notification.objects.get()
    assert (row.state, row.hit_count, row.verify_attempts) == (
        NotificationState.PROCESSED,
        2,
        2,
    )
    assert Contract.objects.get().status == ContractStatus.ACTIVE


def test_reverify_due_takes_up_a_row_abandoned_in_received(client, merchant, buyer):
    """A row a crashed worker left RECEIVED is verified and applied by the sweep."""
    support.grant_at_emulator(merchant, buyer, invoice="agr-1")
    body = support.body_of(support.last_ipn("access_granted"))
    assert _post(client, body).status_code == 200
    row = Notification.objects.get()
    # As a crash between the INSERT and the outcome would leave it: nothing
    # applied, no keys, not verified.
    long_ago = timezone.now() - timedelta(hours=1)
    ProcessedEvent.objects.all().delete()
    Contract.objects.all().delete()
    Notification.objects.filter(pk=row.pk).update(
        state=NotificationState.RECEIVED,
        last_seen_at=long_ago,
        verification=VerificationState.PENDING,
    )

    assert _post(client, body).status_code == 503  # still in flight, as far as we know
    Notification.objects.filter(pk=row.pk).update(last_seen_at=long_ago)
    handled = notifications.reverify_due()

    assert [(n.pk, n.state) for n in handled] == [(row.pk, NotificationState.PROCESSED)]
    assert Contract.objects.get().status == ContractStatus.ACTIVE
