"""Find the line of a key in a TOML text, for error messages.

The TOML parser keeps no positions, so this scans the text only when an error needs a line:
table headers set the current path and `key = value` lines extend it. It returns the best line
it can (the key itself, else its nearest enclosing table) and never fails.
"""

from __future__ import annotations

import re
from functools import lru_cache

_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(
    r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*="""
)
_PART = re.compile(r"""[A-Za-z0-9_-]+|"((?:[^"\\]|\\.)*)"|'([^']*)'""")


def split_key(dotted: str) -> tuple[str, ...]:
    parts = []
    for match in _PART.finditer(dotted):
        if match.group(1) is not None:
            parts.append(match.group(1))
        elif match.group(2) is not None:
            parts.append(match.group(2))
        else:
            parts.append(match.group(0))
    return tuple(parts)


def locate(text: str, path: tuple[str, ...]) -> int | None:
    """The 1-based line where `path` (e.g. ("assets", "hero", "prompt")) is set, else the line
    of its nearest enclosing table or key."""
    index = _index(text)
    for length in range(len(path), 0, -1):
        line = index.get(path[:length])
        if line is not None:
            return line
    return None


@lru_cache(maxsize=8)
def _index(text: str) -> dict[tuple[str, ...], int]:
    """Every key path in `text` (and every prefix of one) with the first line it appears on:
    one pass, so locating many errors in a large file stays linear."""
    index: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    in_multiline: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if in_multiline:
            if line.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        header = _HEADER.match(line)
        if header:
            table = split_key(header.group(1))
            full = table
        else:
            key = _KEY.match(line)
            if not key:
                continue
            full = table + split_key(key.group(1))
            rest = line[key.end() :]
            for quote in ('"""', "'''"):
                if rest.count(quote) == 1:
                    in_multiline = quote
        for length in range(1, len(full) + 1):
            index.setdefault(full[:length], number)
    return index
