from __future__ import annotations

from pathlib import Path

import click

from wanplan.cli.options import open_workspace
from wanplan.cli.output import echo


@click.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["mermaid", "dot"]),
    default="mermaid",
    show_default=True,
    help="mermaid renders in GitHub markdown; dot is for Graphviz.",
)
@click.option("--no-files", is_flag=True, help="Show assets only, not the input files they use.")
@click.pass_obj
def graph(directory: Path, fmt: str, no_files: bool) -> None:
    """Draw which assets use which other assets' outputs (`image = "asset:NAME"`), and files.

    The specs are validated first: a dependency cycle is an error, printed with the cycle.

    \b
    Examples:
      wanplan graph > graph.mmd
      wanplan graph --format dot | dot -Tsvg > graph.svg
    """
    from wanplan.render.graph import render_dot, render_mermaid

    assets = open_workspace(directory).declared_assets()
    render = render_dot if fmt == "dot" else render_mermaid
    echo(render(assets, files=not no_files), nl=False)
