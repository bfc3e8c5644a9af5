"""Apply progress for people and for scripts.

- `EventPrinter`: one plain line per event (CI logs, pipes, NO_COLOR).
- `LiveView`: on a terminal, the same lines scroll above a status block redrawn in place: the
  assets in flight with their state and time, and done/total with spent against estimate.
- `JsonEvents`: `--log-format json`, one JSON object per line.
"""

from __future__ import annotations

import datetime
import json
import sys
import threading
import time
from decimal import Decimal
from typing import Any, TextIO

from wanplan.apply.events import ApplyEvent, ApplyResult
from wanplan.cli.output import echo, style
from wanplan.money import as_decimal_string, format_total, format_usd
from wanplan.plan.model import Action, Plan

_COLOURS = {
    "created": "green",
    "replaced": "yellow",
    "reused": "cyan",
    "repaired": "magenta",
    "resumed": "blue",
    "adopted": "blue",
    "deleted": "red",
    "failed": "red",
}
_FINAL = {"created", "replaced", "reused", "repaired", "resumed", "deleted", "failed"}


def event_line(event: ApplyEvent) -> str:
    if not event.address:
        return style(f"{event.kind}: {event.message}", bold=True)
    kind = style(f"{event.kind:<9}", fg=_COLOURS.get(event.kind), bold=event.kind == "failed")
    elapsed = f" [{event.elapsed:.1f}s]" if event.elapsed else ""
    return f"{event.address}: {kind} {event.message}{elapsed}".rstrip()


class EventPrinter:
    def __call__(self, event: ApplyEvent) -> None:
        echo(event_line(event))


class LiveView:
    """Event lines scroll; below them a block of at most `rows` assets in flight is redrawn
    (on every event and twice a second, so elapsed times move)."""

    def __init__(self, plan: Plan, stream: TextIO | None = None, rows: int = 12) -> None:
        self.stream = stream or sys.stdout
        self.rows = rows
        self.total = len(plan.changes)
        self.estimate = plan.estimated_cost
        self.started = time.monotonic()
        self.active: dict[str, tuple[str, float]] = {}
        self.done = 0
        self.spent = Decimal(0)
        self._drawn = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick, daemon=True)

    def __enter__(self) -> LiveView:
        self._ticker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._ticker.join()
        with self._lock:
            self._erase()

    def __call__(self, event: ApplyEvent) -> None:
        with self._lock:
            self._erase()
            if event.address and event.kind not in _FINAL:
                self.active[event.address] = (event.kind, time.monotonic() - event.elapsed)
            else:
                self.stream.write(event_line(event) + "\n")
                if event.address:
                    self.active.pop(event.address, None)
                    self.done += 1
                    self.spent += event.spent or 0
            self._draw()

    def _tick(self) -> None:
        while not self._stop.wait(0.5):
            with self._lock:
                self._erase()
                self._draw()

    def _erase(self) -> None:
        if self._drawn:
            self.stream.write(f"\x1b[{self._drawn}F\x1b[J")
            self._drawn = 0

    def _draw(self) -> None:
        now = time.monotonic()
        lines = [
            f"  {address}: {state} {now - since:5.1f}s"
            for address, (state, since) in list(self.active.items())[: self.rows]
        ]
        if len(self.active) > self.rows:
            lines.append(f"  … and {len(self.active) - self.rows} more in flight")
        lines.append(
            style(
                f"{self.done}/{self.total} done, {len(self.active)} in flight, "
                f"{format_usd(self.spent)} of {format_usd(self.estimate)} estimated, "
                f"{now - self.started:.0f}s",
                bold=True,
            )
        )
        self.stream.write("\n".join(lines) + "\n")
        self.stream.flush()
        self._drawn = len(lines)


class JsonEvents:
    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def write(self, document: dict[str, Any]) -> None:
        stamp = datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")
        self.stream.write(json.dumps({"time": stamp, **document}) + "\n")
        self.stream.flush()

    def __call__(self, event: ApplyEvent) -> None:
        self.write(
            {
                "event": event.kind,
                "address": event.address or None,
                "message": event.message,
                "elapsed": round(event.elapsed, 3),
                "spent": as_decimal_string(event.spent),
            }
        )


def summary_document(result: ApplyResult) -> dict[str, Any]:
    return {
        "event": "summary",
        "created": len(result.done(Action.CREATE)),
        "replaced": len(result.done(Action.REPLACE)),
        "reused": len(result.done(Action.REUSE)),
        "resumed": len(result.done(Action.RESUME)),
        "repaired": len(result.done(Action.REPAIR)),
        "deleted": len(result.done(Action.DELETE)),
        "failed": [{"address": o.address, "reason": o.error} for o in result.failed],
        "interrupted": [o.address for o in result.interrupted],
        "unrecorded": [
            {"address": t.address, "provider": t.provider, "task_id": t.task_id}
            for t in result.unrecorded
        ],
        "spent": as_decimal_string(result.spent),
        "unknown_spend": result.unknown_spend,
        "committed_spent": as_decimal_string(result.committed_spend[0]),
        "unknown_committed_spent": result.committed_spend[1],
    }


def render_summary(result: ApplyResult) -> str:
    parts = [
        f"{len(result.done(Action.CREATE))} created",
        f"{len(result.done(Action.REPLACE))} replaced",
        f"{len(result.done(Action.REUSE))} reused",
    ]
    for action, word in ((Action.RESUME, "resumed"), (Action.REPAIR, "repaired")):
        if result.done(action):
            parts.append(f"{len(result.done(action))} {word}")
    parts.append(f"{len(result.done(Action.DELETE))} deleted")
    parts.append(f"{len(result.failed)} failed")
    if result.interrupted:
        parts.append(f"{len(result.interrupted)} interrupted")
    spent = format_total((result.spent, result.unknown_spend))
    line = f"Apply complete: {', '.join(parts)}. Spent: {spent}"
    if any(o.ok and o.committed_before for o in result.outcomes):
        line += f" ({format_total(result.committed_spend)} of it committed before this apply)"
    if not result.failed and not result.interrupted:
        return style(line, fg="green", bold=True)
    if not result.failed:  # stopped on request: nothing failed, the rest resumes next time
        return style(line.replace("complete", "interrupted"), fg="yellow", bold=True)
    lines = [style(line.replace("complete", "finished with failures"), fg="red", bold=True)]
    lines += [f"  failed {o.address}: {o.error}" for o in result.failed]
    return "\n".join(lines)
