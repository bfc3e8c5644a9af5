"""The command line as a whole: help everywhere, init, show, state list, output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from tests.conftest import Run, write_spec
from wanplan.cli.main import cli


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in group.commands.items():
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found.extend(all_commands(command, (*prefix, name)))
    return found


@pytest.mark.parametrize("command", all_commands(cli), ids=" ".join)
def test_every_command_has_help_with_an_example(
    run: Run, project: Path, command: tuple[str, ...]
) -> None:
    result = run(project, *command, "--help")
    assert result.exit_code == 0
    assert "Example" in result.output


def test_init_then_plan_and_apply(run: Run, tmp_path: Path) -> None:
    root = tmp_path / "new"
    root.mkdir()
    result = run(root, "init")
    assert result.exit_code == 0
    assert {"wanplan.toml", "specs", "inputs", ".gitignore", "state"} <= {
        p.name for p in root.iterdir()
    }
    assert ".wanplan/" in (root / ".gitignore").read_text()
    again = run(root, "init")
    assert "kept    wanplan.toml" in again.output
    assert run(root, "apply", "-y").exit_code == 0
    assert run(root, "plan", "--detailed-exitcode").exit_code == 0


def test_show_state_list_and_output(run: Run, project: Path) -> None:
    assert "nothing has been applied yet" in run(project, "show").output
    assert run(project, "apply", "-y").exit_code == 0
    listing = run(project, "state", "list").output.split()
    assert listing == sorted(listing) and len(listing) == 6
    detail = json.loads(run(project, "show", "hero-turn", "--format", "json").output)
    assert detail["provider"] == "sim" and detail["model_id"] == "sim/wan-2.5/i2v"
    assert detail["parameters"]["seed"] == 7 and detail["inputs"]["image"].startswith("sha256:")
    assert detail["cost"] == "0.50" and detail["cost_source"] == "estimate"
    assert run(project, "output", "hero-turn").output.strip() == "outputs/hero-turn.gif"
    missing = run(project, "output", "hero-tur")
    assert missing.exit_code == 1 and "did you mean 'hero-turn'?" in missing.output


def test_the_installed_command_runs(project: Path) -> None:
    wanplan = Path(sys.executable).with_name("wanplan")
    result = subprocess.run(
        [str(wanplan), "-C", str(project), "plan", "--detailed-exitcode"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert "Plan: 6 to create" in result.stdout


def test_a_bug_exits_3_with_a_crash_log_not_a_traceback(
    run: Run, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import wanplan.plan.planner as planner

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(planner, "make_plan", broken)
    result = run(project, "plan")
    assert result.exit_code == 3
    assert "this is a bug" in result.output and "Traceback" not in result.output
    assert "ZeroDivisionError" in (project / ".wanplan" / "crash.log").read_text()


def test_help_imports_no_heavy_module() -> None:
    # `wanplan --help` must stay fast: the command modules import pydantic, httpx and
    # sqlite-utils only when a command runs (bench/cli_help.py measures the time).
    code = (
        "import sys, wanplan.cli.main as m\n"
        "heavy = [n for n in ('pydantic', 'httpx', 'sqlite_utils', 'PIL') if n in sys.modules]\n"
        "print(','.join(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and result.stdout.strip() == ""


def test_models_lists_the_catalog_as_json(run: Run, project: Path) -> None:
    document = json.loads(
        run(project, "models", "--provider", "dashscope", "--format", "json").output
    )
    entry = next(m for m in document["models"] if m["model_id"] == "wan2.1-t2v-turbo")
    assert entry["mode"] == "t2v" and entry["durations"] == [5]
    price = next(p for p in entry["prices"] if p["resolution"] == "720p")
    assert price["price"] == "0.036" and price["unit"] == "second" and price["as_of"]
    assert {m["provider"] for m in document["models"]} == {"dashscope"}
    apixo = json.loads(run(project, "models", "--provider", "apixo", "--format", "json").output)
    unknown = next(m for m in apixo["models"] if m["model_id"] == "wan-2-7-video")
    assert all(p["price"] is None for p in unknown["prices"])  # unknown, never $0


def test_a_reader_that_stops_early_is_not_a_crash(project: Path) -> None:
    """`wanplan models | head -1`: the pipe's reader is gone; wanplan exits 141 like any pipe
    writer, says nothing and writes no crash log."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader stopped before wanplan wrote anything: every write fails
    try:
        finished = subprocess.run(
            [str(Path(sys.executable).parent / "wanplan"), "-C", str(project), "models"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert finished.returncode == 141
    assert finished.stderr == b""
    assert not (project / ".wanplan" / "crash.log").exists()


def test_a_usage_error_never_reads_as_changes(run: Run, project: Path) -> None:
    """Under --detailed-exitcode, 2 means "there are changes": a mistyped option is 1."""
    result = run(project, "plan", "--detailed-exitcode", "--fail-on-cost-increase", "5USD")
    assert result.exit_code == 1
    assert "is not an amount in USD" in result.output
    assert run(project, "plan", "--no-such-option").exit_code == 1
    assert run(project, "no-such-command").exit_code == 1
    assert run(project, "--no-such-group-option", "plan").exit_code == 1


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("state", "rm"), "Missing argument 'ADDR...'"),
        (("plan", "--format", "xml"), "Invalid value for '--format'"),
        (("plan", "--no-such-option"), "No such option '--no-such-option'"),
    ],
)
def test_a_usage_error_keeps_clicks_message(
    run: Run, project: Path, args: tuple[str, ...], expected: str
) -> None:
    result = run(project, *args)
    assert result.exit_code == 1 and expected in result.output, result.output


def test_models_with_an_unknown_provider_or_mode_is_an_error(run: Run, project: Path) -> None:
    result = run(project, "models", "--provider", "wavespeeed")
    assert result.exit_code == 1
    assert "'wavespeeed' is not in the catalog" in result.output
    assert "(did you mean 'wavespeed'?)" in result.output
    assert "No models match" not in result.output
    assert run(project, "models", "--mode", "t2x").exit_code == 1


def test_state_show_prints_one_address_in_detail(run: Run, project: Path) -> None:
    assert run(project, "apply", "-y").exit_code == 0
    result = run(project, "state", "show", "forest-dolly", "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["address"] == "forest-dolly"
    assert document["output"] == "outputs/forest-dolly.gif"
    assert document["parameters"]["seed"] == 42
    text = run(project, "state", "show", "forest-dolly").output
    assert text.startswith("forest-dolly\n") and "  output: outputs/forest-dolly.gif" in text
    missing = run(project, "state", "show", "forest-dolli")
    assert missing.exit_code == 1 and "(did you mean 'forest-dolly'?)" in missing.stderr


def test_one_unchanged_asset_is_singular(run: Run, empty_project: Path) -> None:
    write_spec(
        empty_project,
        "a.toml",
        '[assets.one]\nmode = "t2v"\nmodel = "wan-2.5"\nprompt = "p"\nseed = 1\n',
    )
    assert run(empty_project, "apply", "-y").exit_code == 0
    markdown = run(empty_project, "plan", "--format", "markdown").output
    assert "**No changes.** 1 asset matches the specs." in markdown
    assert "No changes. 1 asset matches the specs" in run(empty_project, "plan").output
    assert "1 assets" not in markdown


@pytest.mark.parametrize(
    "command", [("show",), ("state", "list"), ("cost",), ("output", "x"), ("plan",)]
)
def test_outside_a_project_a_command_says_so(
    run: Run, tmp_path: Path, command: tuple[str, ...]
) -> None:
    folder = tmp_path / "not-a-project"
    folder.mkdir()
    result = run(folder, *command)
    assert result.exit_code == 1
    assert f"{folder} is not a wanplan project" in result.stderr
    assert list(folder.iterdir()) == []  # nothing written
