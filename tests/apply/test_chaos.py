"""The chaos test of issue 12: an apply over WaveSpeed and DashScope killed with SIGKILL at
random moments, while answers are dropped after the task was made, the price quote takes 0.5 s
and the task lists lag 0.5 s; then run to completion. No prompt is paid twice, and every output
is byte for byte the result file of its own task. 39 kills in all, in 13 projects of 3 (each a
test of its own, so that they run side by side), and 15 more with another client about."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import emulator_for_wanplan, write_spec
from wanplan.emulator import Emulator, Knobs
from wanplan.state.records import OPEN_STATUSES
from wanplan.state.sqlite import SqliteState

WANPLAN = str(Path(sys.executable).with_name("wanplan"))
PER_PROVIDER = 2
KILLS = 3
DROP_SEEDS = (14, 15, 28, 31, 32, 43, 49, 55, 57, 66, 67, 72, 79)
"""Seeds whose draws drop the first or second answer: each run proves something."""
SETTINGS = """
[providers.wavespeed]
concurrency = 6
listing_lag = 0.6
submit_timeout = 0.6
[providers.dashscope]
concurrency = 6
listing_lag = 0.6
submit_timeout = 0.6
"""


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    knobs = Knobs(
        latency=0.4,
        time_scale=0.01,
        drop_answer_rate=0.15,
        drop_seed=12,
        price_quote_delay=0.5,
        listing_lag=0.5,
    )
    with emulator_for_wanplan(monkeypatch, knobs, "chaos-key") as emulator:
        yield emulator


def clips(provider: str, family: str) -> str:
    return "".join(
        f'[assets.{provider}-{i:02d}]\nprovider = "{provider}"\nmode = "t2v"\n'
        f'model = "{family}"\nprompt = "Chaos {provider} shot {i}."\nseed = {i}\n'
        for i in range(PER_PROVIDER)
    )


def work(emulator: Emulator) -> list[object]:
    """The requests of the work itself: not the balance read before the first submit."""
    return [entry for entry in emulator.log if not entry.path.endswith("balance")]


def kill_at_random_moments(
    command: list[str], rounds: int, rng: random.Random, emulator: Emulator
) -> None:
    """Start the apply and SIGKILL it at a random moment, `rounds` times: every other round
    0.2 to 0.8 s after it starts (planning, reconciling, the first submits), the others up to
    0.6 s after its first request reached the provider (submits, quotes, polls, downloads),
    so that the kills land in the middle of the work however slowly the machine starts it."""
    for round_ in range(rounds):
        requests = len(work(emulator))
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ
        )
        if round_ % 2:
            deadline = time.monotonic() + 20
            while len(work(emulator)) == requests and process.poll() is None:
                assert time.monotonic() < deadline, "the apply sent nothing for 20 s"
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.6))
        else:
            time.sleep(rng.uniform(0.2, 0.8))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)


@pytest.mark.parametrize("seed", range(len(DROP_SEEDS)))
def test_kill_9_at_random_moments_never_pays_twice(
    seed: int, empty_project: Path, emulator: Emulator
) -> None:
    (empty_project / "wanplan.toml").write_text(SETTINGS)
    write_spec(
        empty_project, "a.toml", clips("wavespeed", "wan-2.6") + clips("dashscope", "wan-2.5")
    )
    command = [WANPLAN, "-C", str(empty_project), "apply", "-y"]
    emulator.set_knobs(drop_seed=DROP_SEEDS[seed])
    kill_at_random_moments(command, KILLS, random.Random(20261206 + seed), emulator)
    # The killed applies did real work: the provider made tasks under them (a fresh project's
    # first request is a submit, and every other round is killed only after one).
    assert emulator.tasks(), "no kill came after a submit: the test proves nothing"

    final = subprocess.run(command, capture_output=True, text=True, timeout=300, env=os.environ)
    assert final.returncode == 0, final.stdout + final.stderr
    assert any(entry.fault == "dropped" for entry in emulator.log)

    # Nothing was paid twice: one task per prompt at the provider.
    made = Counter(str(task.details.get("prompt")) for task in emulator.tasks())
    assert len(made) == 2 * PER_PROVIDER
    assert {prompt: n for prompt, n in made.items() if n > 1} == {}

    reader = SqliteState.open_reader(empty_project / "state" / "wanplan.db")
    assert reader.db.execute("pragma integrity_check").fetchone()[0] == "ok"
    statuses = {row["status"] for row in reader.db.query("select status from tasks")}
    generations = {
        row["content_key"]: row["task_id"]
        for row in reader.db.query("select content_key, task_id from generations")
    }
    ledger = list(reader.ledger())
    assets = reader.assets("default")
    reader.close()
    assert not statuses & set(OPEN_STATUSES) and "abandoned" not in statuses
    listings = emulator.requests(path="/api/v3/predictions") + emulator.requests(
        path="/api/v1/tasks"
    )
    assert listings, "no submit's outcome was ever unknown: the test proves nothing"
    assert len(assets) == 2 * PER_PROVIDER and len(ledger) == 2 * PER_PROVIDER

    # Each output is its own task's file, byte for byte.
    served = emulator.results
    for record in assets.values():
        data = (empty_project / record.output_path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == record.output_sha256
        assert served[generations[record.content_key]].sha256 == record.output_sha256
    again = subprocess.run(
        [WANPLAN, "-C", str(empty_project), "plan", "--detailed-exitcode"],
        capture_output=True,
        text=True,
        env=os.environ,
    )
    assert again.returncode == 0, again.stdout


@pytest.mark.parametrize("seed", range(5))
def test_kill_9_with_another_client_on_the_account_never_adopts_its_tasks(
    seed: int, empty_project: Path, emulator: Emulator
) -> None:
    # Beside a third of the submits, someone else on the account makes a task of the same
    # model at that moment. Whatever wanplan adopts is its own; whatever it cannot tell apart
    # stays unconfirmed; nothing is paid twice.
    emulator.set_knobs(other_client_rate=0.3, drop_answer_rate=0.3)
    (empty_project / "wanplan.toml").write_text(SETTINGS)
    write_spec(
        empty_project, "a.toml", clips("wavespeed", "wan-2.6") + clips("dashscope", "wan-2.5")
    )
    command = [WANPLAN, "-C", str(empty_project), "apply", "-y"]
    kill_at_random_moments(command, 3, random.Random(6 + seed), emulator)
    final = subprocess.run(command, capture_output=True, text=True, timeout=300, env=os.environ)
    assert final.returncode in (0, 1), final.stdout + final.stderr
    assert "Traceback" not in final.stderr

    theirs = {task.id for task in emulator.tasks() if task.details.get("other_client")}
    assert theirs, "the other client made no task: the test proves nothing"
    made = Counter(
        str(task.details.get("prompt"))
        for task in emulator.tasks()
        if not task.details.get("other_client")
    )
    assert {prompt: n for prompt, n in made.items() if n > 1} == {}

    reader = SqliteState.open_reader(empty_project / "state" / "wanplan.db")
    journal = [dict(row) for row in reader.db.query("select task_id, status from tasks")]
    assets = reader.assets("default")
    reader.close()
    assert not {str(row["task_id"]) for row in journal} & theirs
    unsettled = [row for row in journal if row["status"] in ("intent", "unconfirmed")]
    assert len(assets) + len(unsettled) >= 2 * PER_PROVIDER
    served = emulator.results
    for record in assets.values():
        data = (empty_project / record.output_path).read_bytes()
        assert (
            hashlib.sha256(data).hexdigest()
            == record.output_sha256
            in {result.sha256 for task_id, result in served.items() if task_id not in theirs}
        )
