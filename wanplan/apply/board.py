"""What someone watching an apply knows, from its events: each asset's state and how long it
has been in it, how many are done, the spend against the estimate, and when it should end.

The estimate of the end is learned as the apply goes: how long this model's tasks took from
submit to done (else any model's), for the assets running and those still queued, shared out
over as many as have run at once. Every update and every question costs about the same for
ten assets or a hundred thousand (the view asks four times a second).
"""

from __future__ import annotations

import enum
import itertools
from collections import Counter
from collections.abc import Callable, Iterator
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
_ENDED = (Stage.DONE, Stage.FAILED)


@dataclass
class AssetProgress:
    address: str
    model: str | None
    stage: Stage = Stage.QUEUED
    since: float = 0.0
    """When it entered its stage (the clock's reading)."""
    submitted: float | None = None
    """When it was sent in this apply (None for a task sent by an earlier one)."""
    generates: bool = False
    """Whether it waits on a provider (else it is a copy or a removal: no time to speak of)."""


@dataclass
class _Mean:
    total: float = 0.0
    count: int = 0

    def add(self, value: float) -> None:
        self.total, self.count = self.total + value, self.count + 1

    @property
    def value(self) -> float:
        return self.total / self.count


@dataclass
class Board:
    plan: Plan
    clock: Callable[[], float]
    assets: dict[str, AssetProgress] = field(default_factory=dict)
    spent: Decimal = Decimal(0)
    unknown_spend: int = 0
    most_at_once: int = 0

    def __post_init__(self) -> None:
        now = self.clock()
        self.started = now
        self._stages: Counter[Stage] = Counter()
        self._queued: dict[str, AssetProgress] = {}
        self._in_flight: dict[str, AssetProgress] = {}
        self._queued_models: Counter[str] = Counter()
        """Queued generations by model: what the ETA still has to wait for."""
        self._durations: dict[str, _Mean] = {}
        self._all_durations = _Mean()
        for change in self.plan.changes:
            model = change.asset.model_id if change.asset is not None else None
            progress = AssetProgress(change.address, model, since=now, generates=change.generates)
            self.assets[change.address] = self._queued[change.address] = progress
            self._stages[Stage.QUEUED] += 1
            if progress.generates and model is not None:
                self._queued_models[model] += 1

    def update(self, event: ApplyEvent) -> None:
        progress = self.assets.get(event.address)
        if progress is None:
            return
        now = self.clock()
        stage = STAGE_OF_EVENT.get(event.kind, Stage.DONE)
        if stage is Stage.SUBMITTING or (stage is Stage.RUNNING and event.kind == "submitted"):
            progress.submitted = progress.submitted or now
        if stage is Stage.DONE:
            if progress.submitted is not None and progress.model is not None:
                duration = now - progress.submitted
                self._durations.setdefault(progress.model, _Mean()).add(duration)
                self._all_durations.add(duration)
            if event.spent is not None:
                self.spent += event.spent
            elif event.kind in ("created", "replaced", "resumed"):
                self.unknown_spend += 1
        if stage is not progress.stage:
            self._move(progress, stage, now)

    def _move(self, progress: AssetProgress, stage: Stage, now: float) -> None:
        before = progress.stage
        self._stages[before] -= 1
        self._stages[stage] += 1
        if before is Stage.QUEUED:
            del self._queued[progress.address]
            if progress.generates and progress.model is not None:
                self._queued_models[progress.model] -= 1
        if stage in _ENDED:
            self._in_flight.pop(progress.address, None)
        elif before is Stage.QUEUED:
            self._in_flight[progress.address] = progress
        progress.stage, progress.since = stage, now
        self.most_at_once = max(self.most_at_once, len(self._in_flight))

    def first(self, rows: int) -> list[AssetProgress]:
        """The assets to show: those in flight, then the next queued ones."""
        return list(itertools.islice(self._shown(), rows))

    def _shown(self) -> Iterator[AssetProgress]:
        yield from self._in_flight.values()
        yield from self._queued.values()

    @property
    def waiting_or_running(self) -> int:
        return len(self._in_flight) + len(self._queued)

    def count(self, stage: Stage) -> int:
        return self._stages[stage]

    @property
    def finished(self) -> int:
        return self._stages[Stage.DONE] + self._stages[Stage.FAILED]

    def elapsed(self, progress: AssetProgress | None = None) -> float:
        return self.clock() - (progress.since if progress is not None else self.started)

    def eta(self) -> float | None:
        """Seconds until the last asset should be done; None until a task has finished."""
        if not self._all_durations.count:
            return None
        typical = self._all_durations.value

        def expected(model: str | None) -> float:
            known = self._durations.get(model or "")
            return known.value if known else typical

        now = self.clock()
        running = [
            max(expected(a.model) - (now - (a.submitted or a.since)), 0.0)
            for a in self._in_flight.values()
            if a.generates
        ]
        waiting = sum(count * expected(model) for model, count in self._queued_models.items())
        at_once = max(self.most_at_once, 1)
        return max(max(running, default=0.0), (sum(running) + waiting) / at_once)
