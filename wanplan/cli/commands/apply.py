from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from wanplan.cli.options import Money, allow_unknown_cost, lock_timeout, open_project, targeting
from wanplan.cli.output import colour_enabled, echo, style, warn

if TYPE_CHECKING:
    from decimal import Decimal

    from wanplan.plan.model import Plan
    from wanplan.plan.saved import SavedPlan
    from wanplan.state.base import StateReader


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
    --allow-unknown-cost.

    Exit 0 when everything succeeded, 1 when anything failed or was refused, 4 over a budget
    cap, 130 interrupted.

    \b
    Examples:
      wanplan apply
      wanplan apply -y --target hero-turn --max-cost 5
      wanplan apply --replace forest-dolly
      wanplan plan --out plan.json && wanplan apply plan.json
    """
    from wanplan.apply.engine import run_apply
    from wanplan.apply.providers import providers_needed, setup_providers
    from wanplan.apply.reconcile import settle_plan, unconfirmed_changes
    from wanplan.blobs import LocalBlobStore
    from wanplan.cli.progress import (
        EventPrinter,
        JsonEvents,
        LiveView,
        render_summary,
        summary_document,
    )
    from wanplan.errors import ApplyRefused, WanplanError
    from wanplan.money import format_total
    from wanplan.plan.planner import make_plan
    from wanplan.render.json_plan import plan_document
    from wanplan.render.style import colour, plain
    from wanplan.render.text import render_text
    from wanplan.state.locked import locked_state
    from wanplan.state.opening import open_reader

    project = open_project(directory)
    saved: SavedPlan | None = None
    if plan_file is not None:
        from wanplan.plan.saved import load_saved_plan

        if targets or force_replace or profile != "default":
            raise click.UsageError(
                "--target, --replace and --profile come from the saved plan; plan again to "
                "change them"
            )
        saved = load_saved_plan(plan_file)
        profile, targets, force_replace = saved.profile, saved.targets, saved.force_replace
        auto_approve = True  # it was reviewed when it was saved

    def check(plan: Plan, state: StateReader, *, final: bool) -> None:
        """Refuse a stale saved plan or one over budget, before anything is written or sent.
        Warnings are for the final check only (the one under the lock)."""
        if saved is not None:
            from wanplan.plan.saved import check_fresh

            check_fresh(saved, project, plan)
        if not plan.has_changes:
            return
        from wanplan.cost.budget import check_budget, spent_on, today

        caps = project.config.budget
        spent_today = None
        if caps.max_per_day is not None:
            day = today()
            spent_today = spent_on(state.ledger(day), day, state.open_tasks())
        warnings = check_budget(
            plan,
            caps,
            max_cost=max_cost,
            spent_today=spent_today,
            allow_unknown_cost=allow_unknown_cost,
        )
        for warning in warnings if final else ():
            warn(warning)

    # Check without writing anything first: invalid specs, nothing to do, a stale plan, a plan
    # over budget or no way to confirm must not create or touch the state. Then plan again
    # with the state locked for writing, which is authoritative.
    json_log = JsonEvents() if log_format == "json" else None

    def show(plan: Plan) -> None:
        if json_log is not None:
            json_log.write({"event": "plan", **plan_document(plan)})
        else:
            echo(render_text(plan, colour() if colour_enabled() else plain), nl=False)

    reader = open_reader(project)
    try:
        first = make_plan(
            project, profile=profile, targets=targets, force_replace=force_replace, state=reader
        )
        try:
            check(first, reader, final=False)  # warnings come from the check under the lock
        except WanplanError:
            show(first)  # the refusal reads against the plan
            raise
    finally:
        reader.close()
    if not first.has_changes:
        show(first)
        return
    if not auto_approve and not _can_ask():
        show(first)
        raise ApplyRefused(
            "apply needs confirmation and there is no terminal to ask: "
            "review the plan and run `wanplan apply -y`"
        )
    setup_providers(project.config, providers_needed(first))  # keys first: fail before writing
    with locked_state(project, lock_timeout, warn, create=True) as state:
        blobs = LocalBlobStore(project.cache_dir)

        def replan() -> Plan:
            return make_plan(
                project,
                profile=profile,
                targets=targets,
                force_replace=force_replace,
                state=state,
                blobs=blobs,
            )

        plan = replan()
        if unconfirmed_changes(plan):
            plan = settle_plan(plan, state, project.config, replan, _waiting_for_listing)
        check(plan, state, final=True)
        show(plan)
        if not plan.has_changes:
            return
        setups = setup_providers(project.config, providers_needed(plan))
        count = len(plan.changes)
        cost = format_total((plan.estimated_cost, plan.unknown_cost))
        if not auto_approve:
            echo("")
            answer = click.prompt(
                style(
                    f"Apply {count} change{'s' if count != 1 else ''} for an estimated {cost}? "
                    "Only 'yes' will be accepted:",
                    bold=True,
                ),
                default="",
                show_default=False,
                prompt_suffix=" ",
            )
            if answer != "yes":
                raise ApplyRefused("apply cancelled; nothing was changed")
        if json_log is None:
            echo("")
        live = json_log is None and colour_enabled()  # a terminal, colour allowed
        with LiveView(plan) if live else contextlib.nullcontext() as view:
            result = run_apply(
                project,
                plan,
                state,
                blobs,
                setups=setups,
                concurrency=concurrency,
                on_event=json_log or view or EventPrinter(),
            )
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


def _waiting_for_listing(submits: int, seconds: float) -> None:
    warn(
        f"waiting {seconds:.0f} s for the provider's task list to show every task before "
        f"deciding about {submits} submit(s) whose outcome is unknown"
    )


def _can_ask() -> bool:
    """A person can answer: a terminal, and not CI."""
    return sys.stdin.isatty() and os.environ.get("CI", "").lower() != "true"
