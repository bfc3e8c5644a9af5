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
@click.option(
    "--self-contained",
    is_flag=True,
    help="Copy every file shown into DIR/media/ so that the folder stands alone (a CI "
    "artifact, a web server). Default: link to the project's own files, copy nothing.",
)
@click.pass_obj
def report(directory: Path, out: Path, profile: str | None, self_contained: bool) -> None:
    """Write a static HTML gallery of the outputs: DIR/index.html.

    Every asset in the state with its video, image or audio, the version before it beside it
    (where this disk's cache still has it), its inputs (thumbnails; another asset's output
    links to its entry), prompt, seed, model, mode, resolution, duration, cost and when it was
    generated; the total spent from the ledger;
    drafts beside finals when there are profiles; a missing output shown as missing. Nothing
    loads before it is scrolled to or played.

    By default the page links to the outputs, inputs and cached versions where they lie (relative
    links: open it in place; moving the folder breaks them). With --self-contained they are
    copied under DIR/media/, for publishing. The page loads nothing from the network and runs
    no script. Reads the state only; prints the path of index.html.

    \b
    Examples:
      wanplan report
      wanplan report --self-contained --out public/gallery --profile draft
    """
    index = open_workspace(directory).report(out, profile, self_contained=self_contained)
    echo(str(index))
