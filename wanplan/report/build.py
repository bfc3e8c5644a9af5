"""Writing the report folder: index.html and a copy of each output it shows, under media/.

Self-contained, so that the folder can be uploaded as a CI artifact and opened offline. It
writes inside the report folder only, and refuses a folder where it would overwrite the project
(its root, outputs/ or the cache)."""

from __future__ import annotations

import shutil
from pathlib import Path

from wanplan import atomic, confine
from wanplan.config import CONFIG_FILE
from wanplan.errors import WanplanError
from wanplan.project import Project
from wanplan.report.gallery import Gallery, collect
from wanplan.report.page import render
from wanplan.spec.load import SPECS_DIR
from wanplan.state.base import StateReader
from wanplan.state.records import now_iso

DEFAULT_DIR = "report"
INDEX = "index.html"


class ReportError(WanplanError):
    pass


def build_report(
    project: Project, state: StateReader, out: Path, profile: str | None = None
) -> tuple[Path, Gallery]:
    _require_project(project)
    out = _checked_folder(project, out)
    gallery = collect(project, state, profile)
    for entry in gallery.entries:
        if entry.source is None:
            continue
        destination = out / entry.media_name
        _check(out, destination)
        _copy(entry.source, destination)
    index = out / INDEX
    _check(out, index)
    page = render(gallery, title=f"wanplan report: {project.root.name}", generated_at=now_iso())
    atomic.write_text(index, page)
    return index, gallery


def _require_project(project: Project) -> None:
    """Outside a project the state reads as empty: a report of nothing, in a folder nobody
    asked for."""
    if (project.root / CONFIG_FILE).is_file() or (project.root / SPECS_DIR).is_dir():
        return
    raise ReportError(
        f"{project.root} is not a wanplan project (no {CONFIG_FILE}, no {SPECS_DIR}/): "
        "name one with -C DIR, or make one here with `wanplan init`"
    )


def _check(out: Path, destination: Path) -> None:
    try:
        confine.check_destination(out, destination)
    except confine.Confined as exc:
        raise ReportError(f"{destination}: {exc}") from None


def _checked_folder(project: Project, out: Path) -> Path:
    if not out.is_absolute():  # a folder named on the command line may be anywhere
        try:
            confine.resolved_inside(project.root, project.root / out)
        except confine.Confined as exc:
            raise ReportError(f"--out {out} {exc}") from None
    folder = (project.root / out).resolve()
    protected = {
        project.root.resolve(): "the project root",
        project.outputs_dir.resolve(): "outputs/",
        project.cache_dir.resolve(): "the cache",
    }
    for path, name in protected.items():
        if folder == path or (path != project.root.resolve() and folder.is_relative_to(path)):
            raise ReportError(
                f"--out {out}: the report would write into {name}; give it a folder of its own "
                f"(default {DEFAULT_DIR}/)"
            )
    if folder.exists() and not folder.is_dir():
        raise ReportError(f"--out {out}: not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _copy(source: Path, destination: Path) -> None:
    """Copied again only when the output changed since the last report."""
    st = source.stat()
    try:
        copied = destination.stat()
        if copied.st_size == st.st_size and copied.st_mtime_ns == st.st_mtime_ns:
            return
    except FileNotFoundError:
        pass
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, destination)
