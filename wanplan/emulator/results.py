"""Result media: made with the sim's generator (an animated GIF for video, a PNG for images),
seeded by the sha256 of the canonical request body so the same request gives the same bytes.
Each file made is recorded with its sha256, so a test can compare what it downloaded with what
the emulator served.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import Any

from PIL import Image, UnidentifiedImageError

from wanplan.emulator.tasks import MediaSpec, Task
from wanplan.emulator.wire import canonical_json
from wanplan.providers.sim import media

RATIOS = {"16:9": 16 / 9, "9:16": 9 / 16, "1:1": 1.0, "4:3": 4 / 3, "3:4": 3 / 4}
MAX_SECONDS = 15
_TYPES = {"video": ("image/gif", "gif"), "image": ("image/png", "png")}


@dataclass(frozen=True, slots=True)
class ResultFile:
    task_id: str
    provider: str
    content_type: str
    extension: str
    sha256: str
    size: int


def request_seed(provider: str, model: str, body: Any, origin: str) -> bytes:
    """sha256 of the canonical request; the emulator's own address is left out so the same
    request gives the same media whichever port the emulator listens on."""
    encoded = canonical_json({"provider": provider, "model": model, "body": body})
    return hashlib.sha256(encoded.replace(origin.encode(), b"{origin}")).digest()


def nearest_ratio(width: float, height: float) -> str | None:
    if width <= 0 or height <= 0:
        return None
    ratio = width / height
    return min(RATIOS, key=lambda name: abs(RATIOS[name] - ratio))


def ratio_of_size(size: Any) -> str | None:
    """ "1280*720" (or "1280x720") -> "16:9"; None when it is not a size."""
    if not isinstance(size, str):
        return None
    for separator in ("*", "x", "X"):
        width, found, height = size.partition(separator)
        if found and width.strip().isdigit() and height.strip().isdigit():
            return nearest_ratio(int(width), int(height))
    return None


def ratio_of_image(data: bytes | None) -> str | None:
    if not data:
        return None
    try:
        with Image.open(io.BytesIO(data)) as image:
            return nearest_ratio(*image.size)
    except (UnidentifiedImageError, OSError, ValueError):
        return None


def seconds(value: Any, default: int = 5) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return max(1, min(number, MAX_SECONDS))


def media_spec(kind: str, duration: Any, aspect_ratio: Any, seed: bytes) -> MediaSpec:
    """Request values are as sent: anything not a known ratio falls back to the default."""
    ratio = aspect_ratio if isinstance(aspect_ratio, str) and aspect_ratio in RATIOS else None
    return MediaSpec(kind, seconds(duration) if kind == "video" else 0, ratio, seed)


class ResultFiles:
    """The result file of each succeeded task, made once and kept."""

    def __init__(self) -> None:
        self._data: dict[str, bytes] = {}
        self.records: dict[str, ResultFile] = {}

    def clear(self) -> None:
        self._data.clear()
        self.records.clear()

    def extension(self, task: Task) -> str:
        return _TYPES[task.media.kind][1]

    def make(self, task: Task) -> tuple[ResultFile, bytes]:
        if task.id not in self._data:
            spec = task.media
            if spec.kind == "video":
                data = media.animation(spec.seed, spec.aspect_ratio or "16:9", spec.seconds)
            else:
                data = media.still(spec.seed, spec.aspect_ratio or "1:1")
            content_type, extension = _TYPES[spec.kind]
            # The record first: another thread that finds the bytes then finds their record.
            self.records[task.id] = ResultFile(
                task.id,
                task.provider,
                content_type,
                extension,
                hashlib.sha256(data).hexdigest(),
                len(data),
            )
            self._data[task.id] = data
        return self.records[task.id], self._data[task.id]
