"""Where the state is opened: confined to the project first (a state folder or file linked out
of it is refused, for reading as for writing), then the backend. The one place the commands
and the planner name to open it."""

from __future__ import annotations

from wanplan.project import Project
from wanplan.state.sqlite import SqliteState


def open_reader(project: Project) -> SqliteState:
    """The state, read-only; a missing file reads as an empty state."""
    project.check_state_confined()
    return SqliteState.open_reader(project.state_path)


def open_writer(project: Project) -> SqliteState:
    """The state for writing (created when missing), after every confinement check."""
    project.check_confined()
    return SqliteState.open_writer(project.state_path)
