from __future__ import annotations

from pathlib import Path

import click

from wanplan.cli.options import open_project
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
    from wanplan.errors import WanplanError
    from wanplan.spec.suggest import did_you_mean
    from wanplan.state.opening import open_reader

    project = open_project(directory)
    state = open_reader(project)
    try:
        records = state.assets(profile)
    finally:
        state.close()
    record = records.get(address)
    if record is None:
        raise WanplanError(
            f"{address} has no output in profile {profile}{did_you_mean(address, sorted(records))};"
            " run `wanplan apply` to generate it"
        )
    path = project.root / record.output_path
    if not path.exists():
        raise WanplanError(f"{record.output_path} is missing; run `wanplan apply` to repair it")
    echo(str(path) if absolute else record.output_path)
