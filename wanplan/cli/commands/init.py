from __future__ import annotations

from pathlib import Path

import click

from wanplan.cli.options import open_project
from wanplan.cli.output import echo, style


@click.command()
@click.pass_obj
def init(directory: Path) -> None:
    """Create a wanplan project here: settings, an example spec, an input and .gitignore.

    Files that already exist are kept as they are.

    \b
    Example:
      mkdir clips && cd clips && wanplan init && wanplan plan
    """
    from wanplan.scaffold.project_files import init_project

    project = open_project(directory)
    result = init_project(project.root)
    for path in result.written:
        echo(f"  {style('created', fg='green')} {path}")
    for path in result.kept:
        echo(f"  kept    {path}")
    echo("")
    echo("Next: `wanplan plan` to see what would be generated, then `wanplan apply`.")
