"""Options several commands share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def targeting(f: F) -> F:
    f = click.option(
        "--replace",
        "force_replace",
        multiple=True,
        metavar="ADDR",
        help="Generate ADDR again even if unchanged (repeatable).",
    )(f)
    f = click.option(
        "--target",
        "targets",
        multiple=True,
        metavar="ADDR",
        help="Limit the plan to ADDR (repeatable).",
    )(f)
    f = click.option(
        "--profile", default="default", show_default=True, help="The profile to plan for."
    )(f)
    return f


def open_project(directory: Any) -> Any:
    from wanplan.project import Project

    return Project.at(directory)
