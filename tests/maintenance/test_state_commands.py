"""state rm, state mv, refresh and gc: each changes the state in one locked transaction (or
nothing), and the next plan shows what it promised."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLE_ADDRESSES, Run
from wanplan.state.lock import this_process
from wanplan.state.sqlite import SqliteState


def db(project: Path) -> Path:
    return project / "state" / "wanplan.db"


def serial(project: Path) -> int:
    reader = SqliteState.open_reader(db(project))
    try:
        return reader.serial
    finally:
        reader.close()


def records(project: Path) -> dict[str, Any]:
    reader = SqliteState.open_reader(db(project))
    try:
        return reader.assets("default")
    finally:
        reader.close()


def planned(run: Run, project: Path) -> dict[str, tuple[str, str]]:
    """address -> (action, estimated cost) of the next plan."""
    result = run(project, "plan", "--format", "json")
    assert result.exit_code == 0, result.output
    return {
        c["address"]: (c["action"], c["estimated_cost"])
        for c in json.loads(result.output)["changes"]
    }


def cached_blobs(project: Path) -> set[str]:
    return {p.name for p in (project / ".wanplan" / "blobs").glob("*/*")}


@pytest.fixture
def applied(run: Run, project: Path) -> Path:
    result = run(project, "apply", "-y")
    assert result.exit_code == 0, result.output
    return project


def refused_while_locked(run: Run, root: Path, *command: str) -> None:
    """Run a command while another wanplan holds the state lock: refused, naming the holder."""
    holder = this_process("wanplan apply (the other one)")
    state = SqliteState.open_writer(db(root))
    assert state.acquire_lock(holder, 0) == []
    try:
        result = run(root, *command)
    finally:
        state.release_lock(holder.id)
        state.close()
    assert result.exit_code == 1
    assert f"the state is locked by `wanplan apply (the other one)` (pid {holder.pid}" in (
        result.output
    )
    assert f"wanplan force-unlock {holder.id}" in result.output


# ---- state rm --------------------------------------------------------------------------


def test_state_rm_forgets_and_the_next_plan_reuses_at_no_cost(run: Run, applied: Path) -> None:
    before = serial(applied)
    result = run(applied, "state", "rm", "forest-dolly", "poster")
    assert result.exit_code == 0, result.output
    assert "Removed forest-dolly" in result.output and "Removed poster" in result.output
    assert serial(applied) == before + 1
    assert set(records(applied)) == {"hero-turn", "city-timelapse", "hero-to-forest", "square-loop"}
    assert (applied / "outputs" / "poster.png").exists()  # the file stays
    assert planned(run, applied) == {
        "forest-dolly": ("reuse", "0.00"),
        "poster": ("reuse", "0.00"),
    }


def test_state_rm_of_an_unknown_address_removes_nothing(run: Run, applied: Path) -> None:
    before = db(applied).read_bytes()
    result = run(applied, "state", "rm", "poster", "forest-doly")
    assert result.exit_code == 1
    assert "forest-doly is not in the state (profile default) (did you mean 'forest-dolly'?)" in (
        result.output
    )
    assert len(result.output.strip().splitlines()) == 1
    assert db(applied).read_bytes() == before
    assert planned(run, applied) == {}


def test_state_commands_need_a_state(run: Run, project: Path) -> None:
    for command in (["state", "rm", "poster"], ["state", "mv", "a", "b"], ["refresh"], ["gc"]):
        result = run(project, *command)
        assert result.exit_code == 1
        assert "there is no state yet" in result.output
    assert not db(project).exists()


# ---- state mv --------------------------------------------------------------------------


def rename_in_spec(project: Path, old: str, new: str) -> None:
    spec = project / "specs" / "launch.toml"
    spec.write_text(spec.read_text().replace(f"[assets.{old}]", f"[assets.{new}]"))


def test_state_mv_then_renaming_the_spec_plans_nothing(run: Run, applied: Path) -> None:
    before = serial(applied)
    content = (applied / "outputs" / "forest-dolly.gif").read_bytes()
    result = run(applied, "state", "mv", "forest-dolly", "forest-push")
    assert result.exit_code == 0, result.output
    assert "outputs/forest-dolly.gif to outputs/forest-push.gif" in result.output
    assert serial(applied) == before + 1
    assert not (applied / "outputs" / "forest-dolly.gif").exists()
    assert (applied / "outputs" / "forest-push.gif").read_bytes() == content
    assert records(applied)["forest-push"].output_path == "outputs/forest-push.gif"
    # Before the spec is renamed, the plan moves it back at $0 (one change, no delete).
    assert planned(run, applied) == {"forest-dolly": ("reuse", "0.00")}
    rename_in_spec(applied, "forest-dolly", "forest-push")
    assert planned(run, applied) == {}


def test_state_mv_keeps_an_output_named_in_the_spec(run: Run, project: Path) -> None:
    spec = project / "specs" / "launch.toml"
    spec.write_text(spec.read_text().replace("seed = 1234\n", 'seed = 1234\noutput = "print/a3"\n'))
    assert run(project, "apply", "-y").exit_code == 0
    applied = project
    assert records(applied)["poster"].output_path == "outputs/print/a3.png"
    result = run(applied, "state", "mv", "poster", "poster-a3")
    assert result.exit_code == 0, result.output
    assert (applied / "outputs" / "print" / "a3.png").exists()
    assert records(applied)["poster-a3"].output_path == "outputs/print/a3.png"
    rename_in_spec(applied, "poster", "poster-a3")
    assert planned(run, applied) == {}


def test_state_mv_moves_an_open_task_with_the_address(run: Run, applied: Path) -> None:
    state = SqliteState.open_writer(db(applied))
    ref = state.record_intent(
        provider="sim",
        model_id="sim/wan-2.5/t2i",
        content_key="a-newer-content-key",
        address="poster",
        profile="default",
        estimated_cost=None,
    )
    state.record_submitted(ref, "task-1")
    state.close()
    assert run(applied, "state", "mv", "poster", "poster-2").exit_code == 0
    reader = SqliteState.open_reader(db(applied))
    assert [(t.address, t.task_id) for t in reader.open_tasks()] == [("poster-2", "task-1")]
    reader.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["poster", "forest-dolly"], "forest-dolly is already in the state (profile default)"),
        (
            ["postr", "poster-2"],
            "postr is not in the state (profile default) (did you mean 'poster'?)",
        ),
        (["poster", "Poster 2"], "Poster 2: not an asset address"),
        (["poster", "poster"], "the source and the destination are the same address"),
    ],
)
def test_state_mv_refusals_change_nothing(
    run: Run, applied: Path, args: list[str], message: str
) -> None:
    before = db(applied).read_bytes()
    outputs = sorted(p.name for p in (applied / "outputs").iterdir())
    result = run(applied, "state", "mv", *args)
    assert result.exit_code == 1
    assert message in result.output
    assert db(applied).read_bytes() == before
    assert sorted(p.name for p in (applied / "outputs").iterdir()) == outputs


def test_state_mv_does_not_overwrite_a_file_in_the_way(run: Run, applied: Path) -> None:
    (applied / "outputs" / "poster-2.png").write_bytes(b"mine")
    before = db(applied).read_bytes()
    result = run(applied, "state", "mv", "poster", "poster-2")
    assert result.exit_code == 1
    assert "outputs/poster-2.png already exists" in result.output
    assert (applied / "outputs" / "poster-2.png").read_bytes() == b"mine"
    assert db(applied).read_bytes() == before


# ---- refresh ---------------------------------------------------------------------------


def alter_keeping_size_and_mtime(path: Path) -> None:
    st = path.stat()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_refresh_finds_what_plan_trusts_and_the_next_plan_repairs_it(
    run: Run, applied: Path
) -> None:
    outputs = applied / "outputs"
    alter_keeping_size_and_mtime(outputs / "hero-turn.gif")
    (outputs / "square-loop.gif").unlink()
    os.utime(outputs / "poster.png", ns=(1_000_000_000, 1_000_000_000))  # intact, new mtime
    assert planned(run, applied) == {"square-loop": ("repair", "0.00")}  # plan trusts the rest
    before = serial(applied)
    result = run(applied, "refresh", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["outputs"] == {
        "intact": 4,
        "restamped": [{"address": "poster", "output": "outputs/poster.png"}],
        "missing": [{"address": "square-loop", "output": "outputs/square-loop.gif"}],
        "altered": [{"address": "hero-turn", "output": "outputs/hero-turn.gif"}],
    }
    assert report["blobs"] == {"checked": 6, "corrupt": []}
    assert serial(applied) == before + 1
    assert records(applied)["poster"].output_mtime_ns == 1_000_000_000
    assert planned(run, applied) == {
        "hero-turn": ("repair", "0.00"),
        "square-loop": ("repair", "0.00"),
    }
    assert run(applied, "apply", "-y").exit_code == 0
    assert planned(run, applied) == {}


def test_refresh_removes_a_corrupt_blob_and_says_it_will_cost(run: Run, applied: Path) -> None:
    poster = records(applied)["poster"]
    blob = applied / ".wanplan" / "blobs" / poster.output_sha256[:2] / poster.output_sha256
    blob.write_bytes(b"not the poster any more")
    result = run(applied, "refresh")
    assert result.exit_code == 0, result.output
    assert f"corrupt blob {poster.output_sha256[:12]} removed from the cache (used by poster)" in (
        result.output
    )
    assert "will generate again, at the estimate" in result.output
    assert "6 cached blobs checked, 1 corrupt" in result.output
    assert not blob.exists()
    (applied / "outputs" / "poster.png").unlink()
    action, cost = planned(run, applied)["poster"]
    assert action == "repair" and cost != "0.00"  # generated again, not restored


def test_refresh_of_an_intact_project_changes_nothing(run: Run, applied: Path) -> None:
    before = serial(applied)
    result = run(applied, "refresh")
    assert result.exit_code == 0, result.output
    assert "6 outputs intact (0 with a new mtime recorded), 0 missing, 0 altered" in result.output
    assert serial(applied) == before


# ---- gc --------------------------------------------------------------------------------


def test_gc_collects_unused_blobs_and_staging_files(run: Run, applied: Path) -> None:
    spec = applied / "specs" / "launch.toml"
    original = spec.read_text()
    spec.write_text(original.replace("seed = 1234", "seed = 4321"))
    assert run(applied, "apply", "-y").exit_code == 0
    old_poster = (set(cached_blobs(applied))) - {r.output_sha256 for r in records(applied).values()}
    assert len(old_poster) == 1
    staging = applied / ".wanplan" / "tmp"
    staging.mkdir(exist_ok=True)
    (staging / "incoming-x.part").write_bytes(b"x" * 2048)
    # What a killed apply leaves beside the outputs: a result and a provenance file half
    # copied. A file of the user's that merely ends in .part is not wanplan's.
    half = [
        applied / "outputs" / ".wanplan-abc123.part",
        applied / "outputs" / ".p.png.wanplan.json.x1.part",
    ]
    for path in half:
        path.write_bytes(b"half")
    (applied / "outputs" / "notes.part").write_bytes(b"mine")
    blobs_before = cached_blobs(applied)

    dry = run(applied, "gc", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert f"would remove blob {next(iter(old_poster))}" in dry.output
    assert "would remove staging file incoming-x.part (2.0 KiB)" in dry.output
    assert "Would free" in dry.output
    assert cached_blobs(applied) == blobs_before and (staging / "incoming-x.part").exists()

    assert "would remove staging file outputs/.wanplan-abc123.part (4 B)" in dry.output
    done = run(applied, "gc", "--format", "json")
    assert done.exit_code == 0, done.output
    report = json.loads(done.output)
    assert report["count"] == 4
    assert not any(path.exists() for path in half)
    assert (applied / "outputs" / "notes.part").read_bytes() == b"mine"
    assert [b["sha256"] for b in report["blobs"]] == sorted(old_poster)
    assert report["bytes"] == sum(b["size"] for b in report["blobs"]) + 2048 + 2 * 4
    assert cached_blobs(applied) == blobs_before - old_poster
    assert not (staging / "incoming-x.part").exists()
    assert planned(run, applied) == {}  # nothing in use was collected
    spec.write_text(original)  # reverting now costs a generation instead of a reuse
    action, cost = planned(run, applied)["poster"]
    assert action == "replace" and cost != "0.00"


def test_gc_keeps_what_the_specs_still_declare(run: Run, applied: Path) -> None:
    """`state rm` promises a free reuse while the asset is declared: gc keeps its blob."""
    assert run(applied, "state", "rm", "poster").exit_code == 0
    result = run(applied, "gc")
    assert result.exit_code == 0, result.output
    assert "0 unused blobs" in result.output
    assert planned(run, applied)["poster"] == ("reuse", "0.00")


def test_gc_text_warns_about_the_cost_of_reverting(run: Run, applied: Path) -> None:
    spec = applied / "specs" / "launch.toml"
    spec.write_text(spec.read_text().replace("seed = 1234", "seed = 4321"))
    assert run(applied, "apply", "-y").exit_code == 0
    result = run(applied, "gc")
    assert result.exit_code == 0, result.output
    assert "Freed" in result.output and "1 unused blobs" in result.output
    assert "will be generated again, at its price" in result.output


def test_gc_refuses_while_the_specs_are_invalid(run: Run, applied: Path) -> None:
    (applied / "specs" / "broken.toml").write_text("version = 1\n[assets.x]\nmode = 3\n")
    blobs = cached_blobs(applied)
    result = run(applied, "gc")
    assert result.exit_code == 1
    assert "specs/broken.toml" in result.output
    assert cached_blobs(applied) == blobs


# ---- the lock and help -----------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["state", "rm", "poster"],
        ["state", "mv", "poster", "poster-2"],
        ["refresh"],
        ["gc"],
    ],
)
def test_a_held_lock_refuses_with_its_holder(run: Run, applied: Path, command: list[str]) -> None:
    blobs = cached_blobs(applied)
    refused_while_locked(run, applied, *command)
    assert set(records(applied)) == set(EXAMPLE_ADDRESSES)
    assert cached_blobs(applied) == blobs
    assert (applied / "outputs" / "poster.png").exists()


@pytest.mark.parametrize(
    "command", [["state", "rm"], ["state", "mv"], ["import"], ["refresh"], ["gc"]]
)
def test_help_has_an_example(run: Run, project: Path, command: list[str]) -> None:
    result = run(project, *command, "--help")
    assert result.exit_code == 0
    assert f"wanplan {' '.join(command)} " in result.output.split("Example")[1]


def test_refresh_reports_an_output_it_cannot_read_as_altered(run: Run, applied: Path) -> None:
    """A folder where an output was is damage to report, not a crash."""
    poster = applied / "outputs" / "poster.png"
    poster.unlink()
    poster.mkdir()
    result = run(applied, "refresh", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert [a["address"] for a in report["outputs"]["altered"]] == ["poster"]
