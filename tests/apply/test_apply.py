"""Apply: confirmation, partial failure, resume without paying twice, deterministic sim."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import pty
import select
import shutil
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from tests.conftest import Run, write_spec
from wanplan.apply.provenance import is_sidecar
from wanplan.config import ProviderSettings
from wanplan.project import Project
from wanplan.providers.base import GenerationRequest, ProviderContext
from wanplan.providers.sim import service
from wanplan.providers.sim.provider import SimProvider
from wanplan.spec.resolved import ResolvedAsset
from wanplan.state.sqlite import SqliteState
from wanplan.workspace import PlanRequest, Workspace


def submits(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Count submit requests that reach the sim service."""
    seen: list[str] = []
    real = service.SimService._submit

    def counting(self: service.SimService, body: dict) -> httpx.Response:
        seen.append(body["content_key"])
        return real(self, body)

    monkeypatch.setattr(service.SimService, "_submit", counting)
    return seen


def test_apply_without_a_terminal_refuses_and_spends_nothing(
    run: Run, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = submits(monkeypatch)
    result = run(project, "apply")
    assert result.exit_code == 1
    assert "no terminal to ask" in result.output and "wanplan apply -y" in result.output
    assert seen == []
    assert not (project / "outputs").exists()


def test_ci_never_prompts(run: Run, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    assert run(project, "apply").exit_code == 1


def _pty_apply(project: Path, answer: str) -> tuple[int, str]:
    env = {**os.environ, "NO_COLOR": "1"}
    wanplan = Path(sys.executable).with_name("wanplan")
    primary, secondary = pty.openpty()
    process = subprocess.Popen(
        [str(wanplan), "-C", str(project), "apply"],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=env,
        close_fds=True,
    )
    os.close(secondary)
    seen = b""
    deadline = time.monotonic() + 60
    answered = False
    while time.monotonic() < deadline:
        ready, _, _ = select.select([primary], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(primary, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        if not answered and b"Only 'yes' will be accepted:" in seen:
            os.write(primary, answer.encode() + b"\n")
            answered = True
        if process.poll() is not None and not ready:
            break
    code = process.wait(timeout=30)
    os.close(primary)
    return code, seen.decode(errors="replace")


def test_confirmation_on_a_terminal(project: Path) -> None:
    code, screen = _pty_apply(project, "no")
    assert "Apply 6 changes for an estimated $3.03? Only 'yes' will be accepted:" in screen
    assert code == 1 and "cancelled" in screen
    assert not (project / "outputs").exists()

    code, screen = _pty_apply(project, "yes")
    assert code == 0, screen
    assert "6 created" in screen


def test_one_failure_does_not_stop_the_others(run: Run, project: Path) -> None:
    spec = project / "specs" / "launch.toml"
    spec.write_text(
        spec.read_text().replace(
            "seed = 7", 'seed = 7\nparams = { sim_fail = "DataInspectionFailed" }'
        )
    )
    result = run(project, "apply", "-y")
    assert result.exit_code == 1
    assert "5 created" in result.output and "1 failed" in result.output
    assert "failed hero-turn: sim task" in result.output and "DataInspectionFailed" in result.output
    assert sorted(p.stem for p in (project / "outputs").iterdir() if not is_sidecar(p.name)) == [
        "city-timelapse",
        "forest-dolly",
        "hero-to-forest",
        "poster",
        "square-loop",
    ]
    document = json.loads(run(project, "plan", "--format", "json").output)
    assert [(c["address"], c["action"]) for c in document["changes"]] == [("hero-turn", "create")]


def poster_intent(project: Path) -> tuple[SqliteState, int, ResolvedAsset]:
    """The journal as an apply leaves it just before submitting the poster: an intent."""
    asset = Workspace.open(project).plan(PlanRequest(targets=("poster",))).plan.changes[0].asset
    assert asset is not None
    state = SqliteState.open_writer(project / "state" / "wanplan.db")
    ref = state.record_intent(
        provider="sim",
        model_id=asset.model_id,
        content_key=asset.content_key,
        address="poster",
        profile="default",
        estimated_cost=None,
    )
    return state, ref, asset


def test_submitted_task_is_resumed_not_paid_again(
    run: Run, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An earlier apply submitted the task and was killed before collecting it.
    state, ref, asset = poster_intent(project)

    async def submit() -> str:
        settings = ProviderSettings()
        async with SimProvider.make_client(settings) as client:
            request = GenerationRequest(
                "poster", asset.content_key, asset.model_id, asset.mode, asset.params
            )
            context = ProviderContext(settings, client, "", None, None)
            return (await SimProvider(context).submit(request)).task_id

    task_id = asyncio.run(submit())
    state.record_submitted(ref, task_id)
    state.close()

    document = json.loads(run(project, "plan", "--format", "json", "--target", "poster").output)
    assert document["changes"][0]["action"] == "resume"
    assert document["changes"][0]["estimated_cost"] == "0.00"
    text = run(project, "plan", "--target", "poster").output
    assert "> poster" in text and task_id in text

    seen = submits(monkeypatch)
    result = run(project, "apply", "-y", "--target", "poster")
    assert result.exit_code == 0, result.output
    assert seen == []
    assert (project / "outputs" / "poster.png").exists()
    assert run(project, "plan", "--target", "poster", "--detailed-exitcode").exit_code == 0


def test_a_submit_cut_off_is_reconciled_before_anything_is_sent_again(
    run: Run, project: Path
) -> None:
    # A kill between the request and the commit of its answer: an intent row, no task id.
    state, _, _ = poster_intent(project)
    state.close()
    result = run(project, "plan", "--target", "poster")
    assert "? poster" in result.output and "unconfirmed" in result.output
    assert "cut off before its answer was recorded" in result.output

    # The sim's task list (in process) shows no task once the window has settled: the
    # submit made nothing, and the asset is generated normally.
    assert run(project, "apply", "-y", "--target", "poster").exit_code == 0
    reader = SqliteState.open_reader(project / "state" / "wanplan.db")
    statuses = [row["status"] for row in reader.db.query("select status from tasks order by id")]
    reader.close()
    assert statuses == ["not_created", "collected"]
    assert run(project, "plan", "--target", "poster", "--detailed-exitcode").exit_code == 0


def test_missing_or_altered_outputs_are_repaired_from_the_cache(
    run: Run, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(project, "apply", "-y").exit_code == 0
    good = (project / "outputs/poster.png").read_bytes()
    (project / "outputs/poster.png").write_bytes(b"scribbled over")
    (project / "outputs/hero-turn.gif").unlink()
    document = json.loads(run(project, "plan", "--format", "json").output)
    assert {(c["address"], c["action"], c["estimated_cost"]) for c in document["changes"]} == {
        ("hero-turn", "repair", "0.00"),
        ("poster", "repair", "0.00"),
    }
    seen = submits(monkeypatch)
    assert run(project, "apply", "-y").exit_code == 0
    assert seen == []
    assert (project / "outputs/poster.png").read_bytes() == good
    assert (project / "outputs/hero-turn.gif").exists()


def test_same_content_key_gives_the_same_bytes(run: Run, project: Path) -> None:
    assert run(project, "apply", "-y").exit_code == 0
    first = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in (project / "outputs").iterdir()
        if not is_sidecar(p.name)
    }
    for folder in ("outputs", ".wanplan", "state"):
        shutil.rmtree(project / folder)
    assert run(project, "apply", "-y").exit_code == 0
    second = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in (project / "outputs").iterdir()
        if not is_sidecar(p.name)
    }
    assert first == second
    assert len(set(first.values())) == len(first)  # and different keys give different media


def test_custom_output_name(run: Run, empty_project: Path) -> None:
    write_spec(
        empty_project,
        "a.toml",
        '[assets.p]\nmode = "t2i"\nmodel = "wan-2.5"\nprompt = "x"\nseed = 1\n'
        'output = "print/cover"\n',
    )
    assert run(empty_project, "apply", "-y").exit_code == 0
    assert (empty_project / "outputs/print/cover.png").exists()
    assert run(empty_project, "output", "p").output.strip() == "outputs/print/cover.png"


def test_json_log_is_one_object_per_line(run: Run, project: Path) -> None:
    result = run(project, "apply", "-y", "--log-format", "json")
    assert result.exit_code == 0, result.output
    documents = [json.loads(line) for line in result.output.splitlines()]
    assert documents[0]["event"] == "plan" and documents[0]["summary"]["create"] == 6
    assert [d["event"] for d in documents].count("submitted") == 6
    created = [d for d in documents if d["event"] == "created"]
    assert len(created) == 6 and all(d["address"] and d["elapsed"] > 0 for d in created)
    assert sum(Decimal(d["spent"]) for d in created) == Decimal("3.03")
    summary = documents[-1]
    assert summary["event"] == "summary" and summary["created"] == 6 and summary["spent"] == "3.03"


def test_a_resume_without_a_task_id_fails_and_never_submits(project: Path) -> None:
    """A resume collects what was paid for; it must never turn into a new, paid submit."""
    import dataclasses

    from wanplan.apply.engine import run_apply
    from wanplan.blobs import LocalBlobStore
    from wanplan.plan.model import Action
    from wanplan.state.records import SUBMITTED, TaskRecord

    root = Project.at(project)
    plan = Workspace(root).plan(PlanRequest(targets=("poster",))).plan
    [change] = plan.changes
    assert change.asset is not None
    task = TaskRecord(
        1,
        "sim",
        change.asset.model_id,
        None,
        change.asset.content_key,
        "poster",
        "default",
        SUBMITTED,
        "2026-11-21T00:00:00.000+00:00",
        "2026-11-21T00:00:00.000+00:00",
        None,
        None,
    )
    plan.changes = [dataclasses.replace(change, action=Action.RESUME, task=task)]
    state = SqliteState.open_writer(root.state_path)
    try:
        events: list[str] = []
        result = run_apply(
            root,
            plan,
            state,
            LocalBlobStore(root.cache_dir),
            on_event=lambda e: events.append(e.kind),
        )
    finally:
        state.close()
    [outcome] = result.outcomes
    assert not outcome.ok and outcome.error == "the task to resume has no task id; plan again"
    assert "submitted" not in events
