"""Browser tests: Playwright for Python driving Debian's Chromium.

``playwright install`` is never run: the browser is the system's
``/usr/bin/chromium`` (``apt-get install -y chromium``; override with
``OKPAY_CHROMIUM``). Without it, or without the ``playwright`` package,
the tests skip locally and fail under ``CI=true``, like ``require_service``.
Screenshots go to ``test-artifacts/browser/``.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.demo.server import DemoServer, start_demo

CHROMIUM = os.environ.get("OKPAY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


def require_browser() -> None:
    """Fail under CI, skip elsewhere, when Chromium or Playwright is missing."""
    problems = []
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        problems.append(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    if importlib.util.find_spec("playwright") is None:
        problems.append(
            "the playwright package is not installed (pip install playwright)"
        )
    if not problems:
        return
    message = "; ".join(problems)
    if IN_CI:
        pytest.fail(message + " (CI=true: the browser is required)")
    pytest.skip(message)


# Page loads here include SOAP calls and IPN round trips inside the demo
# server; on a loaded machine they take longer than Playwright's 5 s default
# for ``expect``, which is separate from the context's default timeout.
EXPECT_TIMEOUT_MS = 30_000


@pytest.fixture(scope="session")
def browser():
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)

    # While the browser lives, Playwright's sync API marks its event loop as
    # running in this thread between calls, and Django then refuses ORM calls
    # here (tests' own queries, pytest-django's flush after live-server
    # tests): they are plain synchronous code, so say so for that long.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def demo_shop(tmp_path_factory: pytest.TempPathFactory):
    """The demo over real HTTP; renewals run only when the clock control asks."""
    require_browser()
    server = start_demo(
        tmp_path_factory.mktemp("browser-demo"), "--renew-interval", "0"
    )
    yield server
    server.stop()


@pytest.fixture
def page(browser, demo_shop: DemoServer):
    context = browser.new_context(
        base_url=demo_shop.base_url, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    page = context.new_page()
    # The cancel button asks "are you sure?"; a visitor says yes.
    page.on("dialog", lambda dialog: dialog.accept())
    yield page
    context.close()


@pytest.fixture
def shot(request):
    """``shot(page, "name")`` saves test-artifacts/browser/<test>-<nn>-<name>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    counter = iter(range(1, 100))

    def save(page, name: str) -> Path:
        path = ARTIFACTS / f"{request.node.name}-{next(counter):02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save
