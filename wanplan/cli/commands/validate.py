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
    valid value; each profile of wanplan.toml is tried on the assets too. Exit 0 when valid, 1
    otherwise.

    \b
    Example:
      wanplan validate
    """
    from wanplan.cli.output import warn
    from wanplan.key.file_hashes import FileHasher
    from wanplan.plan.planner import UNPINNED_SEED
    from wanplan.spec.declared import validate_project

    project = open_project(directory)
    assets = validate_project(project, FileHasher(project.root, {}), project.catalog)
    files = len({a.file for a in assets})
    echo(f"Valid: {_count(len(assets), 'asset')} in {_count(files, 'file')}.")
    texts: dict[str, str] = {}
    for asset in assets:
        warnings = (() if asset.seed_pinned else (UNPINNED_SEED,)) + asset.warnings
        if not warnings:
            continue
        if asset.file not in texts:
            texts[asset.file] = (project.root / asset.file).read_text("utf-8")
        line = _line(texts[asset.file], asset.address)
        where = f"{asset.file}:{line}" if line else asset.file
        for warning in warnings:
            warn(f"{where}: assets.{asset.address}: {warning}")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _line(text: str, address: str) -> int | None:
    """The line of an asset's table; a matrix member's is its matrix table's."""
    from wanplan.spec.locate import locate

    name = address
    while True:
        line = locate(text, ("assets", name))
        if line is not None or "." not in name:
            return line
        name = name.rpartition(".")[0]
