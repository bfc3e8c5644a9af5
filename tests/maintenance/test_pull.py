"""`wanplan pull` with the local cache, and the cache's damaged or stray files."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import Run


def test_pull_without_the_blob_is_one_line(run: Run, project: Path) -> None:
    assert run(project, "apply", "-y", "--target", "poster").exit_code == 0
    shutil.rmtree(project / ".wanplan")
    (project / "outputs" / "poster.png").unlink()
    pulled = run(project, "pull")
    assert pulled.exit_code == 1, pulled.output
    (line,) = [line for line in pulled.output.splitlines() if line.startswith("error:")]
    assert "outputs/poster.png: this machine's cache (.wanplan/) has no copy" in line
    assert "nothing was written" in line


def test_a_damaged_cached_blob_points_to_refresh(run: Run, project: Path) -> None:
    assert run(project, "apply", "-y", "--target", "poster").exit_code == 0
    (blob,) = [p for p in (project / ".wanplan" / "blobs").rglob("*") if p.is_file()]
    blob.chmod(0o644)
    blob.write_bytes(b"damaged")
    (project / "outputs" / "poster.png").unlink()
    applied = run(project, "apply", "-y", "--target", "poster")
    assert applied.exit_code == 1
    assert "damaged; run `wanplan refresh`" in applied.output, applied.output
    assert run(project, "refresh").exit_code == 0
    assert "not in the cache: generate again" in run(project, "plan", "--target", "poster").output


def test_gc_removes_stray_files_it_lists(run: Run, project: Path) -> None:
    assert run(project, "apply", "-y", "--target", "poster").exit_code == 0
    (blob,) = [p for p in (project / ".wanplan" / "blobs").rglob("*") if p.is_file()]
    stray = blob.parent / f"{blob.parent.name}JUNK"
    stray.write_bytes(b"left by hand")
    collected = run(project, "gc")
    assert collected.exit_code == 0 and "1 unused blobs" in collected.output, collected.output
    assert not stray.exists() and blob.exists()
