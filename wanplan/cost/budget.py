"""Budget caps, checked against a plan before apply sends its first request.

Caps come from `[budget]` in wanplan.toml and `apply --max-cost`. A plan over any of them is
refused as a whole, naming each cap it exceeds with the estimate against it. An unknown price
cannot be checked against a cap: with any cap set, it needs `--allow-unknown-cost`.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from wanplan.config import BudgetSettings
from wanplan.errors import OverBudget
from wanplan.money import format_usd, total
from wanplan.plan.model import Plan
from wanplan.spec.suggest import first_few
from wanplan.state.records import TaskRecord

SHOWN = 5
"""How many assets a refusal names before it says "and N more"."""


def today() -> str:
    """The ledger's day: the UTC date, as `max_per_day` counts it."""
    return datetime.datetime.now(datetime.UTC).date().isoformat()


def spent_on(
    ledger: Iterable[Mapping[str, Any]], day: str, in_flight: Iterable[TaskRecord] = ()
) -> tuple[Decimal, int]:
    """Spend on one day: (known amount, count of unknown amounts). What the ledger recorded,
    plus each task submitted that day and not collected yet, at its quote else its estimate: it
    is paid for already, and an apply killed before collecting it must not free its share of
    the cap."""
    amounts = [row["amount"] for row in ledger if row["day"] == day]
    known = [Decimal(a) if a is not None else None for a in amounts]
    known += [t.committed_cost for t in in_flight if t.submitted_at[:10] == day and t.task_id]
    return total(known)


def check_budget(
    plan: Plan,
    budget: BudgetSettings,
    *,
    max_cost: Decimal | None = None,
    spent_today: tuple[Decimal, int] | None = None,
    allow_unknown_cost: bool = False,
    reserved_today: Decimal = Decimal(0),
) -> list[str]:
    """Raise OverBudget when the plan exceeds a cap; returns warnings (unknown prices allowed
    through with --allow-unknown-cost). `reserved_today`: what other runners of a shared
    state reserved against max_per_day and have not spent yet."""
    caps: list[tuple[str, Decimal]] = []
    if max_cost is not None:
        caps.append(("--max-cost", max_cost))
    if budget.max_per_apply is not None:
        caps.append(("[budget] max_per_apply", budget.max_per_apply))
    any_cap = bool(caps) or budget.max_per_asset is not None or budget.max_per_day is not None
    if not any_cap:
        return []

    problems: list[str] = []
    estimate = plan.estimated_cost
    for name, cap in caps:
        if estimate > cap:
            problems.append(
                f"the estimated {format_usd(estimate)} of this apply exceeds {name} "
                f"{format_usd(cap)}"
            )
    if budget.max_per_asset is not None:
        over = [
            c
            for c in plan.changes
            if c.estimated_cost is not None and c.estimated_cost > budget.max_per_asset
        ]
        for change in over[:SHOWN]:
            problems.append(
                f"asset {change.address}: the estimated {format_usd(change.estimated_cost)} "
                f"exceeds [budget] max_per_asset {format_usd(budget.max_per_asset)}"
            )
        if len(over) > SHOWN:
            problems.append(f"and {len(over) - SHOWN} more assets over max_per_asset")
    if budget.max_per_day is not None:
        spent, unknown_today = spent_today or (Decimal(0), 0)
        if unknown_today and not allow_unknown_cost:
            problems.append(
                f"{unknown_today} task(s) of unknown price were paid for today, so today's "
                "spend against [budget] max_per_day is not known; pass --allow-unknown-cost "
                "to apply anyway"
            )
        if spent + reserved_today + estimate > budget.max_per_day:
            reserved = (
                f" + {format_usd(reserved_today)} reserved by other running applies"
                if reserved_today
                else ""
            )
            problems.append(
                f"{format_usd(spent)} already spent today (UTC){reserved} + the estimated "
                f"{format_usd(estimate)} = {format_usd(spent + reserved_today + estimate)} "
                f"exceeds [budget] max_per_day {format_usd(budget.max_per_day)}"
            )

    warnings: list[str] = []
    unknown = [c.address for c in plan.changes if c.generates and c.estimated_cost is None]
    if unknown:
        described = f"{len(unknown)} change(s) of unknown price ({first_few(unknown, SHOWN)})"
        if allow_unknown_cost:
            warnings.append(f"{described}: not counted against the budget (--allow-unknown-cost)")
        else:
            problems.append(
                f"{described} cannot be checked against the budget; pass "
                "--allow-unknown-cost to apply them anyway"
            )
    if problems:
        raise OverBudget("over budget, nothing was sent to a provider:\n  " + "\n  ".join(problems))
    return warnings


def check_cost_gate(
    cost: tuple[Decimal, int],
    limit: Decimal,
    *,
    allow_unknown_cost: bool = False,
    unknown: Sequence[str] = (),
) -> None:
    """`plan --fail-on-cost-increase`: refuse a change that would spend more than `limit`.
    Changes of unknown price are reported apart (`unknown`: their addresses), with the two
    ways through: a price for them, or letting them through knowingly."""
    known, unknown_count = cost
    named = f" ({first_few(list(unknown), SHOWN)})" if unknown else ""
    if known > limit:
        beside = (
            f", plus {unknown_count} change(s) of unknown price{named}" if unknown_count else ""
        )
        raise OverBudget(
            f"cost gate: this change would spend an estimated {format_usd(known)}{beside}, "
            f"over --fail-on-cost-increase {format_usd(limit)}"
        )
    if unknown_count and not allow_unknown_cost:
        raise OverBudget(
            f"cost gate: {unknown_count} change(s) of unknown price{named} cannot be checked "
            f"against --fail-on-cost-increase {format_usd(limit)}; give them a price in "
            "prices.toml (`wanplan models` shows the catalog's), or let them through with "
            "--allow-unknown-cost (WANPLAN_ALLOW_UNKNOWN_COST=true)"
        )
