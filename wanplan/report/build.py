"""Writing the report folder: index.html, and with `self_contained` a copy of each file it
shows under media/ (see media.py for why linking is the default).

It writes inside the report folder only, and refuses a folder where it would overwrite the
project (its root, outputs/ or the cache)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from wanplan import atomic, confine
from wanplan.project import Project
from wanplan.report.gallery import Gallery, collect
from wanplan.report.media import MediaFolder, ReportError, check_inside
from wanplan.report.page import render
from wanplan.state.base import StateReader
from wanplan.state.records import now_iso

DEFAULT_DIR = "report"
INDEX = "index.html"
PROJECT_FILES = PurePosixPath("files")
"""Under media/: the project's files shown (outputs, inputs) at their paths in the project."""
CACHED_FILES = PurePosixPath("earlier")
"""Under media/: earlier versions from the cache, named by their sha256."""


def build_report(
    project: Project,
    state: StateReader,
    out: Path,
    profile: str | None = None,
    *,
    self_contained: bool = False,
) -> tuple[Path, Gallery]:
    out = _checked_folder(project, out)
    gallery = collect(project, state, profile)
    media = MediaFolder(out, copy=self_contained)
    root = project.root.resolve()
    hrefs = {
        source: media.href(source, PROJECT_FILES / source.relative_to(root).as_posix())
        for source in gallery.project_files
    }
    hrefs |= {
        blob: media.href(blob, CACHED_FILES / f"{blob.name}.{extension}")
        for blob, extension in gallery.cached_files.items()
    }
    index = out / INDEX
    check_inside(out, index)
    title = f"wanplan report: {project.root.name}"
    atomic.write_text(index, render(gallery, hrefs, title=title, generated_at=now_iso()))
    return index, gallery


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
