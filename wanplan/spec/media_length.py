"""How long an input video is, read from its container's header (no decoding): an MP4/MOV's
movie header (`moov/mvhd`) or an animated GIF's frame delays. Providers that bill the input
video's seconds (video edit, reference-to-video) are estimated from it; a file this cannot
read has an unknown length, never zero."""

from __future__ import annotations

import struct
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO

_MAX_BOXES = 10_000
_LONGEST = Decimal(86_400)
"""A header claiming more than a day is not believed: the length is unknown."""


def video_seconds(path: Path) -> Decimal | None:
    try:
        with path.open("rb") as file:
            head = file.read(12)
            file.seek(0)
            if head[:6] in (b"GIF87a", b"GIF89a"):
                return _gif_seconds(file)
            if head[4:8] == b"ftyp" or head[4:8] in (b"moov", b"mdat", b"wide", b"free"):
                return _mp4_seconds(file, path.stat().st_size)
    except (OSError, struct.error, ValueError, IndexError):  # a short or hostile file
        return None
    return None


def _read(file: BinaryIO, size: int) -> bytes:
    data = file.read(size)
    if len(data) != size:
        raise ValueError("truncated")
    return data


def _boxes(file: BinaryIO, start: int, end: int) -> dict[bytes, tuple[int, int]]:
    """The boxes between `start` and `end`: type → (payload start, payload end)."""
    found: dict[bytes, tuple[int, int]] = {}
    position = start
    for _ in range(_MAX_BOXES):
        if position + 8 > end:
            break
        file.seek(position)
        size, kind = struct.unpack(">I4s", _read(file, 8))
        header = 8
        if size == 1:
            size = struct.unpack(">Q", _read(file, 8))[0]
            header = 16
        elif size == 0:
            size = end - position
        if size < header:
            break
        found.setdefault(kind, (position + header, min(position + size, end)))
        position += size
    return found


def _mp4_seconds(file: BinaryIO, size: int) -> Decimal | None:
    moov = _boxes(file, 0, size).get(b"moov")
    if moov is None:
        return None
    mvhd = _boxes(file, *moov).get(b"mvhd")
    if mvhd is None:
        return None
    file.seek(mvhd[0])
    version = _read(file, 4)[0]
    if version == 1:
        timescale, duration = struct.unpack(">16xIQ", _read(file, 28))
    else:
        timescale, duration = struct.unpack(">8xII", _read(file, 16))
    if not timescale or not duration or duration == 0xFFFFFFFF:
        return None
    seconds = Decimal(duration) / Decimal(timescale)
    return seconds if seconds <= _LONGEST else None


def _skip_sub_blocks(file: BinaryIO) -> None:
    while True:
        length = _read(file, 1)[0]
        if length == 0:
            return
        file.seek(length, 1)


def _gif_seconds(file: BinaryIO) -> Decimal | None:
    file.seek(10)
    packed = _read(file, 3)[0]
    if packed & 0x80:
        file.seek(3 * (2 ** ((packed & 0x07) + 1)), 1)
    hundredths = 0
    while True:
        marker = file.read(1)
        if not marker or marker == b"\x3b":
            break
        if marker == b"\x21":
            label = _read(file, 1)
            if label == b"\xf9":
                block = _read(file, 6)  # size, packed, delay (LE), transparent index, end
                hundredths += struct.unpack("<H", block[2:4])[0]
            else:
                _skip_sub_blocks(file)
        elif marker == b"\x2c":
            descriptor = _read(file, 9)
            if descriptor[8] & 0x80:
                file.seek(3 * (2 ** ((descriptor[8] & 0x07) + 1)), 1)
            _read(file, 1)  # LZW minimum code size
            _skip_sub_blocks(file)
        else:
            return None
    seconds = Decimal(hundredths) / 100
    return seconds if 0 < seconds <= _LONGEST else None
