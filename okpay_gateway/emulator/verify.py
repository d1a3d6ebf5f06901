"""``POST /ipn-verify`` (alias ``/ipn-verify.html``): the IPN postback check.

The listener posts every field it received plus ``ok_verify=true``. The answer
is ``text/plain``, HTTP 200, with no trailing newline (okpay-ipn-links.md 3.2,
8.3):

* ``TEST`` when the matching stored message came from the IPN simulator;
* ``VERIFIED`` when every field other than ``ok_verify`` equals, name for name
  and value for value, a message the emulator sent (looked up by
  ``ok_ipn_id``). Field order does not matter (A21); a missing, extra or
  repeated field does;
* ``INVALID`` otherwise, including non-POST requests and bodies without
  ``ok_verify=true`` (A22).

Answers are computed from stored data only, so asking twice gives the same
answer (A23). Fault rules may force ``INVALID`` (``invalid_verify``) or an
HTTP 500 (``http_500`` on the operation ``ipn-verify``) so that shops can
test their "could not verify" path.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from urllib.parse import parse_qsl

from django.db import transaction
from django.db.models import F, Q
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from okpay_gateway.emulator import faults
from okpay_gateway.emulator.models import FaultKind, FaultRule, IpnMessage

logger = logging.getLogger(__name__)

VERIFIED = "VERIFIED"
INVALID = "INVALID"
TEST = "TEST"
VERIFY_OPERATION = "ipn-verify"


def _answer(word: str, status: int = 200) -> HttpResponse:
    return HttpResponse(word, status=status, content_type="text/plain; charset=utf-8")


def _posted_pairs(request: HttpRequest) -> list[tuple[str, str]] | None:
    """Every (name, value) of the form body in order, repeats kept; None if unreadable."""
    try:
        text = request.body.decode(request.encoding or "utf-8")
    except (UnicodeDecodeError, LookupError):
        return None
    try:
        return parse_qsl(text, keep_blank_values=True, strict_parsing=False)
    except ValueError:
        return None


def check_fields(pairs: Sequence[tuple[str, str]]) -> str:
    """The verify answer for a postback body given as (name, value) pairs.

    Pure apart from the database read, so it can be reused by scripts and
    tests without an HTTP request.
    """
    verify_values = [value for name, value in pairs if name == "ok_verify"]
    if verify_values != ["true"]:
        return INVALID
    rest = [(name, value) for name, value in pairs if name != "ok_verify"]
    ipn_ids = [value for name, value in rest if name == "ok_ipn_id"]
    if len(ipn_ids) != 1:
        return INVALID
    message = IpnMessage.objects.filter(ipn_id=_as_int(ipn_ids[0])).first()
    if message is None:
        return INVALID
    stored = [(str(name), str(value)) for name, value in message.fields]
    # A multiset comparison: order is free (A21), but duplicates, missing and
    # extra fields all make the counts differ.
    if Counter(rest) != Counter(stored):
        return INVALID
    return TEST if message.is_test else VERIFIED


def _take_http_500() -> bool:
    """Use up an ``http_500`` rule aimed at ``ipn-verify`` (only an exact target).

    :func:`.faults.take` treats an empty operation as a wildcard; a SOAP-wide
    HTTP 500 rule must not also break the postback, so the match is done here.
    """
    with transaction.atomic():
        rule = (
            FaultRule.objects.select_for_update()
            .filter(kind=FaultKind.HTTP_500, operation=VERIFY_OPERATION)
            .filter(Q(remaining_uses__isnull=True) | Q(remaining_uses__gt=0))
            .order_by("id")
            .first()
        )
        if rule is None:
            return False
        if rule.remaining_uses is not None:
            FaultRule.objects.filter(pk=rule.pk).update(
                remaining_uses=F("remaining_uses") - 1
            )
    logger.info("emulator fault http_500 fires on ipn-verify (rule %s)", rule.pk)
    return True


def _take_invalid_verify(pairs: Sequence[tuple[str, str]]) -> bool:
    values = dict(pairs)
    contract = values.get("ok_p_id", "")
    return (
        faults.take(
            [FaultKind.INVALID_VERIFY],
            wallet_id=values.get("ok_receiver_wallet") or None,
            contract_id=int(contract) if contract.isdigit() else None,
            operation=VERIFY_OPERATION,
        )
        is not None
    )


def _as_int(text: str) -> int | None:
    return int(text) if text.isdigit() else None


@csrf_exempt
def ipn_verify(request: HttpRequest) -> HttpResponse:
    """The postback endpoint; see the module docstring for the answers."""
    if _take_http_500():
        return _answer("Internal Server Error", status=500)
    if request.method != "POST":
        return _answer(INVALID)
    pairs = _posted_pairs(request)
    if pairs is None:
        return _answer(INVALID)
    answer = check_fields(pairs)
    if answer != INVALID and _take_invalid_verify(pairs):
        answer = INVALID
    logger.info("ipn-verify answered %s", answer)
    return _answer(answer)
