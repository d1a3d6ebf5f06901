"""The standalone host's notion of sales channels.

Saleor keeps channels in a ``Channel`` table; a shop without Saleor only
needs their slugs, listed in the ``OKPAY_HOST_CHANNELS`` setting (default
``["default-channel"]``, the slug Saleor gives its first channel). Plugins
receive a :class:`Channel` as ``self.channel`` so ``self.channel.slug`` reads
the same under both hosts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings

DEFAULT_CHANNELS = ("default-channel",)


@dataclass(frozen=True, slots=True)
class Channel:
    slug: str
    name: str = ""

    def __str__(self) -> str:
        return self.name or self.slug


def configured_channels(channels: Iterable[str] | None = None) -> list[Channel]:
    """Channels from the argument, else from ``OKPAY_HOST_CHANNELS``."""
    slugs = (
        channels
        if channels is not None
        else getattr(settings, "OKPAY_HOST_CHANNELS", DEFAULT_CHANNELS)
    )
    return [Channel(slug=slug) for slug in dict.fromkeys(slugs)]
