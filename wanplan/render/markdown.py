"""The plan as a pull-request comment. The hidden marker lets a bot find and update it."""

from __future__ import annotations

from wanplan.money import format_usd
from wanplan.plan.model import SYMBOLS, Action, Plan
from wanplan.render.text import closing_line, describe

MARKER = "<!-- wanplan -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(plan: Plan) -> str:
    lines = [MARKER, f"### wanplan plan (profile `{plan.profile}`)", ""]
    if plan.lineage:
        lines.append(
            f"Compared with the last applied state: serial {plan.serial}, "
            f"lineage `{plan.lineage[:8]}`."
        )
    else:
        lines.append("Compared with an empty state: nothing has been applied yet.")
    lines.append("")
    if not plan.has_changes:
        lines.append(f"**No changes.** {plan.unchanged} assets match the specs.")
        return "\n".join(lines) + "\n"
    lines.append(f"**{closing_line(plan)}**")
    lines.append("")
    lines.append("| | asset | action | details | estimated cost |")
    lines.append("|---|---|---|---|---:|")
    for change in plan.changes:
        cost = "" if change.action is Action.DELETE else format_usd(change.estimated_cost)
        details = describe(change)
        if change.warnings:
            details += " — " + "; ".join(change.warnings)
        lines.append(
            f"| `{SYMBOLS[change.action]}` | `{_cell(change.address)}` | {change.action.value} "
            f"| {_cell(details)} | {cost} |"
        )
    unknown = f" (+ {plan.unknown_cost} of unknown price)" if plan.unknown_cost else ""
    lines.append(f"| | **total** | | | **{format_usd(plan.estimated_cost)}**{unknown} |")
    if plan.unchanged:
        lines.append("")
        lines.append(f"{plan.unchanged} assets unchanged.")
    return "\n".join(lines) + "\n"
