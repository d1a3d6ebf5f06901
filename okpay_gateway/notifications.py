"""The IPN pipeline: read, parse, store, verify, check, deduplicate, apply, answer.

:func:`handle_ipn_request` is the one entry point for OKPAY's POSTs; the
standalone view (``okpay_gateway.views.ipn_view``) and the Saleor plugin's
``webhook`` both call it. Each message goes through these steps, in as few
round trips as the guarantees allow (a genuine ``payment`` IPN costs six SQL
statements and one postback):

1. **Read and parse, then store** (:mod:`okpay_gateway.ipn_log`). Only POSTs
   are read: anything else gets 405 and leaves no row. The body is read up to
   ``OKPAY_GATEWAY["IPN_MAX_BODY_BYTES"]`` (64 KiB by default) and parsed with
   :func:`okpay_gateway.provider.ipn.parse_ipn` *before* the first write, so
   one ``INSERT`` stores the exact body bytes, the content type, the request
   headers (``Cookie``, ``Authorization`` and anything that looks like a
   credential dropped), ``REMOTE_ADDR``, the channel and the parsed fields.
   A body that is not a readable IPN is stored ``MALFORMED`` with a
   ``malformed`` flag and answered 400; one over the cap is stored
   ``TOO_LARGE`` (first KiB only, a ``too_large`` flag) and answered 413.
   The row is committed before anything else happens to the message.
2. **Repeats.** A request identical to a stored one (same channel, content
   type and bytes) adds no row: the stored row's ``hit_count`` and
   ``last_seen_at`` move, and the answer is the stored row's. A stored row
   waiting for verification (``RETRY``) or one that ``FAILED`` is taken up
   again by the repeat (compare-and-set on its state, so only one runner);
   one still in flight (``RECEIVED``) is answered 503.
3. **Verify** by posting the stored bytes back to the *configured*
   ``verify_url`` (never a URL from the message) through
   :func:`okpay_gateway.clients.http_session` with (connect, verify) timeouts.

   * ``VERIFIED``: go on. ``TEST``: go on only where the settings accept TEST
     answers (sandbox, emulator); otherwise ``INVALID`` + ``test_in_live_mode``.
   * ``INVALID``: state ``INVALID`` + ``verification_invalid``, never applied.
     The answer is **200**: OKPAY redelivers on anything else, and a forged or
     tampered message would be redelivered forever.
   * could not verify (timeout, 5xx, garbage): state ``RETRY`` with
     ``next_verify_at`` on a back-off, answer **503** so OKPAY redelivers, and
     :func:`reverify_due` re-verifies the row later and applies it once
     verified. ``okpay_reverify`` runs it from cron; the renewals scheduler
     calls it on every tick as well. ``OKPAY_GATEWAY["REVERIFY_DELAYS"]``
     (seconds after the 1st, 2nd, ... failure; the last repeats) and
     ``["REVERIFY_MAX_ATTEMPTS"]`` (then the row is FAILED) tune it. A row
     left ``RECEIVED`` by a crash is picked up by :func:`reverify_due` too.

   A trusted answer is not written on its own: it is saved with the outcome
   in the one transaction of step 6.
4. **Check** (each failure a flag on the row, state ``FLAGGED``, 200, signal
   ``notification_flagged``): the receiver is our wallet (``receiver_mismatch``),
   ``ok_ipn_test`` outside sandbox (``test_in_live_mode``), currency and
   amount against the stored payment or contract (``currency_mismatch``,
   ``amount_mismatch``), echoed fee payer (``fee_payer_mismatch``), the
   agreement ID against the one we know (``contract_mismatch``), closed
   contracts (``contract_closed``), unknown contracts (``unknown_contract``),
   and **TEST against live records** (``test_on_live_record``): a TEST
   message (verify answered TEST, or ``ok_ipn_test=1``) only ever changes
   contracts it recorded itself (``Contract.is_test``), never an agreement
   the shop asked for or a live grant, and never completes a payment that
   is not on a TEST contract. A VERIFIED grant of a TEST contract makes it live.
5. **Deduplicate in the database.** In the one ``transaction.atomic()`` that
   also makes the state changes, the ``ProcessedEvent`` keys
   ``ipn:<ok_ipn_id>`` and ``txn:<ok_txn_id>:<status>`` (payments) or
   ``contract:<ok_p_id>:<event>:<status>`` (access events) are inserted in
   one statement (``ON CONFLICT DO NOTHING RETURNING``). The unique
   constraint decides between concurrent deliveries: a key owned by another
   row rolls the transaction back and the row becomes ``DUPLICATE`` (200). A
   flagged message consumes no key, so reprocessing it after the data is
   fixed applies it.
6. **Dispatch** through :data:`HANDLERS`, keyed by (``ok_p_event``,
   ``ok_p_status``) for agreements and (``"txn"``, ``ok_txn_status``) for plain
   payments. Unknown kinds are ``IGNORED`` (200) with an ``unhandled_kind``
   note. Out-of-order delivery converges: a ``payment`` (or ``access_denied``)
   event for a pending contract activates it first. A ``payment`` event reads
   its payment and contract in one locked query.
7. **Unexpected errors**: state ``FAILED``, the traceback in ``error``, logged
   at ERROR with ``okpay_notification_id``, answer 500 so OKPAY redelivers.
8. **Signals** after commit: ``contract_granted``, ``contract_closed`` (from
   :mod:`okpay_gateway.contracts`), ``payment_completed`` (from
   :mod:`okpay_gateway.payments`), ``notification_flagged`` (states FLAGGED,
   INVALID, MALFORMED, TOO_LARGE) and ``notification_processed`` (state
   PROCESSED). After a grant commits,
   :func:`okpay_gateway.payments.charge_waiting_payments` charges what waited
   for the agreement (after a close it declines them, ``contract_inactive``);
   its errors are logged, never turned into a 500 (the IPN is applied; a
   redelivery would only be a duplicate).

``IGNORED`` rows may carry explanatory entries in ``flags`` (``pending``,
``not_completed``, ``unhandled_kind``); only the state says whether a row
needs a human.

The admin's actions call :func:`reprocess` and :func:`reverify`.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.utils import timezone

from okpay_gateway import clients, conf, contracts, ipn_log, signals
from okpay_gateway.exceptions import InvalidTransition, MalformedNotification
from okpay_gateway.ipn_log import storable
from okpay_gateway.models import (
    Contract,
    ContractStatus,
    Notification,
    NotificationState,
    Payment,
    ProcessedEvent,
)
from okpay_gateway.models import VerificationState as VerificationResult
from okpay_gateway.provider import ipn
from okpay_gateway.provider.fees import OkFees as LinkFeePayer
from okpay_gateway.provider.settings import OkPaySettings

logger = logging.getLogger(__name__)

# Re-verification back-off (seconds after the n-th failed attempt; the last
# value repeats). OKPAY itself redelivers too, so this only has to bridge an
# outage of the verify endpoint.
DEFAULT_REVERIFY_DELAYS = (60, 300, 900, 1800, 3600, 7200, 14400, 28800, 43200)
DEFAULT_REVERIFY_MAX_ATTEMPTS = 20
# How long reverify_due keeps a claimed row away from other workers, and how
# long a row may sit RECEIVED before it counts as abandoned by a crash.
REVERIFY_LEASE = timedelta(minutes=5)

_HTTP_STATUS = {
    NotificationState.PROCESSED: 200,
    NotificationState.IGNORED: 200,
    NotificationState.DUPLICATE: 200,
    NotificationState.FLAGGED: 200,
    NotificationState.INVALID: 200,
    NotificationState.MALFORMED: 400,
    NotificationState.TOO_LARGE: 413,
    NotificationState.RETRY: 503,
    NotificationState.FAILED: 500,
    # Only a repeat sees this: the first arrival is still being handled.
    NotificationState.RECEIVED: 503,
}
_FLAGGED_STATES = (
    NotificationState.FLAGGED,
    NotificationState.INVALID,
    NotificationState.MALFORMED,
    NotificationState.TOO_LARGE,
)
# States a repeat of the same request takes up again.
_RERUN_STATES = (NotificationState.RETRY, NotificationState.FAILED)
# States the admin's actions leave alone: applied, or nothing to apply.
_FINAL_STATES = (NotificationState.PROCESSED, NotificationState.TOO_LARGE)
_VERIFICATION = {
    ipn.VerificationResult.VERIFIED: VerificationResult.VERIFIED,
    ipn.VerificationResult.TEST: VerificationResult.TEST,
    ipn.VerificationResult.INVALID: VerificationResult.INVALID,
    ipn.VerificationResult.UNVERIFIABLE: VerificationResult.UNVERIFIABLE,
}
_CLOSE_STATUS = {
    ipn.PreapprovedStatus.FAILED: ContractStatus.FAILED,
    ipn.PreapprovedStatus.CANCELED: ContractStatus.CANCELED,
    ipn.PreapprovedStatus.EXPIRED: ContractStatus.EXPIRED,
}
_VERIFY_FIELDS = [
    "verify_attempts",
    "verification",
    "verification_answer",
    "verified_at",
    "next_verify_at",
]


def flag(code: str, message: str) -> dict[str, str]:
    """One entry of ``Notification.flags``."""
    return {"code": code, "message": storable(message)}


# --- 1./2. reading, parsing, storing -----------------------------------------------


def _copy_fields(notification: Notification, message: ipn.IpnMessage) -> None:
    notification.ipn_id = message.ipn_id
    notification.txn_id = message.txn_id
    notification.txn_status = str(message.txn_status or "")
    notification.event = str(message.event or "")
    notification.contract_okpay_id = message.contract_id
    notification.invoice = storable(message.invoice or "")[:127]
    notification.is_test = message.is_test


def _reject(notification: Notification, code: str, text: str, now: datetime) -> None:
    notification.state = (
        NotificationState.TOO_LARGE
        if code == "too_large"
        else NotificationState.MALFORMED
    )
    notification.flags = [flag(code, text)]
    notification.processed_at = now


def _parse_into(
    notification: Notification, received: ipn_log.Received, now: datetime
) -> ipn.IpnMessage | None:
    """Parse the request into the unsaved row; None (row rejected) when unusable."""
    if received.oversized:
        _reject(
            notification,
            "too_large",
            f"body of {received.body_length} bytes is over the "
            f"{ipn_log.max_body_bytes()}-byte cap; its first "
            f"{len(received.body)} bytes are kept",
            now,
        )
        return None
    try:
        message = ipn.parse_ipn(
            received.body, content_type=received.content_type or None
        )
    except MalformedNotification as exc:
        _reject(notification, "malformed", str(exc), now)
        return None
    _copy_fields(notification, message)
    return message


def _parse_stored(notification: Notification) -> ipn.IpnMessage | None:
    """Parse a stored row again (admin actions, re-verification)."""
    try:
        message = ipn.parse_ipn(
            bytes(notification.body), content_type=notification.content_type or None
        )
    except MalformedNotification as exc:
        _reject(notification, "malformed", str(exc), timezone.now())
        notification.save(update_fields=["state", "flags", "processed_at"])
        _announce_rejected(notification)
        return None
    _copy_fields(notification, message)
    return message


def _announce_rejected(notification: Notification) -> None:
    _send_flagged_on_commit(notification)
    logger.warning(
        "OKPAY IPN %s %s: %s",
        notification.pk,
        notification.state,
        notification.flags[0]["message"],
        extra={"okpay_notification_id": notification.pk},
    )


def store_notification(
    request: HttpRequest, *, channel: str = ""
) -> tuple[Notification, ipn.IpnMessage | None, bool]:
    """Read, parse and store ``request`` in one INSERT.

    Returns the row, the parsed message (None when the body is malformed or
    too large) and whether the row is new; for a repeat of a stored request
    the stored row comes back with its counter moved.
    """
    now = timezone.now()
    received = ipn_log.read_request(request)
    row = ipn_log.new_row(received, channel=channel, now=now)
    message = _parse_into(row, received, now)
    if ipn_log.insert(row):
        if message is None:
            _announce_rejected(row)
        return row, message, True
    stored = ipn_log.record_repeat(str(row.fingerprint), now)
    if stored is not None:
        return stored, message, False
    # Pruned between our INSERT and the look-up: store this arrival after all.
    if not ipn_log.insert(row):
        raise DatabaseError("the stored IPN row vanished and reappeared; retry")
    if message is None:
        _announce_rejected(row)
    return row, message, True


# --- the HTTP face ------------------------------------------------------------------


def response_for(notification: Notification) -> HttpResponse:
    """The answer OKPAY gets for a processed row (A8: any 2xx acknowledges)."""
    status = _HTTP_STATUS.get(notification.state, 500)
    text = "OK" if status == 200 else notification.state
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")


def handle_ipn_request(
    request: HttpRequest,
    *,
    okpay_settings: OkPaySettings | None,
    channel: str = "",
) -> HttpResponse:
    """Run one inbound IPN through the whole pipeline and answer OKPAY.

    ``okpay_settings`` are the settings of the wallet the IPN is for; None
    resolves them after the body is stored (``payments.settings_for_channel``),
    so a configuration error still leaves the message on record (FAILED, 500).
    Must not run inside a transaction that rolls back on error: use it from a
    view marked ``transaction.non_atomic_requests``.
    """
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    notification, message, fresh = store_notification(request, channel=channel)
    if not fresh:
        return _repeat(notification, message, okpay_settings)
    if message is None:
        return response_for(notification)
    return _process(notification, message, okpay_settings, force_verify=True)


def _repeat(
    notification: Notification,
    message: ipn.IpnMessage | None,
    okpay_settings: OkPaySettings | None,
) -> HttpResponse:
    if (
        message is not None
        and notification.state in _RERUN_STATES
        and _take_up(notification)
    ):
        return _process(notification, message, okpay_settings, force_verify=False)
    logger.info(
        "OKPAY IPN %s arrived again (%s times, %s)",
        notification.pk,
        notification.hit_count,
        notification.state,
        extra={"okpay_notification_id": notification.pk},
    )
    return response_for(notification)


def _process(
    notification: Notification,
    message: ipn.IpnMessage,
    okpay_settings: OkPaySettings | None,
    *,
    force_verify: bool,
) -> HttpResponse:
    try:
        if okpay_settings is None:
            okpay_settings = settings_for_channel(notification.channel)
    except Exception as exc:
        # Any settings problem must still leave the stored row explained.
        _record_failure(notification, exc)
        return response_for(notification)
    _run(notification, okpay_settings, message, force_verify=force_verify)
    return response_for(notification)


def settings_for_channel(channel: str = "") -> OkPaySettings:
    """Provider settings for ``channel``: registered by the plugin, else ``OKPAY_GATEWAY``."""
    from okpay_gateway import payments

    return payments.settings_for_channel(channel)


# --- the run: verify, apply, with failures recorded ---------------------------------


def _run(
    notification: Notification,
    okpay_settings: OkPaySettings,
    message: ipn.IpnMessage | None = None,
    *,
    force_verify: bool,
) -> Notification:
    try:
        if message is None:
            message = _parse_stored(notification)
            if message is None:
                return notification
        must_verify = force_verify or not _already_trusted(notification, okpay_settings)
        if must_verify and not _verify(notification, okpay_settings):
            return notification
        _apply(notification, message, okpay_settings)
    except Exception as exc:
        # Step 7: whatever went wrong, the row says so and OKPAY redelivers.
        _record_failure(notification, exc)
    return notification


def _record_failure(notification: Notification, exc: BaseException) -> None:
    notification.state = NotificationState.FAILED
    notification.error = storable("".join(traceback.format_exception(exc)))
    notification.processed_at = timezone.now()
    logger.error(
        "OKPAY IPN %s failed",
        notification.pk,
        exc_info=exc,
        extra={
            "okpay_notification_id": notification.pk,
            "okpay_txn_id": notification.txn_id,
        },
    )
    try:
        notification.save(
            update_fields=["state", "error", "processed_at", *_VERIFY_FIELDS]
        )
    except DatabaseError:
        logger.exception(
            "OKPAY IPN %s: the failure could not be recorded",
            notification.pk,
            extra={"okpay_notification_id": notification.pk},
        )


def _send_flagged_on_commit(notification: Notification) -> None:
    flags = list(notification.flags)
    transaction.on_commit(
        lambda: signals.notification_flagged.send(
            sender=Notification, notification=notification, flags=flags
        )
    )


# --- 3. verifying ------------------------------------------------------------------


def _is_trusted(verification: str, okpay_settings: OkPaySettings) -> bool:
    if verification == VerificationResult.VERIFIED:
        return True
    return (
        verification == VerificationResult.TEST and okpay_settings.accepts_test_answers
    )


def _already_trusted(notification: Notification, okpay_settings: OkPaySettings) -> bool:
    return _is_trusted(notification.verification, okpay_settings)


def reverify_delay(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed verification."""
    delays = conf.setting("REVERIFY_DELAYS") or DEFAULT_REVERIFY_DELAYS
    index = min(max(attempts, 1), len(delays)) - 1
    return timedelta(seconds=float(delays[index]))


def _max_attempts() -> int:
    return int(conf.setting("REVERIFY_MAX_ATTEMPTS", DEFAULT_REVERIFY_MAX_ATTEMPTS))


def _verify(notification: Notification, okpay_settings: OkPaySettings) -> bool:
    """Post the body back; True when the row may be applied.

    A trusted answer is only set on the instance (the apply step saves it with
    the outcome); any other answer is saved here.
    """
    outcome = ipn.verify_ipn(
        bytes(notification.body),
        verify_url=okpay_settings.verify_url,
        session=clients.http_session(),
        timeout=(okpay_settings.connect_timeout, okpay_settings.verify_timeout),
    )
    now = timezone.now()
    notification.verify_attempts += 1
    notification.verification = _VERIFICATION[outcome.result]
    # For unusable answers the reason ("HTTP 500", "timeout: ...") says more
    # than whatever body came with it.
    said = outcome.error or outcome.answer
    if outcome.result is not ipn.VerificationResult.UNVERIFIABLE:
        said = outcome.answer
    notification.verification_answer = storable(said)[:255]
    if _is_trusted(notification.verification, okpay_settings):
        notification.verified_at = now
        notification.next_verify_at = None
        return True
    extra = {
        "okpay_notification_id": notification.pk,
        "okpay_txn_id": notification.txn_id,
    }
    if outcome.result is ipn.VerificationResult.UNVERIFIABLE:
        if notification.verify_attempts >= _max_attempts():
            notification.state = NotificationState.FAILED
            notification.error = (
                f"gave up after {notification.verify_attempts} verification attempts: "
                f"{outcome.error}"
            )
            notification.next_verify_at = None
            notification.processed_at = now
            logger.error(
                "OKPAY IPN %s: %s", notification.pk, notification.error, extra=extra
            )
        else:
            notification.state = NotificationState.RETRY
            notification.next_verify_at = now + reverify_delay(
                notification.verify_attempts
            )
            logger.warning(
                "OKPAY IPN %s could not be verified (%s); retry at %s",
                notification.pk,
                outcome.error,
                notification.next_verify_at.isoformat(),
                extra=extra,
            )
        notification.save(
            update_fields=[*_VERIFY_FIELDS, "state", "error", "processed_at"]
        )
        return False
    if outcome.result is ipn.VerificationResult.TEST:
        notification.flags = [
            flag(
                "test_in_live_mode",
                "OKPAY answered TEST (a simulator message) and these settings "
                "do not accept TEST answers",
            )
        ]
    else:
        notification.flags = [
            flag("verification_invalid", "OKPAY answered INVALID to the postback")
        ]
    notification.state = NotificationState.INVALID
    notification.next_verify_at = None
    notification.processed_at = now
    notification.save(update_fields=[*_VERIFY_FIELDS, "state", "flags", "processed_at"])
    _send_flagged_on_commit(notification)
    logger.warning(
        "OKPAY IPN %s rejected: %s",
        notification.pk,
        notification.flag_codes[0],
        extra=extra,
    )
    return False


# --- 4. message-level checks -------------------------------------------------------


def _looks_like_wallet(value: str) -> bool:
    return value[:2].upper() == "OK" and value[2:].isdigit()


def receiver_problems(
    message: ipn.IpnMessage, okpay_settings: OkPaySettings
) -> list[str]:
    """Why the message's receiver is not our wallet (empty when it is)."""
    wallet = okpay_settings.wallet_id.strip().upper()
    email = okpay_settings.receiver_email.strip().lower()
    problems: list[str] = []
    named_wallet = message.receiver_wallet or (
        message.receiver
        if message.receiver and _looks_like_wallet(message.receiver)
        else None
    )
    if named_wallet is not None:
        if named_wallet.strip().upper() != wallet:
            problems.append(f"receiver wallet {named_wallet!r} is not ours ({wallet})")
    elif message.receiver:
        if not email or message.receiver.strip().lower() != email:
            problems.append(
                f"ok_receiver {message.receiver!r} is not our wallet or e-mail"
            )
    else:
        problems.append("the message names no receiver wallet")
    if (
        email
        and message.receiver_email
        and message.receiver_email.strip().lower() != email
    ):
        problems.append(f"ok_receiver_email {message.receiver_email!r} is not ours")
    return problems


def _message_flags(
    message: ipn.IpnMessage, okpay_settings: OkPaySettings
) -> list[dict[str, str]]:
    flags = [
        flag("receiver_mismatch", p) for p in receiver_problems(message, okpay_settings)
    ]
    if message.is_test and not okpay_settings.accepts_test_answers:
        flags.append(
            flag(
                "test_in_live_mode",
                "ok_ipn_test=1 and these settings do not accept TEST",
            )
        )
    return flags


# --- 5./6. dedupe, dispatch, apply ---------------------------------------------------


class _Rejected(Exception):
    """A handler's check failed: roll back its transaction (keys included), flag the row.

    Control flow inside this module only, so it does not derive from
    OkPayError (house style §4.5 rule 6); it never leaves :func:`_apply`.
    """

    def __init__(self, *flags: dict[str, str]) -> None:
        super().__init__(", ".join(f["code"] for f in flags))
        self.flags = list(flags)


class _Duplicate(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass
class _Outcome:
    state: str = NotificationState.PROCESSED
    flags: list[dict[str, str]] = field(default_factory=list)
    after_commit: list[Callable[[], None]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Context:
    notification: Notification
    message: ipn.IpnMessage
    okpay_settings: OkPaySettings
    now: datetime

    @property
    def is_test(self) -> bool:
        """A simulator/sandbox message: TEST answer, or ``ok_ipn_test=1``."""
        return (
            self.notification.verification == VerificationResult.TEST
            or self.message.is_test
        )


def kind_of(message: ipn.IpnMessage) -> tuple[str, str]:
    """The :data:`HANDLERS` key of a message."""
    if message.is_preapproved:
        return (str(message.event or ""), str(message.contract_status or ""))
    return ("txn", str(message.txn_status or ""))


def dedupe_keys(message: ipn.IpnMessage) -> list[str]:
    """The ``ProcessedEvent`` keys that applying ``message`` consumes."""
    keys: list[str] = []
    if message.ipn_id is not None:
        keys.append(f"ipn:{message.ipn_id}")
    access_events = (
        ipn.PreapprovedEvent.ACCESS_GRANTED,
        ipn.PreapprovedEvent.ACCESS_DENIED,
    )
    if message.event in access_events and message.contract_id is not None:
        keys.append(
            f"contract:{message.contract_id}:{message.event}:{message.contract_status or ''}"
        )
    elif message.txn_id is not None:
        keys.append(f"txn:{message.txn_id}:{message.txn_status or ''}")
    return keys


def _inserts_returning() -> bool:
    # INSERT ... ON CONFLICT DO NOTHING RETURNING: PostgreSQL, SQLite >= 3.35.
    return connection.vendor in ("postgresql", "sqlite") and bool(
        connection.features.can_return_columns_from_insert
    )


def _insert_keys(notification: Notification, keys: list[str]) -> set[str]:
    """Insert the keys in one statement; the ones this call inserted."""
    meta = ProcessedEvent._meta
    quote = connection.ops.quote_name
    columns = [meta.get_field(name).column for name in ("key", "notification")]
    created = meta.get_field("created_at")
    at = created.get_db_prep_save(timezone.now(), connection)
    rows = ", ".join(["(%s, %s, %s)"] * len(keys))
    sql = (
        f"INSERT INTO {quote(meta.db_table)} "
        f"({quote(columns[0])}, {quote(columns[1])}, {quote(created.column)}) "
        f"VALUES {rows} ON CONFLICT ({quote(columns[0])}) DO NOTHING "
        f"RETURNING {quote(columns[0])}"
    )
    params: list[object] = []
    for key in keys:
        params += [key, notification.pk, at]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0] for row in cursor.fetchall()}


def _insert_keys_one_by_one(notification: Notification, keys: list[str]) -> set[str]:
    inserted: set[str] = set()
    for key in keys:
        try:
            with transaction.atomic():
                ProcessedEvent.objects.create(key=key, notification=notification)
        except IntegrityError:
            continue
        inserted.add(key)
    return inserted


def _claim_keys(notification: Notification, keys: Iterable[str]) -> None:
    """Insert the keys; raise _Duplicate when another row already owns one."""
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return
    insert = _insert_keys if _inserts_returning() else _insert_keys_one_by_one
    taken = set(wanted) - insert(notification, wanted)
    if not taken:
        return
    owners = ProcessedEvent.objects.filter(key__in=taken).values_list(
        "key", "notification_id"
    )
    for key, owner in owners:
        # A row re-run by reprocess() already owns its own keys.
        if owner != notification.pk:
            raise _Duplicate(key)


def _finish(notification: Notification, outcome: _Outcome, ctx: _Context) -> None:
    """Save the verification and the outcome in one UPDATE; queue the signals."""
    notification.state = outcome.state
    notification.flags = outcome.flags
    notification.error = ""
    notification.processed_at = ctx.now
    notification.save(
        update_fields=["state", "flags", "error", "processed_at", *_VERIFY_FIELDS]
    )
    for callback in outcome.after_commit:
        transaction.on_commit(callback)
    extra = {
        "okpay_notification_id": notification.pk,
        "okpay_txn_id": ctx.message.txn_id,
    }
    if notification.state in _FLAGGED_STATES:
        _send_flagged_on_commit(notification)
        logger.warning(
            "OKPAY IPN %s flagged: %s",
            notification.pk,
            ", ".join(notification.flag_codes),
            extra=extra,
        )
    elif notification.state == NotificationState.PROCESSED:
        transaction.on_commit(
            lambda: signals.notification_processed.send(
                sender=Notification, notification=notification
            )
        )
        logger.info(
            "OKPAY IPN %s processed (%s/%s)",
            notification.pk,
            *kind_of(ctx.message),
            extra=extra,
        )


def _apply(
    notification: Notification, message: ipn.IpnMessage, okpay_settings: OkPaySettings
) -> None:
    ctx = _Context(notification, message, okpay_settings, timezone.now())
    kind = kind_of(message)
    handler = HANDLERS.get(kind)
    message_flags = _message_flags(message, okpay_settings)
    if message_flags:
        outcome = _Outcome(NotificationState.FLAGGED, message_flags)
    elif handler is None:
        outcome = _Outcome(
            NotificationState.IGNORED,
            [flag("unhandled_kind", f"nothing to do for {kind[0]}/{kind[1]}")],
        )
        logger.warning(
            "OKPAY IPN %s: unhandled kind %s",
            notification.pk,
            kind,
            extra={"okpay_notification_id": notification.pk},
        )
    else:
        try:
            with transaction.atomic():
                _claim_keys(notification, dedupe_keys(message))
                _finish(notification, handler(ctx), ctx)
            return
        except _Duplicate as dup:
            outcome = _Outcome(NotificationState.DUPLICATE)
            logger.info(
                "OKPAY IPN %s is a duplicate (%s)",
                notification.pk,
                dup.key,
                extra={"okpay_notification_id": notification.pk},
            )
        except _Rejected as rejected:
            outcome = _Outcome(NotificationState.FLAGGED, rejected.flags)
    with transaction.atomic():
        _finish(notification, outcome, ctx)


# --- handlers ------------------------------------------------------------------------


def _payer_name(message: ipn.IpnMessage) -> str | None:
    parts = [
        message.get("ok_payer_first_name") or "",
        message.get("ok_payer_last_name") or "",
    ]
    name = " ".join(part for part in parts if part).strip()
    return name or None


def _storable_or_none(text: str | None) -> str | None:
    return None if text is None else storable(text)


def _grant_details(message: ipn.IpnMessage) -> contracts.GrantDetails:
    assert message.contract_id is not None
    return contracts.GrantDetails(
        okpay_id=message.contract_id,
        client_wallet=_storable_or_none(message.payer_wallet),
        client_email=_storable_or_none(message.payer_email),
        client_name=_storable_or_none(_payer_name(message)),
        title=_storable_or_none(message.title),
        daily_amount=message.daily_limit,
        weekly_amount=message.weekly_limit,
        monthly_amount=message.monthly_limit,
        end_date=message.end_date,
    )


def _fee_payer_of(message: ipn.IpnMessage) -> str | None:
    if message.fee_payer is None:
        return None
    return "client" if message.fee_payer is LinkFeePayer.CLIENT else "merchant"


def _contract_problems(
    message: ipn.IpnMessage, contract: Contract
) -> list[dict[str, str]]:
    problems: list[dict[str, str]] = []
    if contract.okpay_id is not None and contract.okpay_id != message.contract_id:
        problems.append(
            flag(
                "contract_mismatch",
                f"contract {contract.invoice} is agreement {contract.okpay_id}, "
                f"the message says {message.contract_id}",
            )
        )
    if message.currency and message.currency != contract.currency:
        problems.append(
            flag(
                "currency_mismatch",
                f"ok_txn_currency {message.currency} differs from the contract's "
                f"{contract.currency}",
            )
        )
    fee_payer = _fee_payer_of(message)
    if fee_payer is not None and fee_payer != contract.fee_payer:
        problems.append(
            flag(
                "fee_payer_mismatch",
                f"ok_fees says the {fee_payer} pays, the contract says {contract.fee_payer}",
            )
        )
    return problems


def _closed_flag(contract: Contract, message: ipn.IpnMessage) -> dict[str, str]:
    return flag(
        "contract_closed",
        f"contract {contract.okpay_id or contract.invoice} is {contract.status}; "
        f"{message.event}/{message.contract_status} not applied",
    )


def _transition_flag(contract: Contract, exc: InvalidTransition) -> dict[str, str]:
    if contracts.is_closed(contract.status):
        return flag("contract_closed", f"contract is {contract.status}: {exc}")
    return flag("invalid_transition", str(exc))


def _require_contract_id(message: ipn.IpnMessage) -> int:
    if message.contract_id is None:
        raise _Rejected(flag("missing_contract_id", f"{message.event} without ok_p_id"))
    return message.contract_id


def _create_contract(ctx: _Context) -> Contract:
    """Record an agreement we have no row for (granted outside our checkout)."""
    message = ctx.message
    if not message.currency:
        raise _Rejected(
            flag(
                "unknown_contract",
                f"no contract for ok_p_id={message.contract_id} or "
                f"ok_invoice={message.invoice!r}, and no currency to record one",
            )
        )
    fee_payer = _fee_payer_of(message)
    contract = Contract.objects.create(
        channel=ctx.notification.channel,
        receiver_wallet=storable(
            message.receiver_wallet or ctx.okpay_settings.wallet_id
        )[:20],
        title=storable(message.title or f"OKPAY agreement {message.contract_id}")[:127],
        currency=message.currency,
        daily_amount=message.daily_limit,
        weekly_amount=message.weekly_limit,
        monthly_amount=message.monthly_limit,
        end_date=message.end_date,
        fee_payer=fee_payer or "merchant",
        status=ContractStatus.PENDING,
        invoice=storable(message.invoice or f"okpay-{message.contract_id}")[:127],
        is_test=ctx.is_test,
    )
    logger.warning(
        "OKPAY agreement %s was unknown; recorded as contract %s",
        message.contract_id,
        contract.pk,
        extra={"okpay_notification_id": ctx.notification.pk},
    )
    return contract


def _charge_waiting_later(contract: Contract, ctx: _Context) -> Callable[[], None]:
    notification_id = ctx.notification.pk
    okpay_settings = ctx.okpay_settings

    def charge() -> None:
        # For a closed contract charge_waiting_payments declines the waiting
        # payments (contract_inactive) instead of charging them.
        from okpay_gateway import payments

        try:
            payments.charge_waiting_payments(contract, okpay_settings=okpay_settings)
        except Exception:
            # The grant is committed; a failure here must not become a 500 (the
            # redelivery would be a duplicate). The return page or the renewal
            # scheduler charges what is still waiting.
            logger.exception(
                "OKPAY: charging the payments waiting for contract %s failed",
                contract.pk,
                extra={"okpay_notification_id": notification_id},
            )

    return charge


def _grant(ctx: _Context, contract: Contract, outcome: _Outcome) -> None:
    """Grant a contract the handler read with a row lock in this transaction."""
    try:
        granted = contracts.grant_contract(
            contract, _grant_details(ctx.message), now=ctx.now, locked=True
        )
    except InvalidTransition as exc:
        raise _Rejected(_transition_flag(contract, exc)) from None
    if contract.is_test and not ctx.is_test:
        # OKPAY itself vouches for this agreement now: from here on it is live.
        Contract.objects.filter(pk=contract.pk).update(is_test=False)
        contract.is_test = False
    if granted:
        outcome.after_commit.append(_charge_waiting_later(contract, ctx))


def _test_problems(
    ctx: _Context, contract: Contract | None, payment: Payment | None = None
) -> list[dict[str, str]]:
    """Why a TEST message may not touch these records (empty for live messages)."""
    if not ctx.is_test:
        return []
    if contract is not None and not contract.is_test:
        return [
            flag(
                "test_on_live_record",
                f"a TEST IPN may not change agreement "
                f"{contract.okpay_id or contract.invoice}: it was not recorded "
                f"from a TEST message",
            )
        ]
    if contract is None and payment is not None:
        return [
            flag(
                "test_on_live_record",
                f"a TEST IPN may not complete payment {payment.invoice}: it is not "
                f"on a TEST agreement",
            )
        ]
    return []


def _on_access_granted(ctx: _Context) -> _Outcome:
    message = ctx.message
    contract_id = _require_contract_id(message)
    contract = contracts.find_contract(
        okpay_id=contract_id, invoice=_storable_or_none(message.invoice), lock=True
    )
    if contract is None:
        contract = _create_contract(ctx)
    problems = _contract_problems(message, contract) + _test_problems(ctx, contract)
    if problems:
        raise _Rejected(*problems)
    if contracts.is_closed(contract.status):
        raise _Rejected(_closed_flag(contract, message))
    outcome = _Outcome()
    _grant(ctx, contract, outcome)
    return outcome


def _on_access_denied(ctx: _Context) -> _Outcome:
    message = ctx.message
    contract_id = _require_contract_id(message)
    assert message.contract_status is not None
    status = _CLOSE_STATUS[message.contract_status]
    contract = contracts.find_contract(
        okpay_id=contract_id, invoice=_storable_or_none(message.invoice), lock=True
    )
    if contract is None:
        raise _Rejected(
            flag(
                "unknown_contract",
                f"no contract for ok_p_id={contract_id} or ok_invoice={message.invoice!r}",
            )
        )
    problems = _contract_problems(message, contract) + _test_problems(ctx, contract)
    if problems:
        raise _Rejected(*problems)
    outcome = _Outcome()
    if contract.status == status:
        return outcome
    if contracts.is_closed(contract.status):
        raise _Rejected(_closed_flag(contract, message))
    if contract.status == ContractStatus.PENDING and status != ContractStatus.FAILED:
        # Revoked or expired means it was active at OKPAY: the grant IPN is
        # late. Grant first so the end state matches in-order delivery.
        contracts.grant_contract(
            contract, _grant_details(message), now=ctx.now, locked=True
        )
    elif contract.okpay_id is None:
        contract.okpay_id = contract_id
        contract.save(update_fields=["okpay_id", "updated_at"])
    try:
        closed = contracts.close_contract(
            contract,
            status,
            contracts.PROVIDER_CLOSE_REASONS[status],
            now=ctx.now,
            locked=True,
        )
    except InvalidTransition as exc:
        raise _Rejected(_transition_flag(contract, exc)) from None
    if closed:
        # The same call declines (contract_inactive) what waited for it.
        outcome.after_commit.append(_charge_waiting_later(contract, ctx))
    return outcome


def _gross(message: ipn.IpnMessage) -> Decimal | None:
    return message.gross if message.gross is not None else message.amount


def _payment_problems(
    message: ipn.IpnMessage, payment: Payment
) -> list[dict[str, str]]:
    problems: list[dict[str, str]] = []
    if message.currency != payment.currency:
        problems.append(
            flag(
                "currency_mismatch",
                f"ok_txn_currency {message.currency} differs from payment "
                f"{payment.invoice}'s {payment.currency}",
            )
        )
    gross = _gross(message)
    if gross is None or gross != payment.amount:
        problems.append(
            flag(
                "amount_mismatch",
                f"ok_txn_gross {gross} differs from payment {payment.invoice}'s "
                f"{payment.amount}",
            )
        )
    return problems


def _locked_payment(invoice: str | None) -> Payment | None:
    if not invoice:
        return None
    # The invoice is unique: no ORDER BY to build.
    found = (
        Payment.objects.select_for_update(of=("self",))
        .select_related("contract")
        .filter(invoice=storable(invoice))
        .order_by()
    )
    return next(iter(found), None)


def _locked_payment_of(invoice: str | None, contract_id: int) -> Payment | None:
    """The payment with ``invoice`` on agreement ``contract_id``, both rows locked.

    The usual case of a ``payment`` IPN in one query: the shop charged its own
    contract and OKPAY reports it.
    """
    if not invoice:
        return None
    found = (
        Payment.objects.select_for_update(of=("self", "contract"))
        .select_related("contract")
        .filter(invoice=storable(invoice), contract__okpay_id=contract_id)
        .order_by()
    )
    return next(iter(found), None)


def _not_completed_note(message: ipn.IpnMessage) -> dict[str, str]:
    status = str(message.txn_status or "")
    if message.txn_status in (ipn.TxnStatus.PENDING, ipn.TxnStatus.HOLD):
        reason = f" ({message.pending_reason})" if message.pending_reason else ""
        return flag("pending", f"ok_txn_status={status}{reason}: the final IPN follows")
    return flag("not_completed", f"ok_txn_status={status}: not a completion")


def _complete(
    ctx: _Context, payment: Payment | None, contract: Contract | None, outcome: _Outcome
) -> None:
    from okpay_gateway import payments

    message = ctx.message
    completed = None
    if payment is not None:
        completed = payments.complete_payment_from_notification(
            invoice=payment.invoice,
            txn_id=message.txn_id,
            amount=_gross(message),
            currency=message.currency,
            fee=message.fee,
            contract=contract,
            payment=payment,
        )
    if completed is None:
        outcome.state = NotificationState.FLAGGED
        outcome.flags.append(
            flag(
                "unknown_payment",
                f"no payment with ok_invoice={message.invoice!r} "
                f"(ok_txn_id={message.txn_id}); money arrived, nothing recorded",
            )
        )


def _on_contract_payment(ctx: _Context) -> _Outcome:
    message = ctx.message
    contract_id = _require_contract_id(message)
    if message.txn_id is None:
        raise _Rejected(flag("missing_txn_id", "payment event without ok_txn_id"))
    payment = _locked_payment_of(message.invoice, contract_id)
    if payment is not None:
        contract = payment.contract
    else:
        payment = _locked_payment(message.invoice)
        contract = contracts.find_contract(okpay_id=contract_id, lock=True)
        if contract is None and payment is not None and payment.contract_id:
            contract = Contract.objects.select_for_update().get(pk=payment.contract_id)
    problems = _test_problems(ctx, contract, payment)
    if contract is not None:
        problems += _contract_problems(message, contract)
    if payment is not None:
        problems += _payment_problems(message, payment)
        if contract is not None and payment.contract_id not in (None, contract.pk):
            problems.append(
                flag(
                    "contract_mismatch",
                    f"payment {payment.invoice} belongs to another contract than "
                    f"agreement {contract_id}",
                )
            )
    if problems:
        # Deduplicated by code: the contract and payment checks can agree.
        raise _Rejected(*{p["code"]: p for p in problems}.values())
    outcome = _Outcome()
    if contract is not None:
        if contract.status == ContractStatus.PENDING:
            # Out of order: the payment proves the agreement is active.
            _grant(ctx, contract, outcome)
        elif contracts.is_closed(contract.status):
            # The money moved at OKPAY, so it is recorded; the contract stays closed.
            outcome.state = NotificationState.FLAGGED
            outcome.flags.append(_closed_flag(contract, message))
    if message.txn_status is not ipn.TxnStatus.COMPLETED:
        outcome.flags.append(_not_completed_note(message))
        if outcome.state == NotificationState.PROCESSED and not outcome.after_commit:
            outcome.state = NotificationState.IGNORED
        return outcome
    _complete(ctx, payment, contract, outcome)
    return outcome


def _on_plain_payment(ctx: _Context) -> _Outcome:
    message = ctx.message
    payment = _locked_payment(message.invoice)
    if payment is not None:
        problems = _test_problems(ctx, payment.contract, payment)
        problems += _payment_problems(message, payment)
        if problems:
            raise _Rejected(*problems)
    outcome = _Outcome()
    _complete(ctx, payment, None, outcome)
    return outcome


def _on_plain_pending(ctx: _Context) -> _Outcome:
    return _Outcome(NotificationState.IGNORED, [_not_completed_note(ctx.message)])


_Handler = Callable[[_Context], _Outcome]

HANDLERS: dict[tuple[str, str], _Handler] = {
    ("access_granted", "active"): _on_access_granted,
    ("access_denied", "failed"): _on_access_denied,
    ("access_denied", "canceled"): _on_access_denied,
    ("access_denied", "expired"): _on_access_denied,
    ("payment", "active"): _on_contract_payment,
    ("txn", "completed"): _on_plain_payment,
    ("txn", "pending"): _on_plain_pending,
    ("txn", "hold"): _on_plain_pending,
}


# --- 9. admin actions and the scheduler ----------------------------------------------


def _take_up(notification: Notification) -> bool:
    """Claim a stored row for another run; False when someone else was first."""
    return ipn_log.claim(
        notification,
        from_state=notification.state,
        state=NotificationState.RECEIVED,
        flags=[],
        error="",
    )


def reprocess(
    notification: Notification, *, okpay_settings: OkPaySettings | None = None
) -> Notification:
    """Run a stored row through the pipeline again (admin action).

    The postback is skipped when the row is already trusted (VERIFIED, or TEST
    where allowed). A PROCESSED or TOO_LARGE row is returned unchanged, and so
    is one another worker took up first. Keys the row already owns do not
    make it a duplicate of itself.
    """
    if notification.state in _FINAL_STATES:
        return notification
    okpay_settings = okpay_settings or settings_for_channel(notification.channel)
    if not _take_up(notification):
        notification.refresh_from_db()
        return notification
    return _run(notification, okpay_settings, force_verify=False)


def reverify(
    notification: Notification, *, okpay_settings: OkPaySettings | None = None
) -> Notification:
    """Ask OKPAY again whether a stored row is genuine, then apply it if so.

    For RETRY rows (and INVALID or FAILED ones after a configuration fix). A
    PROCESSED or TOO_LARGE row is returned unchanged, and so is one another
    worker took up first.
    """
    if notification.state in _FINAL_STATES:
        return notification
    okpay_settings = okpay_settings or settings_for_channel(notification.channel)
    if not _take_up(notification):
        notification.refresh_from_db()
        return notification
    return _run(notification, okpay_settings, force_verify=True)


def reverify_due(
    now: datetime | None = None, *, limit: int = 100
) -> list[Notification]:
    """Re-verify (and apply) RETRY rows whose ``next_verify_at`` has come.

    Rows left RECEIVED for longer than :data:`REVERIFY_LEASE` since they were
    last seen (the process handling them died) are taken up as well. Rows are
    claimed with ``SKIP LOCKED`` where the database has it and moved
    :data:`REVERIFY_LEASE` into the future, so parallel workers (cron, the
    renewals scheduler) never verify the same row at once. Returns the rows
    handled, with their new state.
    """
    now = now or timezone.now()
    with transaction.atomic():
        waiting = Q(state=NotificationState.RETRY)
        abandoned = Q(
            state=NotificationState.RECEIVED, last_seen_at__lt=now - REVERIFY_LEASE
        )
        due = Notification.objects.filter(waiting | abandoned).filter(
            Q(next_verify_at__lte=now) | Q(next_verify_at__isnull=True)
        )
        due = due.order_by("next_verify_at", "pk")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        rows = list(due[:limit])
        Notification.objects.filter(pk__in=[row.pk for row in rows]).update(
            next_verify_at=now + REVERIFY_LEASE
        )
    handled: list[Notification] = []
    for row in rows:
        try:
            handled.append(reverify(row))
        except Exception as exc:
            # One row's settings problem must not stop the others.
            _record_failure(row, exc)
            handled.append(row)
    return handled


def http_status_for(state: str) -> int:
    """The HTTP status OKPAY gets for a row in ``state``."""
    return _HTTP_STATUS.get(state, 500)


__all__: list[str] = [
    "HANDLERS",
    "dedupe_keys",
    "flag",
    "handle_ipn_request",
    "http_status_for",
    "kind_of",
    "receiver_problems",
    "reprocess",
    "response_for",
    "reverify",
    "reverify_delay",
    "reverify_due",
    "settings_for_channel",
    "storable",
    "store_notification",
]
