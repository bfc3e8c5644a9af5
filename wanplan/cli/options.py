"""Options several commands share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

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


def open_workspace(directory: Any, lock_timeout: float = 0.0) -> Any:
    """The project at `directory` with its backends; warnings go to stderr."""
    from wanplan.cli.output import warn
    from wanplan.workspace import Workspace

    return Workspace.open(directory, warn=warn, lock_timeout=lock_timeout)


class Duration(click.ParamType):  # type: ignore[type-arg]
    """Seconds, written as 30, 30s, 2m or 1h."""

    name = "duration"
    _UNITS: ClassVar[dict[str, float]] = {"s": 1.0, "m": 60.0, "h": 3600.0}

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, int | float):
            return float(value)
        text = str(value).strip().lower()
        unit = self._UNITS.get(text[-1:], None)
        number = text[:-1] if unit else text
        try:
            seconds = float(number) * (unit or 1.0)
        except ValueError:
            self.fail(f"{value!r} is not a duration; write 30, 30s, 2m or 1h", param, ctx)
        if seconds < 0:
            self.fail("a duration cannot be negative", param, ctx)
        return seconds


def lock_timeout(f: F) -> F:
    return click.option(
        "--lock-timeout",
        type=Duration(),
        default="0s",
        show_default=True,
        help="How long to wait for another wanplan holding the state lock (30s, 2m).",
    )(f)


class Money(click.ParamType):  # type: ignore[type-arg]
    """US dollars, written as 20, 20.50 or $20: an exact decimal, never a float."""

    name = "usd"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from decimal import Decimal, InvalidOperation

        if isinstance(value, Decimal):
            return value
        text = str(value).strip().removeprefix("$")
        try:
            amount = Decimal(text)
        except InvalidOperation:
            self.fail(f"{value!r} is not an amount in USD; write 20 or 20.50", param, ctx)
        if not amount.is_finite() or amount < 0:
            self.fail(f"{value!r} is not an amount in USD; write 20 or 20.50", param, ctx)
        return amount


def allow_unknown_cost(f: F) -> F:
    return click.option(
        "--allow-unknown-cost",
        is_flag=True,
        envvar="WANPLAN_ALLOW_UNKNOWN_COST",
        help="Let changes of unknown price through a budget cap or cost gate (env "
        "WANPLAN_ALLOW_UNKNOWN_COST=true). Better: give them a price in prices.toml.",
    )(f)


class TaskId(click.ParamType):  # type: ignore[type-arg]
    """A provider's task id: it goes into the provider's URLs, so the same rule as a task id
    a provider answers with (letters, digits and `._:-` only)."""

    name = "task-id"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from wanplan.providers.answers import TASK_ID  # httpx: only once a task id is given

        text = str(value)
        if not TASK_ID.fullmatch(text):
            self.fail(f"{text!r} is not a task id: letters, digits and . _ : - only", param, ctx)
        return text
