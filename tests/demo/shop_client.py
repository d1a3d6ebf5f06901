"""A scripted shopper for the demo over plain HTTP (no browser needed).

Follows exactly the links and forms a browser would: shop sign-in, the OKPAY
button's form, the emulator's sign-in and approval forms, and the
auto-submitted return form back to the shop.
"""

from __future__ import annotations

import html
import re
import time
from dataclasses import dataclass

import requests

TIMEOUT = (5, 60)
# How long a scripted shopper keeps reloading a "waiting" order page: the
# return can overtake the IPN that is still charging, and the page then
# refreshes itself until the outcome is recorded, as a browser would follow.
SETTLE_SECONDS = 60


def csrf_token(page: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


def form_action(page: str, pattern: str) -> str:
    return html.unescape(re.search(rf'action="([^"]*{pattern}[^"]*)"', page).group(1))


def hidden_fields(page: str) -> list[tuple[str, str]]:
    return [
        (html.unescape(name), html.unescape(value))
        for name, value in re.findall(
            r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page
        )
    ]


@dataclass
class Shopper:
    base_url: str
    session: requests.Session

    @classmethod
    def signed_in(cls, base_url: str, username: str, password: str) -> Shopper:
        shopper = cls(base_url.rstrip("/"), requests.Session())
        page = shopper.get("/login/")
        shopper.post(
            "/login/",
            {"username": username, "password": password},
            csrf_from=page.text,
        )
        return shopper

    def absolute(self, path: str) -> str:
        return path if path.startswith("http") else self.base_url + path

    def get(self, path: str) -> requests.Response:
        response = self.session.get(self.absolute(path), timeout=TIMEOUT)
        response.raise_for_status()
        return response

    def post(
        self,
        path: str,
        data: dict[str, str] | list[tuple[str, str]],
        *,
        csrf_from: str = "",
    ) -> requests.Response:
        payload = list(data.items()) if isinstance(data, dict) else list(data)
        if csrf_from:
            payload.append(("csrfmiddlewaretoken", csrf_token(csrf_from)))
        response = self.session.post(
            self.absolute(path),
            data=payload,
            headers={"Referer": self.base_url + "/"},
            timeout=TIMEOUT,
        )
        response.raise_for_status()
        return response

    def press_okpay_button(self, plan_slug: str) -> requests.Response:
        page = self.get(f"/plans/{plan_slug}/")
        action = form_action(page.text, "/pay/")
        return self.post(action, {}, csrf_from=page.text)

    def approve_at_okpay(
        self, checkout_page: requests.Response, email: str, password: str, **limits: str
    ) -> requests.Response:
        page = checkout_page
        if re.search(r'action="[^"]*sign-in', page.text):
            # Signed in at OKPAY already (an earlier approval): no sign-in form.
            page = self.post(
                form_action(checkout_page.text, "sign-in"),
                {"email": email, "password": password},
                csrf_from=checkout_page.text,
            )
        fields = {"decision": "approve", **limits}
        autopost = self.post(
            form_action(page.text, "approve"), fields, csrf_from=page.text
        )
        return_url = html.unescape(
            re.search(r'<form[^>]*action="([^"]+)"', autopost.text).group(1)
        )
        return self.settled(self.post(return_url, hidden_fields(autopost.text)))

    def settled(self, page: requests.Response) -> requests.Response:
        """Follow the order page's own refresh while it says it is waiting."""
        deadline = time.monotonic() + SETTLE_SECONDS
        while 'http-equiv="refresh"' in page.text and time.monotonic() < deadline:
            time.sleep(0.5)
            page = self.get(page.url)
        return page
