"""The JSON plan (PRODUCT §5). format_version "1": fields are only ever added within it."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from wanplan.money import as_decimal_string
from wanplan.plan.compare import Comparison
from wanplan.plan.diff import FieldDiff
from wanplan.plan.model import Action, Plan, PlanChange

FORMAT_VERSION = "1"


def change_document(change: PlanChange) -> dict[str, Any]:
    asset = change.asset
    return {
        "address": change.address,
        "action": change.action.value,
        "reasons": list(change.reasons),
        "provider": asset.provider if asset else None,
        "model_id": asset.model_id if asset else None,
        "mode": asset.mode if asset else None,
        "content_key": change.content_key,
        "previous_content_key": change.previous_content_key,
        "estimated_cost": as_decimal_string(change.estimated_cost),
        "currency": "USD",
        "warnings": list(change.warnings),
        "cost_at_risk": as_decimal_string(change.cost_at_risk)
        if change.action is Action.UNCONFIRMED
        else None,
        "task_id": change.task.task_id if change.task is not None else None,
        "diff": [diff_document(d) for d in change.diff]
        if change.previous is not None and change.action is not Action.DELETE
        else None,
        "moved_from": change.moved_from,
    }


def diff_document(diff: FieldDiff) -> dict[str, Any]:
    document = {"field": diff.field, "before": diff.before, "after": diff.after}
    if diff.path is not None:
        document["path"] = diff.path
    return document


def _money(amount: tuple[Decimal, int]) -> dict[str, Any]:
    return {"estimated_cost": as_decimal_string(amount[0]), "unknown_cost": amount[1]}


def plan_document(plan: Plan, comparison: Comparison | None = None) -> dict[str, Any]:
    summary: dict[str, Any] = {action.value: plan.count(action) for action in Action}
    summary["estimated_cost"] = as_decimal_string(plan.estimated_cost)
    summary["unknown_cost"] = plan.unknown_cost
    committed = plan.committed_cost
    summary["committed_cost"] = as_decimal_string(committed[0])
    summary["unknown_committed_cost"] = committed[1]
    at_risk = plan.cost_at_risk
    summary["cost_at_risk"] = as_decimal_string(at_risk[0])
    summary["unknown_cost_at_risk"] = at_risk[1]
    summary["rebuild"] = {
        "before": _money(plan.rebuild_cost_before),
        "after": _money(plan.rebuild_cost_after),
    }
    document: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "profile": plan.profile,
        "state": {"lineage": plan.lineage, "serial": plan.serial},
        "scope": sorted(plan.scope),
        "changes": [change_document(c) for c in plan.changes],
        "summary": summary,
        "declared": [
            {
                "address": d.address,
                "content_key": d.content_key,
                "rebuild_cost": as_decimal_string(d.rebuild_cost),
            }
            for d in plan.declared
        ],
    }
    if comparison is not None:
        document["compare"] = {
            "base": comparison.label,
            "added": list(comparison.added),
            "changed": list(comparison.changed),
            "removed": list(comparison.removed),
            "cost": _money(comparison.cost),
            "other_changes": len(comparison.others),
            "other_cost": _money(comparison.others_cost),
            "rebuild": {
                "before": _money(comparison.rebuild_before),
                "after": _money(plan.rebuild_cost_after),
            },
        }
    return document


def render_json(plan: Plan, comparison: Comparison | None = None) -> str:
    return json.dumps(plan_document(plan, comparison), indent=2) + "\n"
