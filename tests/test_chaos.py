"""The chaos test of issue 4: an apply of 30 assets killed with SIGKILL at random moments, 20
times, then run to completion. No asset is submitted twice outside the window that plan
reports, every asset is there with the bytes the provider served, and the state is whole."""

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
from wanplan.state.sqlite import SqliteState

WANPLAN = str(Path(sys.executable).with_name("wanplan"))
ASSETS = 30
ROUNDS = 20


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    with emulator_for_wanplan(
        monkeypatch, Knobs(latency=0.4, time_scale=0.01), "chaos-key"
    ) as emulator:
        yield emulator


def test_kill_9_at_random_moments_never_pays_twice(empty_project: Path, emulator: Emulator) -> None:
    (empty_project / "wanplan.toml").write_text("[providers.wavespeed]\nconcurrency = 8\n")
    write_spec(
        empty_project,
        "a.toml",
        "".join(
            f'[assets.clip-{i:02d}]\nprovider = "wavespeed"\nmode = "t2v"\nmodel = "wan-2.6"\n'
            f'prompt = "Chaos shot {i}."\nseed = {i}\n'
            for i in range(ASSETS)
        ),
    )
    rng = random.Random(20261121)
    command = [WANPLAN, "-C", str(empty_project), "apply", "-y"]
    for _ in range(ROUNDS):
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ
        )
        time.sleep(rng.uniform(0.3, 1.6))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

    final = subprocess.run(command, capture_output=True, text=True, timeout=300, env=os.environ)
    assert final.returncode == 0, final.stdout + final.stderr
    assert f"{ASSETS} created" not in final.stdout  # the killed applies had done real work

    reader = SqliteState.open_reader(empty_project / "state" / "wanplan.db")
    assert reader.db.execute("pragma integrity_check").fetchone()[0] == "ok"
    tasks = [dict(row) for row in reader.db.query("select address, status from tasks")]
    ledger = list(reader.ledger())
    assets = reader.assets("default")
    reader.close()

    # Nothing is left half done, and every collected task is in the ledger once.
    assert {t["status"] for t in tasks} <= {"collected", "abandoned", "failed"}
    collected = Counter(t["address"] for t in tasks if t["status"] == "collected")
    assert sorted(collected) == sorted(assets) and set(collected.values()) == {1}
    assert len(ledger) == ASSETS

    # No asset was accepted twice by the provider, except across an intent that plan reported
    # (a kill between the provider's answer and the commit of its task id).
    window = Counter(t["address"] for t in tasks if t["status"] == "abandoned")
    submitted = Counter(
        r.json["prompt"]
        for r in emulator.requests(provider="wavespeed", method="POST")
        if r.status == 200 and isinstance(r.json, dict) and "prompt" in r.json
    )
    for i in range(ASSETS):
        address = f"clip-{i:02d}"
        assert 1 <= submitted[f"Chaos shot {i}."] <= 1 + window[address], address

    served = emulator.served_sha256()
    for record in assets.values():
        data = (empty_project / record.output_path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == record.output_sha256
        assert record.output_sha256 in served
    again = subprocess.run(
        [WANPLAN, "-C", str(empty_project), "plan", "--detailed-exitcode"],
        capture_output=True,
        text=True,
        env=os.environ,
    )
    assert again.returncode == 0, again.stdout
