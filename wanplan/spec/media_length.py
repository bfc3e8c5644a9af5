"""How long an input video or audio is, read from its container's header (no decoding): an
MP4/MOV's (and an M4A's) movie header (`moov/mvhd`), an animated GIF's frame delays, a WAV's
`data` chunk over its byte rate. Providers that bill the input video's seconds (video edit,
reference-to-video) and speech-to-video (its video lasts as long as its audio) are estimated
from it; a file this cannot read (an MP3: its length needs a walk of every frame) has an
unknown length, never zero."""

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


def audio_seconds(path: Path) -> Decimal | None:
    """An audio's length: a WAV's or an M4A's; None for any other (MP3 included)."""
    try:
        with path.open("rb") as file:
            return audio_seconds_in(file, path.stat().st_size)
    except OSError:
        return None


def audio_seconds_in(file: BinaryIO, size: int) -> Decimal | None:
    try:
        head = file.read(12)
        file.seek(0)
        if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
            return _wav_seconds(file, size)
        if head[4:8] == b"ftyp":
            return _mp4_seconds(file, size)
    except (OSError, struct.error, ValueError, IndexError):  # a short or hostile file
        return None
    return None


def _wav_seconds(file: BinaryIO, size: int) -> Decimal | None:
    """The `data` chunk's bytes over the `fmt ` chunk's byte rate (PCM and the like)."""
    byte_rate = data = None
    position = 12
    for _ in range(_MAX_BOXES):
        if position + 8 > size or (byte_rate is not None and data is not None):
            break
        file.seek(position)
        kind, length = struct.unpack("<4sI", _read(file, 8))
        if kind == b"fmt ":
            byte_rate = struct.unpack("<I", _read(file, 16)[8:12])[0]
        elif kind == b"data":
            data = min(length, size - position - 8)  # a streamed WAV may claim 0xFFFFFFFF
        position += 8 + length + (length & 1)
    if not byte_rate or not data:
        return None
    seconds = Decimal(data) / Decimal(byte_rate)
    return seconds if seconds <= _LONGEST else None


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
