from __future__ import annotations

from pathlib import Path

import click

from wanplan.cli.options import open_workspace
from wanplan.cli.output import echo


@click.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default="report",
    show_default=True,
    help="The folder to write (relative to the project root).",
)
@click.option("--profile", help="Only this profile (default: every profile, side by side).")
@click.pass_obj
def report(directory: Path, out: Path, profile: str | None) -> None:
    """Write a static HTML gallery of the outputs: DIR/index.html and DIR/media/.

    Every asset in the state with its video, image or audio, prompt, seed, model, mode,
    resolution, duration, cost and when it was generated; drafts beside finals when there are
    profiles; a missing output shown as missing. The page loads nothing from the network and
    runs no script, so the folder can be published as a CI artifact and opened offline. Reads
    the state only; prints the path of index.html.

    \b
    Examples:
      wanplan report
      wanplan report --out public/gallery --profile draft
    """
    echo(str(open_workspace(directory).report(out, profile)))
