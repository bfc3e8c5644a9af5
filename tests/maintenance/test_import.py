"""`wanplan import`: a task a user's own script submitted to the provider (here the emulator)
is adopted, downloaded and recorded as apply would, and never submitted again."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Run, emulator_for_wanplan, write_spec
from tests.maintenance.test_state_commands import refused_while_locked
from wanplan.emulator import Emulator, Knobs
from wanplan.state.sqlite import SqliteState

KEY = "sk-import-test"
MODEL = "alibaba/wan-2.5/text-to-video"
SPEC = """version = 1

[assets.teaser]
provider = "wavespeed"
mode = "t2v"
model = "wan-2.5"
resolution = "720p"
duration = 5
aspect_ratio = "16:9"
prompt = "{prompt}"
seed = 3
"""


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    knobs = Knobs(latency=0.5, time_scale=0.01)
    with emulator_for_wanplan(monkeypatch, knobs, KEY) as emulator:
        yield emulator


def submit_by_hand(prompt: str) -> str:
    """What a user's own script does: post to WaveSpeed directly, keep the task id."""
    response = httpx.post(
        f"{os.environ['WANPLAN_WAVESPEED_BASE_URL']}/api/v3/{MODEL}",
        headers={"Authorization": f"Bearer {KEY}"},
        json={"prompt": prompt, "size": "1280*720", "duration": 5, "seed": 3},
    )
    response.raise_for_status()
    task_id: str = response.json()["data"]["id"]
    return task_id


def submits(emulator: Emulator) -> int:
    return len(emulator.requests(provider="wavespeed", method="POST", path=f"/api/v3/{MODEL}"))


def journal(root: Path) -> tuple[int, list[str], list[dict[str, object]]]:
    """The serial, the open tasks' ids and the ledger."""
    reader = SqliteState.open_reader(root / "state" / "wanplan.db")
    try:
        return (
            reader.serial,
            [t.task_id or "" for t in reader.open_tasks()],
            list(reader.ledger()),
        )
    finally:
        reader.close()


@pytest.fixture
def teaser(empty_project: Path) -> Path:
    write_spec(empty_project, "teaser.toml", SPEC.format(prompt="A kite over the dunes."))
    # A resumed task has no answer yet to learn the emulator's time scale from: poll briskly.
    (empty_project / "wanplan.toml").write_text("[providers.wavespeed]\npoll_interval = 0.05\n")
    return empty_project


def test_import_adopts_a_running_task_and_plan_shows_no_change(
    run: Run, teaser: Path, emulator: Emulator
) -> None:
    task_id = submit_by_hand("A kite over the dunes.")
    result = run(teaser, "import", "teaser", "--provider", "wavespeed", "--task-id", task_id)
    assert result.exit_code == 0, result.output
    assert f"Imported teaser from wavespeed task {task_id}: outputs/teaser." in result.output
    [output] = [p for p in (teaser / "outputs").iterdir() if not p.name.endswith(".json")]
    assert output.stem == "teaser" and output.stat().st_size > 0
    plan = run(teaser, "plan", "--format", "json")
    assert plan.exit_code == 0, plan.output
    assert json.loads(plan.output)["changes"] == []
    assert run(teaser, "apply", "-y").exit_code == 0  # nothing to do: no second submit
    assert submits(emulator) == 1
    _, open_tasks, ledger = journal(teaser)
    assert open_tasks == []
    assert [(row["address"], row["provider"]) for row in ledger] == [("teaser", "wavespeed")]


def test_import_of_a_failed_task_records_nothing(
    run: Run, teaser: Path, emulator: Emulator
) -> None:
    task_id = submit_by_hand("[fail] A kite over the dunes.")
    before = journal(teaser)
    result = run(teaser, "import", "teaser", "--task-id", task_id)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith(f"error: cannot import teaser: wavespeed task {task_id} failed")
    assert lines[-1].endswith("nothing was recorded")
    assert journal(teaser) == before
    assert not (teaser / "outputs").exists()


def test_import_of_an_unknown_task_is_one_line(run: Run, teaser: Path, emulator: Emulator) -> None:
    result = run(teaser, "import", "teaser", "--task-id", "no-such-task")
    assert result.exit_code == 1
    assert "wavespeed task no-such-task failed or is unknown there" in result.output
    _, open_tasks, ledger = journal(teaser)
    assert open_tasks == [] and ledger == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["teasr", "--task-id", "t"],
            "teasr is not declared in the specs (did you mean 'teaser'?)",
        ),
        (
            ["teaser", "--task-id", "t", "--provider", "dashscope"],
            "--provider dashscope does not match teaser, which specs/teaser.toml gives to "
            "provider wavespeed",
        ),
    ],
)
def test_import_refusals_touch_nothing(
    run: Run, teaser: Path, emulator: Emulator, args: list[str], message: str
) -> None:
    result = run(teaser, "import", *args)
    assert result.exit_code == 1
    assert message in result.output
    assert not (teaser / "state").exists()
    assert emulator.requests() == []


def test_import_needs_the_provider_key(
    run: Run, teaser: Path, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WAVESPEED_API_KEY")
    result = run(teaser, "import", "teaser", "--task-id", "t")
    assert result.exit_code == 1
    assert "set WAVESPEED_API_KEY" in result.output
    assert not (teaser / "state").exists()


def test_import_refuses_an_asset_already_recorded(
    run: Run, teaser: Path, emulator: Emulator
) -> None:
    assert run(teaser, "apply", "-y").exit_code == 0
    before = (teaser / "state" / "wanplan.db").read_bytes()
    result = run(teaser, "import", "teaser", "--task-id", submit_by_hand("A kite over the dunes."))
    assert result.exit_code == 1
    assert "teaser is already in the state with this content" in result.output
    assert "wanplan state rm teaser" in result.output
    assert (teaser / "state" / "wanplan.db").read_bytes() == before


def test_import_refuses_while_the_state_is_locked(
    run: Run, teaser: Path, emulator: Emulator
) -> None:
    task_id = submit_by_hand("A kite over the dunes.")
    refused_while_locked(run, teaser, "import", "teaser", "--task-id", task_id)
    assert emulator.requests(method="GET") == []  # the task was not even polled
    assert journal(teaser)[1:] == ([], [])


def test_a_finished_task_is_polled_at_once_not_after_the_advised_wait(
    run: Run, empty_project: Path, emulator: Emulator
) -> None:
    """A task from outside this run has been running all along: its first poll goes at once,
    not after WaveSpeed's advised 5 s (no poll_interval configured here)."""
    write_spec(empty_project, "teaser.toml", SPEC.format(prompt="A kite over the dunes."))
    task_id = submit_by_hand("A kite over the dunes.")
    time.sleep(0.1)  # the emulator's 0.5 s task at time scale 0.01 is done by now
    started = time.monotonic()
    result = run(empty_project, "import", "teaser", "--task-id", task_id)
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started < 3.0  # the advised first wait alone is 4.5 s or more


@pytest.mark.parametrize("task_id", ["", " ", "../../v1/tasks", "a/b", "x" * 257, "id?x=1", "id\n"])
def test_a_task_id_that_is_not_one_is_refused_before_anything(
    run: Run, teaser: Path, task_id: str
) -> None:
    """An empty id once made import submit (and pay for) a new task; a path in an id would
    reach another URL of the provider with the key."""
    result = run(teaser, "import", "teaser", "--task-id", task_id)
    assert result.exit_code != 0
    assert "is not a task id" in result.output
    assert not (teaser / "state").exists() and not (teaser / "outputs").exists()
