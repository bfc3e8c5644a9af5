from __future__ import annotations

from pathlib import Path

import click

from wanplan.cli.options import open_project
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
    from wanplan.cli.output import warn
    from wanplan.errors import StateError
    from wanplan.state.locked import locked_state
    from wanplan.state.opening import open_reader, open_writer

    project = open_project(directory)
    if (lock_id is None) == (not if_dead):
        raise click.UsageError("give LOCK_ID or --if-dead, not both")
    if not project.state_path.exists():
        if if_dead:
            return
        raise StateError("there is no state yet, so nothing is locked")
    project.check_confined()
    if if_dead:
        wal = project.state_path.with_name(project.state_path.name + "-wal")
        reader = open_reader(project)
        try:
            if reader.lock_holder() is None and not wal.exists():
                return  # nothing to clear: leave the file's bytes (and git) alone
        finally:
            reader.close()
        # Taking the lock breaks a dead local holder (with a warning); leaving releases it and
        # folds the WAL back, so the file at rest is complete and unlocked. A live holder is
        # refused with its details, as for any command.
        with locked_state(project, 0.0, warn):
            return
    assert lock_id is not None
    state = open_writer(project)
    try:
        holder = state.force_unlock(lock_id)
    finally:
        state.close()
    echo(f"Unlocked: the lock of {holder.describe()} is removed.")
