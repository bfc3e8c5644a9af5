"""Polls and submits go before collecting results, but only while a slot needs refilling, and
never for longer than HOLD."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest

from tests.apply.test_faults import spec
from tests.conftest import Run, emulator_for_wanplan, write_spec
from wanplan.apply import engine, foreground, polling
from wanplan.apply.foreground import Foreground
from wanplan.emulator import Knobs

HOLD = 2.0
BUSY = 0.3
"""How long a fake poll or submit is under way: collecting that waits for it takes at least
this, collecting that does not takes far less (bounds with room for a loaded machine)."""
AT_ONCE = BUSY / 2


@pytest.fixture(autouse=True)
def hold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(foreground, "HOLD", HOLD)
    monkeypatch.setattr(foreground, "QUIET", 0.05)


async def busy(context: contextlib.AbstractContextManager[object]) -> None:
    with context:
        await asyncio.sleep(BUSY)


async def time_collecting(
    front: Foreground, *others: Coroutine[Any, Any, None], queued: bool = True
) -> float:
    """Seconds until collecting_turn returns, counted from when `others` start, with an asset
    waiting for a provider slot (unless `queued` is False)."""
    release = asyncio.Event()

    async def waiting_for_a_slot() -> None:
        with front.queued():
            await release.wait()

    started = time.monotonic()
    tasks = [asyncio.ensure_future(other) for other in others]
    if queued:
        tasks.append(asyncio.ensure_future(waiting_for_a_slot()))
    await asyncio.sleep(0)
    try:
        await front.collecting_turn(started)
        return time.monotonic() - started
    finally:
        release.set()
        await asyncio.gather(*tasks)


def test_nothing_queued_collects_at_once_even_with_a_poll_in_flight() -> None:
    front = Foreground()
    taken = asyncio.run(time_collecting(front, busy(front.polling()), queued=False))
    assert taken < AT_ONCE


def test_a_submit_in_flight_goes_first_even_with_nothing_queued() -> None:
    front = Foreground()
    taken = asyncio.run(time_collecting(front, busy(front.submitting()), queued=False))
    assert BUSY <= taken < HOLD


def test_a_poll_in_flight_goes_first_while_a_slot_needs_refilling() -> None:
    front = Foreground()
    assert BUSY <= asyncio.run(time_collecting(front, busy(front.polling()))) < HOLD


def test_a_poll_due_soon_is_sent_and_answered_first() -> None:
    async def poll(front: Foreground) -> None:
        with front.due(0.03):
            await asyncio.sleep(0.03)
        await busy(front.polling())

    front = Foreground()
    assert BUSY + 0.03 <= asyncio.run(time_collecting(front, poll(front))) < HOLD


def test_a_poll_due_later_does_not_hold_collecting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(foreground, "QUIET", 0.2)

    async def poll(front: Foreground) -> None:
        with front.due(0.1) as due:
            due.move(1.0)  # the task learned it has longer to wait
            await asyncio.sleep(BUSY)

    front = Foreground()
    assert asyncio.run(time_collecting(front, poll(front))) < AT_ONCE


def test_a_poll_long_overdue_does_not_hold_collecting() -> None:
    async def late(front: Foreground) -> None:
        with front.due(-1.0):  # its task has not woken yet: nothing to wait for
            await asyncio.sleep(BUSY)

    front = Foreground()
    assert asyncio.run(time_collecting(front, late(front))) < AT_ONCE


def test_collecting_waits_at_most_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(foreground, "HOLD", 0.5)

    async def stuck(front: Foreground) -> None:
        with front.submitting():  # a submit stuck behind its rate limit, say
            await asyncio.sleep(3 * HOLD)

    async def scenario() -> float:
        front = Foreground()
        task = asyncio.ensure_future(stuck(front))
        try:
            return await time_collecting(front)
        finally:
            task.cancel()

    assert 0.5 <= asyncio.run(scenario()) < HOLD


def test_asking_again_after_a_download_slot_does_not_wait_longer() -> None:
    async def scenario() -> float:
        front = Foreground()
        with front.submitting():
            started = time.monotonic()
            await front.collecting_turn(ready_at=started - HOLD)  # held its HOLD already
            return time.monotonic() - started

    assert asyncio.run(scenario()) < AT_ONCE


def test_a_freed_slot_is_refilled_before_its_result_is_downloaded(
    run: Run, empty_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Eight tasks end together with eight more assets waiting: all eight submits that refill the
    slots reach the provider before any of their results is downloaded."""
    for module in (polling, engine):  # the wave's first polls go out together
        monkeypatch.setattr(module, "JITTER", 0.0)
    knobs = Knobs(latency=0.4, time_scale=0.01)
    with emulator_for_wanplan(monkeypatch, knobs, "sk-foreground") as emulator:
        write_spec(empty_project, "a.toml", spec("apixo", 16))
        result = run(empty_project, "apply", "-y", "--concurrency", "8")
        assert result.exit_code == 0, result.output
        kinds = [
            "download" if r.provider == "files" else "submit" if r.method == "POST" else "poll"
            for r in emulator.log
        ]
    first_download = kinds.index("download")
    assert kinds.count("submit") == 16
    assert "submit" not in kinds[first_download:]
    assert kinds[first_download:].count("download") == 16
