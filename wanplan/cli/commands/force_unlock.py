from __future__ import annotations

from pathlib import Path

import click

from wanplan.cli.options import open_project
from wanplan.cli.output import echo


@click.command("force-unlock")
@click.argument("lock_id")
@click.pass_obj
def force_unlock(directory: Path, lock_id: str) -> None:
    """Remove the state lock held by LOCK_ID, when its holder is surely gone.

    A holder on this machine whose process died is broken automatically; use this for a holder
    on another machine (a cancelled CI runner). The lock ID is in the message of the command
    that found the state locked.

    \b
    Example:
      wanplan force-unlock 3f9c2a7b41d0
    """
    from wanplan.errors import StateError
    from wanplan.state.sqlite import SqliteState

    project = open_project(directory)
    if not project.state_path.exists():
        raise StateError("there is no state yet, so nothing is locked")
    state = SqliteState.open_writer(project.state_path)
    try:
        holder = state.force_unlock(lock_id)
    finally:
        state.close()
    echo(f"Unlocked: the lock of {holder.describe()} is removed.")
