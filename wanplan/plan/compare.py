"""`plan --compare-to FILE`: what a branch changes against its base, and what that costs.

The base is a JSON plan of the base branch (`plan --format json`, or a plan saved with
`--out`). Its `declared` list says which content every address had there. The assets whose
content differs on this branch (added, changed, removed) are this change; its cost is what this
branch's plan would spend on them. Changes the plan shows for other assets (already on the base
branch, not applied yet) are counted apart, so a pull request is charged only for its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from wanplan.errors import PlanError
from wanplan.money import total
from wanplan.plan.model import Plan, PlanChange

MAX_DIGITS = 12
"""No catalog rebuilds for a trillion dollars: a larger amount is a damaged or hostile file."""


@dataclass(frozen=True)
class Comparison:
    label: str
    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    own: tuple[PlanChange, ...]
    """This branch's plan changes for the assets it adds, changes or removes."""
    others: tuple[PlanChange, ...]
    """Plan changes not made by this branch (the base branch's, not applied yet)."""
    rebuild_before: tuple[Decimal, int]
    """The base branch's full rebuild cost."""

    @property
    def cost(self) -> tuple[Decimal, int]:
        return total([c.estimated_cost for c in self.own])

    @property
    def others_cost(self) -> tuple[Decimal, int]:
        return total([c.estimated_cost for c in self.others])


def _amount(value: Any, path: Path) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite() or amount < 0 or amount.adjusted() > MAX_DIGITS:
        raise PlanError(
            f"--compare-to {path}: {str(value)[:40]!r} is not an amount in USD; "
            "is it a wanplan plan?"
        )
    return amount


@dataclass(frozen=True)
class BasePlan:
    profile: object
    declared: dict[str, tuple[str, Decimal | None]]
    """address -> (content key, full rebuild cost)"""
    scope: frozenset[str]
    """The addresses the base plan covered (`--target`); empty for all."""


def load_base(path: Path) -> BasePlan:
    try:
        document = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise PlanError(
            f"--compare-to {path}: no such file; make it on the base branch with "
            "`wanplan plan --format json > base.json`"
        ) from None
    except (OSError, ValueError, RecursionError) as exc:  # ValueError: bad JSON, UTF-8, digits
        raise PlanError(f"--compare-to {path}: not a JSON plan ({exc})") from None
    if not isinstance(document, dict) or document.get("format_version") != "1":
        raise PlanError(f"--compare-to {path}: not a wanplan JSON plan (format_version 1)")
    entries = document.get("declared")
    if not isinstance(entries, list):
        raise PlanError(
            f"--compare-to {path}: this plan has no list of declared assets (made by an older "
            "wanplan?); make it again with this version"
        )
    declared: dict[str, tuple[str, Decimal | None]] = {}
    for entry in entries:
        try:
            declared[str(entry["address"])] = (
                str(entry["content_key"]),
                _amount(entry["rebuild_cost"], path),
            )
        except (KeyError, TypeError):
            raise PlanError(f"--compare-to {path}: a declared asset is malformed") from None
    scope = document.get("scope") or []
    if not isinstance(scope, list) or not all(isinstance(a, str) for a in scope):
        raise PlanError(f"--compare-to {path}: its scope is not a list of addresses")
    return BasePlan(document.get("profile"), declared, frozenset(scope))


def compare(plan: Plan, path: Path) -> Comparison:
    base = load_base(path)
    if base.profile != plan.profile:
        raise PlanError(
            f"--compare-to {path}: it is a plan of profile {base.profile!r}, "
            f"this one is {plan.profile!r}"
        )
    # Only what both plans covered is compared: a base planned with --target says nothing
    # about the other assets.
    before = {a: entry for a, entry in base.declared.items() if plan.in_scope(a)}
    after = {
        d.address: d.content_key for d in plan.declared if not base.scope or d.address in base.scope
    }
    added = tuple(sorted(after.keys() - before.keys()))
    removed = tuple(sorted(before.keys() - after.keys()))
    changed = tuple(sorted(a for a in after.keys() & before.keys() if after[a] != before[a][0]))
    mine = set(added) | set(changed) | set(removed)
    return Comparison(
        label=path.name,
        added=added,
        changed=changed,
        removed=removed,
        own=tuple(c for c in plan.changes if c.address in mine),
        others=tuple(c for c in plan.changes if c.address not in mine),
        rebuild_before=total([cost for _, cost in before.values()]),
    )
