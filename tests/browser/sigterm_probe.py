"""Run only by test_sigterm_cleanup in a child pytest (not collected otherwise).

Holds the browser tests' demo server open until the child pytest is
terminated, after writing the server's pid and URL for the parent test.
"""

from __future__ import annotations

import os
import time
from pathlib import Path


def test_hold_demo_server_open(demo_shop):
    """Write where the demo runs, then wait to be terminated."""
    Path(os.environ["OKPAY_SIGTERM_PROBE"]).write_text(
        f"{demo_shop.process.pid} {demo_shop.base_url}"
    )
    time.sleep(600)
