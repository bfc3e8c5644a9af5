"""Tasks and their state machine, shared by the four protocols.

A task is queued until it starts, spends the first quarter of its latency still queued and the
rest running, then ends succeeded or failed (decided at submit). Without a concurrency cap a task
starts when it is submitted. With a cap, at most `cap` tasks of one key run at once and the rest
start, in submit order, at the moment a slot frees. The state is computed from the clock on
each look-up, so nothing runs in the background and a fake clock makes tests instant.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

QUEUED_SHARE = 0.25


class Phase(enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def terminal(self) -> bool:
        return self in (Phase.SUCCEEDED, Phase.FAILED, Phase.CANCELED)


@dataclass(frozen=True, slots=True)
class Failure:
    code: str | None = None
    """A provider failure code; None means the provider's usual one."""
    message: str | None = None


@dataclass(frozen=True, slots=True)
class MediaSpec:
    """What the result file is made from."""

    kind: str
    """"video" (an animated GIF) or "image" (a PNG)."""
    seconds: int
    aspect_ratio: str | None
    seed: bytes


@dataclass(slots=True)
class Task:
    id: str
    provider: str
    model: str
    key_id: str
    """A fingerprint of the API key (never the key): groups tasks for the concurrency cap."""
    media: MediaSpec
    created_at: float
    latency: float
    origin: str
    """Where the client reached the emulator; result URLs are built on it."""
    failure: Failure | None = None
    details: dict[str, Any] = field(default_factory=dict)
    """Protocol-specific facts kept for the answers (prompt, resolution, callback URL...)."""
    started_at: float | None = None
    canceled_at: float | None = None
    notified: bool = False
    """Whether its webhook or callback was delivered."""
    hostile: bool = False
    """Its prompt held the hostile marker: the hostile knobs apply to its answers."""

    @property
    def ends_at(self) -> float | None:
        if self.canceled_at is not None:
            return self.canceled_at
        return None if self.started_at is None else self.started_at + self.latency

    def phase(self, now: float) -> Phase:
        if self.canceled_at is not None:
            return Phase.CANCELED
        if self.started_at is None:
            return Phase.QUEUED
        elapsed = now - self.started_at
        if elapsed >= self.latency:
            return Phase.FAILED if self.failure is not None else Phase.SUCCEEDED
        return Phase.QUEUED if elapsed < self.latency * QUEUED_SHARE else Phase.RUNNING


class TaskStore:
    """Not thread-safe on its own: the emulator calls it under its lock."""

    def __init__(self) -> None:
        self._tasks: dict[str, Task] = {}

    def add(self, task: Task, now: float, cap: int | None) -> None:
        self._tasks[task.id] = task
        self.advance(now, cap)

    def get(self, task_id: str, now: float, cap: int | None, ttl: float | None) -> Task | None:
        """The task, or None when it is unknown or has expired."""
        self.advance(now, cap)
        task = self._tasks.get(task_id)
        if task is None or self.expired(task, now, ttl):
            return None
        return task

    def all(self) -> list[Task]:
        return list(self._tasks.values())

    @staticmethod
    def expired(task: Task, now: float, ttl: float | None) -> bool:
        return ttl is not None and now - task.created_at >= ttl

    def in_flight(self, key_id: str, now: float, cap: int | None) -> int:
        self.advance(now, cap)
        return sum(
            1
            for task in self._tasks.values()
            if task.key_id == key_id and not task.phase(now).terminal
        )

    def advance(self, now: float, cap: int | None) -> None:
        """Start the queued tasks whose turn has come, each at the moment its slot freed."""
        waiting: dict[str, list[Task]] = defaultdict(list)
        for task in self._tasks.values():
            if task.started_at is None and task.canceled_at is None:
                waiting[task.key_id].append(task)
        for key_id, queue in waiting.items():
            if cap is None:
                for task in queue:
                    task.started_at = now  # at submit, or when a cap was lifted
                continue
            self._start_in_turn(key_id, sorted(queue, key=lambda t: t.created_at), now, cap)

    def _start_in_turn(self, key_id: str, queue: list[Task], now: float, cap: int) -> None:
        ends = sorted(
            end
            for task in self._tasks.values()
            if task.key_id == key_id
            and task.started_at is not None
            and (end := task.ends_at) is not None
        )
        for task in queue:
            busy = [end for end in ends if end > task.created_at]
            start = task.created_at if len(busy) < cap else busy[len(busy) - cap]
            if start > now:
                return
            task.started_at = start
            ends = sorted([*ends, start + task.latency])
