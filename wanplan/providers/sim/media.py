"""Small but valid media for the sim and the emulator: an animated GIF for video modes, a PNG
for images. The bytes depend only on what they are made from, so the same content key gives
the same file. Frames are drawn straight in palette mode: no per-frame colour quantisation,
which keeps a 5 s clip at a few milliseconds (the emulator makes thousands in a benchmark)."""

from __future__ import annotations

import hashlib
import io
import math

from PIL import Image, ImageDraw

FRAMES_PER_SECOND = 4
GRADIENT_STEPS = 32
ACCENT = GRADIENT_STEPS  # the palette index of the moving disc
_SIZES = {
    "16:9": (160, 90),
    "9:16": (90, 160),
    "1:1": (120, 120),
    "4:3": (144, 108),
    "3:4": (108, 144),
}


def _palette(seed: bytes) -> list[int]:
    digest = hashlib.sha256(seed).digest()
    top = (digest[0], digest[1], digest[2])
    bottom = (255 - digest[0], 255 - digest[1], 255 - digest[2])
    accent = (digest[3] | 128, digest[4] | 128, digest[5] | 128)
    colours: list[int] = []
    for step in range(GRADIENT_STEPS):
        t = step / (GRADIENT_STEPS - 1)
        colours += [round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)]
    colours += accent
    return colours + [0] * (768 - len(colours))


def _background(size: tuple[int, int], palette: list[int]) -> Image.Image:
    width, height = size
    image = Image.new("P", size)
    image.putpalette(palette)
    draw = ImageDraw.Draw(image)
    for y in range(height):
        draw.line([(0, y), (width, y)], fill=y * GRADIENT_STEPS // height)
    return image


def _frame(background: Image.Image, phase: float) -> Image.Image:
    image = background.copy()
    width, height = image.size
    radius = min(width, height) // 5
    cx = width / 2 + (width / 2 - radius) * math.cos(2 * math.pi * phase)
    cy = height / 2 + (height / 2 - radius) * math.sin(4 * math.pi * phase) / 2
    ImageDraw.Draw(image).ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=ACCENT)
    return image


def animation(seed: bytes, aspect_ratio: str | None, seconds: int) -> bytes:
    size = _SIZES.get(aspect_ratio or "16:9", _SIZES["16:9"])
    background = _background(size, _palette(seed))
    count = max(seconds * FRAMES_PER_SECOND, 2)
    frames = [_frame(background, i / count) for i in range(count)]
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
    background = _background((width * 2, height * 2), _palette(seed))
    out = io.BytesIO()
    _frame(background, 0.125).convert("RGB").save(out, format="PNG", optimize=False)
    return out.getvalue()
