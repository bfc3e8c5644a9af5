"""What `show` prints of the state's records, as documents (its JSON, and the text's source)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wanplan.state.base import StateReader
from wanplan.state.records import AssetRecord


def summary_document(
    reader: StateReader, profile: str, records: Mapping[str, AssetRecord]
) -> dict[str, Any]:
    rows = [
        {
            "address": r.address,
            "content_key": r.content_key,
            "output": r.output_path,
            "updated_at": r.updated_at,
        }
        for r in sorted(records.values(), key=lambda r: r.address)
    ]
    return {
        "lineage": reader.lineage,
        "serial": reader.serial,
        "profile": profile,
        "assets": rows,
    }


def asset_document(record: AssetRecord, details: Mapping[str, Any] | None) -> dict[str, Any]:
    details = details or {}
    material = details.get("material", {})
    return {
        "address": record.address,
        "profile": record.profile,
        "content_key": record.content_key,
        "output": record.output_path,
        "output_sha256": record.output_sha256,
        "updated_at": record.updated_at,
        "provider": details.get("provider"),
        "model_id": details.get("model_id"),
        "mode": details.get("mode"),
        "task_id": details.get("task_id"),
        "cost": details.get("cost"),
        "cost_source": details.get("cost_source"),
        "generated_at": details.get("created_at"),
        "parameters": material.get("params"),
        "inputs": material.get("inputs"),
    }
