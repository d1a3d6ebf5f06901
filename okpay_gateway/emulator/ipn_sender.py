"""The emulator's IPN sender: building, queueing, delivering and re-sending IPNs.

Messages are stored first (:class:`~.models.IpnMessage`, with the exact
fields in send order, so ``/ipn-verify`` can compare a postback with them) and
delivered afterwards as a form-encoded UTF-8 POST.

Field order follows a live message (okpay-ipn-links.md 2.1): ``ok_charset``
first, then receiver, transaction, invoice, payer, items, the pre-approved
``ok_p_*`` block and ``ok_ipn_id`` last. Empty values are sent as empty
strings, never left out. Pre-approved specifics are assumptions: events carry
``ok_txn_kind=preapproved`` (A10), echo the title, limits and end date (G3);
``access_*`` events have no transaction, so their ``ok_txn_id`` is empty.

Delivery (``OKPAY_EMULATOR`` keys, read through :func:`.settings.setting`):

* ``IPN_DELIVERY``: ``"sync"`` (default: deliver in the calling thread right
  after the queueing transaction commits), ``"thread"`` (same moment, in a
  background thread; the CLI server uses it) or ``"manual"`` (only
  :func:`deliver_due` / :func:`resend` send).
* ``IPN_RETRY_DELAYS``: seconds before each re-send (default per G6/A18:
  1, 2, 4, 8, 16, 32 min, 1, 2, 4, 8, 16 h, then 12 h, 15 re-sends in all).
  After the last re-send fails the message is ``Failed``.
* ``IPN_TIMEOUT``: ``(connect, read)`` seconds, default ``(5, 10)``.
* ``IPN_SESSION_FACTORY``: dotted path of a callable returning the
  ``requests.Session`` to send with; :func:`set_session_factory` overrides it
  in-process (tests mount an adapter that routes to the shop).

Any 2xx answer means delivered (A8). Times are emulator time
(:mod:`.clock`), so moving the clock makes retries due.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

import requests
from django.db import close_old_connections, transaction
from django.db.models import Q
from django.utils.module_loading import import_string

from okpay_gateway.emulator import clock, faults
from okpay_gateway.emulator.checkout_link import CheckoutRequest
from okpay_gateway.emulator.models import (
    Contract,
    FaultKind,
    IpnDeliveryAttempt,
    IpnMessage,
    IpnStatus,
    Transaction,
    Wallet,
)
from okpay_gateway.emulator.models import Sequence as IdSequence
from okpay_gateway.emulator.rules import format_datetime
from okpay_gateway.emulator.settings import get_settings, setting
from okpay_gateway.provider.ipn import encode_ipn

logger = logging.getLogger(__name__)


def next_ipn_id() -> int:
    """A new ``ok_ipn_id`` (for the IPN sender and simulator)."""
    return IdSequence.next_value("ipn", get_settings().ipn_id_start)


Fields = list[tuple[str, str]]

EVENT_ACCESS_GRANTED = "access_granted"
EVENT_ACCESS_DENIED = "access_denied"
EVENT_PAYMENT = "payment"
CONTRACT_EVENTS = (EVENT_ACCESS_GRANTED, EVENT_ACCESS_DENIED, EVENT_PAYMENT)
EVENT_PAYMENT_LINK = "payment_link"

DELIVERY_SYNC = "sync"
DELIVERY_THREAD = "thread"
DELIVERY_MANUAL = "manual"

_MINUTE = 60
_HOUR = 3600
# G6 / A18: PayPal's pattern, 15 re-sends over about four days.
DEFAULT_RETRY_DELAYS: tuple[int, ...] = (
    1 * _MINUTE,
    2 * _MINUTE,
    4 * _MINUTE,
    8 * _MINUTE,
    16 * _MINUTE,
    32 * _MINUTE,
    1 * _HOUR,
    2 * _HOUR,
    4 * _HOUR,
    8 * _HOUR,
    16 * _HOUR,
    12 * _HOUR,
    12 * _HOUR,
    12 * _HOUR,
    12 * _HOUR,
)
DEFAULT_TIMEOUT = (5.0, 10.0)
# How long a claimed message is kept from other senders while its POST runs;
# longer than any sane (connect, read) timeout.
CLAIM_SECONDS = 300
USER_AGENT = "OKPAY-IPN-Emulator/1.0"
HELD_NOTE = "held back until the next IPN of this contract is sent (out_of_order_ipn)"

_session_factory: Callable[[], requests.Session] | None = None


# --- configuration -------------------------------------------------------------


def set_session_factory(factory: Callable[[], requests.Session] | None) -> None:
    """Send IPNs with sessions from ``factory`` (None: back to the setting/default)."""
    global _session_factory
    _session_factory = factory


def _new_session() -> requests.Session:
    if _session_factory is not None:
        return _session_factory()
    path = setting("IPN_SESSION_FACTORY")
    if path:
        factory = import_string(path) if isinstance(path, str) else path
        return factory()
    return requests.Session()


def retry_delays() -> list[timedelta]:
    """The configured gaps before re-send 1, 2, ... (their count is the re-send cap)."""
    raw = setting("IPN_RETRY_DELAYS", None)
    values: Iterable[object] = DEFAULT_RETRY_DELAYS if raw is None else raw
    delays = []
    for value in values:
        if isinstance(value, timedelta):
            delays.append(value)
        else:
            delays.append(timedelta(seconds=float(Decimal(str(value)))))
    return delays


def _timeout() -> tuple[float, float]:
    value = setting("IPN_TIMEOUT", DEFAULT_TIMEOUT)
    if isinstance(value, (int, float, Decimal)):
        return (float(value), float(value))
    connect, read = value
    return (float(connect), float(read))


def delivery_mode() -> str:
    mode = str(setting("IPN_DELIVERY", DELIVERY_SYNC)).lower()
    return (
        mode
        if mode in {DELIVERY_SYNC, DELIVERY_THREAD, DELIVERY_MANUAL}
        else DELIVERY_SYNC
    )


# --- field building ------------------------------------------------------------


def money(amount: Decimal | None) -> str:
    """Two decimals, ``.``, no symbol; empty for a missing amount."""
    if amount is None:
        return ""
    return f"{Decimal(amount).quantize(Decimal('0.01')):f}"


def _receiver_block(receiver: Wallet, echo: str | None) -> Fields:
    return [
        ("ok_receiver", echo if echo is not None else receiver.wallet_id),
        ("ok_receiver_id", str(receiver.account_id)),
        ("ok_receiver_wallet", receiver.wallet_id),
        ("ok_receiver_email", receiver.email),
    ]


def _payer_block(
    payer: Wallet | None, prefill: Mapping[str, str] | None = None
) -> Fields:
    prefill = prefill or {}
    if payer is not None:
        first, _, last = (payer.name or "").partition(" ")
        status = (payer.verification_status or "").lower()
        payer_id = str(payer.account_id)
        email = payer.email
        country_code = payer.country_iso or prefill.get("ok_payer_country_code", "")
    else:
        first = last = status = payer_id = email = country_code = ""
    return [
        ("ok_payer_status", status),
        ("ok_payer_id", payer_id),
        ("ok_payer_reputation", "0"),
        ("ok_payer_first_name", first or prefill.get("ok_payer_first_name", "")),
        ("ok_payer_last_name", last or prefill.get("ok_payer_last_name", "")),
        ("ok_payer_business_name", prefill.get("ok_payer_business_name", "")),
        ("ok_payer_email", email or prefill.get("ok_payer_email", "")),
        ("ok_payer_country", prefill.get("ok_payer_country", "")),
        ("ok_payer_country_code", country_code),
        ("ok_payer_state", prefill.get("ok_payer_state", "")),
        ("ok_payer_city", prefill.get("ok_payer_city", "")),
        ("ok_payer_street", prefill.get("ok_payer_street", "")),
        ("ok_payer_zip", prefill.get("ok_payer_zip", "")),
        ("ok_payer_phone", prefill.get("ok_payer_phone", "")),
    ]


def _payment_block(txn: Transaction, kind: str) -> Fields:
    # A17: when the buyer pays the fee the merchant's IPN shows fee 0.00 and
    # net = gross; Transaction.net is what the receiver got in both cases.
    shown_fee = txn.amount - txn.net
    block = [
        ("ok_txn_id", str(txn.id)),
        ("ok_txn_kind", kind),
        ("ok_txn_payment_type", "instant"),
        ("ok_txn_payment_method", "OKB"),
        ("ok_txn_gross", money(txn.amount)),
        ("ok_txn_amount", money(txn.net)),
        ("ok_txn_net", money(txn.net)),
        ("ok_txn_fee", money(shown_fee)),
        ("ok_txn_currency", txn.currency),
        ("ok_txn_datetime", format_datetime(txn.created_at)),
        ("ok_txn_status", str(txn.status).lower()),
    ]
    if txn.pending_reason:
        block.append(("ok_txn_pending_reason", txn.pending_reason))
    return block


def _contract_block(contract: Contract, event: str) -> Fields:
    return [
        ("ok_p_id", str(contract.id)),
        ("ok_p_event", event),
        ("ok_p_status", str(contract.status).lower()),
        ("ok_p_title", contract.title),
        ("ok_p_daily_amount", money(contract.daily_limit)),
        ("ok_p_weekly_amount", money(contract.weekly_limit)),
        ("ok_p_monthly_amount", money(contract.monthly_limit)),
        ("ok_p_end_date", contract.end_date.isoformat() if contract.end_date else ""),
    ]


def build_contract_fields(
    contract: Contract,
    event: str,
    transaction: Transaction | None = None,
    *,
    at: datetime | None = None,
    receiver_echo: str | None = None,
) -> Fields:
    """The IPN fields of a pre-approved event, without ``ok_ipn_id``."""
    if event not in CONTRACT_EVENTS:
        raise ValueError(f"unknown pre-approved event {event!r}")
    fields: Fields = [("ok_charset", "utf-8")]
    fields += _receiver_block(contract.receiver, receiver_echo)
    if transaction is not None:
        fields += _payment_block(transaction, "preapproved")
        invoice = transaction.invoice or ""
    else:
        fields += [
            ("ok_txn_id", ""),
            ("ok_txn_kind", "preapproved"),
            ("ok_txn_currency", contract.currency),
            ("ok_txn_datetime", format_datetime(at or clock.now())),
        ]
        invoice = contract.invoice
    fields.append(("ok_invoice", invoice))
    fields += _payer_block(contract.client)
    fields += _contract_block(contract, event)
    return fields


def build_payment_fields(
    txn: Transaction, link: CheckoutRequest, *, payer: Wallet | None = None
) -> Fields:
    """The IPN fields of a plain ``ok_kind=payment`` checkout, without ``ok_ipn_id``."""
    fields: Fields = [("ok_charset", "utf-8")]
    fields += _receiver_block(txn.receiver, link.receiver)
    fields += _payment_block(txn, EVENT_PAYMENT_LINK)
    fields.append(("ok_invoice", link.invoice))
    fields += _payer_block(payer or txn.sender, dict(link.payer_prefill))
    fields.append(("ok_items_count", str(len(link.items))))
    for item in link.items:
        prefix = f"ok_item_{item.index}_"
        fields += [
            (prefix + "name", item.name),
            (prefix + "article", item.article),
            (prefix + "type", item.type or "digital"),
            (prefix + "quantity", str(item.quantity)),
            (prefix + "gross", money(item.gross)),
            (prefix + "price", money(item.price)),
        ]
    return fields


# --- queueing -------------------------------------------------------------------


def contract_ipn_url(contract: Contract) -> str:
    """Where a contract's IPNs go: its ``ok_ipn``, else the merchant wallet's URL."""
    return contract.ipn_url or contract.receiver.ipn_url or ""


def queue_ipn(
    url: str,
    fields: Sequence[tuple[str, str]],
    *,
    is_test: bool = False,
    event: str = "",
    contract: Contract | None = None,
    transaction: Transaction | None = None,
    ipn_id: int | None = None,
) -> IpnMessage:
    """Store a message (appending ``ok_ipn_id``) and schedule its delivery.

    ``fields`` must not contain ``ok_ipn_id``; it is added last. Without a
    ``url`` the message is stored (verify still knows it) but never sent.
    """
    if any(name == "ok_ipn_id" for name, _ in fields):
        raise ValueError("ok_ipn_id is assigned by queue_ipn")
    now = clock.now()
    message_id = ipn_id if ipn_id is not None else next_ipn_id()
    stored = [[str(name), str(value)] for name, value in fields]
    stored.append(["ok_ipn_id", str(message_id)])
    message = IpnMessage.objects.create(
        ipn_id=message_id,
        url=url or "",
        fields=stored,
        is_test=is_test,
        event=event,
        contract=contract,
        transaction=transaction,
        status=IpnStatus.QUEUED,
        next_attempt_at=now if url else None,
        created_at=now,
    )
    if url and _should_hold(message):
        IpnMessage.objects.filter(pk=message.pk).update(
            next_attempt_at=None, last_error=HELD_NOTE
        )
        message.next_attempt_at = None
        message.last_error = HELD_NOTE
        logger.info("IPN %s held back by an out_of_order_ipn rule", message.ipn_id)
    elif url:
        _schedule(message.pk)
    return message


def notify_contract_event(
    contract: Contract,
    event: str,
    transaction: Transaction | None = None,
    *,
    receiver_echo: str | None = None,
) -> IpnMessage:
    """Queue the IPN for a pre-approved event (``access_granted``, ``access_denied``, ``payment``).

    ``ok_p_status`` is the contract's current status, lower-cased.
    """
    fields = build_contract_fields(
        contract, event, transaction, receiver_echo=receiver_echo
    )
    return queue_ipn(
        contract_ipn_url(contract),
        fields,
        event=event,
        contract=contract,
        transaction=transaction,
    )


def notify_payment(
    transaction: Transaction, link_fields: CheckoutRequest | Mapping[str, str]
) -> IpnMessage:
    """Queue the ``payment_link`` IPN of a plain checkout payment.

    ``link_fields`` is the parsed link (or its raw ``ok_*`` mapping, parsed
    again here). The target is the link's ``ok_ipn``, else the receiver's URL.
    """
    link = _as_link(transaction, link_fields)
    fields = build_payment_fields(transaction, link)
    url = link.ipn_url or transaction.receiver.ipn_url or ""
    return queue_ipn(url, fields, event=EVENT_PAYMENT_LINK, transaction=transaction)


def _as_link(
    transaction: Transaction, link_fields: CheckoutRequest | Mapping[str, str]
) -> CheckoutRequest:
    if isinstance(link_fields, CheckoutRequest):
        return link_fields
    from okpay_gateway.emulator.checkout_link import parse_checkout_link

    link, problems = parse_checkout_link(
        link_fields,
        today=transaction.created_at.date(),
        find_receiver=lambda _value: transaction.receiver.wallet_id,
    )
    if link is None:
        raise ValueError("; ".join(str(p) for p in problems))
    return link


# --- delivery --------------------------------------------------------------------


def _schedule(message_pk: int) -> None:
    mode = delivery_mode()
    if mode == DELIVERY_MANUAL:
        return
    if mode == DELIVERY_THREAD:
        transaction.on_commit(lambda: _deliver_in_thread(message_pk))
    else:
        transaction.on_commit(lambda: _deliver_claimed(message_pk))


def _deliver_in_thread(message_pk: int) -> None:
    def work() -> None:
        try:
            _deliver_claimed(message_pk)
        except Exception:
            logger.exception("IPN delivery thread failed")
        finally:
            close_old_connections()

    threading.Thread(target=work, name="okpay-ipn-send", daemon=True).start()


def _claim(message_pk: int, now: datetime) -> IpnMessage | None:
    """Take a due message for sending, so no other thread sends it meanwhile."""
    claimed = (
        IpnMessage.objects.filter(
            pk=message_pk,
            status__in=[IpnStatus.QUEUED, IpnStatus.RETRYING],
            next_attempt_at__lte=now,
        )
        .exclude(url="")
        .update(next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS))
    )
    if not claimed:
        return None
    return IpnMessage.objects.select_related("contract").get(pk=message_pk)


def _deliver_claimed(message_pk: int) -> IpnDeliveryAttempt | None:
    message = _claim(message_pk, clock.now())
    if message is None:
        return None
    return _send_and_record(message, manual=False)


def deliver_due(now: datetime | None = None, limit: int = 100) -> int:
    """Send every message due at ``now`` (emulator time); returns how many were tried."""
    at = now or clock.now()
    due = (
        IpnMessage.objects.filter(
            status__in=[IpnStatus.QUEUED, IpnStatus.RETRYING], next_attempt_at__lte=at
        )
        .exclude(url="")
        .order_by("next_attempt_at", "ipn_id")
        .values_list("pk", flat=True)[:limit]
    )
    count = 0
    for message_pk in list(due):
        message = _claim(message_pk, at)
        if message is not None:
            _send_and_record(message, manual=False)
            count += 1
    return count


def resend(message: IpnMessage) -> IpnDeliveryAttempt | None:
    """Send ``message`` again now, whatever its status (IPN History's re-send)."""
    message.refresh_from_db()
    if not message.url:
        return None
    return _send_and_record(message, manual=True)


def _wallet_id_of(message: IpnMessage) -> str | None:
    return message.field_dict().get("ok_receiver_wallet") or None


def _take_fault(kind: str, message: IpnMessage) -> bool:
    return (
        faults.take(
            [kind],
            wallet_id=_wallet_id_of(message),
            contract_id=message.contract_id,
            operation=message.event or None,
        )
        is not None
    )


def _should_hold(message: IpnMessage) -> bool:
    return _take_fault(FaultKind.OUT_OF_ORDER_IPN, message)


def encode_fields(fields: Sequence[Sequence[str]]) -> bytes:
    """The form-encoded UTF-8 body, fields in order (the provider's own encoder)."""
    return encode_ipn([(str(name), str(value)) for name, value in fields])


def _post(message: IpnMessage) -> tuple[int | None, str, int]:
    """One POST: (status code or None, error text, duration in ms)."""
    if _take_fault(FaultKind.IPN_ENDPOINT_DOWN, message):
        return None, "listener unreachable (fault rule ipn_endpoint_down)", 0
    body = encode_fields(message.fields)
    started = time.monotonic()
    session = _new_session()
    try:
        response = session.post(
            message.url,
            data=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "User-Agent": USER_AGENT,
            },
            timeout=_timeout(),
            allow_redirects=False,
        )
        response.close()
        return response.status_code, "", _elapsed_ms(started)
    except requests.Timeout as exc:
        return None, f"timeout: {type(exc).__name__}", _elapsed_ms(started)
    except requests.RequestException as exc:
        return (
            None,
            f"connection error: {type(exc).__name__}: {exc}"[:500],
            _elapsed_ms(started),
        )
    finally:
        session.close()


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _record(message: IpnMessage, status_code: int | None, error: str, duration: int):
    return IpnDeliveryAttempt.objects.create(
        message=message,
        attempted_at=clock.now(),
        status_code=status_code,
        error=error,
        duration_ms=duration,
    )


def _send_and_record(message: IpnMessage, *, manual: bool) -> IpnDeliveryAttempt:
    duplicate = (
        not manual
        and message.attempts == 0
        and _take_fault(FaultKind.DUPLICATE_IPN, message)
    )
    status_code, error, duration = _post(message)
    attempt = _record(message, status_code, error, duration)
    delivered = status_code is not None and 200 <= status_code < 300
    if duplicate and delivered:
        # The fault sends the very same message (same ok_ipn_id) once more.
        attempt = _record(message, *_post(message))
    # Every recorded attempt counts towards the cap, manual ones included, so
    # the number of re-sends shown in the history is the one that ends it.
    attempts = message.delivery_attempts.count()
    update: dict[str, object] = {
        "attempts": attempts,
        "last_status_code": status_code,
        "last_error": error,
    }
    if delivered:
        update.update(status=IpnStatus.SENT, next_attempt_at=None)
    elif manual and message.status in {IpnStatus.SENT, IpnStatus.FAILED}:
        # A failed manual re-send leaves a finished message finished.
        update.update(next_attempt_at=None)
    else:
        resends_done = attempts - 1
        delays = retry_delays()
        if resends_done < len(delays):
            update.update(
                status=IpnStatus.RETRYING,
                next_attempt_at=clock.now() + delays[resends_done],
            )
        else:
            update.update(status=IpnStatus.FAILED, next_attempt_at=None)
    IpnMessage.objects.filter(pk=message.pk).update(**update)
    for name, value in update.items():
        setattr(message, name, value)
    logger.info(
        "IPN %s (%s) attempt %s: %s",
        message.ipn_id,
        message.event,
        attempts,
        status_code if status_code is not None else error,
    )
    if delivered:
        _release_held(message)
    return attempt


def _release_held(sent: IpnMessage) -> None:
    """Let messages held by ``out_of_order_ipn`` go now that a later one is out."""
    held = (
        IpnMessage.objects.filter(
            status=IpnStatus.QUEUED, next_attempt_at__isnull=True, last_error=HELD_NOTE
        )
        .exclude(url="")
        .exclude(pk=sent.pk)
    )
    if sent.contract_id is not None:
        held = held.filter(contract_id=sent.contract_id)
    else:
        held = held.filter(Q(contract__isnull=True), url=sent.url)
    held = held.filter(ipn_id__lt=sent.ipn_id)
    pks = list(held.values_list("pk", flat=True))
    if not pks:
        return
    IpnMessage.objects.filter(pk__in=pks).update(
        next_attempt_at=clock.now(), last_error=""
    )
    for message_pk in pks:
        _schedule(message_pk)


def ipn_history(
    statuses: Iterable[str] | None = None, limit: int = 200
) -> list[IpnMessage]:
    """Newest messages first, optionally only some statuses (the IPN History page)."""
    query = IpnMessage.objects.all().prefetch_related("delivery_attempts")
    wanted = [s for s in (statuses or []) if s]
    if wanted:
        query = query.filter(status__in=wanted)
    return list(query.order_by("-ipn_id")[:limit])
