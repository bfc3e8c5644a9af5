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
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from PIL import Image

from wanplan.spec.modes import GRID_LAYOUT

LAYOUT = GRID_LAYOUT
CELLS = 3
LONGEST_SIDE = 2040
"""The composed image's longest side at most (a first frame the providers accept)."""


MAX_PIXELS = 40_000_000
"""A grid image larger than this (about 6300×6300) is refused, not decoded: nine of them would
take gigabytes, and no provider takes a first frame that large."""


@contextmanager
def _opened(path: Path) -> Iterator[Image.Image]:
    """The image, its header read; one Pillow deems a decompression bomb is a ValueError."""
    try:
        with Image.open(path) as image:
            yield image
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ValueError(f"{path.name}: {exc}") from None


def compose_grid(paths: Sequence[Path]) -> bytes:
    """A PNG of the images on a 3×3 grid; each cell takes the first image's shape. One image is
    decoded at a time, shrunk as it is read where the format allows."""
    if not 1 <= len(paths) <= CELLS * CELLS:
        raise ValueError(f"a grid takes 1 to {CELLS * CELLS} images, not {len(paths)}")
    canvas: Image.Image | None = None
    cell = (0, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        for index, path in enumerate(paths):
            with _opened(path) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise ValueError(
                        f"{path.name} is {width}×{height}; a grid image takes at most "
                        f"{MAX_PIXELS:,} pixels"
                    )
                if canvas is None:
                    scale = min(1.0, LONGEST_SIDE / (CELLS * max(width, height)))
                    cell = (max(1, round(width * scale)), max(1, round(height * scale)))
                    canvas = Image.new("RGB", (cell[0] * CELLS, cell[1] * CELLS))
                image.draft("RGB", cell)  # JPEG decodes at a reduced size
                picture = image.convert("RGB")
            picture.thumbnail(cell, Image.Resampling.LANCZOS)
            column, row = index % CELLS, index // CELLS
            left = column * cell[0] + (cell[0] - picture.width) // 2
            top = row * cell[1] + (cell[1] - picture.height) // 2
            canvas.paste(picture, (left, top))
    assert canvas is not None
    out = io.BytesIO()
    canvas.save(out, format="PNG", optimize=False)
    return out.getvalue()
