"""Specs made from catalog entries: one valid asset per entry, using every input it takes, and the
small media files they point at. Shared by the capability table and the emulator runs, so a new
catalog entry is covered by both without a line of test code."""

from __future__ import annotations

import io
import math
import shutil
import wave
from pathlib import Path

from tests.conftest import REPO
from wanplan.catalog import ModelEntry
from wanplan.providers.sim import media

IMAGE = "inputs/hero.png"
OTHER_IMAGE = "inputs/forest.png"
AUDIO = "inputs/voice.wav"
VIDEO = "inputs/clip.gif"


def write_media(root: Path) -> None:
    """The files the specs below use: two PNGs, a WAV and an animated GIF (a video)."""
    inputs = root / "inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    for name in ("hero.png", "forest.png"):
        shutil.copy(REPO / "inputs" / name, inputs / name)
    (root / VIDEO).write_bytes(media.animation(b"clip", "16:9", 1))
    out = io.BytesIO()
    with wave.open(out, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(1)
        sound.setframerate(8000)
        sound.writeframes(bytes(128 + int(50 * math.sin(i / 6)) for i in range(2000)))
    (root / AUDIO).write_bytes(out.getvalue())


def toml_list(items: list[str]) -> str:
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


def references(entry: ModelEntry, count: int) -> list[str]:
    """`count` references of the kinds the entry takes, videos among them when it takes them."""
    kinds = [IMAGE if k == "image" else VIDEO for k in entry.reference_kinds]
    chosen = [kinds[i % len(kinds)] for i in range(count)]
    if entry.max_reference_images is not None:  # the rest are videos
        images = [i for i, item in enumerate(chosen) if item == IMAGE]
        for index in images[entry.max_reference_images :]:
            chosen[index] = VIDEO
    return chosen


def input_lines(entry: ModelEntry) -> list[str]:
    """The entry's required inputs and every optional one it takes, each line a TOML key."""
    lines: list[str] = []
    if entry.mode in ("i2v", "s2v"):
        lines.append(f'image = "{IMAGE}"')
    if entry.mode == "s2v":
        lines.append(f'audio = "{AUDIO}"')
    if entry.mode == "flf2v":
        lines += [f'first_frame = "{IMAGE}"', f'last_frame = "{OTHER_IMAGE}"']
    if entry.mode == "edit":
        lines.append(f'video = "{VIDEO}"')
    if entry.mode == "r2v" or "references" in entry.inputs:
        lines.append(f"references = {toml_list(references(entry, entry.max_references or 1))}")
    if "audio" in entry.inputs:
        lines.append(f'audio = "{AUDIO}"')
    if "last_frame" in entry.inputs and entry.mode == "i2v":
        lines.append(f'last_frame = "{OTHER_IMAGE}"')
    return lines


def valid_spec(entry: ModelEntry, name: str = "x", **fields: object) -> str:
    """An asset this entry serves, pinned to its model id and largest resolution; `fields`
    replace or add lines (a value of None drops the field)."""
    values: dict[str, object] = {
        "provider": entry.provider,
        "mode": entry.mode,
        "model_id": entry.model_id,
        "prompt": "a test shot",
        "seed": 11,
        "resolution": entry.resolutions[-1],
        "prompt_expansion": False,
    }
    if not entry.takes_prompt:  # e.g. DashScope's wan2.2-s2v: no prompt is documented
        values.update(prompt=None, prompt_expansion=None)
    values.update(fields)
    lines = [f"[assets.{name}]"]
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, list):
            lines.append(f"{key} = {toml_list([str(v) for v in value])}")
        elif isinstance(value, str):
            lines.append(f"{key} = {value!r}".replace("'", '"'))
        else:
            lines.append(f"{key} = {str(value).lower() if isinstance(value, bool) else value}")
    inputs = [line for line in input_lines(entry) if line.split(" = ")[0] not in fields]
    return "\n".join(lines + inputs) + "\n"
