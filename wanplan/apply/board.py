"""What someone watching an apply knows, from its events: each asset's state and how long it
has been in it, how many are done, the spend against the estimate, and when it should end.

The estimate of the end is learned as the apply goes: how long this model's tasks took from
submit to done (else any model's), for the assets running and those still queued, shared out
over as many as have run at once.
"""

from __future__ import annotations

import enum
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from wanplan.apply.events import ApplyEvent
from wanplan.plan.model import Plan


class Stage(enum.StrEnum):
    QUEUED = "queued"
    SUBMITTING = "submitting"
    RUNNING = "running"
    WAITING = "waiting"
    DOWNLOADING = "downloading"
    DONE = "done"
    FAILED = "failed"


STAGE_OF_EVENT = {
    "submitting": Stage.SUBMITTING,
    "submitted": Stage.RUNNING,
    "running": Stage.RUNNING,
    "adopted": Stage.RUNNING,
    "waiting": Stage.WAITING,
    "downloading": Stage.DOWNLOADING,
    "failed": Stage.FAILED,
    "skipped": Stage.FAILED,
}
"""Any other event about an asset (created, reused, deleted, ...) is its end: done."""


@dataclass
class AssetProgress:
    address: str
    model: str | None
    stage: Stage = Stage.QUEUED
    since: float = 0.0
    """When it entered its stage (the clock's reading)."""
    submitted: float | None = None
    generates: bool = False
    """Whether it waits on a provider (else it is a copy or a removal: no time to speak of)."""


@dataclass
class Board:
    plan: Plan
    clock: Callable[[], float]
    assets: dict[str, AssetProgress] = field(default_factory=dict)
    spent: Decimal = Decimal(0)
    unknown_spend: int = 0
    durations: dict[str, list[float]] = field(default_factory=dict)
    """Seconds from submit to done, by model, for the tasks of this apply."""
    most_at_once: int = 0

    def __post_init__(self) -> None:
        now = self.clock()
        self.started = now
        for change in self.plan.changes:
            model = change.asset.model_id if change.asset is not None else None
            self.assets[change.address] = AssetProgress(
                change.address, model, since=now, generates=change.generates
            )

    def update(self, event: ApplyEvent) -> None:
        progress = self.assets.get(event.address)
        if progress is None:
            return
        now = self.clock()
        stage = STAGE_OF_EVENT.get(event.kind, Stage.DONE)
        if stage is Stage.SUBMITTING or (stage is Stage.RUNNING and progress.submitted is None):
            progress.submitted = now
        if stage is Stage.DONE:
            if progress.submitted is not None and progress.model is not None:
                self.durations.setdefault(progress.model, []).append(now - progress.submitted)
            if event.spent is not None:
                self.spent += event.spent
            elif event.kind in ("created", "replaced", "resumed"):
                self.unknown_spend += 1
        if stage is not progress.stage:
            progress.stage, progress.since = stage, now
        self.most_at_once = max(self.most_at_once, len(self.in_flight))

    @property
    def in_flight(self) -> list[AssetProgress]:
        return [a for a in self.assets.values() if a.stage not in _NOT_IN_FLIGHT]

    @property
    def queued(self) -> list[AssetProgress]:
        return [a for a in self.assets.values() if a.stage is Stage.QUEUED]

    def count(self, stage: Stage) -> int:
        return sum(1 for a in self.assets.values() if a.stage is stage)

    @property
    def finished(self) -> int:
        return self.count(Stage.DONE) + self.count(Stage.FAILED)

    def elapsed(self, progress: AssetProgress | None = None) -> float:
        return self.clock() - (progress.since if progress is not None else self.started)

    def eta(self) -> float | None:
        """Seconds until the last asset should be done; None until a task has finished."""
        if not any(self.durations.values()):
            return None
        everything = [d for durations in self.durations.values() for d in durations]
        typical = statistics.median(everything)

        def expected(progress: AssetProgress) -> float:
            known = self.durations.get(progress.model or "")
            return statistics.median(known) if known else typical

        now = self.clock()
        running = [
            max(expected(a) - (now - (a.submitted or now)), 0.0)
            for a in self.assets.values()
            if a.stage in (Stage.SUBMITTING, Stage.RUNNING, Stage.WAITING)
        ]
        waiting = [expected(a) for a in self.queued if a.generates]
        if not running and not waiting:
            return 0.0
        at_once = max(self.most_at_once, 1)
        return max(max(running, default=0.0), (sum(running) + sum(waiting)) / at_once)


_NOT_IN_FLIGHT = (Stage.QUEUED, Stage.DONE, Stage.FAILED)
