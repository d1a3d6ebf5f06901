"""A renewal run in its own process (the crash test kills it with SIGKILL).

``python -m tests.billing_engine.renew_worker --as-of ISO [--concurrency N]``
with ``DJANGO_SETTINGS_MODULE=tests.billing_engine.worker_settings``.
"""

from __future__ import annotations

import argparse
import sys


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--as-of", required=True)
    parser.add_argument("--concurrency", type=int, default=1)
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
