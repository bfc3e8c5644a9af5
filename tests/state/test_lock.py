"""The state lock: one apply at a time, the holder named, dead holders broken, force-unlock."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.conftest import Run
from wanplan.state.lock import LockHolder, is_alive, this_process
from wanplan.state.sqlite import SqliteState

WANPLAN = str(Path(sys.executable).with_name("wanplan"))


def hold(project: Path, holder: LockHolder) -> SqliteState:
    state = SqliteState.open_writer(project / "state" / "wanplan.db")
    assert state.acquire_lock(holder, 0) == []
    return state


def test_a_held_lock_is_reported_with_its_holder(run: Run, project: Path) -> None:
    holder = this_process("wanplan apply (the other one)")
    state = hold(project, holder)
    result = run(project, "apply", "-y")
    assert result.exit_code == 1
    assert (
        f"the state is locked by `wanplan apply (the other one)` (pid {holder.pid}" in result.output
    )
    assert f"wanplan force-unlock {holder.id}" in result.output
    assert not (project / "outputs").exists()
    state.release_lock(holder.id)
    state.close()
    assert run(project, "apply", "-y").exit_code == 0


def test_apply_waits_for_the_lock_within_its_timeout(run: Run, project: Path) -> None:
    holder = this_process("a short apply")
    state = hold(project, holder)

    def release_soon() -> None:
        time.sleep(0.6)
        releaser = SqliteState.open_writer(project / "state" / "wanplan.db")
        releaser.release_lock(holder.id)
        releaser.close()

    thread = threading.Thread(target=release_soon)
    thread.start()
    result = run(project, "apply", "-y", "--lock-timeout", "20s")
    thread.join()
    state.close()
    assert result.exit_code == 0, result.output
    assert "waiting for the state lock held by `a short apply`" in result.output


def test_a_dead_local_holder_is_broken_with_a_warning(run: Run, project: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    holder = this_process("wanplan apply (killed)")._replace(pid=gone.pid)
    assert is_alive(holder) is False
    hold(project, holder).close()  # never released: the process "died"
    result = run(project, "apply", "-y")
    assert result.exit_code == 0, result.output
    assert "broke the state lock of `wanplan apply (killed)`" in result.output


def test_a_reused_pid_is_not_taken_for_the_holder() -> None:
    me = this_process()
    assert is_alive(me) is True
    assert is_alive(me._replace(process_start="1")) is False


def test_a_holder_on_another_host_needs_force_unlock(run: Run, project: Path) -> None:
    holder = this_process("wanplan apply on ci-runner-7")._replace(host="ci-runner-7", pid=1)
    hold(project, holder).close()
    assert run(project, "apply", "-y").exit_code == 1
    wrong = run(project, "force-unlock", "nope")
    assert wrong.exit_code == 1 and "does not match" in wrong.output
    done = run(project, "force-unlock", holder.id)
    assert done.exit_code == 0 and "ci-runner-7" in done.output
    assert run(project, "apply", "-y").exit_code == 0
    assert run(project, "force-unlock", holder.id).exit_code == 1  # not locked any more


def test_two_applies_started_together(project: Path) -> None:
    command = [WANPLAN, "-C", str(project), "apply", "-y", "--lock-timeout", "60s"]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    second = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    outputs = [p.communicate(timeout=120)[0] for p in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outputs
    # One generated everything; the other waited, re-planned and found nothing to do.
    assert sorted("6 created" in o for o in outputs) == [False, True], outputs
    assert any("No changes" in o for o in outputs)
    reader = SqliteState.open_reader(project / "state" / "wanplan.db")
    keys = [row["content_key"] for row in reader.db.query("select content_key from tasks")]
    assert len(keys) == len(set(keys)) == 6  # nothing submitted twice
    assert reader.lock_holder() is None
    reader.close()


def test_force_unlock_if_dead_clears_a_killed_local_apply_before_ci_commits(
    run: Run, project: Path
) -> None:
    """The CI workflow runs it before committing the state: a lock left by a killed apply on
    this runner must not travel to the next one; a live holder is never broken."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    hold(project, this_process("wanplan apply (killed)")._replace(pid=gone.pid)).close()
    result = run(project, "force-unlock", "--if-dead")
    assert result.exit_code == 0, result.output
    assert "broke the state lock of `wanplan apply (killed)`" in result.output
    reader = SqliteState.open_reader(project / "state" / "wanplan.db")
    try:
        assert reader.lock_holder() is None
    finally:
        reader.close()
    assert not (project / "state" / "wanplan.db-wal").exists()

    live = hold(project, this_process("wanplan apply (running)"))
    try:
        refused = run(project, "force-unlock", "--if-dead")
        assert refused.exit_code == 1 and "wanplan apply (running)" in refused.output
        assert live.lock_holder() is not None
    finally:
        live.close()
    both = run(project, "force-unlock", "abc", "--if-dead")
    assert both.exit_code == 1 and "not both" in both.output
