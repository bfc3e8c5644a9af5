"""Apply's live view: every asset with its own state and time, queued ones included, a bar
with spend against the estimate and an ETA learned from finished tasks; NO_COLOR strips the
colour only; rich is loaded only when the view is shown."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

from tests.conftest import write_spec
from wanplan.apply.board import Board, Stage
from wanplan.apply.events import ApplyEvent
from wanplan.workspace import PlanRequest, Workspace

MATRIX = """\
[assets.shot]
mode = "t2v"
model = "wan-2.5"
prompt = "A paper boat"
matrix = { seed = [1, 2, 3, 4, 5] }
"""
COLOUR = re.compile(r"\x1b\[(?:\d+;)*3\dm|\x1b\[38;")
"""An SGR sequence that sets a foreground colour (bold, dim and cursor moves are not colour)."""


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _board(project: Path) -> tuple[Board, Clock]:
    write_spec(project, "a.toml", MATRIX)
    plan = Workspace.open(project).plan(PlanRequest()).plan
    clock = Clock()
    return Board(plan, clock), clock


def test_every_asset_is_on_the_board_queued_until_it_starts(empty_project: Path) -> None:
    board, _ = _board(empty_project)
    assert [a.stage for a in board.first(10)] == [Stage.QUEUED] * 5
    assert board.count(Stage.QUEUED) == 5 and board.waiting_or_running == 5
    board.update(ApplyEvent("shot.seed-3", "submitting"))
    assert [a.address for a in board.first(3)] == ["shot.seed-3", "shot.seed-1", "shot.seed-2"]


def test_each_asset_has_its_own_time_in_its_state(empty_project: Path) -> None:
    board, clock = _board(empty_project)
    board.update(ApplyEvent("shot.seed-1", "submitting"))
    clock.now += 1
    board.update(ApplyEvent("shot.seed-1", "submitted", "task-1"))
    clock.now += 10
    board.update(ApplyEvent("shot.seed-2", "submitting"))
    clock.now += 2
    first, second = board.assets["shot.seed-1"], board.assets["shot.seed-2"]
    assert (first.stage, board.elapsed(first)) == (Stage.RUNNING, 12.0)
    assert (second.stage, board.elapsed(second)) == (Stage.SUBMITTING, 2.0)
    assert board.elapsed() == 13.0  # the apply's own clock is apart
    board.update(ApplyEvent("shot.seed-1", "downloading"))
    assert board.assets["shot.seed-1"].stage is Stage.DOWNLOADING


def test_the_eta_is_learned_from_finished_tasks(empty_project: Path) -> None:
    board, clock = _board(empty_project)
    for address in ("shot.seed-1", "shot.seed-2"):
        board.update(ApplyEvent(address, "submitting"))
    assert board.eta() is None  # nothing has finished: no guess
    clock.now += 20
    board.update(ApplyEvent("shot.seed-1", "created", "out.gif", spent=Decimal("0.50")))
    # seed-2 has run 20 s of an expected 20; three queued take 20 s each, two at a time.
    assert board.eta() == 30.0
    clock.now += 5
    board.update(ApplyEvent("shot.seed-2", "failed", "refused"))
    assert board.spent == Decimal("0.50")
    assert (board.finished, board.count(Stage.FAILED)) == (2, 1)
    assert board.eta() == 30.0  # 3 × 20 s over 2 at once


def _run_on_a_terminal(project: Path, **environment: str) -> str:
    """`wanplan apply -y` on a pseudo-terminal; everything it drew."""
    main, child = pty.openpty()
    env = {**os.environ, "WANPLAN_SIM_LATENCY": "1.5", "TERM": "xterm"}
    env.pop("CI", None)
    env.pop("NO_COLOR", None)  # the tests' default
    env.update(environment)
    process = subprocess.Popen(
        [sys.executable, "-m", "wanplan", "-C", str(project), "apply", "-y"],
        stdin=child,
        stdout=child,
        stderr=child,
        env=env,
        close_fds=True,
    )
    os.close(child)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(main, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        elif process.poll() is not None:
            break
    process.wait(timeout=10)
    os.close(main)
    assert process.returncode == 0
    return b"".join(chunks).decode("utf-8", "replace")


def test_no_color_keeps_the_live_view_and_drops_the_colour(empty_project: Path) -> None:
    write_spec(empty_project, "a.toml", MATRIX)
    (empty_project / "wanplan.toml").write_text("[providers.sim]\nconcurrency = 2\n")
    drawn = _run_on_a_terminal(empty_project, NO_COLOR="1")
    assert not COLOUR.search(drawn)
    text = re.sub(r"\x1b\[[0-9;]*m", "", drawn)
    assert "queued" in text and "running" in text
    assert re.search(r"━+─+ \d/5 done · \$[\d.]+ of \$2\.50 estimated · 0:0\d · ETA", text)
    assert "Apply complete: 5 created" in drawn


def test_with_colour_the_view_is_coloured(empty_project: Path) -> None:
    write_spec(empty_project, "a.toml", MATRIX.replace("1, 2, 3, 4, 5", "1, 2"))
    drawn = _run_on_a_terminal(empty_project)
    assert "\x1b[34mrunning" in drawn  # the view's own rows, coloured by state
    assert re.search(r"\x1b\[32m━+", drawn)  # the bar's done part


def test_a_log_gets_lines_not_a_view(empty_project: Path) -> None:
    write_spec(empty_project, "a.toml", MATRIX.replace("1, 2, 3, 4, 5", "1, 2"))
    result = subprocess.run(
        [sys.executable, "-m", "wanplan", "-C", str(empty_project), "apply", "-y"],
        capture_output=True,
        text=True,
        env={**os.environ, "WANPLAN_SIM_LATENCY": "0.2"},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "shot.seed-1: submitted" in result.stdout
    assert "queued" not in result.stdout and "ETA" not in result.stdout
    assert "submitting" not in result.stdout and "downloading" not in result.stdout


def test_help_does_not_load_the_live_view() -> None:
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, wanplan.cli.main; print(sorted(m for m in sys.modules if "
            "m.split('.')[0] == 'rich'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "[]"
