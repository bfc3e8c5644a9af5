"""Values a content key cannot hold (PRODUCT §4): it is the sha256 of canonical JSON, which has
no NaN or infinity, and a value nested without end or carrying a NUL character is a hostile
file, not a generation parameter. Found before anything else reads the file."""

from __future__ import annotations

import math
from typing import Any

MAX_DEPTH = 32
"""Tables and arrays within tables and arrays: far beyond any real spec's `params`."""


def first_unkeyable(value: Any) -> tuple[tuple[str, ...], str] | None:
    """(the path of the first value a content key cannot hold, why), or None. A quick walk
    first (every plan reads every spec); the path is looked for only when something is wrong."""
    if _clean(value, 0):
        return None
    return _first(value, ())


def _clean(value: dict[str, Any] | list[Any], depth: int) -> bool:
    if depth > MAX_DEPTH:
        return False
    if type(value) is dict:
        items: Any = value.values()
        if any("\0" in key for key in value):
            return False
    else:
        items = value
    for item in items:
        kind = type(item)
        if kind is str:
            if "\0" in item:
                return False
        elif kind is dict or kind is list:
            if not _clean(item, depth + 1):
                return False
        elif kind is float and not math.isfinite(item):
            return False
    return True


def _first(value: Any, where: tuple[str, ...]) -> tuple[tuple[str, ...], str] | None:
    if len(where) > MAX_DEPTH:
        named = tuple(part for part in where if not part.isdigit())[:MAX_DEPTH]
        return named, f"nested more than {MAX_DEPTH} levels deep; flatten it"
    if isinstance(value, dict):
        for key, item in value.items():
            if "\0" in key:
                return (*where, key.replace("\0", "\\0")), "a key with a NUL character"
            found = _first(item, (*where, key))
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _first(item, (*where, str(index)))
            if found:
                return found
    elif isinstance(value, float) and not math.isfinite(value):
        return where, f"{value!r} is not a number a generation can be keyed by; use a finite one"
    elif isinstance(value, str) and "\0" in value:
        return where, "contains a NUL character (\\u0000); remove it"
    return None
