from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from wanplan.cli.options import Money, allow_unknown_cost, open_workspace, targeting
from wanplan.cli.output import colour_enabled, echo

if TYPE_CHECKING:
    from decimal import Decimal

    from wanplan.workspace import PlanOutcome

FORMATS = ("text", "json", "markdown")


@click.command()
@targeting
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Also save the plan to FILE, for `wanplan apply FILE`.",
)
@click.option(
    "--compare-to",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Count as this change only what differs from FILE, a JSON plan of the base branch.",
)
@click.option(
    "--fail-on-cost-increase",
    type=Money(),
    metavar="USD",
    help="Exit 4 (after printing the plan) when this change would spend more than USD.",
)
@allow_unknown_cost
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
    out: Path | None,
    compare_to: Path | None,
    fail_on_cost_increase: Decimal | None,
    allow_unknown_cost: bool,
    detailed_exitcode: bool,
) -> None:
    """Show what apply would generate, reuse or delete, and what it would cost.

    Read-only: it never writes the state, sends no paid request and needs no API key, so it
    is safe on pull requests from forks. Its one request to a provider: when an earlier
    submit's outcome is unknown and that provider's key is set, a look at its task list.

    The cost of this change is what apply would spend: the estimate of every change, or with
    --compare-to, of the changes to assets that differ from the base branch's plan. The
    markdown format is a pull-request comment: this change's cost, the full rebuild cost of
    the catalog before and after, and the table of changes.

    \b
    Examples:
      wanplan plan
      wanplan plan --target hero-turn --format json
      wanplan plan --out plan.json && wanplan apply plan.json
      wanplan -C base plan --format json > base.json
      wanplan plan --compare-to base.json --format markdown --fail-on-cost-increase 20
      wanplan plan --detailed-exitcode || [ $? -eq 2 ]
    """
    from wanplan.workspace import PlanRequest

    workspace = open_workspace(directory)
    if out is not None:
        workspace.check_plan_path(out)  # before planning: a refusal costs nothing
    outcome = workspace.plan(PlanRequest(profile, targets, force_replace), compare_to=compare_to)
    _render(outcome, fmt)
    if out is not None:
        workspace.save_plan(out, outcome.plan)
        echo(f"Saved the plan to {out}; apply exactly it with `wanplan apply {out}`.", err=True)
    if fail_on_cost_increase is not None:
        outcome.check_cost_gate(fail_on_cost_increase, allow_unknown_cost=allow_unknown_cost)
    if detailed_exitcode and outcome.plan.has_changes:
        sys.exit(2)


def _render(outcome: PlanOutcome, fmt: str) -> None:
    plan, comparison = outcome.plan, outcome.comparison
    if fmt == "json":
        from wanplan.render.json_plan import render_json

        echo(render_json(plan, comparison), nl=False)
    elif fmt == "markdown":
        from wanplan.render.markdown import render_markdown

        echo(render_markdown(plan, comparison), nl=False)
    else:
        from wanplan.render.style import colour, plain
        from wanplan.render.text import count_line, render_text

        echo(render_text(plan, colour() if colour_enabled() else plain), nl=False)
        if comparison is not None:
            echo(f"Against {comparison.label}: " + count_line("this change", comparison.own))
