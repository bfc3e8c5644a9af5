"""sha256 of input files, with a stat-keyed cache so unchanged files are not read again."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

# A file modified within this window of its hashing could change again within the same
# mtime tick; such a stamp is not trusted (git's "racily clean" rule).
_RACY_WINDOW_NS = 2_000_000_000


class FileStamp(NamedTuple):
    size: int
    mtime_ns: int
    inode: int
    sha256: str
    hashed_at_ns: int

    def matches(self, st: os.stat_result) -> bool:
        return (
            self.size == st.st_size
            and self.mtime_ns == st.st_mtime_ns
            and self.inode == st.st_ino
            and self.hashed_at_ns - st.st_mtime_ns > _RACY_WINDOW_NS
        )


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class FileHasher:
    """Hashes files under `root`, reusing `known` stamps; new stamps collect in `fresh`."""

    def __init__(self, root: Path, known: Mapping[str, FileStamp]) -> None:
        self.root = root
        self.known = known
        self.fresh: dict[str, FileStamp] = {}

    def sha256(self, relative: str) -> str:
        path = self.root / relative
        st = path.stat()
        fresh = self.fresh.get(relative)
        if fresh is not None and (fresh.size, fresh.mtime_ns) == (st.st_size, st.st_mtime_ns):
            return fresh.sha256  # hashed earlier in this run
        stamp = self.known.get(relative)
        if stamp is not None and stamp.matches(st):
            return stamp.sha256
        now = time.time_ns()
        digest = sha256_file(path)
        self.fresh[relative] = FileStamp(st.st_size, st.st_mtime_ns, st.st_ino, digest, now)
        return digest
