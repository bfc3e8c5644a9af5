"""Wan 2.7's storyboard grid composed into one image (PRODUCT §3), for a provider that documents
no grid input: up to nine images laid out in order, left to right and top to bottom, on a 3×3
grid, each scaled to fit its cell and centred; empty cells stay black. The result is sent as the
documented first frame.

The layout is versioned (`LAYOUT`) and is part of the content key of every asset whose grid is
composed, beside each grid image's sha256: the composed image follows from them, so a change to
the layout is a deliberate change of those keys, and a library update that would alter the
encoded bytes but not the picture regenerates nothing."""

from __future__ import annotations

import io
from collections.abc import Sequence

from PIL import Image

from wanplan.spec.modes import GRID_LAYOUT

LAYOUT = GRID_LAYOUT
CELLS = 3
LONGEST_SIDE = 2040
"""The composed image's longest side at most (a first frame the providers accept)."""


def compose_grid(images: Sequence[bytes]) -> bytes:
    """A PNG of the images on a 3×3 grid; each cell takes the first image's shape."""
    if not 1 <= len(images) <= CELLS * CELLS:
        raise ValueError(f"a grid takes 1 to {CELLS * CELLS} images, not {len(images)}")
    opened = [Image.open(io.BytesIO(data)) for data in images]
    width, height = opened[0].size
    scale = min(1.0, LONGEST_SIDE / (CELLS * max(width, height)))
    cell = (max(1, round(width * scale)), max(1, round(height * scale)))
    canvas = Image.new("RGB", (cell[0] * CELLS, cell[1] * CELLS))
    for index, image in enumerate(opened):
        picture = image.convert("RGB")
        picture.thumbnail(cell, Image.Resampling.LANCZOS)
        column, row = index % CELLS, index // CELLS
        left = column * cell[0] + (cell[0] - picture.width) // 2
        top = row * cell[1] + (cell[1] - picture.height) // 2
        canvas.paste(picture, (left, top))
    out = io.BytesIO()
    canvas.save(out, format="PNG", optimize=False)
    return out.getvalue()
