"""`wanplan state copy`: a SQLite state into PostgreSQL and back, journal and ledger kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Run


def summary(run: Run, project: Path) -> tuple[str, str]:
    shown = json.loads(run(project, "show", "--format", "json").output)
    spent = json.loads(run(project, "cost", "--format", "json").output)
    return json.dumps(shown, sort_keys=True), json.dumps(spent["total"], sort_keys=True)


def test_a_state_moves_into_postgresql_and_back_unchanged(
    run: Run, project: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(project, "apply", "-y").exit_code == 0
    before = summary(run, project)

    copied = run(project, "state", "copy", "--to", postgres_url)
    assert copied.exit_code == 0, copied.output
    assert "Copied 6 assets, 6 generations, 6 journal rows and 6 ledger entries" in copied.output
    assert "@127.0.0.1" in copied.output and "password" not in copied.output

    monkeypatch.setenv("WANPLAN_STATE_URL", postgres_url)
    assert run(project, "plan", "--detailed-exitcode").exit_code == 0  # nothing to do there
    assert summary(run, project) == before  # same lineage, serial, records and spend
    again = run(project, "state", "copy", "--to", "state/back.db")
    assert again.exit_code == 0, again.output

    monkeypatch.delenv("WANPLAN_STATE_URL")
    settings = project / "wanplan.toml"
    settings.write_text(
        settings.read_text().replace("[project]\n", '[project]\nstate = "state/back.db"\n')
    )
    assert run(project, "plan", "--detailed-exitcode").exit_code == 0
    assert summary(run, project) == before
    # The copy's journal goes on: the next task id follows the copied ones.
    assert run(project, "apply", "-y", "--replace", "poster").exit_code == 0


def test_a_copy_goes_only_into_an_empty_state(run: Run, project: Path, postgres_url: str) -> None:
    assert run(project, "apply", "-y", "--target", "poster").exit_code == 0
    assert run(project, "state", "copy", "--to", postgres_url).exit_code == 0
    refused = run(project, "state", "copy", "--to", postgres_url)
    assert refused.exit_code == 1 and "copy into an empty one" in refused.output
    own = run(project, "state", "copy", "--to", "state/wanplan.db")
    assert own.exit_code == 1 and "this project's own state" in own.output
    secret = run(project, "state", "copy", "--to", "postgresql://bob:hunter2@127.0.0.1/x")
    assert secret.exit_code == 1 and "hunter2" not in secret.output


def test_a_copy_outside_the_project_is_one_line(run: Run, project: Path, tmp_path: Path) -> None:
    for where in (str(tmp_path / "elsewhere.db"), "../elsewhere.db", "/etc/wanplan.db"):
        refused = run(project, "state", "copy", "--to", where)
        assert refused.exit_code == 1, refused.output
        lines = [line for line in refused.output.splitlines() if line.strip()]
        assert len(lines) == 1 and "outside the project" in lines[0], refused.output
        assert "crashed" not in refused.output
    assert not (tmp_path / "elsewhere.db").exists()
