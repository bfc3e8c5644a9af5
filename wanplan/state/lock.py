"""Who holds the state lock, and whether that process is still alive.

The lock itself is a row in the state (see SqliteState.acquire_lock), so a future PostgreSQL
backend can keep the same semantics with an advisory lock. A holder on this host whose process is
gone (kill -9, a crashed CI runner) is broken with a warning; one on another host can only be
broken by `wanplan force-unlock ID`.
"""

from __future__ import annotations

import datetime
import os
import socket
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from wanplan.errors import StateError


class LockHolder(NamedTuple):
    id: str
    pid: int
    host: str
    command: str
    started_at: str
    process_start: str
    """The process's start time from /proc (Linux), so a reused pid is not taken for alive."""

    def describe(self) -> str:
        return (
            f"`{self.command}` (pid {self.pid} on {self.host}, since {self.started_at}, "
            f"lock ID {self.id})"
        )


def _process_start(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    return stat.rpartition(")")[2].split()[19]


def this_process(command: str | None = None) -> LockHolder:
    pid = os.getpid()
    return LockHolder(
        id=uuid.uuid4().hex[:12],
        pid=pid,
        host=socket.gethostname(),
        command=command or " ".join(["wanplan", *sys.argv[1:]])[:200],
        started_at=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        process_start=_process_start(pid),
    )


def is_alive(holder: LockHolder) -> bool | None:
    """True or False for a holder on this host; None when it runs elsewhere (unknowable)."""
    if holder.host != socket.gethostname():
        return None
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A different start time means the pid was reused by another process.
    return not holder.process_start or _process_start(holder.pid) == holder.process_start


LOCK_POLL_SECONDS = 0.25


def wait_for_lock(
    try_lock: Callable[[LockHolder], tuple[LockHolder | None, list[str]]],
    holder: LockHolder,
    timeout: float,
    on_wait: Callable[[LockHolder], None] | None = None,
    if_gone: str | None = None,
) -> list[str]:
    """Take the state lock through a backend's `try_lock`, trying for up to `timeout` seconds;
    returns its warnings (a dead holder taken over), or raises StateError naming the holder.
    `if_gone`: what happens to a holder that died, where it needs no `force-unlock`."""
    deadline = time.monotonic() + timeout
    warned = False
    while True:
        current, warnings = try_lock(holder)
        if current is None:
            return warnings
        if time.monotonic() >= deadline:
            gone = if_gone or f"if it is gone, run `wanplan force-unlock {current.id}`"
            raise StateError(
                f"the state is locked by {current.describe()}; wait for it (--lock-timeout); {gone}"
            )
        if on_wait is not None and not warned:
            on_wait(current)
            warned = True
        time.sleep(min(LOCK_POLL_SECONDS, max(deadline - time.monotonic(), 0.01)))
