"""Profiles: `--profile draft` overrides asset fields for cheap previews, with its own state
entries and outputs/draft/..., so drafts and finals coexist."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from tests.conftest import Run, write_spec

SPEC = """version = 1
[defaults]
model = "wan-2.2"
mode = "t2v"
resolution = "720p"
duration = 5

[assets.shot-a]
prompt = "A heron lifts off."
seed = 1

[assets.shot-b]
prompt = "Reeds in the wind."
seed = 2
"""
DRAFT = '[profiles.draft]\nresolution = "480p"\n'


def plan(run: Run, root: Path, *args: str) -> dict[str, object]:
    result = run(root, "plan", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    document: dict[str, object] = json.loads(result.stdout)
    return document


def test_drafts_and_finals_coexist(run: Run, empty_project: Path) -> None:
    write_spec(empty_project, "shots.toml", SPEC)
    (empty_project / "wanplan.toml").write_text(DRAFT)
    draft = plan(run, empty_project, "--profile", "draft")
    final = plan(run, empty_project)
    draft_cost = draft["summary"]["estimated_cost"]  # type: ignore[index]
    final_cost = final["summary"]["estimated_cost"]  # type: ignore[index]
    assert Decimal(draft_cost) < Decimal(final_cost)  # 480p is cheaper than 720p
    keys = {c["content_key"] for c in draft["changes"]}  # type: ignore[attr-defined]
    assert keys.isdisjoint(c["content_key"] for c in final["changes"])  # type: ignore[attr-defined]

    assert run(empty_project, "apply", "-y", "--profile", "draft").exit_code == 0
    drafts = sorted(p.name for p in (empty_project / "outputs" / "draft").glob("*.gif"))
    assert drafts == ["shot-a.gif", "shot-b.gif"]
    # The keeper is finalised alone; the drafts stay.
    assert run(empty_project, "apply", "-y", "--target", "shot-a").exit_code == 0
    assert (empty_project / "outputs" / "shot-a.gif").is_file()
    assert not (empty_project / "outputs" / "shot-b.gif").exists()
    assert len(list((empty_project / "outputs" / "draft").glob("*.gif"))) == 2
    listed = run(empty_project, "state", "list").stdout.split()
    assert sorted(listed) == ["draft/shot-a", "draft/shot-b", "shot-a"]
    assert plan(run, empty_project, "--profile", "draft")["changes"] == []


def test_an_undefined_profile_is_refused(run: Run, empty_project: Path) -> None:
    write_spec(empty_project, "shots.toml", SPEC)
    (empty_project / "wanplan.toml").write_text(DRAFT)
    result = run(empty_project, "plan", "--profile", "drafts")
    assert result.exit_code == 1
    assert result.stderr == (
        "error: --profile drafts: no [profiles.drafts] in wanplan.toml; defined: draft "
        "(did you mean 'draft'?)\n"
    )


def test_a_profile_is_checked_like_an_asset(run: Run, empty_project: Path) -> None:
    write_spec(empty_project, "shots.toml", SPEC)
    (empty_project / "wanplan.toml").write_text("[profiles.draft]\nresolution = 480\nsed = 1\n")
    result = run(empty_project, "validate")
    assert result.exit_code == 1
    assert (
        "wanplan.toml:2: profiles.draft.resolution: expected a resolution or a list of them, "
        "got 480"
    ) in result.stderr
    assert "wanplan.toml:3: profiles.draft.sed: unknown setting" in result.stderr


def test_a_value_the_profile_sets_is_blamed_on_the_profile(run: Run, empty_project: Path) -> None:
    write_spec(empty_project, "shots.toml", SPEC)
    (empty_project / "wanplan.toml").write_text('[profiles.tiny]\nresolution = "240p"\n')
    result = run(empty_project, "plan", "--profile", "tiny")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "error: wanplan.toml:2: profiles.tiny.resolution: '240p' is not allowed for this model"
    )
    assert "specs/shots.toml" not in result.stderr


def test_a_profile_mistake_is_reported_once_not_per_asset(run: Run, empty_project: Path) -> None:
    own = SPEC.replace("seed = 1\n", 'seed = 1\nresolution = "720p"\n').replace(
        "seed = 2\n", 'seed = 2\nresolution = "480p"\n'
    )
    write_spec(empty_project, "shots.toml", own)
    (empty_project / "wanplan.toml").write_text('[profiles.tiny]\nresolution = "240p"\n')
    result = run(empty_project, "plan", "--profile", "tiny")
    assert result.exit_code == 1
    assert result.stderr.count("error:") == 1, result.stderr
    assert "wanplan.toml:2: profiles.tiny.resolution" in result.stderr
