"""A field's change as one short line: `prompt: "…foggy pine…" → "…misty pine…"`."""

from __future__ import annotations

import json
from typing import Any

from wanplan.plan.diff import FieldDiff

ABSENT = "(not set)"


def as_text(value: Any, quoted: bool = True) -> str:
    """A value as the specs would read it; digests and URLs (`quoted=False`) bare."""
    if value is None:
        return ABSENT
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False) if quoted else value
    if isinstance(value, list):
        return "[" + ", ".join(as_text(v, quoted) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def diff_line(diff: FieldDiff, width: int = 100) -> str:
    """`field: before → after`, each side shortened around the first difference so the line
    stays within about `width` characters."""
    label = diff.field
    if diff.path is not None:
        where = ", ".join(diff.path) if isinstance(diff.path, list) else diff.path
        label += f" ({where})"
    room = max(12, (width - len(label) - 6) // 2)
    quoted = diff.path is None
    before, after = shorten_pair(as_text(diff.before, quoted), as_text(diff.after, quoted), room)
    return f"{label}: {before} → {after}"


def shorten_pair(before: str, after: str, room: int) -> tuple[str, str]:
    """Two values cut to at most `room` characters each, around where they first differ, so a
    long prompt with one word changed shows that word."""
    if len(before) <= room and len(after) <= room:
        return before, after
    start = 0
    for a, b in zip(before, after, strict=False):
        if a != b:
            break
        start += 1
    lead = max(0, start - room // 3)
    return _window(before, lead, room), _window(after, lead, room)


def _window(text: str, lead: int, room: int) -> str:
    if len(text) <= room:
        return text
    lead = min(lead, len(text) - room + 1)
    prefix = "…" if lead else ""
    body = text[lead:]
    if len(prefix) + len(body) > room:
        body = body[: room - len(prefix) - 1] + "…"
    return prefix + body
