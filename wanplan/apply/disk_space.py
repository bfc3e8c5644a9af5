"""Room on disk before the first submit: a task id the state cannot record would be paid for
and then forgotten (PRODUCT §6), so apply sends nothing when a disk it writes is (nearly) full."""

from __future__ import annotations

import shutil
from pathlib import Path

from wanplan.errors import StateWriteError
from wanplan.project import Project

MIN_FREE_BYTES = 4 * 1024 * 1024
"""Room for the journal's commits and SQLite's write-ahead log; outputs are checked as they
are written (a download that does not fit fails its asset, nothing is paid twice)."""


def check_free_space(project: Project, state_disk: Path | None) -> None:
    """Refuse, before any request, when the state's (a local one), the cache's or outputs/'
    disk is full."""
    folders = [("the cache", project.cache_dir), ("outputs/", project.outputs_dir)]
    if state_disk is not None:
        folders.insert(0, ("the state", state_disk))
    for label, path in folders:
        free = _free_bytes(path)
        if free is not None and free < MIN_FREE_BYTES:
            raise StateWriteError(
                f"{project.relative(path) or '.'} ({label}): only {free // 1024} KiB free on its "
                f"disk, and apply needs {MIN_FREE_BYTES // (1024 * 1024)} MiB to record what it "
                "submits; free some space and apply again (nothing was sent)"
            )


def _free_bytes(path: Path) -> int | None:
    """Free bytes on the disk that holds `path`, or would once it is made."""
    for candidate in (path, *path.parents):
        try:
            return shutil.disk_usage(candidate).free
        except FileNotFoundError:
            continue
        except OSError:
            return None
    return None
