"""``checkout.js`` follows ``confirmationData`` the two ways OKPAY links come."""

from __future__ import annotations

from urllib.parse import parse_qsl

from tests.demo.server import DemoServer


def _capture(page, pattern: str) -> list:
    seen: list = []

    def handle(route, request):
        seen.append(request)
        route.fulfill(status=200, content_type="text/html", body="<h1>captured</h1>")

    page.route(pattern, handle)
    return seen


def _load_script(page) -> None:
    page.goto("/demo/about/")
    page.add_script_tag(url="/static/okpay_gateway/js/checkout.js")
    page.wait_for_function("() => window.OkpayCheckout !== undefined")


def test_follow_post_confirmation_submits_hidden_form(page, demo_shop: DemoServer):
    """A POST confirmation becomes an auto-submitted form with every field, in order."""
    seen = _capture(page, "**/okpay-post-target")
    _load_script(page)
    with page.expect_navigation():
        page.evaluate(
            """(action) => OkpayCheckout.follow({
                method: "POST", action: action,
                fields: {ok_receiver: "OK100000001", ok_kind: "preapproved",
                         ok_invoice: "agr-9", ok_p_title: "Café & co"}
            })""",
            demo_shop.url("/okpay-post-target"),
        )
    assert len(seen) == 1
    assert seen[0].method == "POST"
    assert parse_qsl(seen[0].post_data) == [
        ("ok_receiver", "OK100000001"),
        ("ok_kind", "preapproved"),
        ("ok_invoice", "agr-9"),
        ("ok_p_title", "Café & co"),
    ]


def test_follow_get_confirmation_redirects_to_url(page, demo_shop: DemoServer):
    """A GET confirmation sends the browser to ``redirect_url`` as it is."""
    seen = _capture(page, "**/okpay-get-target*")
    _load_script(page)
    target = demo_shop.url("/okpay-get-target?ok_invoice=agr-7&ok_kind=preapproved")
    with page.expect_navigation():
        page.evaluate(
            "(url) => OkpayCheckout.follow({method: 'GET', redirect_url: url})", target
        )
    assert [request.url for request in seen] == [target]
    assert seen[0].method == "GET"
