"""Stream a result into the blob cache: a temporary file beside it, size-capped, length-checked,
hashed on the way; it becomes a blob only when complete."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx

from wanplan.apply.media_types import extension_for
from wanplan.blobs import BlobStore
from wanplan.providers.answers import clip

MAX_RESULT_BYTES = 2 * 1024**3


class DownloadError(Exception):
    def __init__(self, message: str, *, retryable: bool = False, expired: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.expired = expired
        """The URL no longer serves the file (403/404/410): ask the provider for a fresh one."""


def media_kind(content_type: str | None, url: str) -> tuple[str, str]:
    """(extension, media type) of a result. A Content-Type that names something else (a web
    page, JSON, a script) is refused; only a missing or generic one falls back to the URL's
    suffix, as some storage serves media as application/octet-stream."""
    named = (content_type or "").split(";")[0].strip().lower()
    generic = named in ("", "application/octet-stream", "binary/octet-stream")
    kind = extension_for(content_type if not generic else None, url)
    if kind is None or (not generic and kind[1] != named):
        raise DownloadError(f"result is not a known media type ({clip(content_type or '')!r})")
    return kind


@dataclass(frozen=True)
class Downloaded:
    sha256: str
    size: int
    extension: str
    media_type: str


async def download(
    client: httpx.AsyncClient, url: str, blobs: BlobStore, max_bytes: int | None = None
) -> Downloaded:
    max_bytes = MAX_RESULT_BYTES if max_bytes is None else max_bytes
    try:
        async with client.stream("GET", url) as response:
            status = response.status_code
            if 300 <= status < 400:
                location = response.headers.get("location", "")
                raise DownloadError(
                    f"result download answered a redirect to {clip(location)!r}; not followed"
                )
            if status != 200:
                raise DownloadError(
                    f"result download answered HTTP {status}",
                    retryable=status == 429 or status >= 500,
                    expired=status in (403, 404, 410),
                )
            kind = media_kind(response.headers.get("content-type"), url)
            declared = response.headers.get("content-length")
            staged = await asyncio.to_thread(blobs.stage)
            with staged:
                async for chunk in response.aiter_bytes():
                    staged.write(chunk)
                    if staged.size > max_bytes:
                        raise DownloadError(f"result is larger than the {max_bytes} byte cap")
                if declared is not None and declared.isdigit() and int(declared) != staged.size:
                    raise DownloadError(
                        f"result download was truncated ({staged.size} of {declared} bytes)",
                        retryable=True,
                    )
                if staged.size == 0:
                    raise DownloadError("result download was empty")
                sha256 = await asyncio.to_thread(blobs.commit, staged)
                return Downloaded(sha256, staged.size, kind[0], kind[1])
    except httpx.RemoteProtocolError:
        raise DownloadError(
            "result download was truncated (the connection closed before the end)",
            retryable=True,
        ) from None
    except httpx.HTTPError as exc:
        raise DownloadError(
            f"result download failed: {type(exc).__name__}", retryable=True
        ) from None
