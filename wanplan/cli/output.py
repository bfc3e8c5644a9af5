"""Printing for people: colour on a terminal unless NO_COLOR; plain lines otherwise."""

from __future__ import annotations

import os
import sys
from typing import Any

import click


def colour_enabled(stream: Any = None) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    stream = stream or sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)())


def live_terminal(stream: Any = None) -> bool:
    """A terminal that can redraw in place (apply's live view): with or without colour."""
    stream = stream or sys.stdout
    if os.environ.get("TERM") == "dumb":
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def style(text: str, **kwargs: Any) -> str:
    return click.style(text, **kwargs) if colour_enabled() else text


def echo(text: str = "", *, err: bool = False, nl: bool = True) -> None:
    click.echo(text, err=err, nl=nl, color=colour_enabled(sys.stderr if err else sys.stdout))


def error(message: str) -> None:
    from wanplan.errors import printable

    for line in message.rstrip("\n").split("\n"):
        prefix = (
            click.style("error:", fg="red", bold=True) if colour_enabled(sys.stderr) else "error:"
        )
        click.echo(f"{prefix} {printable(line)}", err=True, color=colour_enabled(sys.stderr))


def warn(message: str) -> None:
    from wanplan.errors import printable

    prefix = (
        click.style("warning:", fg="yellow", bold=True)
        if colour_enabled(sys.stderr)
        else "warning:"
    )
    click.echo(f"{prefix} {printable(message)}", err=True, color=colour_enabled(sys.stderr))
