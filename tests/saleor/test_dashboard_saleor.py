"""The Dashboard pages against a real Saleor 3.24 and tokens it issues.

Opt-in: skipped without the ``tests/saleor`` environment variables (see
``app_support``). The App is installed the way the Dashboard installs it
(``appInstall`` with the manifest URL; Saleor's worker fetches the manifest,
registers the extensions and posts the app token to ``register/``). The staff
user's token for each extension is what the Dashboard itself asks Saleor for
(``AppExtension.accessToken``, ``App.accessToken``) before handing it to the
iframe. Prints what it did, for the record.
"""

from __future__ import annotations

import json
import time

import jwt
import pytest
import requests

from okpay_gateway.contrib.saleor_app.dashboard.extensions import extension_page_url
from okpay_gateway.contrib.saleor_app.models import Installation
from okpay_gateway.contrib.saleor_app.saleor_api import jwks_url
from tests.browser import conftest as browser_fixtures
from tests.browser.conftest import ARTIFACTS
from tests.saleor import test_app_saleor
from tests.saleor.app_support import APP_DELETE
from tests.saleor_app.dashboard_support import signed_token
from tests.saleor_app.standin import SigningKey

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

saleor = test_app_saleor.saleor
browser = browser_fixtures.browser

APP_INSTALL = """
mutation OkPayAppInstall($input: AppInstallInput!) {
  appInstall(input: $input) {
    appInstallation { id status message }
    errors { field message code }
  }
}
"""

APP_INSTALLATIONS = "query OkPayAppInstallations { appsInstallations { id status message manifestUrl } }"

APP_EXTENSIONS = """
query OkPayAppExtensions($id: ID!) {
  app(id: $id) {
    id
    appUrl
    accessToken
    extensions {
      id
      label
      url
      mountName
      targetName
      permissions { code }
      accessToken
    }
  }
}
"""

DOCUMENTS = {
    "APP_INSTALL": APP_INSTALL,
    "APP_INSTALLATIONS": APP_INSTALLATIONS,
    "APP_EXTENSIONS": APP_EXTENSIONS,
}

INSTALL_WAIT_SECONDS = 180


def _install_from_manifest(world) -> Installation:
    manifest_url = world.app_base + "manifest/"
    world.staff.mutate(
        APP_INSTALL,
        "appInstall",
        {
            "input": {
                "appName": "OKPAY",
                "manifestUrl": manifest_url,
                "activateAfterInstallation": True,
                "permissions": ["HANDLE_PAYMENTS", "MANAGE_ORDERS", "MANAGE_USERS"],
            }
        },
    )
    deadline = time.monotonic() + INSTALL_WAIT_SECONDS
    while time.monotonic() < deadline:
        installation = Installation.objects.filter(saleor_api_url=world.api_url).first()
        if installation is not None and installation.app_id:
            return installation
        jobs = [
            job
            for job in world.staff.call(APP_INSTALLATIONS)["appsInstallations"]
            if job["manifestUrl"] == manifest_url
        ]
        if jobs and jobs[-1]["status"] == "FAILED":
            pytest.fail(f"Saleor could not install the App: {jobs[-1]['message']}")
        time.sleep(2)
    pytest.fail(
        f"Saleor did not install the App within {INSTALL_WAIT_SECONDS}s "
        "(is its Celery worker running?)"
    )


def _get(url: str, token: str, api_url: str) -> requests.Response:
    return requests.get(
        url,
        headers={"Authorization": f"Bearer {token}", "Saleor-Api-Url": api_url},
        timeout=(5, 120),
    )


def _render_in_chromium(request, settings, world, app, extension) -> None:
    """The page framed as the Dashboard frames it, with Saleor's own token."""
    from tests.browser.test_saleor_dashboard import DashboardStandIn

    browser = request.getfixturevalue("browser")
    parent = DashboardStandIn()
    settings.OKPAY_SALEOR_APP = {
        **settings.OKPAY_SALEOR_APP,
        "DASHBOARD_ORIGINS": [parent.origin],
    }
    src = extension_page_url(app["appUrl"], extension["url"])
    src += f"?saleorApiUrl={world.api_url}"
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    try:
        page = context.new_page()
        page.goto(parent.frame("real", src, extension["accessToken"]))
        counts = page.frame_locator("#app").locator("ul.counts")
        counts.wait_for(timeout=30_000)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "real-saleor-dashboard-page.png"))
        print("rendered in Chromium:", counts.inner_text().replace("\n", " "))
    finally:
        context.close()
        parent.server.shutdown()
        parent.server.server_close()


def test_extensions_registered_and_pages_answer_real_staff_tokens(
    request, saleor, settings
):
    """Saleor registers the three extensions; each page accepts Saleor's own token."""
    installation = _install_from_manifest(saleor)
    try:
        app = saleor.staff.call(APP_EXTENSIONS, {"id": installation.app_id})["app"]
        print("app", app["id"], app["appUrl"])
        extensions = {ext["mountName"]: ext for ext in app["extensions"]}
        for ext in app["extensions"]:
            print(
                "extension",
                ext["mountName"],
                ext["targetName"],
                ext["url"],
                [p["code"] for p in ext["permissions"]],
            )
        assert set(extensions) == {
            "NAVIGATION_ORDERS",
            "CUSTOMER_DETAILS_MORE_ACTIONS",
            "ORDER_DETAILS_MORE_ACTIONS",
        }
        assert extensions["NAVIGATION_ORDERS"]["targetName"] == "APP_PAGE"

        claims = jwt.decode(app["accessToken"], options={"verify_signature": False})
        print(
            "App.accessToken claims",
            json.dumps({k: v for k, v in claims.items() if k != "token"}),
        )
        assert claims["app"] == installation.app_id

        list_page = _get(app["appUrl"], app["accessToken"], saleor.api_url)
        assert list_page.status_code == 200, list_page.text[:500]
        assert "OKPAY agreements" in list_page.text
        assert 'class="okpay-chart"' in list_page.text

        expected = {
            "NAVIGATION_ORDERS": "OKPAY agreements",
            "CUSTOMER_DETAILS_MORE_ACTIONS": "OKPAY agreements of this customer",
            "ORDER_DETAILS_MORE_ACTIONS": "OKPAY agreements of this order",
        }
        for mount, extension in extensions.items():
            assert extension["accessToken"], f"Saleor gave no token for {mount}"
            url = extension_page_url(app["appUrl"], extension["url"])
            response = _get(url, extension["accessToken"], saleor.api_url)
            print(mount, url, response.status_code)
            assert response.status_code == 200, response.text[:500]
            assert expected[mount] in response.text

        # The same claims signed by another key under Saleor's own kid: refused.
        kid = requests.get(jwks_url(saleor.api_url), timeout=(5, 30)).json()["keys"][0]
        forged = signed_token(
            SigningKey(kid["kid"]),
            app=installation.app_id,
            iss=claims.get("iss", ""),
            email=claims.get("email", ""),
            user_permissions=claims["user_permissions"],
            permissions=claims.get("permissions", []),
        )
        refused = _get(app["appUrl"], forged, saleor.api_url)
        print("forged token:", refused.status_code)
        assert refused.status_code == 401

        _render_in_chromium(
            request, settings, saleor, app, extensions["NAVIGATION_ORDERS"]
        )
    finally:
        saleor.staff.mutate(APP_DELETE, "appDelete", {"id": installation.app_id})
