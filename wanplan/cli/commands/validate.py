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
    from wanplan.spec.declared import validate

    project = open_project(directory)
    checked = validate(project, FileHasher(project.root, {}), project.catalog)
    echo(f"Valid: {_count(len(checked.assets), 'asset')} in {_count(checked.files, 'file')}.")
    for caution in checked.cautions:
        warn(caution)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
