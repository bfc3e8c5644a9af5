from __future__ import annotations

from pathlib import Path

import click

from wanplan.cli.options import open_project
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
    from wanplan.catalog import load_catalog
    from wanplan.key.file_hashes import FileHasher
    from wanplan.plan.planner import resolve_specs
    from wanplan.render.graph import render_dot, render_mermaid
    from wanplan.state.opening import open_reader

    project = open_project(directory)
    _ = project.config
    reader = open_reader(project)
    try:  # the state's stamps: unchanged input files are not hashed again just to draw them
        stamps = reader.file_stamps()
    finally:
        reader.close()
    assets = resolve_specs(project, FileHasher(project.root, stamps), load_catalog())
    render = render_dot if fmt == "dot" else render_mermaid
    echo(render(assets, files=not no_files), nl=False)
