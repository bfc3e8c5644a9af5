"""The engine's side of a shared state (apply/team.py) against a real PostgreSQL state: a
runner that stalled past its lease never submits for a key another runner took over."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from wanplan.apply.team import Runner
from wanplan.state.postgres import PostgresState, PostgresStore

LEASE = 0.4


async def call_here(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return function(*args, **kwargs)


@pytest.fixture
def writers(postgres_url: str) -> Iterator[tuple[PostgresState, PostgresState]]:
    store = PostgresStore(postgres_url)
    first, second = store.open_writer(), store.open_writer()
    yield first, second
    first.close()
    second.close()


def test_a_stalled_runner_knows_its_claim_was_taken_over(
    writers: tuple[PostgresState, PostgresState],
) -> None:
    """From review: a heartbeat that landed (renewing nothing) made the stalled runner trust
    its lapsed claim, and it submitted a key the other runner had taken over."""
    first, second = writers
    stalled = Runner(first.coordination(), call_here, "stalled", LEASE)
    other = second.coordination()

    async def scenario() -> tuple[bool, bool]:
        stalled.start()  # the heartbeat, every third of the lease
        await stalled.claim("K", lambda holder: None)
        held_at_first = await stalled.still_holds("K")
        time.sleep(LEASE * 2)  # the stall: the event loop blocked, no beat, the lease lapses
        assert other.claim("K", "other", 60) is None  # taken over
        await asyncio.sleep(LEASE)  # beats land again, renewing none of its claims
        try:
            return held_at_first, await stalled.still_holds("K")
        finally:
            await stalled.stop()

    held_at_first, held_after = asyncio.run(scenario())
    assert held_at_first and not held_after


def test_a_lapsed_claim_is_not_quietly_taken_back(
    writers: tuple[PostgresState, PostgresState],
) -> None:
    """A lapsed claim nobody took (the other runner made it and let go) is not ours again:
    the runner must look at the state again rather than submit."""
    first, _ = writers
    stalled = Runner(first.coordination(), call_here, "stalled", LEASE)

    async def scenario() -> bool:
        await stalled.claim("K", lambda holder: None)
        time.sleep(LEASE * 2)
        return await stalled.still_holds("K")

    assert asyncio.run(scenario()) is False
