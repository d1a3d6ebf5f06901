"""The minimal handler ``bench_ipn.py`` compares the webhook with.

It does only what no IPN listener that keeps its messages can skip: the
Django request cycle (same middleware as the webhook), one insert of the raw
body (store first), one postback to the configured verify URL (same shared
session and timeouts as the pipeline) and one ``UPDATE`` of the stored row
with OKPAY's answer. It parses nothing, checks nothing, never deduplicates
and applies nothing; it answers 200 whatever OKPAY said, and the benchmark
reads the stored answers back to show that every postback was VERIFIED.
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
    """Store the body, post it back, record the answer in one UPDATE, answer 200."""
    if request.method != "POST":
        # As the webhook: nothing to verify or store without a body.
        return HttpResponseNotAllowed(["POST"])
    body = request.body
    row = Notification.objects.create(
        body=body, channel=FLOOR_CHANNEL, received_at=timezone.now()
    )
    okpay = conf.get_settings()
    answer = clients.http_session().post(
        okpay.verify_url,
        data=POSTBACK_PREFIX + body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=(okpay.connect_timeout, okpay.verify_timeout),
        allow_redirects=False,
    )
    Notification.objects.filter(pk=row.pk).update(
        verification_answer=answer.text[:255], processed_at=timezone.now()
    )
    return HttpResponse("OK", content_type="text/plain; charset=utf-8")
