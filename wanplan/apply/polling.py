"""When to poll a task: the provider's advised rhythm, with jitter, learning how long tasks of
the same model take so that later tasks are polled about when they finish, not every few
seconds before.

A provider's rhythm (`poll_delay(attempt)`) is advice for a task of unknown length. Once tasks of
a model have finished, their observed durations give an estimate: the first poll waits for it,
then a few quick polls follow (a small fraction of the estimate), then the advised rhythm again
for a task that runs long. The estimate is an average that creeps down while the first poll
keeps finding tasks done, and up when it finds them still running, so it settles where a task
usually needs one or two polls.
"""

from __future__ import annotations

import random
from collections.abc import Callable

JITTER = 0.1
"""Advised delays are spread by ±10% so that tasks submitted together do not poll together."""
QUICK_POLLS = 3
QUICK_FRACTION = 0.02
QUICK_MINIMUM = 0.01
WEIGHT = 0.3


class PollSchedule:
    """The learned duration of one (provider, model)'s tasks."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self.estimate: float | None = None
        self.rng = rng or random.Random()

    def timer(self, advice: Callable[[int], float], scale: Callable[[], float]) -> PollTimer:
        return PollTimer(self, advice, scale)

    def observe(self, running_at: float | None, done_at: float) -> None:
        """A task was last seen running at `running_at` (None: never) and done at `done_at`."""
        if running_at is None:
            # Done at the first look: it may have finished well before, so guess a bit earlier.
            sample = done_at - max(done_at * QUICK_FRACTION, QUICK_MINIMUM)
        else:
            sample = (running_at + done_at) / 2
        if self.estimate is None:
            self.estimate = sample
        else:
            self.estimate += WEIGHT * (sample - self.estimate)


class PollTimer:
    """The polls of one task."""

    def __init__(
        self, schedule: PollSchedule, advice: Callable[[int], float], scale: Callable[[], float]
    ) -> None:
        self.schedule = schedule
        self.advice = advice
        self.scale = scale
        self.attempt = 0
        self.quick = 0
        self.last_running: float | None = None

    def next_delay(self, waited: float) -> float:
        """Seconds to wait before the next poll, `waited` seconds after the submit."""
        attempt, self.attempt = self.attempt, self.attempt + 1
        advised = self.advice(attempt) * self.scale()
        advised *= self.schedule.rng.uniform(1 - JITTER, 1 + JITTER)
        estimate = self.schedule.estimate
        if estimate is None:
            return advised
        if waited < estimate:
            return estimate - waited
        if self.quick < QUICK_POLLS:
            self.quick += 1
            return min(max(estimate * QUICK_FRACTION, QUICK_MINIMUM), advised)
        return advised

    def running(self, waited: float) -> None:
        self.last_running = waited

    def done(self, waited: float) -> None:
        self.schedule.observe(self.last_running, waited)
