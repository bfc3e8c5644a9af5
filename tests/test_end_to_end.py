"""The whole loop on the sim, as a new user meets it (issue 2's acceptance)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Run
from wanplan.apply.provenance import is_sidecar

SPEC = "specs/launch.toml"


def plan_json(run: Run, root: Path, *args: str) -> dict:
    result = run(root, "plan", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def actions(document: dict) -> dict[str, tuple[str, list[str], str | None]]:
    return {
        c["address"]: (c["action"], c["reasons"], c["estimated_cost"]) for c in document["changes"]
    }


def test_apply_generates_every_asset_then_nothing_to_do(run: Run, project: Path) -> None:
    result = run(project, "apply", "-y")
    assert result.exit_code == 0, result.output
    assert "6 created" in result.output
    outputs = sorted(p.name for p in (project / "outputs").iterdir() if not is_sidecar(p.name))
    assert outputs == [
        "city-timelapse.gif",
        "forest-dolly.gif",
        "hero-to-forest.gif",
        "hero-turn.gif",
        "poster.png",
        "square-loop.gif",
    ]
    assert (project / "outputs/poster.png").read_bytes().startswith(b"\x89PNG")
    assert (project / "outputs/hero-turn.gif").read_bytes().startswith(b"GIF89a")

    again = run(project, "plan", "--detailed-exitcode")
    assert again.exit_code == 0
    assert "No changes" in again.output


def test_edit_one_prompt_replaces_only_that_asset(run: Run, project: Path) -> None:
    assert run(project, "apply", "-y").exit_code == 0
    untouched = (project / "outputs/forest-dolly.gif").stat().st_mtime_ns
    spec = project / SPEC
    spec.write_text(spec.read_text().replace("turns slowly toward light", "waves at the camera"))

    document = plan_json(run, project)
    assert actions(document) == {"hero-turn": ("replace", ["prompt"], "0.50")}
    detailed = run(project, "plan", "--detailed-exitcode")
    assert detailed.exit_code == 2
    assert "~ hero-turn" in detailed.output
    assert "Plan: 0 to create, 1 to replace, 0 to delete. Estimated cost: $0.50" in detailed.output

    applied = run(project, "apply", "-y")
    assert applied.exit_code == 0, applied.output
    assert "1 replaced" in applied.output
    assert (project / "outputs/forest-dolly.gif").stat().st_mtime_ns == untouched
    assert run(project, "plan", "--detailed-exitcode").exit_code == 0


def test_remove_rename_and_revert(run: Run, project: Path) -> None:
    assert run(project, "apply", "-y").exit_code == 0
    spec = project / SPEC
    original = spec.read_text()

    # Remove an asset: delete, its output goes, nothing is spent.
    without_poster = original[: original.index("[assets.poster]")]
    spec.write_text(without_poster)
    assert actions(plan_json(run, project)) == {"poster": ("delete", [], "0.00")}
    assert run(project, "apply", "-y").exit_code == 0
    assert not (project / "outputs/poster.png").exists()

    # Bring it back under another name: the content key was generated before, so reuse at $0.
    spec.write_text(original.replace("[assets.poster]", "[assets.forest-poster]"))
    document = plan_json(run, project)
    assert actions(document) == {"forest-poster": ("reuse", ["generated before"], "0.00")}
    assert document["summary"]["estimated_cost"] == "0.00"
    applied = run(project, "apply", "-y")
    assert "1 reused" in applied.output and "Spent: $0.00" in applied.output
    assert (project / "outputs/forest-poster.png").exists()

    # Edit, apply, then revert the edit: the earlier version comes back from the cache.
    spec.write_text(
        original.replace("seed = 42", "seed = 43").replace(
            "[assets.poster]", "[assets.forest-poster]"
        )
    )
    assert actions(plan_json(run, project))["forest-dolly"][:2] == ("replace", ["seed"])
    first = (project / "outputs/forest-dolly.gif").read_bytes()
    assert run(project, "apply", "-y").exit_code == 0
    assert (project / "outputs/forest-dolly.gif").read_bytes() != first
    spec.write_text(original.replace("[assets.poster]", "[assets.forest-poster]"))
    reverted = actions(plan_json(run, project))
    assert reverted == {"forest-dolly": ("reuse", ["generated before", "seed"], "0.00")}
    assert run(project, "apply", "-y").exit_code == 0
    assert (project / "outputs/forest-dolly.gif").read_bytes() == first


def test_formatting_changes_are_not_changes(run: Run, project: Path) -> None:
    assert run(project, "apply", "-y").exit_code == 0
    spec = project / SPEC
    spec.write_text(
        """
# reordered, commented, re-spaced: the same assets
version   =   1

[assets.poster]
seed = 1234            # pinned
aspect_ratio = "3:4"
prompt = "A minimalist poster of a pine forest in fog, muted greens, lots of negative space."
mode = "t2i"
tags = ["print", "renamed tag"]
description = "descriptions do not shape the output"

[assets.city-timelapse]
duration = 10
aspect_ratio = "9:16"
prompt = \"\"\"Time-lapse of a city skyline from dusk to night, lights switching on.\"\"\"
mode = "t2v"

[defaults]
duration = 5
resolution = "720P"
model = "wan-2.5"

[assets.hero-turn]
seed = 7
prompt = "Camera holds still. Subject turns slowly toward light."
image = "inputs/hero.png"
mode = "i2v"

[assets.forest-dolly]
seed = 42
aspect_ratio = "16:9"
negative_prompt = "blurry, jitter"
prompt = "A slow dolly shot through a foggy pine forest at dawn."
mode = "t2v"
"""
    )
    result = run(project, "plan", "--detailed-exitcode")
    assert result.exit_code == 0, result.output
    assert "No changes" in result.output


def test_target_and_replace(run: Run, project: Path) -> None:
    document = plan_json(run, project, "--target", "poster", "--target", "hero-turn")
    assert set(actions(document)) == {"poster", "hero-turn"}
    assert run(project, "apply", "-y", "--target", "poster").exit_code == 0
    assert [p.name for p in (project / "outputs").iterdir() if not is_sidecar(p.name)] == [
        "poster.png"
    ]

    forced = plan_json(run, project, "--target", "poster", "--replace", "poster")
    assert actions(forced) == {"poster": ("replace", ["forced by --replace"], "0.03")}

    unknown = run(project, "plan", "--target", "postr")
    assert unknown.exit_code == 1
    assert "--target postr: no such asset" in unknown.output
    assert "did you mean 'poster'?" in unknown.output
