"""The terraform-like text plan."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from wanplan.errors import printable
from wanplan.money import format_total, format_usd, total
from wanplan.plan.model import SYMBOLS, Action, Plan, PlanChange
from wanplan.render.diff_lines import diff_line
from wanplan.render.style import Styler, plain

_COLOURS = {
    Action.CREATE: "green",
    Action.REPLACE: "yellow",
    Action.REUSE: "cyan",
    Action.RESUME: "blue",
    Action.REPAIR: "magenta",
    Action.DELETE: "red",
    Action.UNCONFIRMED: "red",
}
_LEGEND = {
    Action.CREATE: "create",
    Action.REPLACE: "replace (generate again)",
    Action.REUSE: "reuse a cached result",
    Action.RESUME: "resume an earlier task",
    Action.REPAIR: "repair the output file",
    Action.DELETE: "delete",
    Action.UNCONFIRMED: "unconfirmed (an earlier submit may have made a task; not paid again)",
}
_ORDER = (
    Action.CREATE,
    Action.REPLACE,
    Action.REUSE,
    Action.RESUME,
    Action.REPAIR,
    Action.DELETE,
    Action.UNCONFIRMED,
)


def describe(change: PlanChange) -> str:
    asset = change.asset
    if change.action is Action.DELETE:
        if change.reasons:  # its file belongs to another address now
            return f"forget it ({', '.join(change.reasons)})"
        path = change.previous.output_path if change.previous else "?"
        return f"forget it and remove {path}"
    if change.action is Action.RESUME and change.task is not None:
        collect = f"collect task {change.task.task_id} from {change.task.provider}"
        adopted = [r for r in change.reasons if r.startswith("adopted")]
        return f"{collect} ({adopted[0]})" if adopted else collect
    if (
        change.action in (Action.REPLACE, Action.REUSE, Action.REPAIR, Action.UNCONFIRMED)
        and change.reasons
    ):
        return ", ".join(change.reasons)
    if asset is None:
        return ""
    shape = " ".join(
        part
        for part in (
            asset.mode,
            asset.model_id,
            asset.resolution,
            f"{asset.duration}s" if asset.duration else "",
        )
        if part
    )
    return f"{shape}" + (f" ({', '.join(change.reasons)})" if change.reasons else "")


def change_cost(change: PlanChange) -> str:
    """A change's new spend, or for an unconfirmed one what it may have cost already."""
    if change.action is Action.DELETE:
        return ""
    if change.action is Action.UNCONFIRMED:
        return f"{format_usd(change.cost_at_risk)} at risk"
    if change.action is Action.RESUME:
        return f"{format_usd(change.committed_cost)} committed"
    return format_usd(change.estimated_cost)


def count_line(label: str, changes: Sequence[PlanChange]) -> str:
    """`Plan: 2 to create, 1 to replace, 0 to delete. Estimated cost: $1.50`, as PRODUCT §5
    writes it (scripts read it); what else the plan does follows it."""
    tally = Counter(c.action for c in changes)
    counts = (
        f"{tally[Action.CREATE]} to create, {tally[Action.REPLACE]} to replace, "
        f"{tally[Action.DELETE]} to delete"
    )
    cost = format_total(total([c.estimated_cost for c in changes]))
    line = f"{label}: {counts}. Estimated cost: {cost}"
    if tally[Action.RESUME]:
        line += f" ({committed_phrase(changes)})"
    if tally[Action.UNCONFIRMED]:
        at_risk = total([c.cost_at_risk for c in changes if c.action is Action.UNCONFIRMED])
        line += (
            f" ({tally[Action.UNCONFIRMED]} unconfirmed: {format_total(at_risk)} at risk, "
            "not paid again)"
        )
    also = [f"{tally[a]} to {a.value}" for a in (Action.REUSE, Action.REPAIR) if tally[a]]
    if also:
        line += f". Also {', '.join(also)}"
    return line


def assets(count: int) -> str:
    """`1 asset`, `3 assets`."""
    return f"{count} asset{'' if count == 1 else 's'}"


def committed(changes: Sequence[PlanChange]) -> tuple[str, str]:
    """What the resumed tasks cost, paid already, and how many they are: (`$5.00`, `10 tasks`)."""
    resumed = [c for c in changes if c.action is Action.RESUME]
    tasks = f"{len(resumed)} task{'s' if len(resumed) != 1 else ''}"
    return format_total(total([c.committed_cost for c in resumed])), tasks


def committed_phrase(changes: Sequence[PlanChange]) -> str:
    """`plus $5.00 already committed by 10 tasks in flight`."""
    amount, tasks = committed(changes)
    return f"plus {amount} already committed by {tasks} in flight"


def closing_line(plan: Plan) -> str:
    return count_line("Plan", plan.changes)


def render_text(plan: Plan, style: Styler = plain) -> str:
    if not plan.has_changes:
        return (
            style("No changes.", bold=True)
            + f" {assets(plan.unchanged)} {'matches' if plan.unchanged == 1 else 'match'} the specs"
            f" (profile {plan.profile}).\n"
        )
    width = max(len(c.address) for c in plan.changes)
    details = {c.address + c.action: describe(c) for c in plan.changes}
    detail_width = min(max(len(d) for d in details.values()), 60)
    lines = [f"wanplan will perform these actions (profile {plan.profile}):", ""]
    for change in plan.changes:
        colour = _COLOURS[change.action]
        cost = change_cost(change)
        head = style(f"  {SYMBOLS[change.action]} {change.address:<{width}}", fg=colour)
        detail = details[change.address + change.action]
        lines.append(f"{head}  {change.action.value:<8} {detail:<{detail_width}}  {cost}".rstrip())
        for diff in change.diff:
            lines.append(f"      {style('~', fg=colour)} {printable(diff_line(diff))}")
        for warning in change.warnings:
            lines.append(style(f"      note: {warning}", dim=True))
    used = [a for a in _ORDER if plan.count(a)]
    lines.append("")
    lines.append(
        "Legend: " + ", ".join(f"{style(SYMBOLS[a], fg=_COLOURS[a])} {_LEGEND[a]}" for a in used)
    )
    if plan.unchanged:
        lines.append(f"{plan.unchanged} unchanged.")
    lines.append("")
    lines.append(style(closing_line(plan), bold=True))
    return "\n".join(lines) + "\n"
