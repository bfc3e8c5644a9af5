from __future__ import annotations

from pathlib import Path

import click

from wanplan.cli.options import open_workspace
from wanplan.cli.output import echo


@click.command()
@click.argument("address")
@click.option("--profile", default="default", show_default=True)
@click.option("--absolute", is_flag=True, help="Print the absolute path.")
@click.pass_obj
def output(directory: Path, address: str, profile: str, absolute: bool) -> None:
    """Print the path of ADDRESS's generated file.

    \b
    Examples:
      wanplan output forest-dolly
      open "$(wanplan output forest-dolly)"
    """
    workspace = open_workspace(directory)
    record = workspace.output_of(address, profile)
    echo(str(workspace.project.root / record.output_path) if absolute else record.output_path)
