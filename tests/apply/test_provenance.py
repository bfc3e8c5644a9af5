"""Provenance sidecars: `<output>.wanplan.json` beside every output, written by every path that
materialises one (create, replace, reuse, repair, resume/import), gone with a deleted asset,
moved by `state mv`, equal to what the state records, and never holding a secret."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import KEY_VARIABLES, Run, emulator_for_wanplan, write_spec
from tests.maintenance.test_import import SPEC, submit_by_hand
from wanplan.emulator import Knobs
from wanplan.key.content_key import KEY_VERSION
from wanplan.state.sqlite import SqliteState

LAUNCH = "specs/launch.toml"
CANARY = "sk-canary-provenance-5b1e9d"
FAMILIES = {"wanapi": "wan-2.2"}
ON_PROVIDER = """version = 1

[assets.clip-{provider}]
provider = "{provider}"
mode = "t2v"
model = "{family}"
prompt = "A kite over a windy beach."
seed = 42
"""


def sidecar(root: Path, output: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((root / f"{output}.wanplan.json").read_text("utf-8"))
    return loaded


def recorded(root: Path, address: str, profile: str = "default") -> tuple[Any, dict[str, Any]]:
    reader = SqliteState.open_reader(root / "state" / "wanplan.db")
    try:
        record = reader.assets(profile)[address]
        details = reader.generation_details(record.content_key)
        assert details is not None
        return record, details
    finally:
        reader.close()


def assert_matches_state(root: Path, address: str) -> dict[str, Any]:
    record, details = recorded(root, address)
    document = sidecar(root, record.output_path)
    assert document["format"] == "wanplan.provenance/1"
    assert document["address"] == address and document["profile"] == "default"
    assert document["content_key"] == record.content_key
    assert document["content_key_version"] == KEY_VERSION
    assert (document["provider"], document["model_id"], document["mode"]) == (
        details["provider"],
        details["model_id"],
        details["mode"],
    )
    params = details["material"]["params"]
    assert {k: v for k, v in document["parameters"].items() if v is not None} == params
    assert document["task_id"] == details["task_id"]
    assert document["cost"] == {
        "amount": details["cost"],
        "currency": "USD",
        "source": details["cost_source"],
    }
    output = (root / record.output_path).read_bytes()
    assert document["output"] == {
        "path": record.output_path,
        "media_type": details["media_type"],
        "size": len(output),
        "sha256": hashlib.sha256(output).hexdigest(),
    }
    assert document["generated_at"] == details["created_at"]
    return document


def test_create_writes_a_sidecar_per_output_that_matches_the_state(run: Run, project: Path) -> None:
    assert run(project, "apply", "-y").exit_code == 0
    for address in ("forest-dolly", "hero-turn", "poster", "city-timelapse"):
        assert_matches_state(project, address)

    forest = sidecar(project, "outputs/forest-dolly.gif")
    assert forest["parameters"]["prompt"].startswith("A slow dolly shot")
    assert forest["parameters"]["negative_prompt"] == "blurry, jitter"
    assert forest["parameters"]["seed"] == 42
    assert forest["parameters"]["aspect_ratio"] == "16:9"
    assert forest["inputs"] == []
    assert forest["cost"]["amount"] == "0.50"
    assert sidecar(project, "outputs/city-timelapse.gif")["parameters"]["seed"] is None

    hero = (project / "inputs/hero.png").read_bytes()
    assert sidecar(project, "outputs/hero-turn.gif")["inputs"] == [
        {"field": "image", "path": "inputs/hero.png", "sha256": hashlib.sha256(hero).hexdigest()}
    ]
    # The planner compares outputs, not sidecars: an edited sidecar changes no plan.
    (project / "outputs/poster.png.wanplan.json").write_text("{}")
    assert run(project, "plan", "--detailed-exitcode").exit_code == 0


def test_replace_reuse_repair_and_delete_keep_sidecars_in_step(run: Run, project: Path) -> None:
    assert run(project, "apply", "-y").exit_code == 0
    spec = project / LAUNCH
    original = spec.read_text()
    first_poster = sidecar(project, "outputs/poster.png")

    # Replace: the sidecar says the new prompt and key.
    spec.write_text(original.replace("turns slowly toward light", "waves at the camera"))
    assert "1 replaced" in run(project, "apply", "-y").output
    hero = assert_matches_state(project, "hero-turn")
    assert hero["parameters"]["prompt"] == "Camera holds still. Subject waves at the camera."

    # Delete: output and sidecar go.
    spec.write_text(original[: original.index("[assets.poster]")])
    assert "1 deleted" in run(project, "apply", "-y").output
    assert not (project / "outputs/poster.png").exists()
    assert not (project / "outputs/poster.png.wanplan.json").exists()

    # Reuse under another name: the generation it was made by, under the new address.
    spec.write_text(original.replace("[assets.poster]", "[assets.forest-poster]"))
    assert "1 reused" in run(project, "apply", "-y", "--target", "forest-poster").output
    reused = assert_matches_state(project, "forest-poster")
    assert reused["task_id"] == first_poster["task_id"]
    assert reused["generated_at"] == first_poster["generated_at"]

    # Repair: a lost output and its sidecar come back.
    (project / "outputs/forest-dolly.gif").unlink()
    (project / "outputs/forest-dolly.gif.wanplan.json").unlink()
    assert "1 repaired" in run(project, "apply", "-y", "--target", "forest-dolly").output
    assert_matches_state(project, "forest-dolly")


def test_state_mv_moves_the_sidecar_and_gc_and_refresh_leave_it(run: Run, project: Path) -> None:
    assert run(project, "apply", "-y").exit_code == 0
    result = run(project, "state", "mv", "poster", "print-poster")
    assert result.exit_code == 0, result.output
    assert not (project / "outputs/poster.png.wanplan.json").exists()
    moved = sidecar(project, "outputs/print-poster.png")
    assert moved["address"] == "print-poster"
    assert moved["output"]["path"] == "outputs/print-poster.png"

    for command in (("refresh",), ("gc",)):
        outcome = run(project, *command)
        assert outcome.exit_code == 0, outcome.output
    assert (project / "outputs/print-poster.png.wanplan.json").exists()
    assert "6 outputs intact" in run(project, "refresh").output


def test_resumed_and_imported_tasks_get_a_sidecar_and_no_secret_is_written(
    run: Run, empty_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with emulator_for_wanplan(monkeypatch, Knobs(latency=0.5, time_scale=0.01), CANARY):
        write_spec(empty_project, "teaser.toml", SPEC.format(prompt="A kite over the dunes."))
        (empty_project / "wanplan.toml").write_text(
            "".join(f"[providers.{p}]\npoll_interval = 0.05\n" for p in KEY_VARIABLES)
        )
        task_id = submit_by_hand("A kite over the dunes.")
        result = run(empty_project, "import", "teaser", "--task-id", task_id)
        assert result.exit_code == 0, result.output
        for provider in KEY_VARIABLES:  # and a generation by apply on every provider
            write_spec(
                empty_project,
                f"{provider}.toml",
                ON_PROVIDER.format(provider=provider, family=FAMILIES.get(provider, "wan-2.5")),
            )
        result = run(empty_project, "apply", "-y")
        assert result.exit_code == 0, result.output

    document = assert_matches_state(empty_project, "teaser")
    assert document["task_id"] == task_id
    assert document["provider"] == "wavespeed"
    # An imported task had no quote: the catalog's estimate, recorded as one.
    assert document["cost"] == {"amount": "0.50", "currency": "USD", "source": "estimate"}
    sidecars = sorted((empty_project / "outputs").glob("*.wanplan.json"))
    assert len(sidecars) == 1 + len(KEY_VARIABLES)
    for path in sidecars:
        text = path.read_text("utf-8")
        assert CANARY not in text
        assert "http://" not in text and "https://" not in text  # no (signed) result URL
        assert "authorization" not in text.lower()
