"""Demo-only pages: the clock control and "what is emulated".

The clock control moves the emulator's clock (which also expires agreements
whose end date has passed, as OKPAY's nightly job did) and then runs a
renewal pass on emulator time, so a visitor watches renewals, declines,
dunning and expiry happen within seconds.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from okpay_gateway.demo import checkout, seed, subscriptions

logger = logging.getLogger(__name__)

# (form value, label, how far): the buttons of the clock control.
CLOCK_STEPS: tuple[tuple[str, str, timedelta], ...] = (
    ("1d", "+1 day", timedelta(days=1)),
    ("3d", "+3 days", timedelta(days=3)),
    ("1w", "+1 week", timedelta(weeks=1)),
    ("1m", "+1 month", timedelta(days=31)),
    ("3m", "+3 months", timedelta(days=92)),
    ("1y", "+1 year", timedelta(days=366)),
)
_STEPS = {value: (label, delta) for value, label, delta in CLOCK_STEPS}


def advance_clock(delta: timedelta) -> subscriptions.RenewalSummary:
    """Move emulator time, deliver what became due, and renew what is due."""
    from okpay_gateway.emulator import clock, ipn_sender

    clock.advance(delta)
    ipn_sender.deliver_due()
    summary = subscriptions.run_renewals(trigger="demo-clock")
    checkout.sync_paid_orders()
    return summary


def _summary_message(summary: subscriptions.RenewalSummary) -> str:
    if summary.error:
        return f"The renewal pass failed: {summary.error}"
    if not summary.total:
        return "Renewals: nothing was due."
    parts = [
        f"{count} {label}"
        for count, label in (
            (summary.charged, "charged"),
            (summary.declined, "declined"),
            (summary.skipped, "skipped"),
            (summary.unknown, "unknown"),
            (summary.failed, "failed"),
        )
        if count
    ]
    return "Renewals: " + ", ".join(parts) + "."


@require_http_methods(["GET", "POST"])
def clock_control(request: HttpRequest) -> HttpResponse:
    """Show emulator time and every subscription; move the clock on POST."""
    from okpay_gateway.emulator import clock

    if request.method == "POST":
        action = request.POST.get("step", "")
        if action == "renew":
            summary = subscriptions.run_renewals(trigger="demo-button")
            checkout.sync_paid_orders()
            messages.info(request, _summary_message(summary))
        elif action == "reset":
            clock.reset()
            messages.info(request, "The emulator clock is back to real time.")
        elif action in _STEPS:
            label, delta = _STEPS[action]
            summary = advance_clock(delta)
            messages.info(
                request,
                f"Clock moved {label} to {clock.now():%Y-%m-%d %H:%M} UTC. "
                + _summary_message(summary),
            )
        else:
            messages.error(request, "Unknown clock step.")
        return redirect("okpay_demo:clock")
    return render(request, "okpay_gateway/demo/clock.html", _clock_context())


def _clock_context() -> dict[str, object]:
    from okpay_gateway.emulator import clock
    from okpay_gateway.emulator.models import IpnMessage
    from okpay_gateway.models import RenewalDecision, Subscription

    return {
        "emulator_now": clock.now(),
        "frozen": clock.is_frozen(),
        "steps": CLOCK_STEPS,
        "subscriptions": Subscription.objects.select_related(
            "contract", "customer"
        ).order_by("pk")[:100],
        "decisions": RenewalDecision.objects.select_related("subscription")[:25],
        "ipns": IpnMessage.objects.order_by("-ipn_id")[:15],
    }


def about(request: HttpRequest) -> HttpResponse:
    """Honest scope: what is real code and what is a stand-in."""
    return render(
        request,
        "okpay_gateway/demo/about.html",
        {"credentials": seed.credentials(), "emulator_url": settings.EMULATOR_URL},
    )
