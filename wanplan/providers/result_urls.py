"""Which result URLs wanplan downloads. A provider's answer is untrusted, and wanplan runs in CI
next to services a URL could point at (the cloud metadata service at 169.254.169.254, the LAN):
only https to a public host; no credentials in the URL; no host written as a private, loopback,
link-local, multicast or reserved address (in any of the forms a resolver takes: 2852039166
and 0xa9.0xfe.0xa9.0xfe are 169.254.169.254 too).

A provider on loopback (the emulator, a local proxy) may hand out plain http and loopback
addresses; even then, nothing else in the private ranges.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import httpx

MAX_URL_LENGTH = 8192


def refusal(url: str, provider_on_loopback: bool) -> str | None:
    """Why `url` may not be downloaded, or None when it may."""
    if len(url) > MAX_URL_LENGTH:
        return f"longer than {MAX_URL_LENGTH} characters"
    if not url.isprintable() or any(c.isspace() for c in url):
        return "it contains spaces or control characters"
    try:
        parts = urlsplit(url)
        httpx.URL(url)
    except (ValueError, httpx.InvalidURL):
        return "it is not a valid URL"
    scheme = parts.scheme.lower()
    if scheme == "http" and not provider_on_loopback:
        return "plain http (only https is downloaded)"
    if scheme not in ("http", "https"):
        return f"the {scheme or 'missing'} scheme (only https is downloaded)"
    if "@" in parts.netloc:
        return "it carries credentials (user:password@)"
    host = parts.hostname
    if not host:
        return "it has no host"
    if "%" in host:
        return "its host is percent-encoded"
    host = host.rstrip(".")  # "169.254.169.254." and "localhost." name the same hosts
    if host == "localhost" or host.endswith(".localhost"):
        return None if provider_on_loopback else "its host is localhost"
    address = ip_literal(host)
    if address is None:
        return None
    if address.is_loopback:
        return None if provider_on_loopback else f"its host {host} is a loopback address"
    return _private_range(address, host)


def _private_range(address: ipaddress.IPv4Address | ipaddress.IPv6Address, host: str) -> str | None:
    for kind, inside in (
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("unspecified", address.is_unspecified),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("non-public", not address.is_global),  # shared 100.64/10 (cloud metadata), 6to4...
    ):
        if inside:
            return f"its host {host} is a {kind} address"
    if isinstance(address, ipaddress.IPv6Address) and address.sixtofour is not None:
        return _private_range(address.sixtofour, host)
    return None


def ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a host written as an IP literal names (IPv4-mapped IPv6 unwrapped)."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        try:
            # The forms inet_aton takes and a resolver would too: "2852039166", "0x7f.1".
            address = ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address
