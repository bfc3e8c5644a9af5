"""The plan as a pull-request comment. The hidden marker lets a bot find and update it.

It leads with what a reviewer decides on: the cost of this change and the full rebuild cost of
the catalog before and after it. It stays under GitHub's comment limit by summarising the middle
of a long table of changes (the first and last rows stay, with the count and cost of the rest).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from decimal import Decimal

from wanplan.errors import printable
from wanplan.money import format_total, format_usd, total
from wanplan.plan.compare import Comparison
from wanplan.plan.model import SYMBOLS, Action, Plan, PlanChange
from wanplan.render.diff_lines import diff_line
from wanplan.render.text import assets, change_cost, committed, count_line, describe

MARKER_NAME = "wanplan"
MARKER = f"<!-- {MARKER_NAME} -->"
GITHUB_COMMENT_LIMIT = 65_536
MAX_CHARS = 60_000
"""Our own ceiling: below GitHub's limit with room for a bot's header or footer."""
MAX_DETAILS = 200
"""Characters of one change's details; longer ones are cut with an ellipsis."""
DIFF_WIDTH = 90
"""About how wide one field's before → after is in the table."""


def _cell(text: str) -> str:
    text = text.replace("\n", " ")
    if len(text) > MAX_DETAILS:
        text = text[: MAX_DETAILS - 1] + "…"
    return text.replace("&", "&amp;").replace("<", "&lt;").replace("|", "\\|")


_MARKDOWN = str.maketrans({c: f"\\{c}" for c in "\\`*_[]!#~"})


def _text_cell(text: str) -> str:
    """Specs text (a prompt) shown as itself: no emphasis, links, images, code or @mentions."""
    return _cell(printable(text).translate(_MARKDOWN)).replace("@", "&#64;")


def _delta(before: tuple[Decimal, int], after: tuple[Decimal, int]) -> str:
    change = after[0] - before[0]
    sign = "+" if change >= 0 else "-"
    # Where prices are unknown, only the known part's change is a figure.
    known = " of known prices" if before[1] or after[1] else ""
    return (
        f"{format_total(before)} → {format_total(after)} ({sign}{format_usd(abs(change))}{known})"
    )


def _row(change: PlanChange) -> str:
    cost = change_cost(change)
    details = describe(change)
    if change.warnings:
        details += " — " + "; ".join(change.warnings)
    parts = [details, *(diff_line(d, DIFF_WIDTH) for d in change.diff)]
    cell = "<br>".join(_text_cell(part) for part in parts)
    return (
        f"| `{SYMBOLS[change.action]}` | `{_cell(change.address)}` | {change.action.value} "
        f"| {cell} | {cost} |"
    )


def _elided(changes: Sequence[PlanChange]) -> str:
    tally = Counter(c.action.value for c in changes)
    counts = ", ".join(f"{n} {action}" for action, n in sorted(tally.items()))
    cost = format_total(total([c.estimated_cost for c in changes]))
    return (
        f"| | … | | *{len(changes)} more changes not shown ({counts}); the full plan is in "
        f"`wanplan plan` or its JSON* | {cost} |"
    )


def _table(changes: Sequence[PlanChange], total_row: str, room: int) -> list[str]:
    """The table of changes within `room` characters: all rows, or the first and last ones
    around a summary of the middle."""
    head = ["| | asset | action | details | estimated cost |", "|---|---|---|---|---:|"]
    rows = [_row(c) for c in changes]
    if sum(len(r) + 1 for r in rows) + len(total_row) + 200 <= room:
        return [*head, *rows, total_row]
    # Keep as many rows at each end as fit; the cut is found by halving.
    low, high = 0, len(rows) // 2
    while low < high:
        keep = (low + high + 1) // 2
        size = sum(len(r) + 1 for r in rows[:keep] + rows[-keep:]) + len(total_row) + 400
        if size <= room:
            low = keep
        else:
            high = keep - 1
    keep = low
    middle = changes[keep : len(changes) - keep]
    kept = rows[:keep] + [_elided(middle)] + (rows[-keep:] if keep else [])
    return [*head, *kept, total_row]


def render_markdown(plan: Plan, comparison: Comparison | None = None) -> str:
    lines = [MARKER, f"### wanplan plan (profile `{plan.profile}`)", ""]
    changes: Sequence[PlanChange] = comparison.own if comparison else plan.changes
    if comparison is not None:
        label = "This change"
        added, changed, removed = (
            len(comparison.added),
            len(comparison.changed),
            len(comparison.removed),
        )
        lines.append(
            f"Compared with the base branch's plan `{comparison.label}`: {added} added, "
            f"{changed} changed, {removed} removed."
        )
    else:
        label = "Plan"
        if plan.lineage:
            lines.append(
                f"Compared with the last applied state: serial {plan.serial}, "
                f"lineage `{plan.lineage[:8]}`."
            )
        else:
            lines.append("Compared with an empty state: nothing has been applied yet.")
    lines.append("")
    before = comparison.rebuild_before if comparison else plan.rebuild_cost_before
    after = plan.rebuild_cost_after
    cost = total([c.estimated_cost for c in changes])
    if not changes:
        verb = "matches" if plan.unchanged == 1 else "match"
        lines.append(f"**No changes.** {assets(plan.unchanged)} {verb} the specs.")
    else:
        lines.append(f"**{count_line(label, changes)}**")
    lines.append("")
    lines.append("| | cost |")
    lines.append("|---|---:|")
    lines.append(f"| {'This change' if comparison else 'This plan'} | **{format_total(cost)}** |")
    if any(c.action is Action.RESUME for c in changes):
        amount, tasks = committed(changes)
        lines.append(f"| Already committed by {tasks} in flight | {amount} |")
    lines.append(f"| Full rebuild of the catalog | {_delta(before, after)} |")
    if comparison is not None and comparison.others:
        lines.append(
            f"| Also in the plan, from the base branch (not applied yet): "
            f"{len(comparison.others)} changes | {format_total(comparison.others_cost)} |"
        )
    lines.append("")
    if changes:
        total_row = f"| | **total** | | | **{format_total(cost)}** |"
        footer = [""]
        if plan.unchanged:
            footer.append(f"{assets(plan.unchanged)} unchanged.")
        room = MAX_CHARS - sum(len(line) + 1 for line in lines + footer)
        lines.extend(_table(changes, total_row, room))
        lines.extend(footer)
    return "\n".join(lines).rstrip("\n") + "\n"
