from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from wanplan.cli.options import Money, allow_unknown_cost, lock_timeout, open_workspace, targeting
from wanplan.cli.output import echo, warn

if TYPE_CHECKING:
    from decimal import Decimal

    from wanplan.apply.events import ApplyResult
    from wanplan.cli.progress import JsonEvents
    from wanplan.workspace import ApplyRequest


@click.command()
@click.argument(
    "plan_file", required=False, type=click.Path(dir_okay=False, path_type=Path), metavar="[FILE]"
)
@targeting
@click.option(
    "-y", "--auto-approve", is_flag=True, help="Apply without asking (needed without a terminal)."
)
@click.option(
    "--max-cost",
    type=Money(),
    metavar="USD",
    help="Refuse, before any request, a plan estimated above USD (with [budget] caps).",
)
@allow_unknown_cost
@click.option(
    "--skip-balance-check",
    is_flag=True,
    help="Do not refuse a plan above the balance WaveSpeed or APIXO reports (an account that "
    "tops up by itself).",
)
@click.option("--concurrency", type=click.IntRange(1, 10_000), help="Tasks in flight per provider.")
@lock_timeout
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: the plan, each event and the summary as one JSON object per line.",
)
@click.pass_obj
def apply(
    directory: Path,
    plan_file: Path | None,
    profile: str,
    targets: tuple[str, ...],
    force_replace: tuple[str, ...],
    auto_approve: bool,
    max_cost: Decimal | None,
    allow_unknown_cost: bool,
    skip_balance_check: bool,
    concurrency: int | None,
    lock_timeout: float,
    log_format: str,
) -> None:
    """Generate, reuse and delete exactly what `plan` shows, after confirmation.

    Every submitted task is recorded before the next request, so an interrupted apply loses
    nothing: the next plan shows it as `resume` and the next apply collects it without paying
    again.

    With FILE, a plan saved by `wanplan plan --out FILE`, it applies exactly that plan without
    asking, and refuses it when the state, the specs, wanplan.toml or the inputs changed since.

    Budget caps (--max-cost and [budget] in wanplan.toml) are checked before the first
    request; a plan over one is refused whole. With a cap set, a change of unknown price needs
    --allow-unknown-cost. Where WaveSpeed or APIXO report the account's balance, a plan whose
    estimate there exceeds it is refused too (--skip-balance-check for an account that tops
    up by itself).

    Exit 0 when everything succeeded, 1 when anything failed or was refused, 4 over a budget
    cap or the balance, 130 interrupted.

    \b
    Examples:
      wanplan apply
      wanplan apply -y --target hero-turn --max-cost 5
      wanplan apply --replace forest-dolly
      wanplan plan --out plan.json && wanplan apply plan.json
    """
    from wanplan.cli.progress import JsonEvents
    from wanplan.cli.prompts import TerminalPrompts
    from wanplan.workspace import ApplyRequest

    request = ApplyRequest(
        profile=profile,
        targets=targets,
        force_replace=force_replace,
        auto_approve=auto_approve,
        max_cost=max_cost,
        allow_unknown_cost=allow_unknown_cost,
        skip_balance_check=skip_balance_check,
        concurrency=concurrency,
    )
    if plan_file is not None:
        request = _from_saved_plan(request, plan_file)
    json_log = JsonEvents() if log_format == "json" else None
    result = open_workspace(directory, lock_timeout).apply(request, TerminalPrompts(json_log))
    if result is not None:
        _finish(result, json_log)


def _from_saved_plan(request: ApplyRequest, plan_file: Path) -> ApplyRequest:
    """The saved plan's options, applied without asking: it was reviewed when it was saved."""
    import dataclasses

    from wanplan.plan.saved import load_saved_plan

    if request.targets or request.force_replace or request.profile != "default":
        raise click.UsageError(
            "--target, --replace and --profile come from the saved plan; plan again to change them"
        )
    saved = load_saved_plan(plan_file)
    return dataclasses.replace(
        request,
        profile=saved.profile,
        targets=saved.targets,
        force_replace=saved.force_replace,
        saved=saved,
        auto_approve=True,
    )


def _finish(result: ApplyResult, json_log: JsonEvents | None) -> None:
    """The summary; a warning for what needs the user; exit 130 when interrupted, 1 when
    anything failed."""
    from wanplan.cli.progress import render_summary, summary_document

    if json_log is not None:
        json_log.write(summary_document(result))
    else:
        echo("")
        echo(render_summary(result))
    for task in result.unrecorded:
        warn(
            f"{task.provider} task {task.task_id} for {task.address} was made but could not be "
            f"recorded: once the state can be written, `wanplan import {task.address} "
            f"--task-id {task.task_id}` (never apply it again first: that would pay twice)"
        )
    if result.interrupted:
        warn(
            f"interrupted: {len(result.interrupted)} asset(s) did not finish. Every submitted "
            "task is recorded: run `wanplan apply` again to collect them without paying again "
            "(`wanplan plan` shows them as resume)."
        )
        sys.exit(130)
    if result.failed:
        sys.exit(1)
