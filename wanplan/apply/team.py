"""The engine's side of a shared state (PRODUCT §11): this runner among others.

`Runner` turns the state's `Coordination` (claims, slots, rate, gates, all without waiting)
into what the engine awaits: a claim held (waiting while another live runner holds it), one of
the account's concurrent tasks, a request token, one model's submit turn, and the heartbeat
that keeps all of it alive. Every call goes through the engine's backend thread (`call`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from wanplan.apply.failures import AssetFailed
from wanplan.errors import StateWriteError
from wanplan.state.base import Coordination

Call = Callable[..., Awaitable[Any]]

POLL_SECONDS = 0.05
"""How often a free slot, a token or a model's submit turn is asked for (by one of this
runner's waiters at a time)."""
GATE_WAIT_SECONDS = 120.0
"""The longest wait for a model's gate alone (to read its task list) while runners submit."""
CLAIM_WATCH_SECONDS = 0.25
"""How often the claims of other runners that this one waits on are looked at (one query for
all of them)."""


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
        self._watcher: asyncio.Task[None] | None = None
        self._waiting: dict[str, asyncio.Event] = {}
        """Keys held by other runners that this one waits for: set when no longer held."""
        self._slots: dict[str, _Slots] = {}
        self._claimed_at: dict[str, float] = {}
        """When each key held was claimed (monotonic)."""
        self._renewed_at = float("-inf")
        """When the last heartbeat landed (monotonic)."""

    # ---- content keys ----------------------------------------------------------------------

    async def claim(self, content_key: str, on_wait: Callable[[str], None]) -> None:
        """Hold `content_key`: at once, or once its live holder lets go (or its lease lapses).
        `on_wait` hears of the other holder once."""
        told = False
        while True:
            asked = time.monotonic()  # the lease runs from no earlier than this
            other = await self.call(
                self.coordination.claim, content_key, self.holder, self.lease_seconds
            )
            if other is None:
                self._claimed_at[content_key] = asked
                return
            if not told:
                on_wait(other)
                told = True
            released = self._waiting.setdefault(content_key, asyncio.Event())
            if self._watcher is None or self._watcher.done():
                self._watcher = asyncio.create_task(self._watch(), name="wanplan-claims")
            try:
                await released.wait()
            finally:
                self._waiting.pop(content_key, None)

    async def _watch(self) -> None:
        """While this runner waits on other runners' keys: one look at the live claims a
        beat, and every waiter whose key is no longer held by another tries again."""
        while self._waiting:
            await asyncio.sleep(CLAIM_WATCH_SECONDS)
            try:
                live: dict[str, str] = await self.call(self.coordination.live_claims)
            except StateWriteError:
                live = {}  # each waiter asks for its claim again, and hears the error itself
            for key, released in list(self._waiting.items()):
                if live.get(key, self.holder) == self.holder:
                    released.set()

    async def still_holds(self, content_key: str) -> bool:
        """Whether this runner still holds the key. A claim whose lease lapsed (this runner
        stalled) is not taken back: another runner may be making it. Asked of the state only
        when the claim, or the last heartbeat that renewed every claim, is older than half a
        lease: until then no one can have taken it."""
        since = max(self._claimed_at.get(content_key, float("-inf")), self._renewed_at)
        if time.monotonic() - since < self.lease_seconds / 2:
            return True
        asked = time.monotonic()
        held: bool = await self.call(
            self.coordination.renew_claim, content_key, self.holder, self.lease_seconds
        )
        if held:
            self._claimed_at[content_key] = asked
        return held

    async def release(self, content_key: str) -> None:
        self._claimed_at.pop(content_key, None)
        with contextlib.suppress(StateWriteError):  # it lapses with its lease
            await self.call(self.coordination.release_claim, content_key, self.holder)

    # ---- the account's limits --------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def slot(self, provider: str, limit: int) -> AsyncIterator[None]:
        """One of the account's `limit` tasks in flight at `provider`, across runners."""
        pool = self._slots.get(provider)
        if pool is None:
            pool = self._slots[provider] = _Slots(self, provider, limit)
        slot = await pool.take()
        try:
            yield
        finally:
            await pool.give(slot)

    @contextlib.asynccontextmanager
    async def gate(self, name: str, *, shared: bool) -> AsyncIterator[None]:
        """The gate of `name` (a provider's model) among the runners: `shared` for a submit
        (runners submit side by side), alone to read the task list for an unknown submit (no
        runner's submit of it is then in flight). Alone, it is waited for at most
        GATE_WAIT_SECONDS (other runners submitting without a pause): the asset then fails,
        its submit still unknown, for the next apply to settle."""
        deadline = time.monotonic() + GATE_WAIT_SECONDS
        while not await self._try_gate(name, shared):
            if not shared and time.monotonic() > deadline:
                raise AssetFailed(
                    f"other runners kept submitting {name} for {GATE_WAIT_SECONDS:.0f} s, so its "
                    "task list could not be read; apply again to settle it"
                )
            await asyncio.sleep(POLL_SECONDS)
        try:
            yield
        finally:
            with contextlib.suppress(StateWriteError):  # it goes with the connection
                await self.call(self.coordination.release_gate, name, shared=shared)

    async def _try_gate(self, name: str, shared: bool) -> bool:
        """One attempt; a gate taken just as this asset was cancelled (Ctrl-C) is let go, not
        left blocking every runner's submits of the model until this apply ends."""
        attempt = asyncio.ensure_future(self.call(self.coordination.try_gate, name, shared=shared))
        try:
            taken: bool = await asyncio.shield(attempt)
        except asyncio.CancelledError:
            with contextlib.suppress(StateWriteError):
                if await attempt:
                    await self.call(self.coordination.release_gate, name, shared=shared)
            raise
        return taken

    def rate(self, provider: str, per_minute: float) -> SharedRate:
        return SharedRate(self, provider, per_minute)

    # ---- alive -----------------------------------------------------------------------------

    def start(self) -> None:
        self._heartbeat = asyncio.create_task(self._beat(), name="wanplan-heartbeat")

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            sent, holding = time.monotonic(), len(self._claimed_at)
            with contextlib.suppress(StateWriteError):  # a missed beat: the next one may land
                renewed = await self.call(
                    self.coordination.heartbeat, self.holder, self.lease_seconds
                )
                # Trusted only when no claim was lost (one that lapsed and was taken over):
                # otherwise each key is asked about before its submit.
                self._renewed_at = sent if renewed >= holding else float("-inf")

    async def stop(self) -> None:
        """No heartbeat; everything this runner holds let go (left, it would lapse)."""
        for task in (self._heartbeat, self._watcher):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        with contextlib.suppress(StateWriteError):
            await self.call(self.coordination.release_all, self.holder)


class _Slots:
    """This runner's slots at one provider. A slot it frees while another of its assets waits
    is handed over directly (no round trip, and the account's count unchanged); otherwise it
    goes back to the account. While assets wait, one poller asks the state for a free one."""

    def __init__(self, runner: Runner, provider: str, limit: int) -> None:
        self.runner = runner
        self.provider = provider
        self.limit = limit
        self.waiters: collections.deque[asyncio.Future[int]] = collections.deque()
        self.poller: asyncio.Task[None] | None = None
        self._giving: set[asyncio.Future[None]] = set()

    async def take(self) -> int:
        waiter: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        if self.poller is None or self.poller.done():
            self.poller = asyncio.create_task(self._poll(), name=f"wanplan-slots-{self.provider}")
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # handed a slot as it was cancelled
                giving = asyncio.ensure_future(self.give(waiter.result()))
                self._giving.add(giving)
                giving.add_done_callback(self._giving.discard)
            waiter.cancel()
            raise

    async def give(self, slot: int) -> None:
        if not self._hand(slot):
            with contextlib.suppress(StateWriteError):  # it lapses with its lease
                await self.runner.call(
                    self.runner.coordination.release_slot, self.provider, slot, self.runner.holder
                )

    def _fail_waiters(self, error: StateWriteError) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_exception(AssetFailed(f"not submitted: {error}"))

    def _hand(self, slot: int) -> bool:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(slot)
                return True
        return False

    async def _poll(self) -> None:
        runner = self.runner
        failing_since: float | None = None
        while any(not waiter.done() for waiter in self.waiters):
            slot = None
            try:
                slot = await runner.call(
                    runner.coordination.take_slot,
                    self.provider,
                    self.limit,
                    runner.holder,
                    runner.lease_seconds,
                )
                failing_since = None
            except StateWriteError as exc:
                failing_since = failing_since or time.monotonic()
                if time.monotonic() - failing_since > runner.lease_seconds:
                    self._fail_waiters(exc)  # not a hang: the assets waiting fail, one line each
                    return
            if slot is None:
                await asyncio.sleep(POLL_SECONDS)
            elif not self._hand(slot):
                await self.give(slot)


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
