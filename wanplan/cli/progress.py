"""Apply progress: one plain line per event (a live view on terminals comes with issue 4)."""

from __future__ import annotations

from wanplan.apply.events import ApplyEvent, ApplyResult
from wanplan.cli.output import echo, style
from wanplan.money import format_usd
from wanplan.plan.model import Action

_COLOURS = {
    "created": "green",
    "replaced": "yellow",
    "reused": "cyan",
    "repaired": "magenta",
    "resumed": "blue",
    "deleted": "red",
    "failed": "red",
}


class EventPrinter:
    def __call__(self, event: ApplyEvent) -> None:
        if not event.address:
            echo(style(f"{event.kind}: {event.message}", bold=True))
            return
        kind = style(f"{event.kind:<9}", fg=_COLOURS.get(event.kind), bold=event.kind == "failed")
        elapsed = f" [{event.elapsed:.1f}s]" if event.elapsed else ""
        echo(f"{event.address}: {kind} {event.message}{elapsed}".rstrip())


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
    spent = format_usd(result.spent)
    if result.unknown_spend:
        spent += f" + {result.unknown_spend} of unknown price"
    line = f"Apply complete: {', '.join(parts)}. Spent: {spent}"
    if not result.failed and not result.interrupted:
        return style(line, fg="green", bold=True)
    lines = [style(line.replace("complete", "finished with failures"), fg="red", bold=True)]
    lines += [f"  failed {o.address}: {o.error}" for o in result.failed]
    return "\n".join(lines)
