from __future__ import annotations

import sys
from pathlib import Path

import click

from wanplan.cli.options import open_project, targeting
from wanplan.cli.output import colour_enabled, echo

FORMATS = ("text", "json", "markdown")


@click.command()
@targeting
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when there are no changes, 2 when there are, 1 on error.",
)
@click.pass_obj
def plan(
    directory: Path,
    profile: str,
    targets: tuple[str, ...],
    force_replace: tuple[str, ...],
    fmt: str,
    detailed_exitcode: bool,
) -> None:
    """Show what apply would generate, reuse or delete, and what it would cost.

    Read-only: it never writes the state, sends no request to a provider and needs no API key,
    so it is safe on pull requests from forks.

    \b
    Examples:
      wanplan plan
      wanplan plan --target hero-turn --format json
      wanplan plan --format markdown > plan.md
      wanplan plan --detailed-exitcode || [ $? -eq 2 ]
    """
    from wanplan.plan.planner import make_plan

    project = open_project(directory)
    result = make_plan(project, profile=profile, targets=targets, force_replace=force_replace)
    if fmt == "json":
        from wanplan.render.json_plan import render_json

        echo(render_json(result), nl=False)
    elif fmt == "markdown":
        from wanplan.render.markdown import render_markdown

        echo(render_markdown(result), nl=False)
    else:
        from wanplan.render.style import colour, plain
        from wanplan.render.text import render_text

        echo(render_text(result, colour() if colour_enabled() else plain), nl=False)
    if detailed_exitcode and result.has_changes:
        sys.exit(2)
