"""A renewal run in its own process (the crash test kills it with SIGKILL).

``python -m tests.billing_engine.renew_worker --as-of ISO [--concurrency N]
[--trigger NAME [--limit N]]`` with ``DJANGO_SETTINGS_MODULE=tests.billing_engine.worker_settings``.
Without ``--trigger`` it runs the ``okpay_renew`` command; with it, the same
run (resolver first) is recorded under that trigger, so a test can tell
which process leased a subscription (``Subscription.last_run.trigger``).
``--resolve-loop`` instead runs the resolver over and over, its clock starting
at ``--as-of`` and moving with the wall clock (the beat task's job), until
the process is killed.
"""

from __future__ import annotations

import argparse
import sys


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--as-of", required=True)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--trigger", default="")
    parser.add_argument("--resolve-loop", action="store_true")
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    import django

    django.setup()
    from django.core.management import call_command
    from django.core.management.base import CommandError

    from okpay_gateway import clients, conf
    from okpay_gateway.billing import receivers  # noqa: F401
    from okpay_gateway.emulator import clock

    # The emulator runs on frozen time: build tokens for its hour.
    clients.client_for(conf.get_settings()).tokens.resync(clock.now())
    if args.resolve_loop:
        import time
        from datetime import datetime, timedelta

        from okpay_gateway.billing import resolver

        start, t0 = datetime.fromisoformat(args.as_of), time.monotonic()
        while True:
            resolver.resolve_pending_attempts(
                now=start + timedelta(seconds=time.monotonic() - t0)
            )
            time.sleep(0.2)
    if args.trigger:
        from datetime import datetime

        from okpay_gateway.billing import engine

        report = engine.run_renewals(
            now=datetime.fromisoformat(args.as_of),
            concurrency=args.concurrency,
            trigger=args.trigger,
            limit=args.limit,
        )
        return 0 if report.ok else 1
    try:
        call_command(
            "okpay_renew",
            as_of=args.as_of,
            concurrency=args.concurrency,
            progress="never",
        )
    except CommandError:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
