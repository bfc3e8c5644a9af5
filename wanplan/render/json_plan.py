"""The JSON plan (PRODUCT §5). format_version "1": fields are only ever added within it."""

from __future__ import annotations

import json
from typing import Any

from wanplan.money import as_decimal_string
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
    }


def plan_document(plan: Plan) -> dict[str, Any]:
    summary: dict[str, Any] = {action.value: plan.count(action) for action in Action}
    summary["estimated_cost"] = as_decimal_string(plan.estimated_cost)
    summary["unknown_cost"] = plan.unknown_cost
    return {
        "format_version": FORMAT_VERSION,
        "profile": plan.profile,
        "state": {"lineage": plan.lineage, "serial": plan.serial},
        "changes": [change_document(c) for c in plan.changes],
        "summary": summary,
    }


def render_json(plan: Plan) -> str:
    return json.dumps(plan_document(plan), indent=2) + "\n"
