from __future__ import annotations

from pathlib import Path

import click

from wanplan.cli.options import open_project
from wanplan.cli.output import echo


@click.command()
@click.pass_obj
def validate(directory: Path) -> None:
    """Check wanplan.toml and every specs file, without reading the state.

    Every problem is one line naming the file, line and field, what is allowed and the nearest
    valid value. Exit 0 when valid, 1 otherwise.

    \b
    Example:
      wanplan validate
    """
    from wanplan.catalog import load_catalog
    from wanplan.key.file_hashes import FileHasher
    from wanplan.plan.planner import resolve_specs

    project = open_project(directory)
    _ = project.config
    assets = resolve_specs(project, FileHasher(project.root, {}), load_catalog())
    files = len({a.file for a in assets})
    unpinned = sum(1 for a in assets if not a.seed_pinned)
    echo(f"Valid: {len(assets)} assets in {files} files.")
    if unpinned:
        echo(f"Note: {unpinned} without a pinned seed (their results are not reproducible).")
    for asset in assets:
        for warning in asset.warnings:
            echo(f"Warning: {asset.file}: {asset.address}: {warning}")
