"""The floor handler ``bench_ipn.py`` compares the webhook with.

It does only what no IPN listener can skip: the Django request cycle (same
middleware as the webhook), one postback of the raw body to the configured
``/ipn-verify`` (same shared session and timeouts as the pipeline) and one
insert (a ``Notification`` row with the body and OKPAY's answer). It parses
nothing, checks nothing and never deduplicates; it answers 200 whatever
OKPAY said, and the benchmark reads the stored answers back to show that
every postback was VERIFIED.
"""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from okpay_gateway import clients, conf
from okpay_gateway.models import Notification

FLOOR_CHANNEL = "bench-floor"
POSTBACK_PREFIX = b"ok_verify=true&"


@csrf_exempt
@transaction.non_atomic_requests
def floor_view(request: HttpRequest) -> HttpResponse:
    """Post the body back to OKPAY, store one row, answer 200."""
    if request.method != "POST":
        # As the webhook: nothing to verify or store without a body.
        return HttpResponseNotAllowed(["POST"])
    body = request.body
    okpay = conf.get_settings()
    answer = clients.http_session().post(
        okpay.verify_url,
        data=POSTBACK_PREFIX + body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=(okpay.connect_timeout, okpay.verify_timeout),
        allow_redirects=False,
    )
    Notification.objects.create(
        body=body,
        channel=FLOOR_CHANNEL,
        received_at=timezone.now(),
        verification_answer=answer.text[:255],
    )
    return HttpResponse("OK", content_type="text/plain; charset=utf-8")
