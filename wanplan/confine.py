"""One rule for every path wanplan reads or writes in a project (PRODUCT §1, §10).

A path is resolved, every symlink at every depth followed, and refused when it leaves the
project root: a pull request can plant a link (`specs/leak.toml -> /etc/…`, `outputs/shots ->
/elsewhere`), and CI would read or write through it. A file read is a regular file, opened
without following a last link (`O_NOFOLLOW`) and without blocking (a FIFO never hangs), checked
again on the open descriptor (so a swap after the check is caught), and read only up to a cap.
Each refusal is a `Confined` whose text says what the path is and what to do.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from pathlib import Path

MAX_TEXT_BYTES = 4 * 1024 * 1024
"""Specs and settings files: far above any real one (a 10,000-asset file is about 1 MB)."""


OUTPUTS = "outputs/"
"""The place an output, its sidecar and its folders must stay in (a link inside the project to
the state or the specs is refused too)."""


class Confined(ValueError):
    """A path wanplan will not read or write; `str()` is the reason, without the path."""


def resolved_inside(root: Path, path: Path, place: str = "the project") -> Path:
    """`path` with every link resolved, or Confined when it leads out of `root` or loops."""
    try:
        real = path.resolve()
    except RuntimeError:  # Python < 3.13 reports a symlink loop so
        raise Confined("is a symlink loop; remove the link") from None
    except OSError as exc:
        raise Confined(_os_reason(exc)) from None
    except ValueError:  # a NUL character
        raise Confined("has a NUL character in its name") from None
    if not real.is_relative_to(root.resolve()):
        raise Confined(
            f"links outside {place} (to {real}); wanplan reads and writes only inside it: "
            "replace the link with a real file or folder"
        )
    return real


def kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISLNK(mode):
        return "a symlink"
    return "not a regular file"


def read_bytes(root: Path, path: Path, limit: int = MAX_TEXT_BYTES) -> bytes:
    """A regular file inside the project, at most `limit` bytes, or Confined."""
    real = resolved_inside(root, path)
    try:
        before = os.stat(real)
    except OSError as exc:
        raise Confined(_os_reason(exc)) from None
    if not stat.S_ISREG(before.st_mode):
        raise Confined(
            f"cannot read: it is {kind(before.st_mode)}, not a file; replace it with a regular file"
        )
    if before.st_size > limit:
        raise Confined(
            f"is {before.st_size // 1024} KiB, over the {limit // 1024} KiB a settings or "
            "specs file may have; split it"
        )
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(real, flags)
    except OSError as exc:
        raise Confined(_os_reason(exc)) from None
    with os.fdopen(descriptor, "rb") as file:
        opened = os.fstat(file.fileno())
        if not stat.S_ISREG(opened.st_mode) or opened.st_ino != before.st_ino:
            raise Confined("changed while it was being read; try again")
        data = file.read(limit + 1)
    if len(data) > limit:
        raise Confined(f"grew over {limit // 1024} KiB while it was being read")
    return data


def check_destination(within: Path, path: Path, place: str = "the project") -> None:
    """A file wanplan is about to write (an output, its sidecar, the report, a file `init`
    makes): its folder must resolve inside `within` (outputs/ for an output: a link inside the
    project to the state or the specs is refused too), every part of that folder that exists
    must be a folder, and what is at `path` now must be a file wanplan may replace."""
    check_folder(within, path.parent, place)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise Confined(_os_reason(exc)) from None
    if stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode):
        return  # a link is replaced itself, never written through
    raise Confined(
        f"is {kind(st.st_mode)}: move it away; wanplan never removes what it did not write"
    )


def check_folder(within: Path, folder: Path, place: str = "the project") -> None:
    """A folder wanplan writes into: inside `within` once resolved, each existing part a folder."""
    for part in (folder, *folder.parents):
        if part == within or not part.is_relative_to(within):
            break
        try:
            mode = os.lstat(part).st_mode
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise Confined(_os_reason(exc)) from None
        if not (stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
            raise Confined(f"cannot be written: {part.name} is {kind(mode)}, not a folder")
    resolved_inside(within, folder, place)


def regular_file(path: Path) -> os.stat_result:
    """The lstat of a regular file, or Confined (a missing one: FileNotFoundError)."""
    st = os.lstat(path)
    if not stat.S_ISREG(st.st_mode):
        raise Confined(f"is {kind(st.st_mode)}, not a file")
    return st


def sha256_regular(path: Path) -> str:
    """The sha256 of a regular file, never through a last link and never blocking (a FIFO or a
    device put in its place is Confined, not read forever)."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise Confined("is a symlink, not the file wanplan wrote") from None
        raise
    with os.fdopen(descriptor, "rb") as file:
        mode = os.fstat(file.fileno()).st_mode
        if not stat.S_ISREG(mode):
            raise Confined(f"is {kind(mode)}, not a file")
        digest = hashlib.sha256()
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _os_reason(exc: OSError) -> str:
    return f"cannot be read ({exc.strerror or exc})"
