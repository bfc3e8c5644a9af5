"""Ctrl-C during apply: no new submits, what was submitted is recorded, exit 130 with a line on
how to resume; the next apply collects instead of paying again. A second Ctrl-C exits at once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

from wanplan.state.sqlite import SqliteState

WANPLAN = str(Path(sys.executable).with_name("wanplan"))


def start_apply(project: Path, latency: str) -> subprocess.Popen[str]:
    environment = {**os.environ, "WANPLAN_SIM_LATENCY": latency, "NO_COLOR": "1"}
    return subprocess.Popen(
        [WANPLAN, "-C", str(project), "apply", "-y", "--concurrency", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment,
    )


def wait_for(process: subprocess.Popen[str], text: str, timeout: float = 60) -> str:
    assert process.stdout is not None
    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen += line
        if text in line:
            return seen
    raise AssertionError(f"never saw {text!r} in:\n{seen}")


def task_rows(project: Path) -> list[dict[str, object]]:
    reader = SqliteState.open_reader(project / "state" / "wanplan.db")
    rows = [dict(r) for r in reader.db.query("select content_key, status, task_id from tasks")]
    reader.close()
    return rows


def finish(project: Path, *, lock_left: bool | None = False) -> str:
    """Apply to completion; every asset must have been paid once. Returns the output.
    `lock_left`: whether the interrupted apply left its lock behind (None: it may have, as
    after a second Ctrl-C that exits at once). A graceful stop that leaves one leaks it."""
    environment = {**os.environ, "WANPLAN_SIM_LATENCY": "0.05"}
    done = subprocess.run(
        [WANPLAN, "-C", str(project), "apply", "-y"],
        capture_output=True,
        text=True,
        env=environment,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    if lock_left is not None:
        assert ("broke the state lock" in done.stderr) is lock_left, done.stderr
    # Nothing paid twice: one task per content key. (A submit cut off by an exit leaves a row
    # without a task, which the next apply settles as never made.)
    keys = [r["content_key"] for r in task_rows(project) if r["task_id"]]
    assert len(keys) == len(set(keys)) == 6
    return done.stdout


def test_ctrl_c_stops_submitting_and_the_next_apply_resumes(project: Path) -> None:
    process = start_apply(project, latency="30")
    wait_for(process, "submitted")
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 130, output
    assert "interrupted" in output and "run `wanplan apply` again" in output

    rows = task_rows(project)
    # Concurrency 2: two tasks went out; the other four were never submitted.
    assert len(rows) == 2 and all(r["task_id"] and r["status"] == "submitted" for r in rows)
    plan = subprocess.run(
        [WANPLAN, "-C", str(project), "plan"], capture_output=True, text=True, env=os.environ
    )
    assert "Plan: 4 to create, 0 to replace, 0 to delete. Estimated cost: $" in plan.stdout
    assert "already committed by 2 tasks in flight" in plan.stdout
    # The two tasks in flight are paid already: kept apart from the new spend, not as $0.
    document = json.loads(
        subprocess.run(
            [WANPLAN, "-C", str(project), "plan", "--format", "json"],
            capture_output=True,
            text=True,
            env=os.environ,
        ).stdout
    )
    summary = document["summary"]
    resumed = [c for c in document["changes"] if c["action"] == "resume"]
    assert all(c["estimated_cost"] == "0.00" for c in resumed)
    committed = Decimal(summary["committed_cost"])
    estimated = Decimal(summary["estimated_cost"])
    assert committed > 0 and estimated > 0 and summary["unknown_committed_cost"] == 0
    assert f"plus ${committed:.2f} already committed by 2 tasks in flight" in plan.stdout

    done = finish(project)
    assert "4 created" in done and "2 resumed" in done
    # What the next apply spends is the new estimate plus what was committed.
    assert f"Spent: ${estimated + committed:.2f} (${committed:.2f} of it committed" in done


def test_a_second_ctrl_c_exits_at_once_and_is_still_safe(project: Path) -> None:
    process = start_apply(project, latency="30")
    wait_for(process, "submitted")
    process.send_signal(signal.SIGINT)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 130, output
    finish(project, lock_left=None)  # two quick SIGINTs may arrive as one
