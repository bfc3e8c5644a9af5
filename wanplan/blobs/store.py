"""Blob stores. Bytes arrive through `stage()` (streamed, hashed as they come) and become a blob
only once complete and checked; a blob is never modified after that."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Collection, Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, NamedTuple, Protocol

from wanplan.atomic import FILE_MODE
from wanplan.key.file_hashes import sha256_file

SHA256 = re.compile(r"[0-9a-f]{64}")
"""A blob's name: its digest, lower-case hex."""


class BlobDamaged(OSError):
    """A cached blob whose bytes no longer match its name: never copied out."""


class StagedBlob:
    """A temporary file beside the cache, hashed as it is written."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=directory, prefix="incoming-", suffix=".part")
        self.path = Path(name)
        self._file = os.fdopen(handle, "wb")
        self._digest = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self._file.write(chunk)
        self._digest.update(chunk)
        self.size += len(chunk)

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    def close(self) -> None:
        # No fsync: like the state (synchronous=NORMAL), blobs outlive a killed process, not
        # a power loss; a blob lost that way shows in the next plan as a repair.
        if not self._file.closed:
            self._file.close()

    def discard(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> StagedBlob:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # A staged blob not committed by the end of the block is thrown away.
        self.discard()


class StoredFile(NamedTuple):
    name: str
    size: int


class BlobStore(Protocol):
    shared: bool
    """The store outlives this runner's disk (a bucket): a generation the state records has
    its blob there (it is recorded only after the upload), so plan trusts the state instead
    of asking the store, and an output missing from this disk is `pull`'s, not a change."""

    def stage(self) -> StagedBlob: ...

    def commit(self, staged: StagedBlob) -> str:
        """Move a complete staged file into the store; returns its sha256."""
        ...

    def has(self, sha256: str) -> bool: ...

    def open(self, sha256: str) -> BinaryIO:
        """The blob's bytes as a stream (FileNotFoundError when it is not stored)."""
        ...

    def local_path(self, sha256: str) -> Path:
        """An optimisation for uploads: a local file holding the blob, sent as another asset's
        input (the local store's own file; a remote store fetches it into a local copy
        first). Read it; never change it."""
        ...

    def copy_to(self, sha256: str, destination: Path) -> None:
        """Write the blob to `destination` atomically (a temporary file, then a rename)."""
        ...

    def add_file(self, path: Path) -> str: ...

    def blobs(self) -> Iterator[StoredFile]:
        """Every blob in the store, named by its sha256."""
        ...

    def is_intact(self, sha256: str) -> bool:
        """Whether the blob is there and its bytes still hash to its name."""
        ...

    def remove(self, sha256: str) -> None: ...

    def leftovers(self) -> list[StoredFile]:
        """Staged files never committed (an interrupted write). Only safe to remove while no
        writer runs: under the state lock."""
        ...

    def remove_leftover(self, name: str) -> None: ...

    def push_local(self, wanted: Collection[str]) -> list[StoredFile]:
        """Upload the blobs among `wanted` that are on this disk and not in the store; returns
        them (a store that is this disk has none to push)."""
        ...

    def check(self) -> None:
        """Refuse (one line), before anything is paid for, a store that cannot keep a result:
        a bucket that is missing or refuses these credentials. The local store's disk is
        checked by apply's free-space check instead."""
        ...


class LocalBlobStore:
    """`<root>/blobs/<first two hex>/<sha256>` with a `tmp/` for staging on the same disk."""

    shared = False

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        # The name comes from the state, which a pull request can edit: only a digest names
        # a blob, never a path that climbs out of the cache.
        if not SHA256.fullmatch(sha256):
            raise FileNotFoundError(errno.ENOENT, "not a blob's name (a sha256)", sha256[:80])
        return self.root / "blobs" / sha256[:2] / sha256

    def stage(self) -> StagedBlob:
        return StagedBlob(self.root / "tmp")

    def commit(self, staged: StagedBlob) -> str:
        staged.close()
        target = self._path(staged.sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.parent.is_symlink():  # the cache is the project's own: never written through
            staged.discard()
            raise OSError(errno.EPERM, "a link in the cache; remove it", str(target.parent))
        if target.exists():
            staged.discard()
        else:
            os.replace(staged.path, target)
        return staged.sha256

    def local_path(self, sha256: str) -> Path:
        return self._path(sha256)

    def open(self, sha256: str) -> BinaryIO:
        return self._path(sha256).open("rb")

    def has(self, sha256: str) -> bool:
        try:
            return self._path(sha256).is_file()
        except FileNotFoundError:
            return False

    def copy_to(self, sha256: str, destination: Path) -> None:
        source = self._path(sha256)
        destination.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=destination.parent, prefix=".wanplan-", suffix=".part")
        os.close(handle)
        try:
            shutil.copyfile(source, name)
            if sha256_file(Path(name)) != sha256:  # a blob changed on disk is never an output
                raise BlobDamaged(errno.EIO, "the cached blob does not match its name", str(source))
            os.chmod(name, FILE_MODE)
            os.replace(name, destination)
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise

    def add_file(self, path: Path) -> str:
        with self.stage() as staged, path.open("rb") as source:
            while chunk := source.read(1 << 20):
                staged.write(chunk)
            return self.commit(staged)

    def blobs(self) -> Iterator[StoredFile]:
        """Regular files only, in real folders: a link planted in the cache is never followed
        (gc removes what this lists)."""
        for folder in sorted((self.root / "blobs").glob("??")):
            if folder.is_symlink() or not folder.is_dir():
                continue
            for path in sorted(folder.iterdir()):
                st = path.lstat()
                if stat.S_ISREG(st.st_mode) and path.name.startswith(folder.name):
                    yield StoredFile(path.name, st.st_size)

    def is_intact(self, sha256: str) -> bool:
        try:
            return sha256_file(self._path(sha256)) == sha256
        except FileNotFoundError:
            return False

    def remove(self, sha256: str) -> None:
        if not SHA256.fullmatch(sha256):
            # A stray file `blobs()` listed (a name that is no digest): removed by its name,
            # which cannot climb out of its folder.
            if "/" not in sha256 and sha256 not in (".", "..") and len(sha256) >= 2:
                folder = self.root / "blobs" / sha256[:2]
                if not folder.is_symlink():
                    (folder / sha256).unlink(missing_ok=True)
            return
        path = self._path(sha256)
        if not path.parent.is_symlink():
            path.unlink(missing_ok=True)

    def leftovers(self) -> list[StoredFile]:
        staging = self.root / "tmp"
        if staging.is_symlink() or not staging.is_dir():
            return []
        found = []
        for path in sorted(staging.iterdir()):
            st = path.lstat()
            if stat.S_ISREG(st.st_mode):
                found.append(StoredFile(path.name, st.st_size))
        return found

    def remove_leftover(self, name: str) -> None:
        (self.root / "tmp" / name).unlink(missing_ok=True)

    def push_local(self, wanted: Collection[str]) -> list[StoredFile]:
        return []

    def check(self) -> None:
        return None
