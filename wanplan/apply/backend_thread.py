"""The one thread that calls the state and the cache during an apply, urgent calls first.

A state on a server answers in milliseconds, not microseconds, so its calls run off the event
loop (a slow round trip never stalls polls, downloads or submits) and one at a time, in order,
on one connection. Some calls are on the path that keeps the provider busy: a submit's journal
row and task id, a slot or a model's gate. Those are `urgent`: they go before the bulk of
recording results, in the order they were asked for among themselves.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")

_URGENT, _ROUTINE, _STOP = 0, 1, 2


class BackendThread:
    def __init__(self, name: str = "wanplan-state") -> None:
        self._jobs: queue.PriorityQueue[tuple[int, int, Callable[[], Any] | None, Future[Any]]]
        self._jobs = queue.PriorityQueue()
        self._order = itertools.count()
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while True:
            _, _, job, done = self._jobs.get()
            if job is None:
                return
            if not done.set_running_or_notify_cancel():
                continue
            try:
                done.set_result(job())
            except BaseException as exc:
                done.set_exception(exc)

    async def run(
        self, call: Callable[..., T], *args: Any, urgent: bool = False, **kwargs: Any
    ) -> T:
        """`call(*args, **kwargs)` on the thread. Shielded: once asked for, it is made even when
        the caller is cancelled (Ctrl-C) while it waits its turn."""
        done: Future[T] = Future()
        priority = _URGENT if urgent else _ROUTINE
        self._jobs.put(
            (priority, next(self._order), functools.partial(call, *args, **kwargs), done)
        )
        return await asyncio.shield(asyncio.wrap_future(done))

    def close(self) -> None:
        """Wait for every call asked for (a write a cancelled asset left queued is made before
        the state is handed back), then end the thread."""
        self._jobs.put((_STOP, next(self._order), None, Future()))
        self._thread.join()
