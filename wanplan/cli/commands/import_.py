from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from wanplan.cli.options import TaskId, lock_timeout, open_workspace
from wanplan.cli.output import echo

if TYPE_CHECKING:
    from wanplan.maintenance.adopt import Candidate


@click.command("import")
@click.argument("address", metavar="ADDR")
@click.option(
    "--task-id",
    required=True,
    type=TaskId(),
    help="The provider's id of the finished task.",
)
@click.option("--provider", help="The task's provider; must be ADDR's (the default).")
@click.option(
    "--profile", default="default", show_default=True, help="The profile to record it in."
)
@lock_timeout
@click.pass_obj
def import_(
    directory: Path,
    address: str,
    task_id: str,
    provider: str | None,
    profile: str,
    lock_timeout: float,
) -> None:
    """Adopt a task made at the provider outside wanplan: download it and record it as ADDR.

    ADDR must be declared in the specs, with the parameters the task was made from: wanplan
    records the result under the spec's content key and cannot check that they match. The
    task is polled (a running one is waited for), downloaded, verified and recorded as apply
    would, with its cost in the ledger; nothing is submitted. Needs the provider's API key.

    \b
    Example:
      wanplan import forest-dolly --provider wavespeed --task-id 7f3c9a1e2b
    """
    from wanplan.cli.progress import EventPrinter
    from wanplan.money import format_usd

    def collecting(found: Candidate) -> None:
        echo(f"Collecting {found.asset.provider} task {task_id} for {address}...")

    found, outcome = open_workspace(directory, lock_timeout).import_task(
        address,
        task_id,
        provider=provider,
        profile=profile,
        on_start=collecting,
        on_event=EventPrinter(),
    )
    echo(
        f"Imported {address} from {found.asset.provider} task {task_id}: {outcome.output_path} "
        f"(cost {format_usd(outcome.spent)}, in the ledger)."
    )
