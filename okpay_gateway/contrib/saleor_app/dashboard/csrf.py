"""Form tokens for the Dashboard pages, which live in a third-party iframe.

Django's CSRF cookie does not work there: browsers block or partition
third-party cookies, so the cookie would be missing or unreadable. These
pages hold no cookie at all: every request carries the Dashboard's token in
the ``Authorization`` header, which a cross-site form cannot set. As a
second lock, each state-changing form carries a token signed with
``SECRET_KEY`` that names the action, the agreement and the Dashboard token
the page was rendered for (its digest), and expires with it.
"""

from __future__ import annotations

from django.core import signing

from .auth import Staff

_SALT = "okpay_gateway.saleor_app.dashboard.csrf"
MAX_AGE_SECONDS = 3600


def _value(staff: Staff, action: str, object_id: object) -> str:
    return f"{staff.token_digest}:{action}:{object_id}"


def issue(staff: Staff, action: str, object_id: object) -> str:
    return signing.TimestampSigner(salt=_SALT).sign(_value(staff, action, object_id))


def valid(staff: Staff, action: str, object_id: object, token: str) -> bool:
    try:
        value = signing.TimestampSigner(salt=_SALT).unsign(
            token or "", max_age=MAX_AGE_SECONDS
        )
    except signing.BadSignature:
        return False
    return value == _value(staff, action, object_id)
