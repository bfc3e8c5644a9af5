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


def video_seconds(path: Path) -> Decimal | None:
    try:
        with path.open("rb") as file:
            head = file.read(12)
            file.seek(0)
            if head[:6] in (b"GIF87a", b"GIF89a"):
                return _gif_seconds(file)
            if head[4:8] == b"ftyp" or head[4:8] in (b"moov", b"mdat", b"wide", b"free"):
                return _mp4_seconds(file, path.stat().st_size)
    except (OSError, struct.error, ValueError):
        return None
    return None


def _boxes(file: BinaryIO, start: int, end: int) -> dict[bytes, tuple[int, int]]:
    """The boxes between `start` and `end`: type → (payload start, payload end)."""
    found: dict[bytes, tuple[int, int]] = {}
    position = start
    for _ in range(_MAX_BOXES):
        if position + 8 > end:
            break
        file.seek(position)
        size, kind = struct.unpack(">I4s", file.read(8))
        header = 8
        if size == 1:
            size = struct.unpack(">Q", file.read(8))[0]
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
    version = file.read(4)[0]
    if version == 1:
        timescale, duration = struct.unpack(">16xIQ", file.read(28))
    else:
        timescale, duration = struct.unpack(">8xII", file.read(16))
    if not timescale or not duration or duration == 0xFFFFFFFF:
        return None
    return Decimal(duration) / Decimal(timescale)


def _skip_sub_blocks(file: BinaryIO) -> None:
    while True:
        length = file.read(1)
        if not length:
            raise ValueError("truncated GIF")
        if length[0] == 0:
            return
        file.seek(length[0], 1)


def _gif_seconds(file: BinaryIO) -> Decimal | None:
    file.seek(10)
    packed = file.read(3)[0]
    if packed & 0x80:
        file.seek(3 * (2 ** ((packed & 0x07) + 1)), 1)
    hundredths = 0
    while True:
        marker = file.read(1)
        if not marker or marker == b"\x3b":
            break
        if marker == b"\x21":
            label = file.read(1)
            if label == b"\xf9":
                block = file.read(6)  # size, packed, delay (LE), transparent index, terminator
                hundredths += struct.unpack("<H", block[2:4])[0]
            else:
                _skip_sub_blocks(file)
        elif marker == b"\x2c":
            descriptor = file.read(9)
            if descriptor[8] & 0x80:
                file.seek(3 * (2 ** ((descriptor[8] & 0x07) + 1)), 1)
            file.read(1)  # LZW minimum code size
            _skip_sub_blocks(file)
        else:
            return None
    return Decimal(hundredths) / 100 if hundredths else None
