"""Who goes first when many tasks end together: the requests that keep a provider's slots busy
(the submit that refills a slot, the poll that finds a task done) before the work that only
collects results (download, output file, provenance).

A slot left idle while results download is throughput lost for good: every later task of that
slot starts as much later. A download a little later costs nothing: a result URL lives for
hours. So collecting waits, for at most HOLD seconds, until no submit is under way and, while
assets wait for a slot, no poll is under way or due within QUIET seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Iterator

HOLD = 1.0
"""The longest a result waits for a quiet moment: a provider polled without pause (thousands
of tasks) never gives one, and its results must still come in."""
QUIET = 0.05
"""A poll due sooner than this would queue behind the collecting work it lets start."""
_STEP = 0.001


class _InFlight:
    def __init__(self) -> None:
        self.count = 0
        self.none = asyncio.Event()
        self.none.set()

    @contextlib.contextmanager
    def one(self) -> Iterator[None]:
        self.count += 1
        self.none.clear()
        try:
            yield
        finally:
            self.count -= 1
            if not self.count:
                self.none.set()


class Due:
    """A poll waiting for its time; `move` when that time changes."""

    def __init__(self, deadlines: dict[Due, float], delay: float) -> None:
        self._deadlines = deadlines
        self.move(delay)

    def move(self, delay: float) -> None:
        self._deadlines[self] = time.monotonic() + delay


class Foreground:
    def __init__(self) -> None:
        self._submits = _InFlight()
        self._polls = _InFlight()
        self._due: dict[Due, float] = {}
        self._queued = 0

    def submitting(self) -> contextlib.AbstractContextManager[None]:
        """A submit under way (waiting for its rate limit included)."""
        return self._submits.one()

    def polling(self) -> contextlib.AbstractContextManager[None]:
        """A poll under way (waiting for its rate limit included)."""
        return self._polls.one()

    @contextlib.contextmanager
    def queued(self) -> Iterator[None]:
        """An asset waiting for a provider slot: only while there is one does a poll that may
        free a slot go first; the last tasks' results are collected as soon as they end."""
        self._queued += 1
        try:
            yield
        finally:
            self._queued -= 1

    @contextlib.contextmanager
    def due(self, delay: float) -> Iterator[Due]:
        """A poll waiting to be sent in `delay` seconds."""
        due = Due(self._due, delay)
        try:
            yield due
        finally:
            del self._due[due]

    async def collecting_turn(self, ready_at: float) -> None:
        """Return when collecting a result would not hold up a submit or a slot-freeing poll,
        or HOLD seconds after `ready_at` (monotonic), when the result was ready: asking again
        (after waiting for a download slot) does not wait longer."""
        # A task woken by the slot just given back reaches its submit first.
        await asyncio.sleep(0)
        give_up = ready_at + HOLD
        while (left := give_up - time.monotonic()) > 0:
            if self._submits.count:
                await _until(self._submits.none, left)
            elif not self._queued:
                return
            elif self._polls.count:
                await _until(self._polls.none, left)
            else:
                now = time.monotonic()
                # A poll long overdue is one whose task has not woken yet: not worth waiting for.
                upcoming = (deadline for deadline in self._due.values() if deadline > now - QUIET)
                until_next = min(upcoming, default=math.inf) - now
                if until_next > QUIET:
                    return
                # Sleep past the poll's own timer, so that it is under way when we look again.
                await asyncio.sleep(min(max(until_next, 0.0) + _STEP, left))


async def _until(event: asyncio.Event, timeout: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout)
