"""Colour for people on a terminal; nothing when NO_COLOR is set or output is not a terminal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Styler = Callable[..., str]


def plain(text: str, **_: Any) -> str:
    return text


def colour() -> Styler:
    import click

    return click.style
