"""Template context shared by every demo page."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def demo(request: HttpRequest) -> dict[str, Any]:
    """Where the emulator lives, for the navigation bar."""
    return {
        "demo_emulator_url": "/" + settings.EMULATOR_PREFIX,
        "demo_channel": settings.CHANNEL_SLUG,
    }
