"""A submit is paid at most once, whatever fails (issue 12, PRODUCT §6), against the emulator:
answers dropped after the task was made, 5xx, a slow price quote, a listing that lags, another
client on the same account, a full disk, a damaged state file."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Run, emulator_for_wanplan, tmpfs, write_spec
from wanplan.apply import submit_window
from wanplan.apply.submit_window import LOOPBACK_CLOCK_PAD
from wanplan.blobs import LocalBlobStore
from wanplan.emulator import Emulator, Knobs
from wanplan.plan.planner import make_plan
from wanplan.project import Project
from wanplan.state.records import now_iso
from wanplan.state.sqlite import SqliteState

KEY = "sk-never-twice"
WANPLAN = str(Path(sys.executable).with_name("wanplan"))
FAST_RECONCILE = {"listing_lag": 0.8, "submit_timeout": 0.8}


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    # The emulator stamps tasks to the millisecond by this process's clock: the pad for
    # another clock and whole-second stamps is injected at 0.3 s (in-process commands only).
    monkeypatch.setattr(submit_window, "LOOPBACK_CLOCK_PAD", 0.3)
    knobs = Knobs(latency=0.2, time_scale=0.01, listing_lag=0.5)
    with emulator_for_wanplan(monkeypatch, knobs, KEY) as emulator:
        yield emulator


def settings(*providers: str, extra: str = "") -> str:
    lines = []
    for provider in providers:
        lines.append(f"[providers.{provider}]")
        lines += [f"{name} = {value}" for name, value in FAST_RECONCILE.items()]
        lines.append(extra)
    return "\n".join(lines) + "\n"


def clips(provider: str, count: int, family: str = "wan-2.5", start: int = 0) -> str:
    return "".join(
        f'[assets.{provider}-{i}]\nprovider = "{provider}"\nmode = "t2v"\nmodel = "{family}"\n'
        f'prompt = "{provider} shot {i}."\nseed = {i}\n'
        for i in range(start, start + count)
    )


def own_tasks(emulator: Emulator) -> Counter[str]:
    """How many tasks the provider made (and charges) per prompt of ours."""
    return Counter(
        str(task.details.get("prompt"))
        for task in emulator.tasks()
        if not task.details.get("other_client")
    )


def state_rows(project: Path, sql: str) -> list[dict[str, object]]:
    reader = SqliteState.open_reader(project / "state" / "wanplan.db")
    try:
        return [dict(row) for row in reader.db.query(sql)]
    finally:
        reader.close()


def assert_outputs_are_their_own_tasks(project: Path, emulator: Emulator) -> None:
    """Every output's bytes are the result file of the task recorded for it."""
    served = emulator.results
    generations = state_rows(project, "select content_key, task_id, blob_sha256 from generations")
    assets = state_rows(project, "select content_key, output_path, output_sha256 from assets")
    by_key = {row["content_key"]: row for row in generations}
    assert assets
    for asset in assets:
        made = by_key[asset["content_key"]]
        output = (project / str(asset["output_path"])).read_bytes()
        assert hashlib.sha256(output).hexdigest() == asset["output_sha256"]
        assert served[str(made["task_id"])].sha256 == asset["output_sha256"]


@pytest.mark.parametrize("provider", ["wavespeed", "dashscope"])
def test_answers_dropped_after_the_task_was_made_are_adopted_not_paid_again(
    provider: str, run: Run, empty_project: Path, emulator: Emulator
) -> None:
    (empty_project / "wanplan.toml").write_text(settings(provider))
    # Two models: the submits after an unknown outcome wait per model, side by side.
    write_spec(empty_project, "a.toml", clips(provider, 3) + clips(provider, 3, "wan-2.6", start=3))
    emulator.set_knobs(drop_answer_rate=0.3, drop_seed=7)  # drops the 2nd and 4th answers
    result = run(empty_project, "apply", "-y")
    assert result.exit_code == 0, result.output
    dropped = [entry for entry in emulator.log if entry.fault == "dropped"]
    assert dropped, "the knob dropped no answer: the test proves nothing"
    assert set(own_tasks(emulator).values()) == {1} and len(own_tasks(emulator)) == 6
    assert_outputs_are_their_own_tasks(empty_project, emulator)
    ledger = state_rows(empty_project, "select address from ledger")
    assert len(ledger) == 6


def test_a_list_that_lags_more_than_told_costs_one_extra_task_at_most(
    run: Run, empty_project: Path, emulator: Emulator
) -> None:
    """listing_lag says 0.8 s; the list lags 5 s. Every answer is lost: the first submit's
    window looks empty when judged (a wrong "none", the setting's risk), the second's would
    too, but is not taken on trust: two tasks, never a third. The row stays unconfirmed for
    plan and for every apply after, whatever the list shows, until the user settles it."""
    (empty_project / "wanplan.toml").write_text(settings("wavespeed"))
    write_spec(empty_project, "a.toml", clips("wavespeed", 1))
    emulator.set_knobs(drop_answer_rate=1.0, listing_lag=5.0)
    result = run(empty_project, "apply", "-y")
    assert result.exit_code == 1, result.output
    assert own_tasks(emulator) == Counter({"wavespeed shot 0.": 2}), result.output
    assert "the list may lag more than listing_lag (0.8 s, [providers.wavespeed])" in (
        result.output
    )
    plan = json.loads(run(empty_project, "plan", "--format", "json").output)
    (change,) = plan["changes"]
    assert change["action"] == "unconfirmed"
    assert sum("listing_lag" in reason for reason in change["reasons"]) == 1  # said once

    emulator.set_knobs(drop_answer_rate=0.0)
    again = run(empty_project, "apply", "-y")  # the list still lags: its "none" is no proof
    assert again.exit_code == 1 and "wanplan import wavespeed-0 --task-id ID" in again.output
    assert own_tasks(emulator) == Counter({"wavespeed shot 0.": 2})  # nothing paid again


def test_after_one_none_for_an_asset_another_unknown_submit_of_it_is_not_judged_none(
    run: Run, empty_project: Path, emulator: Emulator
) -> None:
    """Every submit answers 502 (a gateway's: the outcome is unknown) and the list rightly
    shows no task: the first "none" is trusted and the asset is submitted again; the second
    is doubted (a list that lags would look the same), so nothing is sent a third time, in
    this apply or the next."""
    (empty_project / "wanplan.toml").write_text(settings("dashscope"))
    write_spec(empty_project, "a.toml", clips("dashscope", 1))
    emulator.set_knobs(server_error_status=502, server_error_every=1, fault_methods=["POST"])
    result = run(empty_project, "apply", "-y")
    assert result.exit_code == 1
    assert "may lag more than listing_lag" in result.output, result.output
    submits = [e for e in emulator.log if e.method == "POST" and e.fault == "5xx"]
    assert len(submits) == 2 and not emulator.tasks()
    again = run(empty_project, "apply", "-y")
    assert again.exit_code == 1 and "wanplan import dashscope-0 --task-id ID" in again.output
    assert len([e for e in emulator.log if e.method == "POST" and e.fault == "5xx"]) == 2


def test_a_none_judged_in_an_earlier_apply_makes_the_next_unknown_submit_doubtful(
    run: Run, empty_project: Path, emulator: Emulator
) -> None:
    (empty_project / "wanplan.toml").write_text(settings("dashscope"))
    write_spec(empty_project, "a.toml", clips("dashscope", 1))
    emulator.set_knobs(server_error_status=502, server_error_burst=1, fault_methods=["POST"])
    assert run(empty_project, "apply", "-y").exit_code == 0  # a 502, none listed, sent again
    assert len(emulator.tasks()) == 1
    emulator.set_knobs(server_error_burst=1)
    replaced = run(empty_project, "apply", "-y", "--replace", "dashscope-0")
    assert replaced.exit_code == 1, replaced.output  # its one unknown submit is not judged none
    assert "may lag more than listing_lag" in replaced.output
    assert len(emulator.tasks()) == 1


def test_503_on_a_third_of_submits_is_retried_and_one_apply_completes(
    run: Run, empty_project: Path, emulator: Emulator
) -> None:
    write_spec(empty_project, "a.toml", clips("wavespeed", 12))
    emulator.set_knobs(
        server_error_status=503, server_error_every=3, fault_methods=["POST"], retry_after=0
    )
    result = run(empty_project, "apply", "-y")
    assert result.exit_code == 0, result.output
    assert any(entry.fault == "5xx" for entry in emulator.log)
    assert set(own_tasks(emulator).values()) == {1} and len(own_tasks(emulator)) == 12


def test_another_client_on_the_account_is_never_adopted(
    run: Run, empty_project: Path, emulator: Emulator
) -> None:
    # Every answer is lost and, each time, someone else on the account makes a task of the
    # same model at that moment. WaveSpeed's history has no prompts: two candidates, nothing
    # adopted. DashScope gives each task's prompt: its own task is told apart and adopted.
    (empty_project / "wanplan.toml").write_text(settings("wavespeed", "dashscope"))
    write_spec(empty_project, "a.toml", clips("wavespeed", 2, "wan-2.6") + clips("dashscope", 2))
    emulator.set_knobs(drop_answer_rate=1.0, other_client_rate=1.0)
    result = run(empty_project, "apply", "-y")
    assert result.exit_code == 1
    assert "2 created" in result.output and "2 failed" in result.output, result.output
    assert "wanplan import wavespeed-0 --task-id ID" in result.output
    assert "wanplan apply --replace wavespeed-0" in result.output

    theirs = {task.id for task in emulator.tasks() if task.details.get("other_client")}
    adopted = {
        str(row["task_id"]) for row in state_rows(empty_project, "select task_id from tasks")
    }
    assert theirs and not theirs & adopted
    assert set(own_tasks(emulator).values()) == {1}

    # Applying again pays nothing more: the unconfirmed submits stay unconfirmed.
    emulator.set_knobs(drop_answer_rate=0.0, other_client_rate=0.0)
    plan = json.loads(run(empty_project, "plan", "--format", "json").output)
    assert {c["address"]: c["action"] for c in plan["changes"]} == {
        "wavespeed-0": "unconfirmed",
        "wavespeed-1": "unconfirmed",
    }
    assert plan["summary"]["unconfirmed"] == 2 and plan["summary"]["cost_at_risk"] == "1.00"
    again = run(empty_project, "apply", "-y")
    assert again.exit_code == 1
    assert set(own_tasks(emulator).values()) == {1}


@pytest.mark.parametrize("provider", ["apixo", "wanapi"])
def test_a_provider_without_a_task_list_leaves_it_unconfirmed_until_imported(
    provider: str, run: Run, empty_project: Path, emulator: Emulator
) -> None:
    family = "wan-2.2" if provider == "wanapi" else "wan-2.5"
    write_spec(empty_project, "a.toml", clips(provider, 1, family))
    address = f"{provider}-0"
    emulator.set_knobs(drop_answer_rate=1.0)
    first = run(empty_project, "apply", "-y")
    assert first.exit_code == 1
    assert f"wanplan import {address} --task-id ID" in first.output
    emulator.set_knobs(drop_answer_rate=0.0)

    text = run(empty_project, "plan").output
    assert f"? {address}" in text and "at risk" in text
    for _ in range(2):  # never paid again, however often apply runs
        assert run(empty_project, "apply", "-y").exit_code == 1
    assert sum(own_tasks(emulator).values()) == 1

    (task,) = emulator.tasks()
    imported = run(empty_project, "import", address, "--task-id", task.id)
    assert imported.exit_code == 0, imported.output
    assert run(empty_project, "plan", "--detailed-exitcode").exit_code == 0
    assert sum(own_tasks(emulator).values()) == 1
    assert_outputs_are_their_own_tasks(empty_project, emulator)


def lose_an_answer(run: Run, project: Path, emulator: Emulator) -> None:
    """APIXO makes the task and the answer is lost: the asset is left unconfirmed."""
    write_spec(project, "a.toml", clips("apixo", 1))
    emulator.set_knobs(drop_answer_rate=1.0)
    assert run(project, "apply", "-y").exit_code == 1


def test_replace_is_the_one_knowing_way_to_pay_again(
    run: Run, empty_project: Path, emulator: Emulator
) -> None:
    lose_an_answer(run, empty_project, emulator)
    emulator.set_knobs(drop_answer_rate=0.0)
    plan = run(empty_project, "plan", "--replace", "apixo-0").output
    assert "--replace pays again" in plan
    result = run(empty_project, "apply", "-y", "--replace", "apixo-0")
    assert result.exit_code == 0, result.output
    assert own_tasks(emulator)["apixo shot 0."] == 2
    rows = state_rows(empty_project, "select status from tasks order by id")
    assert [row["status"] for row in rows] == ["abandoned", "collected"]


def test_the_price_quote_comes_after_the_task_id_is_committed(
    run: Run, empty_project: Path, emulator: Emulator
) -> None:
    emulator.set_knobs(price_quote_delay=0.8)
    write_spec(empty_project, "a.toml", clips("wavespeed", 3, "wan-2.6"))
    db = empty_project / "state" / "wanplan.db"
    seen: list[list[tuple[object, ...]]] = []

    original = emulator._log.add  # the log sees each request as it is answered

    def watch(entry: object) -> None:
        if getattr(entry, "path", "").endswith("/model/price"):
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
                seen.append(conn.execute("select status, task_id from tasks").fetchall())
        original(entry)  # type: ignore[arg-type]

    emulator._log.add = watch  # type: ignore[method-assign]
    result = run(empty_project, "apply", "-y")
    assert result.exit_code == 0, result.output
    assert len(seen) == 3
    for asked, rows in enumerate(seen, start=1):  # each quote follows its own task's commit
        assert sum(1 for _, task_id in rows if task_id is not None) >= asked, rows
    ledger = state_rows(empty_project, "select amount, source from ledger")
    assert {row["source"] for row in ledger} == {"quote"}


@pytest.mark.parametrize(
    "damage",
    ["empty", "another_database", "truncated"],
)
def test_a_damaged_state_file_is_refused_and_nothing_is_sent(
    damage: str, run: Run, empty_project: Path, emulator: Emulator
) -> None:
    write_spec(empty_project, "a.toml", clips("wavespeed", 2))
    assert run(empty_project, "apply", "-y").exit_code == 0
    db = empty_project / "state" / "wanplan.db"
    if damage == "empty":
        db.write_bytes(b"")
    elif damage == "another_database":
        db.unlink()
        with sqlite3.connect(db) as conn:
            conn.execute("create table notes (text)")
        conn.close()
    else:
        db.write_bytes(db.read_bytes()[: db.stat().st_size // 2])
    write_spec(empty_project, "b.toml", clips("wavespeed", 1, start=5))
    before = len(emulator.log)
    for command in (["plan"], ["apply", "-y"]):
        result = run(empty_project, *command)
        assert result.exit_code == 1
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and "not a readable wanplan state" in lines[0], result.output
    assert len(emulator.log) == before


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    with tmpfs(tmp_path / "disk", 24) as mount:
        yield mount


def fill(disk: Path, leave: int) -> Path:
    filler = disk / "filler"
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    with filler.open("ab") as file:
        file.write(b"\0" * max(free - leave, 0))
    return filler


def test_a_full_disk_refuses_before_any_submit(
    run: Run, small_disk: Path, emulator: Emulator
) -> None:
    project = small_disk / "project"
    (project / "specs").mkdir(parents=True)
    write_spec(project, "a.toml", clips("wavespeed", 2))
    filler = fill(small_disk, 512 * 1024)
    result = run(project, "apply", "-y")
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert "free some space" in lines[-1] and "nothing was sent" in lines[-1], result.output
    assert "Traceback" not in result.output and "crashed" not in result.output
    assert not emulator.requests(method="POST")
    filler.unlink()
    assert run(project, "apply", "-y").exit_code == 0
    assert set(own_tasks(emulator).values()) == {1}


def apply_in_a_process(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [WANPLAN, "-C", str(project), "apply", "-y"], capture_output=True, text=True, timeout=120
    )


def test_a_disk_that_fills_mid_apply_stops_submits_and_pays_nothing_twice(
    small_disk: Path, emulator: Emulator
) -> None:
    project = small_disk / "project"
    (project / "specs").mkdir(parents=True)
    (project / "wanplan.toml").write_text(settings("wavespeed", extra="concurrency = 1"))
    write_spec(project, "a.toml", clips("wavespeed", 4))
    filled: list[Path] = []
    original = emulator._log.add

    def fill_at_first_submit(entry: object) -> None:
        if not filled and getattr(entry, "method", "") == "POST":
            filled.append(fill(small_disk, 0))
        original(entry)  # type: ignore[arg-type]

    emulator._log.add = fill_at_first_submit  # type: ignore[method-assign]
    result = apply_in_a_process(project)
    emulator._log.add = original  # type: ignore[method-assign]
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output and "crashed" not in output
    assert "cannot write the state" in output, output
    assert sum(own_tasks(emulator).values()) == 1  # no further submit once it could not record
    filled[0].unlink()
    # The lock the first could not release (the disk was full) is a dead holder's now.
    again = apply_in_a_process(project)
    assert again.returncode == 0, again.stdout + again.stderr
    assert set(own_tasks(emulator).values()) == {1} and len(own_tasks(emulator)) == 4


def lost_submit(project: Path, base_url: str, provider: str = "wavespeed") -> str:
    """A submit whose answer never arrived: the task exists at the provider, the journal has
    an unconfirmed row for its window. Returns the task id."""
    state = SqliteState.open_writer(project / "state" / "wanplan.db")
    try:
        plan = make_plan(
            Project.at(project), state=state, blobs=LocalBlobStore(project / ".wanplan")
        )
        (asset,) = [c.asset for c in plan.changes if c.asset is not None]
        ref = state.record_intent(
            provider=provider,
            model_id=asset.model_id,
            content_key=asset.content_key,
            address=asset.address,
            profile="default",
            estimated_cost=None,
        )
        body = {"prompt": asset.params["prompt"], "size": "1280*720", "seed": 1}
        answer = httpx.post(
            f"{base_url}/api/v3/{asset.model_id}",
            json=body,
            headers={"Authorization": f"Bearer {KEY}"},
        )
        state.record_unconfirmed(ref, "unconfirmed: network error (ReadError)", now_iso())
        return str(answer.json()["data"]["id"])
    finally:
        state.close()


def test_plan_shows_what_reconciliation_will_do_and_needs_no_key(
    run: Run, empty_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with emulator_for_wanplan(monkeypatch, Knobs(latency=0.1, time_scale=0.01), KEY) as emulator:
        (empty_project / "wanplan.toml").write_text(settings("wavespeed"))
        write_spec(empty_project, "a.toml", clips("wavespeed", 1))
        base_url = os.environ["WANPLAN_WAVESPEED_BASE_URL"]
        task_id = lost_submit(empty_project, base_url)
        time.sleep(LOOPBACK_CLOCK_PAD + FAST_RECONCILE["listing_lag"] + 0.5)  # settled

        looked = json.loads(run(empty_project, "plan", "--format", "json").output)
        (change,) = looked["changes"]
        assert (change["action"], change["task_id"]) == ("resume", task_id)
        history = emulator.requests(provider="wavespeed", path="/api/v3/predictions")
        assert history and not emulator.requests(method="POST", path_prefix="/api/v3/alibaba")[1:]

        monkeypatch.delenv("WAVESPEED_API_KEY")  # a pull request's plan: no key, no request
        before = len(emulator.log)
        blind = run(empty_project, "plan")
        assert "? wavespeed-0" in blind.output and "not read (no key here)" in blind.output
        assert len(emulator.log) == before

        monkeypatch.setenv("WAVESPEED_API_KEY", KEY)
        applied = run(empty_project, "apply", "-y")
        assert applied.exit_code == 0, applied.output
        assert "1 resumed" in applied.output
        assert set(own_tasks(emulator).values()) == {1}
        assert_outputs_are_their_own_tasks(empty_project, emulator)


def test_a_replace_that_sends_nothing_leaves_the_submit_unconfirmed(
    run: Run, empty_project: Path, emulator: Emulator
) -> None:
    lose_an_answer(run, empty_project, emulator)
    # The replacing submit is refused every time (429): nothing new exists, and the old,
    # unconfirmed submit must not be closed, or the next plain apply would pay again.
    emulator.set_knobs(drop_answer_rate=0.0, rate_limit_burst=50, retry_after=0)
    result = run(empty_project, "apply", "-y", "--replace", "apixo-0")
    assert result.exit_code == 1
    rows = state_rows(empty_project, "select status from tasks order by id")
    assert [row["status"] for row in rows] == ["unconfirmed", "failed"]
    emulator.set_knobs(rate_limit_burst=0)
    assert "? apixo-0" in run(empty_project, "plan").output
    assert run(empty_project, "apply", "-y").exit_code == 1
    assert own_tasks(emulator)["apixo shot 0."] == 1
