"""Polls and submits go before collecting results, but only while a slot needs refilling, and
never for longer than HOLD."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.conftest import Run, emulator_for_wanplan, write_spec
from tests.test_faults import spec
from wanplan.apply import foreground
from wanplan.apply.foreground import Foreground
from wanplan.emulator import Knobs


@pytest.fixture(autouse=True)
def short_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(foreground, "HOLD", 0.5)
    monkeypatch.setattr(foreground, "QUIET", 0.05)


async def waited_for_turn(front: Foreground) -> float:
    started = time.monotonic()
    await front.collecting_turn()
    return time.monotonic() - started


async def with_one_queued(front: Foreground, *others: asyncio.Future[None]) -> float:
    """Time collecting_turn while a task waits for a provider slot."""
    release = asyncio.Event()

    async def queued() -> None:
        with front.queued():
            await release.wait()

    waiter = asyncio.create_task(queued())
    await asyncio.sleep(0)
    try:
        return await waited_for_turn(front)
    finally:
        release.set()
        await waiter
        await asyncio.gather(*others)


def test_nothing_queued_collects_at_once_even_with_a_poll_in_flight() -> None:
    async def scenario() -> float:
        front = Foreground()
        with front.polling():
            return await waited_for_turn(front)

    assert asyncio.run(scenario()) < 0.02


def test_a_submit_in_flight_goes_first_even_with_nothing_queued() -> None:
    async def scenario() -> float:
        front = Foreground()

        async def submit() -> None:
            with front.submitting():
                await asyncio.sleep(0.15)

        task = asyncio.ensure_future(submit())
        await asyncio.sleep(0)
        taken = await waited_for_turn(front)
        await task
        return taken

    assert 0.14 <= asyncio.run(scenario()) < 0.4


def test_a_poll_in_flight_goes_first_while_a_slot_needs_refilling() -> None:
    async def scenario() -> float:
        front = Foreground()

        async def poll() -> None:
            with front.polling():
                await asyncio.sleep(0.15)

        return await with_one_queued(front, asyncio.ensure_future(poll()))

    assert 0.14 <= asyncio.run(scenario()) < 0.4


def test_a_poll_due_soon_is_sent_and_answered_first() -> None:
    async def scenario() -> float:
        front = Foreground()

        async def poll() -> None:
            with front.due(0.03):
                await asyncio.sleep(0.03)
            with front.polling():
                await asyncio.sleep(0.1)

        task = asyncio.ensure_future(poll())
        await asyncio.sleep(0)
        return await with_one_queued(front, task)

    assert 0.12 <= asyncio.run(scenario()) < 0.4


def test_a_poll_due_later_does_not_hold_collecting() -> None:
    async def scenario() -> float:
        front = Foreground()
        with front.due(0.3):
            return await with_one_queued(front)

    assert asyncio.run(scenario()) < 0.04


def test_collecting_waits_at_most_hold() -> None:
    async def scenario() -> float:
        front = Foreground()
        with front.submitting():  # a submit stuck behind its rate limit, say
            return await with_one_queued(front)

    assert 0.45 <= asyncio.run(scenario()) < 0.8


def test_a_freed_slot_is_refilled_before_its_result_is_downloaded(
    run: Run, empty_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Eight tasks end together with eight more assets waiting: all eight submits that refill the
    slots reach the provider before any of their results is downloaded."""
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
