"""Apply progress for people and for scripts.

- `EventPrinter`: one plain line per event that matters in a log (CI, pipes).
- `live_view.LiveView`: on a terminal, the same lines scroll above a view redrawn in place.
- `JsonEvents`: `--log-format json`, one JSON object per event, per line.
"""

from __future__ import annotations

import datetime
import json
import sys
from typing import Any, TextIO

from wanplan.apply.events import ApplyEvent, ApplyResult
from wanplan.cli.output import echo, style
from wanplan.money import as_decimal_string, format_total, total
from wanplan.plan.model import Action

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


def event_line(event: ApplyEvent) -> str:
    if not event.address:
        return style(f"{event.kind}: {event.message}", bold=True)
    kind = style(f"{event.kind:<9}", fg=_COLOURS.get(event.kind), bold=event.kind == "failed")
    elapsed = f" [{event.elapsed:.1f}s]" if event.elapsed else ""
    return f"{event.address}: {kind} {event.message}{elapsed}".rstrip()


TRANSIENT = frozenset({"submitting", "running", "downloading"})
"""Steps the live view shows as a state; a log keeps to what happened."""


class EventPrinter:
    def __call__(self, event: ApplyEvent) -> None:
        if event.kind not in TRANSIENT:
            echo(event_line(event))


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
        "uncollected_tasks": len(result.uncollected),
        "uncollected_cost": as_decimal_string(total(result.uncollected)[0]),
        "unknown_uncollected_cost": total(result.uncollected)[1],
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
    if result.uncollected:
        count = len(result.uncollected)
        line += (
            f" (plus {format_total(total(result.uncollected))} committed by {count} "
            f"task{'s' if count != 1 else ''} made but not collected: the next apply collects "
            f"{'them' if count != 1 else 'it'})"
        )
    if not result.failed and not result.interrupted:
        return style(line, fg="green", bold=True)
    if not result.failed:  # stopped on request: nothing failed, the rest resumes next time
        return style(line.replace("complete", "interrupted"), fg="yellow", bold=True)
    lines = [style(line.replace("complete", "finished with failures"), fg="red", bold=True)]
    lines += [f"  failed {o.address}: {o.error}" for o in result.failed]
    return "\n".join(lines)
