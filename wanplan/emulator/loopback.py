"""The emulator serves, and calls back, only on loopback addresses."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from wanplan.errors import WanplanError


class LoopbackOnly(WanplanError):
    """A non-loopback address was asked for; nothing was bound or sent."""


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def require_loopback(host: str) -> None:
    if not is_loopback(host):
        raise LoopbackOnly(
            f"the emulator serves only on loopback (127.0.0.1, ::1, localhost), not {host!r}"
        )


def is_loopback_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and is_loopback(parts.hostname)
