"""Small but valid media for the sim: an animated GIF for video modes, a PNG for images.
The bytes depend only on what they are made from, so the same content key gives the same file."""

from __future__ import annotations

import hashlib
import io
import math

from PIL import Image, ImageDraw

FRAMES_PER_SECOND = 4
_SIZES = {
    "16:9": (160, 90),
    "9:16": (90, 160),
    "1:1": (120, 120),
    "4:3": (144, 108),
    "3:4": (108, 144),
}


def _palette(
    seed: bytes,
) -> tuple[tuple[int, int, int], tuple[int, int, int], tuple[int, int, int]]:
    digest = hashlib.sha256(seed).digest()
    return (
        (digest[0], digest[1], digest[2]),
        (255 - digest[0], 255 - digest[1], 255 - digest[2]),
        (digest[3] | 128, digest[4] | 128, digest[5] | 128),
    )


def _frame(size: tuple[int, int], seed: bytes, phase: float) -> Image.Image:
    top, bottom, accent = _palette(seed)
    width, height = size
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    for y in range(height):
        t = y / max(height - 1, 1)
        draw.line(
            [(0, y), (width, y)],
            fill=tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)),
        )
    radius = min(width, height) // 5
    cx = width / 2 + (width / 2 - radius) * math.cos(2 * math.pi * phase)
    cy = height / 2 + (height / 2 - radius) * math.sin(4 * math.pi * phase) / 2
    draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=accent)
    return image


def animation(seed: bytes, aspect_ratio: str | None, seconds: int) -> bytes:
    size = _SIZES.get(aspect_ratio or "16:9", _SIZES["16:9"])
    count = max(seconds * FRAMES_PER_SECOND, 2)
    frames = [_frame(size, seed, i / count) for i in range(count)]
    out = io.BytesIO()
    frames[0].save(
        out,
        format="GIF",
        save_all=True,
        append_images=frames[1:],
        duration=1000 // FRAMES_PER_SECOND,
        loop=0,
        optimize=False,
    )
    return out.getvalue()


def still(seed: bytes, aspect_ratio: str | None) -> bytes:
    width, height = _SIZES.get(aspect_ratio or "1:1", _SIZES["1:1"])
    out = io.BytesIO()
    _frame((width * 2, height * 2), seed, 0.125).save(out, format="PNG", optimize=False)
    return out.getvalue()
