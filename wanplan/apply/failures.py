"""How one asset of an apply ends early: it failed (its reason is its message), or Ctrl-C
stopped it; and the message for a submit whose outcome reconciliation could not settle."""

from __future__ import annotations

from wanplan.plan.model import PlanChange, unconfirmed_reason
from wanplan.state.records import TaskRecord


class AssetFailed(Exception):
    """This asset fails with this reason; the others go on."""


class Interrupted(Exception):
    """Ctrl-C: this asset stops here; what it did so far is recorded."""


def unconfirmed_failure_for(address: str, task: TaskRecord) -> str:
    """An unknown submit that reconciliation could not settle, and the two ways out."""
    return (
        f"{unconfirmed_reason(task).rstrip('.')}. Found on {task.provider}'s dashboard: "
        f"`wanplan import {address} --task-id ID`; or pay again: "
        f"`wanplan apply --replace {address}`"
    )


def unconfirmed_failure(change: PlanChange) -> str:
    assert change.task is not None
    return unconfirmed_failure_for(change.address, change.task)
