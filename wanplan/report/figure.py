"""The HTML of one file shown in the report (an output, an input, an earlier version): an
image, a video or audio player, or a link, none of which fetches anything before it is scrolled
to or played (a report of a thousand videos opens at once)."""

from __future__ import annotations

from html import escape

VIDEO_EXTENSIONS = frozenset({"mp4", "webm", "mov", "m4v"})
IMAGE_EXTENSIONS = frozenset({"gif", "png", "jpg", "jpeg", "webp"})
AUDIO_EXTENSIONS = frozenset({"mp3", "wav", "ogg", "m4a", "flac"})


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
