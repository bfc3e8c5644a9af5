"""What kind of media an input is (image, video, audio), from its first bytes or its name.

The first bytes win over the name, so `voice.png` holding an mp3 is audio. An animated GIF is
both an image and a video: it is what the sim and the emulator return for a clip.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

Kinds = frozenset[str]
IMAGE: Kinds = frozenset({"image"})
VIDEO: Kinds = frozenset({"video"})
AUDIO: Kinds = frozenset({"audio"})
GIF: Kinds = frozenset({"image", "video"})

EXTENSIONS: dict[str, Kinds] = {
    **dict.fromkeys(("png", "jpg", "jpeg", "webp", "bmp"), IMAGE),
    **dict.fromkeys(("mp4", "mov", "webm", "mkv", "avi", "m4v"), VIDEO),
    **dict.fromkeys(("mp3", "wav", "m4a", "aac", "ogg", "flac", "opus"), AUDIO),
    "gif": GIF,
}
EXAMPLES = {"image": "png, jpg, webp", "video": "mp4, mov, webm", "audio": "mp3, wav, m4a"}
SNIFF_BYTES = 18


def sniff(head: bytes) -> Kinds | None:
    """The kinds the leading bytes of a file announce, or None when they are not recognised."""
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff")) or _bmp(head):
        return IMAGE
    if head.startswith(b"GIF8"):
        return GIF
    if head.startswith(b"RIFF") and len(head) >= 12:
        return {b"WEBP": IMAGE, b"WAVE": AUDIO, b"AVI ": VIDEO}.get(head[8:12])
    if head[4:8] == b"ftyp":
        return AUDIO if head[8:11] == b"M4A" else VIDEO
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return VIDEO
    if head.startswith((b"ID3", b"OggS", b"fLaC")) or head[:2] in (b"\xff\xfb", b"\xff\xf3"):
        return AUDIO
    return None


_BMP_HEADER_SIZES = frozenset({12, 40, 56, 64, 108, 124})
"""The sizes a BMP's info header has (after the 14-byte file header): `BM` alone is not one."""


def _bmp(head: bytes) -> bool:
    return (
        head.startswith(b"BM")
        and len(head) >= 18
        and int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES
    )


def by_name(name: str) -> Kinds | None:
    suffix = PurePosixPath(urlsplit(name).path if "://" in name else name).suffix
    return EXTENSIONS.get(suffix.lower().lstrip("."))


def of_file(path: Path) -> Kinds | None:
    """From the first bytes, else the name; None for bytes no image has under an image's name
    (every image format announces itself: these are not one, whatever the name says)."""
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    kinds = sniff(head)
    if kinds is not None:
        return kinds
    named = by_name(path.name)
    return None if named is not None and "image" in named else named


def describe(kinds: Kinds) -> str:
    return " or ".join(sorted(kinds))


def article(kinds: Kinds) -> str:
    names = sorted(kinds)
    words = {"image": "an image", "video": "a video", "audio": "audio"}
    return " or ".join(words[n] for n in names)


def formats(kinds: Kinds) -> str:
    return ", ".join(EXAMPLES[k] for k in sorted(kinds))
