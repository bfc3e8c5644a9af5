"""Where the page finds each file it shows.

By default it links to the file where it lies (outputs/, inputs/, the cache), relative to the
report's folder, and copies nothing: the outputs exist once. `--self-contained` copies each
into the report's media/ instead, so that the folder stands alone (a CI artifact, a web server).
Copies stay inside the report's folder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from wanplan import confine
from wanplan.errors import WanplanError

MEDIA_DIR = "media"


class ReportError(WanplanError):
    pass


class MediaFolder:
    def __init__(self, out: Path, *, copy: bool) -> None:
        self.out = out
        self.copy = copy

    def href(self, source: Path, name: PurePosixPath) -> str:
        """The page's URL of `source`; `name` is where a copy goes under media/."""
        if not self.copy:
            return quote(Path(os.path.relpath(source, self.out)).as_posix())
        destination = self.out / MEDIA_DIR / name
        check_inside(self.out, destination)
        _copy(source, destination)
        return quote((PurePosixPath(MEDIA_DIR) / name).as_posix())


def check_inside(out: Path, destination: Path) -> None:
    try:
        confine.check_destination(out, destination)
    except confine.Confined as exc:
        raise ReportError(f"{destination}: {exc}") from None


def _copy(source: Path, destination: Path) -> None:
    """Copied again only when the file changed since the last report."""
    st = source.stat()
    try:
        copied = destination.stat()
        if copied.st_size == st.st_size and copied.st_mtime_ns == st.st_mtime_ns:
            return
    except FileNotFoundError:
        pass
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, destination)
