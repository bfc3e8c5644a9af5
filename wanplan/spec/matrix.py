"""`matrix`: one asset table that declares several assets, one per combination of values.

    [assets.promo]
    mode = "t2v"
    prompt = "A fox in the snow."
    matrix = { aspect_ratio = ["16:9", "9:16"], seed = [1, 2] }

declares `promo.aspect_ratio-16x9.seed-1`, `promo.aspect_ratio-16x9.seed-2`,
`promo.aspect_ratio-9x16.seed-1` and `promo.aspect_ratio-9x16.seed-2`: readable, and stable as
long as the values are (adding a value adds assets, it renames none).
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from wanplan.spec.model import ASSET_FIELDS, MAX_NAME_LENGTH

MAX_COMBINATIONS = 256
NOT_IN_MATRIX = frozenset({"output", "matrix"})
"""An output name would be shared by every member; a matrix does not nest."""


def slug(value: Any) -> str:
    """A value as it appears in an address: 16:9 -> 16x9, "A fox" -> a-fox, true -> true."""
    if isinstance(value, bool):
        return str(value).lower()
    text = str(value).lower().replace(":", "x")
    return re.sub(r"[^a-z0-9._]+", "-", text).strip("-.") or "empty"


def expand(name: str, table: dict[str, Any]) -> tuple[list[tuple[str, dict[str, Any]]], str | None]:
    """([(address, table)] for each combination, None), or ([], what is wrong)."""
    matrix = table["matrix"]
    if not isinstance(matrix, dict) or not matrix:
        return [], "must be a table of lists, like matrix = { seed = [1, 2, 3] }"
    for key, values in matrix.items():
        if key not in ASSET_FIELDS or key in NOT_IN_MATRIX:
            return [], f"{key!r} cannot vary in a matrix; use asset fields like seed or prompt"
        if key in table:
            return [], f"{key} is set on the asset and in its matrix; keep one"
        if not isinstance(values, list) or not values:
            return [], f"{key} must be a non-empty list of values, like {key} = [...]"
        if any(isinstance(v, dict | list) for v in values):
            return [], f"{key}: a matrix varies plain values (strings, numbers, true/false)"
    count = 1
    for values in matrix.values():
        count *= len(values)
    if count > MAX_COMBINATIONS:
        return [], f"makes {count} assets; at most {MAX_COMBINATIONS} per matrix"
    base = {k: v for k, v in table.items() if k != "matrix"}
    keys = list(matrix)
    members: list[tuple[str, dict[str, Any]]] = []
    seen: dict[str, tuple[Any, ...]] = {}
    for combination in itertools.product(*(matrix[k] for k in keys)):
        address = ".".join(
            [name, *(f"{k}-{slug(v)}" for k, v in zip(keys, combination, strict=True))]
        )
        if address in seen:
            return [], (
                f"the values {seen[address]!r} and {combination!r} give the same address "
                f"{address}; make them differ in more than case and punctuation"
            )
        if len(address) > MAX_NAME_LENGTH:
            return [], (
                f"makes the address {address[:40]}… longer than {MAX_NAME_LENGTH} characters; "
                "use shorter values or a shorter asset name"
            )
        seen[address] = combination
        members.append((address, {**base, **dict(zip(keys, combination, strict=True))}))
    return members, None
