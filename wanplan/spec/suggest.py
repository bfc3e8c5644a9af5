"""'Did you mean' suggestions for misspelt names and out-of-range values."""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Sequence


def nearest(value: object, allowed: Sequence[object]) -> object | None:
    """The allowed value closest to `value`: numerically for numbers, by spelling otherwise."""
    if not allowed:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        numbers = [a for a in allowed if isinstance(a, int | float)]
        if numbers:
            return min(numbers, key=lambda a: (abs(a - value), a))
    measured = _lines(value)
    if measured is not None:  # '2160p' is nearest to '1080p', however they are spelt
        sizes = [(n, a) for a in allowed if (n := _lines(a)) is not None]
        if len(sizes) == len(allowed):
            return min(sizes, key=lambda pair: (abs(pair[0] - measured), pair[0]))[1]
    shape = _ratio(value)
    if shape is not None:  # '16:10' is nearest to '16:9' by shape, not by spelling
        shapes = [(r, a) for a in allowed if (r := _ratio(a)) is not None]
        if len(shapes) == len(allowed):
            return min(shapes, key=lambda pair: abs(math.log(pair[0] / shape)))[1]
    text = str(value).lower()
    by_text = {str(a).lower(): a for a in allowed}
    if text in by_text:
        return by_text[text]
    close = difflib.get_close_matches(text, list(by_text), n=1, cutoff=0.5)
    return by_text[close[0]] if close else None


def _lines(value: object) -> int | None:
    """A resolution's lines: '720p', '720P', '720', '1280x720' and '1280*720' are 720."""
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    if match := re.fullmatch(r"(\d+)p?", text):
        return int(match.group(1))
    if match := re.fullmatch(r"(\d+)\s*[x*×]\s*(\d+)", text):
        return min(int(match.group(1)), int(match.group(2)))
    return {"4k": 2160, "2k": 1440}.get(text)


def _ratio(value: object) -> float | None:
    """An aspect ratio's width over height: '16:9', '16 : 10', '1.85:1'."""
    if not isinstance(value, str):
        return None
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*[:/]\s*(\d+(?:\.\d+)?)\s*", value)
    if not match or float(match.group(2)) == 0 or float(match.group(1)) == 0:
        return None
    return float(match.group(1)) / float(match.group(2))


def did_you_mean(value: object, allowed: Sequence[object]) -> str:
    """' (did you mean X?)' or '' when nothing is close."""
    best = nearest(value, allowed)
    return f" (did you mean {show(best)}?)" if best is not None else ""


def show(value: object) -> str:
    return f"'{value}'" if isinstance(value, str) else str(value)


def listing(values: Iterable[object]) -> str:
    return ", ".join(str(v) for v in values)


def first_few(names: Sequence[str], shown: int = 5) -> str:
    """`a, b, c, d, e and 3 more`: a refusal names a few, and counts the rest."""
    more = len(names) - shown
    return ", ".join(names[:shown]) + (f" and {more} more" if more > 0 else "")
