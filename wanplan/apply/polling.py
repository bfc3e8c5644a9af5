"""When to poll a task: the provider's advised rhythm, with jitter, learning how long tasks of
the same model take so that later tasks are polled about when they finish, not every few
seconds before.

A provider's rhythm (`poll_delay(attempt)`) is advice for a task of unknown length. Once tasks
of a model have finished, their durations give an estimate: as the provider reports them
(`TaskStatus.duration`) where it does, else the middle of the interval between the last poll
that found the task running and the first that found it done. The first poll then waits for the
estimate (timed from the submit's answer, so a little after the provider's own start), a few
quick polls follow (a small fraction of the estimate), then the
advised rhythm again for a task that runs long.
"""

from __future__ import annotations

import random
from collections.abc import Callable

JITTER = 0.1
"""Advised delays are spread by ±10% so that tasks submitted together do not poll together."""
QUICK_POLLS = 3
QUICK_FRACTION = 0.02
QUICK_MINIMUM = 0.01
WEIGHT = 0.2


class PollSchedule:
    """The learned duration of one (provider, model)'s tasks."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self.estimate: float | None = None
        self.rng = rng or random.Random()

    def timer(self, advice: Callable[[int], float], scale: Callable[[], float]) -> PollTimer:
        return PollTimer(self, advice, scale)

    def observe(self, duration: float) -> None:
        if duration <= 0:
            return
        if self.estimate is None:
            self.estimate = duration
        else:
            self.estimate += WEIGHT * (duration - self.estimate)


class PollTimer:
    """The polls of one task. Times are seconds since the submit, taken when a poll is sent."""

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

    def until_estimate(self, waited: float) -> float | None:
        """Seconds left until the estimate, once there is one (0 when already past it)."""
        estimate = self.schedule.estimate
        return None if estimate is None else max(estimate - waited, 0.0)

    def running(self, sent_at: float) -> None:
        self.last_running = sent_at

    def done(self, sent_at: float, reported: float | None) -> None:
        """The task was seen done by the poll sent at `sent_at`; `reported` is the duration
        the provider gave, if any."""
        if reported is not None:
            self.schedule.observe(reported)
        elif self.last_running is not None:
            self.schedule.observe((self.last_running + sent_at) / 2)
        else:
            self.schedule.observe(sent_at)
