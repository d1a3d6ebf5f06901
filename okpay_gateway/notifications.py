"""The IPN pipeline: store, parse, verify, check, deduplicate, apply, answer.

:func:`handle_ipn_request` is the one entry point for OKPAY's POSTs; the
standalone view (``okpay_gateway.views.ipn_view``) and the Saleor plugin's
``webhook`` both call it. Each message goes through these steps:

1. **Store.** A ``Notification`` row with the exact body bytes, the content
   type, the request headers (``Cookie``, ``Authorization`` and anything that
   looks like a credential dropped), ``REMOTE_ADDR`` and the channel is
   committed before the body is even parsed. Only POSTs are stored: anything
   else gets 405 and leaves no row (there is no body to keep, and crawlers
   would fill the log). Bodies larger than Django's
   ``DATA_UPLOAD_MAX_MEMORY_SIZE`` get 413 without a row (a real IPN is a
   few kilobytes).
2. **Parse** with :func:`okpay_gateway.provider.ipn.parse_ipn`. A body that is
   not a readable IPN becomes ``MALFORMED`` with a ``malformed`` flag: 400.
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
     ``["REVERIFY_MAX_ATTEMPTS"]`` (then the row is FAILED) tune it.
4. **Check** (each failure a flag on the row, state ``FLAGGED``, 200, signal
   ``notification_flagged``): the receiver is our wallet (``receiver_mismatch``),
   ``ok_ipn_test`` outside sandbox (``test_in_live_mode``), currency and
   amount against the stored payment or contract (``currency_mismatch``,
   ``amount_mismatch``), echoed fee payer (``fee_payer_mismatch``), the
   agreement ID against the one we know (``contract_mismatch``), closed
   contracts (``contract_closed``), unknown contracts (``unknown_contract``).
5. **Deduplicate in the database.** In one ``transaction.atomic()`` that also
   makes the state changes, ``ProcessedEvent`` rows are inserted for
   ``ipn:<ok_ipn_id>`` and ``txn:<ok_txn_id>:<status>`` (payments) or
   ``contract:<ok_p_id>:<event>:<status>`` (access events). The unique
   constraint decides between concurrent deliveries: the loser's savepoint
   rolls back and its row becomes ``DUPLICATE`` (200). A flagged message
   consumes no key, so reprocessing it after the data is fixed applies it.
6. **Dispatch** through :data:`HANDLERS`, keyed by (``ok_p_event``,
   ``ok_p_status``) for agreements and (``"txn"``, ``ok_txn_status``) for plain
   payments. Unknown kinds are ``IGNORED`` (200) with an ``unhandled_kind``
   note. Out-of-order delivery converges: a ``payment`` (or ``access_denied``)
   event for a pending contract activates it first.
7. **Unexpected errors**: state ``FAILED``, the traceback in ``error``, logged
   at ERROR with ``okpay_notification_id``, answer 500 so OKPAY redelivers.
8. **Signals** after commit: ``contract_granted``, ``contract_closed`` (from
   :mod:`okpay_gateway.contracts`), ``payment_completed`` (from
   :mod:`okpay_gateway.payments`), ``notification_flagged`` (states FLAGGED,
   INVALID, MALFORMED) and ``notification_processed`` (state PROCESSED). After
   a grant commits, :func:`okpay_gateway.payments.charge_waiting_payments`
   charges what waited for the agreement (after a close it declines them,
   ``contract_inactive``); its errors are logged, never turned into a 500
   (the IPN is applied; a redelivery would only be a duplicate).

``IGNORED`` rows may carry explanatory entries in ``flags`` (``pending``,
``not_completed``, ``unhandled_kind``); only the state says whether a row
needs a human.

The admin's actions call :func:`reprocess` and :func:`reverify`.
"""

from __future__ import annotations

import ipaddress
import logging
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.utils import timezone

from okpay_gateway import clients, conf, contracts, signals
from okpay_gateway.exceptions import InvalidTransition, MalformedNotification
from okpay_gateway.models import (
    Contract,
    ContractStatus,
    Notification,
    NotificationState,
    Payment,
    ProcessedEvent,
    VerificationResult,
)
from okpay_gateway.provider import ipn
from okpay_gateway.provider.fees import FeePayer as LinkFeePayer
from okpay_gateway.provider.settings import OkPaySettings

logger = logging.getLogger(__name__)

# Header names containing any of these are never stored.
_SECRET_HEADER_WORDS = (
    "cookie",
    "authorization",
    "token",
    "secret",
    "password",
    "api-key",
    "apikey",
)
MAX_HEADER_VALUE_LENGTH = 1024
MAX_STORED_HEADERS = 60

# Re-verification back-off (seconds after the n-th failed attempt; the last
# value repeats). OKPAY itself redelivers too, so this only has to bridge an
# outage of the verify endpoint.
DEFAULT_REVERIFY_DELAYS = (60, 300, 900, 1800, 3600, 7200, 14400, 28800, 43200)
DEFAULT_REVERIFY_MAX_ATTEMPTS = 20
# How long reverify_due keeps a claimed row away from other workers.
REVERIFY_LEASE = timedelta(minutes=5)

_HTTP_STATUS = {
    NotificationState.PROCESSED: 200,
    NotificationState.IGNORED: 200,
    NotificationState.DUPLICATE: 200,
    NotificationState.FLAGGED: 200,
    NotificationState.INVALID: 200,
    NotificationState.MALFORMED: 400,
    NotificationState.RETRY: 503,
    NotificationState.FAILED: 500,
    NotificationState.RECEIVED: 500,
}
_FLAGGED_STATES = (
    NotificationState.FLAGGED,
    NotificationState.INVALID,
    NotificationState.MALFORMED,
)
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


def storable(text: str) -> str:
    """``text`` without NUL characters, which PostgreSQL text and JSON refuse.

    Everything copied from a message or a request into a row passes through
    here: a hostile body must not be able to make the row unsavable.
    """
    return text.replace("\x00", "\ufffd")


def flag(code: str, message: str) -> dict[str, str]:
    """One entry of ``Notification.flags``."""
    return {"code": code, "message": storable(message)}


# --- 1. storing ------------------------------------------------------------------


def _selected_headers(request: HttpRequest) -> dict[str, str]:
    kept: dict[str, str] = {}
    for name, value in request.headers.items():
        lowered = name.lower()
        if any(word in lowered for word in _SECRET_HEADER_WORDS):
            continue
        if len(kept) >= MAX_STORED_HEADERS:
            break
        kept[storable(name)] = storable(str(value)[:MAX_HEADER_VALUE_LENGTH])
    return kept


def _remote_addr(request: HttpRequest) -> str | None:
    value = (request.META.get("REMOTE_ADDR") or "").strip()
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def store_notification(request: HttpRequest, *, channel: str = "") -> Notification:
    """Commit the request as a ``Notification`` row, byte for byte, before anything else.

    Raises ``RequestDataTooBig`` for bodies Django refuses to read.
    """
    body = bytes(request.body)
    return Notification.objects.create(
        body=body,
        content_type=storable(str(request.META.get("CONTENT_TYPE", "")))[:255],
        headers=_selected_headers(request),
        remote_addr=_remote_addr(request),
        received_at=timezone.now(),
        channel=(channel or "")[:100],
    )


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
    try:
        notification = store_notification(request, channel=channel)
    except RequestDataTooBig:
        logger.warning(
            "OKPAY IPN refused: body larger than DATA_UPLOAD_MAX_MEMORY_SIZE"
        )
        return HttpResponse("too large", status=413, content_type="text/plain")
    try:
        if okpay_settings is None:
            okpay_settings = settings_for_channel(channel)
    except Exception as exc:
        # Any settings problem must still leave the stored row explained.
        _record_failure(notification, exc)
        return response_for(notification)
    _run(notification, okpay_settings, force_verify=True)
    return response_for(notification)


def settings_for_channel(channel: str = "") -> OkPaySettings:
    """Provider settings for ``channel``: registered by the plugin, else ``OKPAY_GATEWAY``."""
    from okpay_gateway import payments

    return payments.settings_for_channel(channel)


# --- the run: parse, verify, apply, with failures recorded ---------------------------


def _run(
    notification: Notification, okpay_settings: OkPaySettings, *, force_verify: bool
) -> Notification:
    try:
        message = _parse(notification)
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
        notification.save(update_fields=["state", "error", "processed_at"])
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


# --- 2. parsing ------------------------------------------------------------------


def _copy_fields(notification: Notification, message: ipn.IpnMessage) -> None:
    notification.ipn_id = message.ipn_id
    notification.txn_id = message.txn_id
    notification.txn_status = str(message.txn_status or "")
    notification.event = str(message.event or "")
    notification.contract_okpay_id = message.contract_id
    notification.invoice = storable(message.invoice or "")[:127]
    notification.is_test = message.is_test


def _parse(notification: Notification) -> ipn.IpnMessage | None:
    try:
        message = ipn.parse_ipn(
            bytes(notification.body), content_type=notification.content_type or None
        )
    except MalformedNotification as exc:
        notification.state = NotificationState.MALFORMED
        notification.flags = [flag("malformed", str(exc))]
        notification.processed_at = timezone.now()
        notification.save(update_fields=["state", "flags", "processed_at"])
        _send_flagged_on_commit(notification)
        logger.warning(
            "OKPAY IPN %s malformed: %s",
            notification.pk,
            exc,
            extra={"okpay_notification_id": notification.pk},
        )
        return None
    _copy_fields(notification, message)
    notification.save(
        update_fields=[
            "ipn_id",
            "txn_id",
            "txn_status",
            "event",
            "contract_okpay_id",
            "invoice",
            "is_test",
        ]
    )
    return message


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
    """Post the body back; True when the row may be applied (state saved either way)."""
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
    fields = ["verify_attempts", "verification", "verification_answer"]
    if _is_trusted(notification.verification, okpay_settings):
        notification.verified_at = now
        notification.next_verify_at = None
        notification.save(update_fields=[*fields, "verified_at", "next_verify_at"])
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
            update_fields=[*fields, "state", "error", "next_verify_at", "processed_at"]
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
    notification.save(
        update_fields=[*fields, "state", "flags", "next_verify_at", "processed_at"]
    )
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
    """A handler's check failed: roll back its savepoint (keys included), flag the row.

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


def _claim_keys(notification: Notification, keys: Iterable[str]) -> None:
    """Insert the keys; raise _Duplicate when another row already owns one."""
    for key in keys:
        try:
            with transaction.atomic():
                ProcessedEvent.objects.create(key=key, notification=notification)
        except IntegrityError:
            owner = (
                ProcessedEvent.objects.filter(key=key)
                .values_list("notification_id", flat=True)
                .first()
            )
            # A row re-run by reprocess() already owns its own keys.
            if owner != notification.pk:
                raise _Duplicate(key) from None


def _apply(
    notification: Notification, message: ipn.IpnMessage, okpay_settings: OkPaySettings
) -> None:
    ctx = _Context(notification, message, okpay_settings, timezone.now())
    kind = kind_of(message)
    handler = HANDLERS.get(kind)
    outcome = _Outcome()
    extra = {"okpay_notification_id": notification.pk, "okpay_txn_id": message.txn_id}
    with transaction.atomic():
        message_flags = _message_flags(message, okpay_settings)
        if message_flags:
            outcome = _Outcome(NotificationState.FLAGGED, message_flags)
        elif handler is None:
            outcome = _Outcome(
                NotificationState.IGNORED,
                [flag("unhandled_kind", f"nothing to do for {kind[0]}/{kind[1]}")],
            )
            logger.warning(
                "OKPAY IPN %s: unhandled kind %s", notification.pk, kind, extra=extra
            )
        else:
            try:
                with transaction.atomic():
                    _claim_keys(notification, dedupe_keys(message))
                    outcome = handler(ctx)
            except _Duplicate as dup:
                outcome = _Outcome(NotificationState.DUPLICATE)
                logger.info(
                    "OKPAY IPN %s is a duplicate (%s)",
                    notification.pk,
                    dup.key,
                    extra=extra,
                )
            except _Rejected as rejected:
                outcome = _Outcome(NotificationState.FLAGGED, rejected.flags)
        notification.state = outcome.state
        notification.flags = outcome.flags
        notification.error = ""
        notification.processed_at = ctx.now
        notification.save(update_fields=["state", "flags", "error", "processed_at"])
        for callback in outcome.after_commit:
            transaction.on_commit(callback)
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
                "OKPAY IPN %s processed (%s/%s)", notification.pk, *kind, extra=extra
            )


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
    try:
        granted = contracts.grant_contract(
            contract, _grant_details(ctx.message), now=ctx.now
        )
    except InvalidTransition as exc:
        raise _Rejected(_transition_flag(contract, exc)) from None
    if granted:
        outcome.after_commit.append(_charge_waiting_later(contract, ctx))


def _on_access_granted(ctx: _Context) -> _Outcome:
    message = ctx.message
    contract_id = _require_contract_id(message)
    contract = contracts.find_contract(
        okpay_id=contract_id, invoice=_storable_or_none(message.invoice), lock=True
    )
    if contract is None:
        contract = _create_contract(ctx)
    problems = _contract_problems(message, contract)
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
    problems = _contract_problems(message, contract)
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
        contracts.grant_contract(contract, _grant_details(message), now=ctx.now)
    elif contract.okpay_id is None:
        contract.okpay_id = contract_id
        contract.save(update_fields=["okpay_id", "updated_at"])
    try:
        closed = contracts.close_contract(
            contract, status, contracts.PROVIDER_CLOSE_REASONS[status], now=ctx.now
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
    return Payment.objects.select_for_update().filter(invoice=storable(invoice)).first()


def _locked_contract_payment(message: ipn.IpnMessage) -> Payment | None:
    """The payment a pre-approved payment IPN is about.

    ``PreapprovedPayment_Charge`` has no invoice parameter, so OKPAY files
    none on the charge and its IPN says ``ok_invoice=`` (empty): the charge is
    then known by the transaction ID our SOAP call recorded. A charge whose
    answer was lost has no recorded ID yet; its IPN is flagged and the
    resolver finds the charge through the agreement's operations.
    """
    if message.invoice:
        return _locked_payment(message.invoice)
    if message.txn_id is None:
        return None
    return (
        Payment.objects.select_for_update().filter(okpay_txn_id=message.txn_id).first()
    )


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
    payment = _locked_contract_payment(message)
    contract = contracts.find_contract(okpay_id=contract_id, lock=True)
    if contract is None and payment is not None and payment.contract_id is not None:
        contract = Contract.objects.select_for_update().get(pk=payment.contract_id)
    problems: list[dict[str, str]] = []
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
        problems = _payment_problems(message, payment)
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


def _reset(notification: Notification) -> None:
    notification.flags = []
    notification.error = ""
    notification.state = NotificationState.RECEIVED
    notification.save(update_fields=["flags", "error", "state"])


def reprocess(
    notification: Notification, *, okpay_settings: OkPaySettings | None = None
) -> Notification:
    """Run a stored row through the pipeline again (admin action).

    The postback is skipped when the row is already trusted (VERIFIED, or TEST
    where allowed). A PROCESSED row is returned unchanged. Keys the row
    already owns do not make it a duplicate of itself.
    """
    if notification.state == NotificationState.PROCESSED:
        return notification
    okpay_settings = okpay_settings or settings_for_channel(notification.channel)
    _reset(notification)
    return _run(notification, okpay_settings, force_verify=False)


def reverify(
    notification: Notification, *, okpay_settings: OkPaySettings | None = None
) -> Notification:
    """Ask OKPAY again whether a stored row is genuine, then apply it if so.

    For RETRY rows (and INVALID or FAILED ones after a configuration fix). A
    PROCESSED row is returned unchanged.
    """
    if notification.state == NotificationState.PROCESSED:
        return notification
    okpay_settings = okpay_settings or settings_for_channel(notification.channel)
    _reset(notification)
    return _run(notification, okpay_settings, force_verify=True)


def reverify_due(
    now: datetime | None = None, *, limit: int = 100
) -> list[Notification]:
    """Re-verify (and apply) RETRY rows whose ``next_verify_at`` has come.

    Rows are claimed with ``SKIP LOCKED`` where the database has it and moved
    :data:`REVERIFY_LEASE` into the future, so parallel workers (cron, the
    renewals scheduler) never verify the same row at once. Returns the rows
    handled, with their new state.
    """
    now = now or timezone.now()
    with transaction.atomic():
        due = Notification.objects.filter(state=NotificationState.RETRY).filter(
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
