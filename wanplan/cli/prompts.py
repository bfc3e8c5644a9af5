"""How apply talks to whoever runs it: the plan, the question, and progress while it runs."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click

from wanplan.apply.events import EventSink
from wanplan.cli.output import colour_enabled, echo, live_terminal, style
from wanplan.cli.progress import EventPrinter, JsonEvents
from wanplan.money import format_total
from wanplan.plan.model import Action, Plan
from wanplan.render.text import committed_phrase


class TerminalPrompts:
    """People at a terminal (colour, a live view) or CI logs; with `json_log`, scripts."""

    def __init__(self, json_log: JsonEvents | None = None) -> None:
        self.json_log = json_log

    def show(self, plan: Plan) -> None:
        if self.json_log is not None:
            from wanplan.render.json_plan import plan_document

            self.json_log.write({"event": "plan", **plan_document(plan)})
        else:
            from wanplan.render.style import colour, plain
            from wanplan.render.text import render_text

            echo(render_text(plan, colour() if colour_enabled() else plain), nl=False)

    def can_confirm(self) -> bool:
        """A person can answer: a terminal, and not CI."""
        return sys.stdin.isatty() and os.environ.get("CI", "").lower() != "true"

    def confirm(self, plan: Plan) -> bool:
        count = len(plan.changes)
        cost = format_total((plan.estimated_cost, plan.unknown_cost))
        if plan.count(Action.RESUME):
            cost += f" ({committed_phrase(plan.changes)})"
        echo("")
        answer = click.prompt(
            style(
                f"Apply {count} change{'s' if count != 1 else ''} for an estimated {cost}? "
                "Only 'yes' will be accepted:",
                bold=True,
            ),
            default="",
            show_default=False,
            prompt_suffix=" ",
        )
        return bool(answer == "yes")

    @contextmanager
    def progress(self, plan: Plan) -> Iterator[EventSink]:
        if self.json_log is not None:
            yield self.json_log
            return
        echo("")
        if not live_terminal():
            yield EventPrinter()
            return
        from wanplan.cli.live_view import LiveView  # rich: imported only when it is shown

        with LiveView(plan) as view:
            yield view
