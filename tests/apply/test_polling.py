"""Polling rhythm, learned durations, the emulator's time scale, and the request rate."""

from __future__ import annotations

import asyncio
import random

from wanplan.apply.limits import TokenBucket
from wanplan.apply.polling import QUICK_POLLS, PollSchedule


def advice(attempt: int) -> float:
    return 5.0


def run_task(schedule: PollSchedule, duration: float, reported: bool = False) -> int:
    """Poll a simulated task that ends after `duration` s; returns the polls it took."""
    timer = schedule.timer(advice, lambda: 1.0)
    waited, polls = 0.0, 0
    while True:
        waited += timer.next_delay(waited)
        polls += 1
        if waited >= duration:
            timer.done(waited, duration if reported else None)
            return polls
        timer.running(waited)


def test_advised_rhythm_with_jitter_until_something_is_learned() -> None:
    schedule = PollSchedule(random.Random(3))
    timer = schedule.timer(advice, lambda: 1.0)
    delays = [timer.next_delay(0) for _ in range(50)]
    assert all(4.5 <= d <= 5.5 for d in delays) and len(set(delays)) > 40


def test_the_time_scale_shrinks_the_advice() -> None:
    timer = PollSchedule(random.Random(3)).timer(advice, lambda: 0.01)
    assert 0.045 <= timer.next_delay(0) <= 0.055


def test_reported_durations_time_the_first_poll_right_after_the_end() -> None:
    schedule = PollSchedule(random.Random(1))
    assert run_task(schedule, 62.0, reported=True) == 13  # 5 s steps until done, as advised
    assert schedule.estimate == 62.0
    later = [run_task(schedule, 62.0, reported=True) for _ in range(20)]
    assert later == [1] * 20  # one poll, at the end


def test_without_reports_the_interval_still_cuts_polls() -> None:
    schedule = PollSchedule(random.Random(1))
    run_task(schedule, 62.0)
    later = [run_task(schedule, 62.0) for _ in range(20)]
    assert max(later) <= 1 + QUICK_POLLS and sum(later) / len(later) < 2
    assert 61.0 < (schedule.estimate or 0) < 66.0


def test_a_task_that_runs_long_falls_back_to_the_advice() -> None:
    schedule = PollSchedule(random.Random(1))
    schedule.estimate = 10.0
    timer = schedule.timer(advice, lambda: 1.0)
    waited = 0.0
    delays = []
    for _ in range(8):
        delay = timer.next_delay(waited)
        delays.append(delay)
        waited += delay
        timer.running(waited)
    assert delays[0] == 10.0
    assert all(d < 1 for d in delays[1 : 1 + QUICK_POLLS])
    assert all(4.5 <= d <= 5.5 for d in delays[1 + QUICK_POLLS :])


def test_token_bucket_spaces_requests() -> None:
    now = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    async def main() -> None:
        bucket = TokenBucket(60, clock=lambda: now[0], sleep=sleep)
        for _ in range(5):
            await bucket.acquire()

    asyncio.run(main())
    assert now[0] == 4.0  # one token at once, then one a second
    assert slept == [1.0, 1.0, 1.0, 1.0]
