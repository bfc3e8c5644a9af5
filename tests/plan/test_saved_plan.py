"""`plan --out FILE` and `apply FILE`: exactly the saved plan, or a refusal that says what moved."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import KEY_VARIABLES, Run
from wanplan.apply.provenance import is_sidecar
from wanplan.state.sqlite import SqliteState

CANARY = "sk-canary-3f9a0c77e1"


def state_serial(root: Path) -> int | None:
    path = root / "state" / "wanplan.db"
    if not path.exists():
        return None
    reader = SqliteState.open_reader(path)
    try:
        return reader.serial
    finally:
        reader.close()


@pytest.fixture
def saved(run: Run, project: Path, tmp_path: Path) -> Path:
    path = tmp_path / "plans" / "plan.json"
    result = run(project, "plan", "--out", str(path))
    assert result.exit_code == 0, result.output
    assert f"Saved the plan to {path}" in result.stderr
    return path


def test_a_saved_plan_records_what_it_was_made_from_and_no_secret(
    run: Run, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in KEY_VARIABLES.values():
        monkeypatch.setenv(variable, CANARY)
    path = tmp_path / "plan.json"
    assert run(project, "plan", "--out", str(path), "--target", "poster").exit_code == 0
    text = path.read_text()
    assert CANARY not in text
    document = json.loads(text)
    assert [c["address"] for c in document["changes"]] == ["poster"]
    saved = document["saved"]
    assert saved["options"] == {"profile": "default", "targets": ["poster"], "replace": []}
    assert set(saved["files"]["specs"]) == {"specs/launch.toml", "specs/social.toml"}
    assert set(saved["files"]["inputs"]) == {"inputs/hero.png", "inputs/forest.png"}
    assert len(saved["files"]["settings"]) == 64
    assert document["state"] == {"lineage": None, "serial": 0}


def test_apply_file_applies_exactly_the_saved_plan_without_asking(
    run: Run, project: Path, saved: Path
) -> None:
    result = run(project, "apply", str(saved))  # no terminal, no -y: a saved plan was reviewed
    assert result.exit_code == 0, result.output
    assert "6 created" in result.stdout
    assert state_serial(project) == 6


def test_apply_file_keeps_the_saved_targets(run: Run, project: Path, tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    assert run(project, "plan", "--out", str(path), "--target", "poster").exit_code == 0
    assert run(project, "apply", str(path)).exit_code == 0
    assert [p.name for p in (project / "outputs").iterdir() if not is_sidecar(p.name)] == [
        "poster.png"
    ]


def test_options_that_would_change_a_saved_plan_are_refused(
    run: Run, project: Path, saved: Path
) -> None:
    result = run(project, "apply", str(saved), "--target", "poster")
    assert result.exit_code == 1
    assert "come from the saved plan" in result.output
    assert state_serial(project) is None


def stale(run: Run, project: Path, saved: Path) -> str:
    result = run(project, "apply", str(saved), "-y")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1
    assert "the saved plan is stale, nothing was applied" in result.stderr
    assert not (project / "outputs").exists()
    return result.stderr


def test_a_changed_spec_makes_the_plan_stale(run: Run, project: Path, saved: Path) -> None:
    launch = project / "specs" / "launch.toml"
    launch.write_text(launch.read_text().replace("at dawn", "at noon"))
    (project / "specs" / "more.toml").write_text("version = 1\n")
    message = stale(run, project, saved)
    assert "specs changed: specs/launch.toml (changed), specs/more.toml (added)" in message


def test_a_changed_input_makes_the_plan_stale(run: Run, project: Path, saved: Path) -> None:
    shutil.copy(project / "inputs" / "forest.png", project / "inputs" / "hero.png")
    assert "inputs changed: inputs/hero.png (changed)" in stale(run, project, saved)


def test_changed_settings_make_the_plan_stale(run: Run, project: Path, saved: Path) -> None:
    config = project / "wanplan.toml"
    config.write_text(config.read_text() + "\n[budget]\nmax_per_day = 100\n")
    assert "wanplan.toml changed" in stale(run, project, saved)


def test_another_state_makes_the_plan_stale(run: Run, project: Path, tmp_path: Path) -> None:
    assert run(project, "apply", "-y", "--target", "poster").exit_code == 0
    path = tmp_path / "plan.json"
    assert run(project, "plan", "--out", str(path)).exit_code == 0
    shutil.rmtree(project / "state")
    shutil.rmtree(project / "outputs")
    assert run(project, "apply", "-y", "--target", "poster").exit_code == 0  # a new lineage
    result = run(project, "apply", str(path))
    assert result.exit_code == 1
    assert "it was made against another state" in result.stderr


def test_a_deleted_output_makes_the_plan_stale(run: Run, project: Path, tmp_path: Path) -> None:
    assert run(project, "apply", "-y", "--target", "poster").exit_code == 0
    path = tmp_path / "plan.json"
    assert run(project, "plan", "--out", str(path)).exit_code == 0
    (project / "outputs" / "poster.png").unlink()
    result = run(project, "apply", str(path))
    assert result.exit_code == 1
    assert "planning again gives other changes" in result.stderr
    assert not (project / "outputs" / "forest-dolly.gif").exists()


def test_what_is_not_a_saved_plan_is_refused(run: Run, project: Path, tmp_path: Path) -> None:
    plain = tmp_path / "plain.json"
    plain.write_text(run(project, "plan", "--format", "json").stdout)
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{")
    damaged = tmp_path / "damaged.json"
    damaged.write_text(json.dumps({"saved": {"format": "wanplan.saved-plan/1"}}))
    nested = tmp_path / "nested.json"
    nested.write_text("[" * 100_000)
    digits = tmp_path / "digits.json"
    digits.write_text("1" * 5_000)
    newer = tmp_path / "newer.json"
    run(project, "plan", "--out", str(newer))
    newer.write_text(newer.read_text().replace('"format_version": "1"', '"format_version": "2"'))
    expected = {
        newer: "a plan of format_version '2', which this wanplan (format_version 1) does not",
        plain: "not a plan saved by `wanplan plan --out`",
        garbage: "not a saved plan",
        nested: "not a saved plan",
        digits: "not a saved plan",
        damaged: "the saved plan is damaged",
        tmp_path / "missing.json": "no such plan file",
    }
    for path, message in expected.items():
        result = run(project, "apply", str(path))
        assert result.exit_code == 1, path
        assert message in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert state_serial(project) is None


@pytest.mark.parametrize(
    "target",
    [
        "state/wanplan.db",
        "wanplan.toml",
        "specs/plan.json",
        "outputs/plan.json",
        ".wanplan/p.json",
        "inputs/plan.json",
        "plan.toml",
    ],
)
def test_a_plan_file_cannot_overwrite_the_projects_own_files(
    run: Run, project: Path, target: str
) -> None:
    before = {p: p.read_bytes() for p in project.rglob("*") if p.is_file()}
    result = run(project, "plan", "--out", str(project / target))
    assert result.exit_code == 1
    assert "--out" in result.stderr and len(result.stderr.splitlines()) == 1
    assert {p: p.read_bytes() for p in project.rglob("*") if p.is_file()} == before


def test_changes_to_other_assets_leave_a_saved_plan_fresh(
    run: Run, project: Path, tmp_path: Path
) -> None:
    """Freshness is by the assets the plan touches: another runner applying other assets
    (the serial moves) does not make it stale."""
    path = tmp_path / "plan.json"
    assert run(project, "plan", "--out", str(path), "--target", "poster").exit_code == 0
    assert run(project, "apply", "-y", "--target", "forest-dolly").exit_code == 0
    before = state_serial(project)
    result = run(project, "apply", str(path))
    assert result.exit_code == 0, result.output
    assert "1 created" in result.stdout
    assert state_serial(project) == (before or 0) + 1


def test_a_touched_asset_changed_in_the_state_makes_the_plan_stale(
    run: Run, project: Path, tmp_path: Path
) -> None:
    path = tmp_path / "plan.json"
    assert run(project, "plan", "--out", str(path), "--target", "poster").exit_code == 0
    assert run(project, "apply", "-y", "--target", "poster").exit_code == 0
    result = run(project, "apply", str(path))
    assert result.exit_code == 1
    assert "planning again gives other changes for poster" in result.stderr
    assert "the state changed since (serial 0 then, 1 now)" in result.stderr
