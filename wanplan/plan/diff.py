"""What a replace changes, field by field: before → after (PRODUCT §5, `diff`).

Both sides come from key materials: the state's recorded one and the declared asset's. Inputs
are recorded by digest, not by path, so an input's entry shows short digests and the path the
specs give it now.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from wanplan.spec.resolved import ResolvedAsset

SHORT_DIGEST = 12
"""Hex digits of a digest shown: enough to tell two files apart at a glance."""

_LABELS = {"model_id": "model", "provider": "provider", "mode": "mode"}


class FieldDiff(NamedTuple):
    field: str
    """The spec field, as the reasons name it (`model` for the model id)."""
    before: Any
    after: Any
    path: Any = None
    """For an input: where the specs take it from now (a list for a list of inputs)."""


def field_diffs(before: dict[str, Any], asset: ResolvedAsset) -> list[FieldDiff]:
    """Every field whose value differs between a recorded key material and `asset`'s, in a
    stable order: provider, model, mode, then parameters and inputs by name."""
    after = asset.material
    diffs = [
        FieldDiff(_LABELS[key], before.get(key), after.get(key))
        for key in ("provider", "model_id", "mode")
        if before.get(key) != after.get(key)
    ]
    old, new = before.get("params") or {}, after.get("params") or {}
    for name in sorted(set(old) | set(new)):
        if old.get(name) != new.get(name):
            diffs.append(FieldDiff(name, old.get(name), new.get(name)))
    old, new = before.get("inputs") or {}, after.get("inputs") or {}
    paths = _input_paths(asset)
    for name in sorted(set(old) | set(new)):
        if old.get(name) != new.get(name):
            diffs.append(
                FieldDiff(name, _short(old.get(name)), _short(new.get(name)), paths.get(name))
            )
    for key in sorted(set(before) - {"provider", "model_id", "mode", "params", "inputs"}):
        if before.get(key) != after.get(key):  # e.g. the grid's layout version
            diffs.append(FieldDiff(key, before.get(key), after.get(key)))
    for key in sorted(set(after) - set(before) - {"params", "inputs"}):
        diffs.append(FieldDiff(key, None, after[key]))
    return diffs


def _input_paths(asset: ResolvedAsset) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for ref in asset.inputs:
        name, listed, _ = ref.field.partition("[")
        if listed:
            paths.setdefault(name, []).append(ref.source)
        else:
            paths[name] = ref.source
    return paths


def _short(value: Any) -> Any:
    """`sha256:<64 hex>` → `sha256:<12 hex>`; an upstream's content key likewise; URLs as
    they are."""
    if isinstance(value, list):
        return [_short(v) for v in value]
    if isinstance(value, str):
        kind, colon, rest = value.partition(":")
        if colon and kind in ("sha256", "asset"):
            return f"{kind}:{rest[:SHORT_DIGEST]}"
        if colon and kind == "url":
            return rest
    return value
