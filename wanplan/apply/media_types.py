"""Which file extension a downloaded result gets, from its Content-Type or its URL."""

from __future__ import annotations

from urllib.parse import urlparse

EXTENSIONS = {
    "video/mp4": "mp4",
    "video/webm": "webm",
    "video/quicktime": "mov",
    "image/gif": "gif",
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/webp": "webp",
}


def extension_for(content_type: str | None, url: str) -> tuple[str, str] | None:
    """(extension, media type), or None when the result is not a media file wanplan knows."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type in EXTENSIONS:
        return EXTENSIONS[media_type], media_type
    suffix = urlparse(url).path.rpartition(".")[2].lower()
    for known, ext in EXTENSIONS.items():
        if ext == suffix or (suffix == "jpeg" and ext == "jpg"):
            return ext, known
    return None
