"""The engine's side of a shared state (PRODUCT §11): this runner among others.

`Runner` turns the state's `Coordination` (claims, slots, rate, gates, all without waiting)
into what the engine awaits: a claim held (waiting while another live runner holds it), one of
the account's concurrent tasks, a request token, one model's submit turn, and the heartbeat
that keeps all of it alive. Every call goes through the engine's backend thread (`call`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from wanplan.errors import StateWriteError
from wanplan.state.base import Coordination

Call = Callable[..., Awaitable[Any]]

POLL_SECONDS = 0.05
"""How often a free slot, a token or a model's submit turn is asked for."""
CLAIM_POLL_SECONDS = (0.1, 1.0)
"""Asking again for a key another runner holds: from the first delay, doubling to the last."""


@dataclass(frozen=True)
class RunnerSettings:
    """An apply among others sharing the state."""

    coordination: Coordination
    holder: str
    lease_seconds: float
    reserved: bool = False
    """Whether it reserved its estimate against max_per_day (drawn as tasks are paid)."""


def runner_id() -> str:
    """Who holds a claim, as other runners' messages show it: host, pid and a nonce."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Runner:
    def __init__(
        self, coordination: Coordination, call: Call, holder: str, lease_seconds: float
    ) -> None:
        self.coordination = coordination
        self.call = call
        self.holder = holder
        self.lease_seconds = lease_seconds
        self._heartbeat: asyncio.Task[None] | None = None

    # ---- content keys ----------------------------------------------------------------------

    async def claim(self, content_key: str, on_wait: Callable[[str], None]) -> None:
        """Hold `content_key`: at once, or once its live holder finishes (or its lease lapses).
        `on_wait` hears of the other holder once."""
        delay, told = CLAIM_POLL_SECONDS[0], False
        while True:
            other = await self.call(
                self.coordination.claim, content_key, self.holder, self.lease_seconds
            )
            if other is None:
                return
            if not told:
                on_wait(other)
                told = True
            await asyncio.sleep(delay)
            delay = min(delay * 2, CLAIM_POLL_SECONDS[1])

    async def still_holds(self, content_key: str) -> str | None:
        """None when this runner still holds the key (its lease renewed), else who took it."""
        other: str | None = await self.call(
            self.coordination.claim, content_key, self.holder, self.lease_seconds
        )
        return other

    async def release(self, content_key: str) -> None:
        with contextlib.suppress(StateWriteError):  # it lapses with its lease
            await self.call(self.coordination.release_claim, content_key, self.holder)

    # ---- the account's limits --------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def slot(self, provider: str, limit: int) -> AsyncIterator[None]:
        """One of the account's `limit` tasks in flight at `provider`, across runners."""
        while True:
            slot = await self.call(
                self.coordination.take_slot, provider, limit, self.holder, self.lease_seconds
            )
            if slot is not None:
                break
            await asyncio.sleep(POLL_SECONDS)
        try:
            yield
        finally:
            with contextlib.suppress(StateWriteError):
                await self.call(self.coordination.release_slot, provider, slot, self.holder)

    @contextlib.asynccontextmanager
    async def gate(self, name: str) -> AsyncIterator[None]:
        """The one submit turn of `name` (a provider's model) among the runners."""
        while not await self.call(self.coordination.try_gate, name):
            await asyncio.sleep(POLL_SECONDS)
        try:
            yield
        finally:
            with contextlib.suppress(StateWriteError):  # it goes with the connection
                await self.call(self.coordination.release_gate, name)

    def rate(self, provider: str, per_minute: float) -> SharedRate:
        return SharedRate(self, provider, per_minute)

    # ---- alive -----------------------------------------------------------------------------

    def start(self) -> None:
        self._heartbeat = asyncio.create_task(self._beat(), name="wanplan-heartbeat")

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            with contextlib.suppress(StateWriteError):  # a missed beat: the next one may land
                await self.call(self.coordination.heartbeat, self.holder, self.lease_seconds)

    async def stop(self) -> None:
        """No heartbeat; everything this runner holds let go (left, it would lapse)."""
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
        with contextlib.suppress(StateWriteError):
            await self.call(self.coordination.release_all, self.holder)


class SharedRate:
    """A provider's request rate counted across runners: the same `acquire` as TokenBucket."""

    def __init__(self, runner: Runner, provider: str, per_minute: float) -> None:
        self.runner = runner
        self.provider = provider
        self.per_minute = per_minute
        self._turn = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._turn:  # this runner's requests, first come first served
            while True:
                wait: float = await self.runner.call(
                    self.runner.coordination.take_request, self.provider, self.per_minute
                )
                if wait <= 0:
                    return
                await asyncio.sleep(wait)
