from __future__ import annotations

from pathlib import Path

import click

from wanplan.cli.options import open_workspace
from wanplan.cli.output import echo


@click.command("force-unlock")
@click.argument("lock_id", required=False)
@click.option(
    "--if-dead",
    is_flag=True,
    help="Without LOCK_ID: remove the lock only if its holder was a process on this machine "
    "that is gone, and leave the state file complete (for CI after a killed apply).",
)
@click.pass_obj
def force_unlock(directory: Path, lock_id: str | None, if_dead: bool) -> None:
    """Remove the state lock held by LOCK_ID, when its holder is surely gone.

    A holder on this machine whose process died is broken automatically; use this for a holder
    on another machine (a cancelled CI runner). The lock ID is in the message of the command
    that found the state locked. In CI, run `--if-dead` before the state is committed, so a
    lock left by a killed apply does not travel to the next runner.

    \b
    Examples:
      wanplan force-unlock 3f9c2a7b41d0
      wanplan force-unlock --if-dead
    """
    if (lock_id is None) == (not if_dead):
        raise click.UsageError("give LOCK_ID or --if-dead, not both")
    workspace = open_workspace(directory)
    if lock_id is None:
        workspace.unlock_if_dead()
        return
    holder = workspace.force_unlock(lock_id)
    echo(f"Unlocked: the lock of {holder.describe()} is removed.")
