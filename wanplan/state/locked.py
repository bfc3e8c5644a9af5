"""Open the state for writing under its lock: apply and the maintenance commands."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from wanplan.errors import StateError, StateWriteError
from wanplan.project import Project
from wanplan.state.base import StateReader, StateWriter
from wanplan.state.lock import LockHolder, this_process
from wanplan.state.opening import open_reader, open_writer


@contextmanager
def locked_state(
    project: Project,
    timeout: float,
    warn: Callable[[str], None],
    *,
    check: Callable[[StateReader], object] | None = None,
    create: bool = False,
) -> Iterator[StateWriter]:
    """The state, locked for this process until the block ends. Without `create`, a project
    with no state yet is an error rather than a new empty state file.

    `check` runs first on a read-only view, so that a refusal it can foresee (a misspelt
    address) leaves the state file untouched, not even locked and unlocked; the operation
    checks again under the lock, which is authoritative."""
    project.check_confined()
    if not create and not project.state_path.exists():
        raise StateError(f"there is no state yet ({project.relative(project.state_path)})")
    if check is not None:
        reader = open_reader(project)
        try:
            check(reader)
        finally:
            reader.close()

    def waiting(holder: LockHolder) -> None:
        warn(f"waiting for the state lock held by {holder.describe()}")

    state = open_writer(project)
    holder = this_process()
    try:
        for warning in state.acquire_lock(holder, timeout, on_wait=waiting):
            warn(warning)
    except BaseException:
        state.close()
        raise
    try:
        yield state
    finally:
        try:
            state.release_lock(holder.id)
        except StateWriteError as exc:
            warn(
                f"the state lock could not be released ({exc}); the next apply breaks it, "
                "since this process will be gone"
            )
        finally:
            state.close()
