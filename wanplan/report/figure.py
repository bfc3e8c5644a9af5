"""The HTML of one file shown in the report (an output, an input, an earlier version): an
image, a video or audio player, or a link, none of which fetches anything before it is scrolled
to or played (a report of a thousand videos opens at once)."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from pathlib import Path
from urllib.parse import quote

VIDEO_EXTENSIONS = frozenset({"mp4", "webm", "mov", "m4v"})
IMAGE_EXTENSIONS = frozenset({"gif", "png", "jpg", "jpeg", "webp"})
AUDIO_EXTENSIONS = frozenset({"mp3", "wav", "ogg", "m4a", "flac"})
MEDIA_EXTENSIONS = VIDEO_EXTENSIONS | IMAGE_EXTENSIONS | AUDIO_EXTENSIONS

Hrefs = Mapping[Path, str]
"""Each file shown → its URL in the page (see media.MediaFolder)."""


def anchor(address: str) -> str:
    """The id of an asset's section, for links from the assets made from its output."""
    return f"asset-{address}"


def anchor_href(address: str) -> str:
    return "#" + quote(anchor(address))


def media_html(href: str, extension: str, label: str, link_text: str) -> str:
    """`href` is already a URL (quoted); `label` and `link_text` are escaped here."""
    src, alt = escape(href), escape(label)
    if extension in VIDEO_EXTENSIONS:
        return (
            f'<video src="{src}" controls muted loop playsinline preload="none" '
            f'aria-label="{alt}"></video>'
        )
    if extension in AUDIO_EXTENSIONS:
        return f'<audio src="{src}" controls preload="none" aria-label="{alt}"></audio>'
    if extension in IMAGE_EXTENSIONS:
        return f'<img src="{src}" alt="{alt}" loading="lazy" decoding="async">'
    return f'<a href="{src}">{escape(link_text)}</a>'


def extension_of(path: str | Path) -> str:
    return Path(path).suffix.lstrip(".").lower()
