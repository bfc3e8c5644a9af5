"""Apply's live view on a terminal (rich): what happened scrolls above a view redrawn in
place, a row per asset with its state and its own time in that state, and an overall bar with
spend against the estimate and the expected end. NO_COLOR removes the colour, not the view."""

from __future__ import annotations

import threading
import time
from typing import Any, TextIO

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from wanplan.apply.board import Board, Stage
from wanplan.apply.events import ApplyEvent
from wanplan.cli.progress import TRANSIENT, event_line
from wanplan.money import format_total
from wanplan.plan.model import Plan

ROWS = 12
"""Assets shown at once: those in flight first, then the next queued ones."""
BAR_WIDTH = 20
_STYLES = {
    Stage.QUEUED: "dim",
    Stage.SUBMITTING: "yellow",
    Stage.RUNNING: "blue",
    Stage.WAITING: "dim",
    Stage.DOWNLOADING: "cyan",
    Stage.DONE: "green",
    Stage.FAILED: "bold red",
}


class LiveView:
    """An event sink: `with LiveView(plan) as view: ...; view(event)`."""

    def __init__(self, plan: Plan, stream: TextIO | None = None, rows: int = ROWS) -> None:
        # rich honours NO_COLOR itself: plain text, the same view.
        self.console = Console(file=stream, highlight=False, soft_wrap=True)
        self.board = Board(plan, time.monotonic)
        self.estimate = (plan.estimated_cost, plan.unknown_cost)
        self.rows = rows
        self._lock = threading.Lock()
        self._live = Live(
            console=self.console,
            get_renderable=self._render,
            refresh_per_second=4,
            transient=True,
        )  # stdout and stderr redirected: a warning during the apply prints above the view

    def __enter__(self) -> LiveView:
        self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._live.stop()

    def __call__(self, event: ApplyEvent) -> None:
        with self._lock:
            self.board.update(event)
        if event.kind not in TRANSIENT:  # the view itself redraws four times a second
            self.console.print(Text.from_ansi(event_line(event)))

    def _render(self) -> Any:
        with self._lock:
            return Group(self._table(), self._bar())

    def _table(self) -> Table:
        board = self.board
        table = Table.grid(padding=(0, 2))
        table.add_column(no_wrap=True)
        table.add_column(no_wrap=True)
        table.add_column(justify="right", no_wrap=True)
        shown = board.first(self.rows)
        for progress in shown:
            elapsed = "" if progress.stage is Stage.QUEUED else f"{board.elapsed(progress):.0f}s"
            table.add_row(
                f"  {progress.address}",
                Text(progress.stage.value, style=_STYLES[progress.stage]),
                elapsed,
            )
        hidden = board.waiting_or_running - len(shown)
        if hidden > 0:
            table.add_row(Text(f"  … and {hidden} more", style="dim"), "", "")
        return table

    def _bar(self) -> Text:
        board = self.board
        total = len(board.assets) or 1
        filled = round(BAR_WIDTH * board.finished / total)
        eta = board.eta()
        spent = format_total((board.spent, board.unknown_spend))
        line = Text()
        line.append("━" * filled, style="green")
        line.append("─" * (BAR_WIDTH - filled), style="grey37")  # tells apart without colour
        line.append(f" {board.finished}/{len(board.assets)} done", style="bold")
        if board.count(Stage.FAILED):
            line.append(f", {board.count(Stage.FAILED)} failed", style="bold red")
        line.append(f" · {spent} of {format_total(self.estimate)} estimated")
        line.append(f" · {_clock(board.elapsed())}")
        line.append(f" · ETA {_clock(eta)}" if eta is not None else " · ETA —")
        return line


def _clock(seconds: float) -> str:
    minutes, whole = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02}:{whole:02}" if hours else f"{minutes}:{whole:02}"
