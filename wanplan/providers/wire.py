"""What the HTTP providers share: base URLs, keys, error mapping, sizes, local files as URLs."""

from __future__ import annotations

import base64
import datetime
import ipaddress
import mimetypes
import os
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpx

from wanplan.config import ProviderSettings
from wanplan.errors import ProviderAuthError, ProviderError, WanplanError
from wanplan.providers.base import GenerationRequest, RequestInput
from wanplan.providers.transport import PooledTransport
from wanplan.spec import media_kind

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)

# (resolution, aspect ratio) -> "W*H", as the 2.1–2.6 protocols and WaveSpeed's t2v take it.
SIZES: dict[tuple[str, str], str] = {
    ("480p", "16:9"): "832*480",
    ("480p", "9:16"): "480*832",
    ("480p", "1:1"): "624*624",
    ("720p", "16:9"): "1280*720",
    ("720p", "9:16"): "720*1280",
    ("720p", "1:1"): "960*960",
    ("720p", "4:3"): "1088*832",
    ("720p", "3:4"): "832*1088",
    ("1080p", "16:9"): "1920*1080",
    ("1080p", "9:16"): "1080*1920",
    ("1080p", "1:1"): "1440*1440",
    ("1080p", "4:3"): "1632*1248",
    ("1080p", "3:4"): "1248*1632",
}

TIME_SCALE_HEADER = "X-Wanplan-Time-Scale"
"""The emulator says how much faster than real time it runs (honoured on loopback only)."""


def size(resolution: str, aspect_ratio: str | None) -> str:
    return SIZES.get((resolution, aspect_ratio or "16:9"), SIZES[(resolution, "16:9")])


def base_url_env(provider: str) -> str:
    return f"WANPLAN_{provider.upper()}_BASE_URL"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def resolve_base_url(provider: str, settings: ProviderSettings, default: str) -> str:
    """The environment beats wanplan.toml beats the default; plain http only on loopback."""
    variable = base_url_env(provider)
    url = os.environ.get(variable) or settings.base_url or default
    origin = variable if os.environ.get(variable) else "wanplan.toml" if settings.base_url else None
    parts = urlsplit(url)
    where = f" (from {origin})" if origin else ""
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WanplanError(f"{provider} base URL {url!r}{where} is not an http(s) URL")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise WanplanError(
            f"{provider} base URL {url!r}{where}: plain http is allowed only on loopback "
            "(the emulator); use https"
        )
    return url.rstrip("/")


def key_variable(settings: ProviderSettings, default: str | None) -> str | None:
    return settings.api_key_env or default


def bearer(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def make_client(settings: ProviderSettings) -> httpx.AsyncClient:
    # No credentials here and no redirects followed: see base.py.
    connections = max(settings.concurrency or 0, 16) + 8
    return httpx.AsyncClient(
        timeout=DEFAULT_TIMEOUT,
        follow_redirects=False,
        transport=PooledTransport(connections),
    )


def media_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def listed(request: GenerationRequest, name: str) -> list[RequestInput]:
    """The inputs of a list field (`references`, `grid`), in their order."""
    return [i for i in request.inputs if i.field.partition("[")[0] == name]


def references(request: GenerationRequest) -> dict[str, list[RequestInput]]:
    """The request's references by kind, "image" or "video", as the providers take them in
    separate lists. An animated GIF (what the sim and the emulator make of a clip) is a video
    reference for r2v, which takes videos, and an image elsewhere."""
    found: dict[str, list[RequestInput]] = {}
    for item in listed(request, "references"):
        kinds = (
            media_kind.of_file(item.path) if item.path is not None else None
        ) or media_kind.by_name(item.source)
        video = (
            kinds is not None and "video" in kinds and (request.mode == "r2v" or len(kinds) == 1)
        )
        kind = "video" if video else "image"
        found.setdefault(kind, []).append(item)
    return found


def data_url(item: RequestInput) -> str:
    """A local input file inlined (`item.path` is set)."""
    assert item.path is not None
    encoded = base64.b64encode(item.path.read_bytes()).decode("ascii")
    return f"data:{media_type(item.name)};base64,{encoded}"


def raise_for_status(
    provider: str,
    response: httpx.Response,
    key_env: str | None,
    message: str,
) -> None:
    """Map a non-2xx answer to wanplan's errors: auth stops everything, 429/5xx may be retried."""
    status = response.status_code
    if status < 400:
        return
    detail = f"HTTP {status}: {without_key(message, response)}" if message else f"HTTP {status}"
    if status in (401, 402, 403):
        raise ProviderAuthError(provider, detail, key_env)
    raise ProviderError(
        provider,
        detail,
        retryable=status == 429 or status >= 500,
        retry_after=retry_after(response),
        status=status,
    )


def without_key(text: str, response: httpx.Response) -> str:
    """A provider's words with the request's own key masked, should they echo it: errors go to
    logs and pull-request comments."""
    try:
        scheme, _, key = response.request.headers.get("authorization", "").partition(" ")
    except RuntimeError:  # a response built without its request
        return text
    return text.replace(key, "***") if scheme.lower() == "bearer" and len(key) >= 8 else text


def retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max((when - datetime.datetime.now(datetime.UTC)).total_seconds(), 0.0)
