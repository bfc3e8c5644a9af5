from __future__ import annotations

from pathlib import Path

import click

from wanplan.cli.options import open_project
from wanplan.cli.output import echo


@click.group()
def state() -> None:
    """Inspect the state.

    \b
    Example:
      wanplan state list
    """


@state.command("list")
@click.option("--profile", help="Only this profile.")
@click.pass_obj
def list_(directory: Path, profile: str | None) -> None:
    """List the addresses in the state, one per line (`profile/address` outside default).

    \b
    Example:
      wanplan state list | wc -l
    """
    from wanplan.state.sqlite import SqliteState

    project = open_project(directory)
    reader = SqliteState.open_reader(project.state_path)
    try:
        records = reader.all_assets()
    finally:
        reader.close()
    for record in records:
        if profile is None or record.profile == profile:
            label = (
                record.address
                if record.profile == "default"
                else f"{record.profile}/{record.address}"
            )
            echo(label)
