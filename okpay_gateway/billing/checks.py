"""System check of the billing options (tag ``okpay_gateway``).

``okpay_gateway.E012``: ``OKPAY_GATEWAY["DUNNING"]`` is not a ladder
:class:`~okpay_gateway.billing.dunning.DunningLadder` can read. The other
options are checked by :mod:`okpay_gateway.checks`; this one lives with the
layer that owns the ladder.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings as django_settings
from django.core.checks import CheckMessage, Error

from okpay_gateway.billing.dunning import DunningLadder
from okpay_gateway.conf import SETTINGS_NAME

__all__ = ["check_dunning"]


def check_dunning(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    values = getattr(django_settings, SETTINGS_NAME, None)
    if not isinstance(values, Mapping) or "DUNNING" not in values:
        return []
    try:
        DunningLadder.from_setting(
            values["DUNNING"], name=f'{SETTINGS_NAME}["DUNNING"]'
        )
    except ValueError as exc:
        return [
            Error(
                str(exc),
                hint="See okpay_gateway.billing.dunning for the ladder's keys.",
                id="okpay_gateway.E012",
            )
        ]
    return []
