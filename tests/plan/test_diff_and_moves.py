"""A reviewer sees what a change changes (`diff`) and a rename as one move (`moved_from`)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from tests.conftest import Run
from wanplan.render.diff_lines import shorten_pair

LONG_PROMPT = (
    "A slow dolly shot through a foggy pine forest at dawn, with shafts of light falling "
    "between the trunks, birds crossing far away and dew on every needle in the foreground."
)


def _edit(project: Path, old: str, new: str, name: str = "launch.toml") -> None:
    spec = project / "specs" / name
    text = spec.read_text()
    assert old in text
    spec.write_text(text.replace(old, new))


def _plan(run: Run, project: Path) -> dict[str, Any]:
    result = run(project, "plan", "--format", "json")
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.output)
    return document


def _changes(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["address"]: c for c in document["changes"]}


def test_a_replace_says_each_field_before_and_after(run: Run, project: Path) -> None:
    assert run(project, "apply", "-y").exit_code == 0
    _edit(project, "seed = 42", "seed = 41")
    _edit(project, '"A slow dolly', '"A fast dolly')
    change = _changes(_plan(run, project))["forest-dolly"]
    assert change["action"] == "replace"
    assert change["reasons"] == ["prompt", "seed"]
    assert change["diff"] == [
        {
            "field": "prompt",
            "before": "A slow dolly shot through a foggy pine forest at dawn.",
            "after": "A fast dolly shot through a foggy pine forest at dawn.",
        },
        {"field": "seed", "before": 42, "after": 41},
    ]
    text = run(project, "plan").output
    assert "~ seed: 42 → 41" in text
    assert '~ prompt: "A slow dolly shot' in text and '→ "A fast dolly shot' in text
    markdown = run(project, "plan", "--format", "markdown").output
    row = next(line for line in markdown.splitlines() if "`forest-dolly`" in line)
    assert "<br>seed: 42 → 41" in row and '"A fast dolly' in row


def test_a_field_added_or_removed_shows_not_set(run: Run, project: Path) -> None:
    assert run(project, "apply", "-y").exit_code == 0
    _edit(project, 'negative_prompt = "blurry, jitter"\n', "")
    change = _changes(_plan(run, project))["forest-dolly"]
    assert change["diff"] == [
        {"field": "negative_prompt", "before": "blurry, jitter", "after": None}
    ]
    assert '~ negative_prompt: "blurry, jitter" → (not set)' in run(project, "plan").output


def test_a_changed_input_file_gives_its_path_and_short_digests(run: Run, project: Path) -> None:
    assert run(project, "apply", "-y").exit_code == 0
    hero = project / "inputs" / "hero.png"
    before = hashlib.sha256(hero.read_bytes()).hexdigest()
    shutil.copy(project / "inputs" / "forest.png", hero)
    after = hashlib.sha256(hero.read_bytes()).hexdigest()
    change = _changes(_plan(run, project))["hero-turn"]
    assert change["diff"] == [
        {
            "field": "image",
            "before": f"sha256:{before[:12]}",
            "after": f"sha256:{after[:12]}",
            "path": "inputs/hero.png",
        }
    ]
    text = run(project, "plan").output
    assert f"~ image (inputs/hero.png): sha256:{before[:12]} → sha256:{after[:12]}" in text


def test_a_long_prompt_is_shortened_around_the_change(run: Run, project: Path) -> None:
    _edit(project, '"A slow dolly shot through a foggy pine forest at dawn."', f'"{LONG_PROMPT}"')
    assert run(project, "apply", "-y").exit_code == 0
    _edit(project, "birds crossing", "bats crossing")
    text = run(project, "plan").output
    line = next(line for line in text.splitlines() if "~ prompt:" in line)
    assert len(line) <= 110
    assert "birds" in line and "bats" in line  # the changed word is in view on both sides
    assert "…" in line
    document = _plan(run, project)
    assert _changes(document)["forest-dolly"]["diff"][0]["after"] == LONG_PROMPT.replace(
        "birds", "bats"
    )  # JSON is for scripts: never shortened


def test_shorten_pair_keeps_short_values_whole_and_cuts_long_ones_to_fit() -> None:
    assert shorten_pair('"a"', '"b"', 10) == ('"a"', '"b"')
    before, after = shorten_pair("x" * 50 + "cat" + "y" * 50, "x" * 50 + "dog" + "y" * 50, 20)
    assert len(before) <= 20 and len(after) <= 20
    assert "cat" in before and "dog" in after
    assert before.startswith("…") and before.endswith("…")


def test_a_rename_is_one_move_not_a_delete_and_a_reuse(run: Run, project: Path) -> None:
    assert run(project, "apply", "-y").exit_code == 0
    _edit(project, "[assets.poster]", "[assets.forest-poster]")
    document = _plan(run, project)
    changes = _changes(document)
    assert set(changes) == {"forest-poster"}
    moved = changes["forest-poster"]
    assert moved["action"] == "reuse"
    assert moved["moved_from"] == "poster"
    assert moved["estimated_cost"] == "0.00"
    assert document["summary"]["delete"] == 0 and document["summary"]["reuse"] == 1
    text = run(project, "plan").output
    assert "= forest-poster  reuse    moved from poster" in text
    assert "- poster" not in text
    assert "0 to delete" in text

    applied = run(project, "apply", "-y")
    assert applied.exit_code == 0, applied.output
    assert "moved from poster" in applied.output
    outputs = project / "outputs"
    assert (outputs / "forest-poster.png").is_file()
    assert not (outputs / "poster.png").exists()
    assert not (outputs / "poster.png.wanplan.json").exists()
    again = _plan(run, project)
    assert again["changes"] == [] and again["summary"]["unchanged"] == 6


def test_a_rename_keeping_its_output_path_keeps_the_file(run: Run, project: Path) -> None:
    _edit(project, "[assets.poster]", '[assets.poster]\noutput = "poster-print.png"')
    assert run(project, "apply", "-y").exit_code == 0
    _edit(project, "[assets.poster]", "[assets.print]")
    assert _changes(_plan(run, project))["print"]["moved_from"] == "poster"
    assert run(project, "apply", "-y").exit_code == 0
    assert (project / "outputs" / "poster-print.png").is_file()
    assert _plan(run, project)["changes"] == []


def test_a_removal_without_a_new_address_is_still_a_delete(run: Run, project: Path) -> None:
    assert run(project, "apply", "-y").exit_code == 0
    _edit(project, "[assets.poster]", "[assets.poster-2]")
    _edit(project, "seed = 1234", "seed = 1235")  # other content: not a move
    changes = _changes(_plan(run, project))
    assert changes["poster"]["action"] == "delete" and changes["poster"]["moved_from"] is None
    assert changes["poster-2"]["action"] == "create"


def test_two_new_addresses_for_one_old_one_move_once(run: Run, project: Path) -> None:
    assert run(project, "apply", "-y").exit_code == 0
    spec = project / "specs" / "launch.toml"
    text = spec.read_text()
    block = text[text.index("[assets.poster]") :]
    spec.write_text(
        text.replace("[assets.poster]", "[assets.poster-a]")
        + "\n"
        + block.replace("[assets.poster]", "[assets.poster-b]")
    )
    changes = _changes(_plan(run, project))
    assert "poster" not in changes
    assert [changes[a]["moved_from"] for a in ("poster-a", "poster-b")] == ["poster", None]
    assert run(project, "apply", "-y").exit_code == 0
    assert (project / "outputs" / "poster-a.png").read_bytes() == (
        project / "outputs" / "poster-b.png"
    ).read_bytes()


def test_a_saved_plan_with_a_move_applies(run: Run, project: Path) -> None:
    assert run(project, "apply", "-y").exit_code == 0
    _edit(project, "[assets.poster]", "[assets.forest-poster]")
    saved = project / "moves.plan"
    assert run(project, "plan", "--out", str(saved)).exit_code == 0
    document = json.loads(saved.read_text())
    assert [(c["address"], c["moved_from"]) for c in document["changes"]] == [
        ("forest-poster", "poster")
    ]
    applied = run(project, "apply", "-y", str(saved))
    assert applied.exit_code == 0, applied.output
    assert not (project / "outputs" / "poster.png").exists()
    assert (project / "outputs" / "forest-poster.png").is_file()
    assert _plan(run, project)["changes"] == []


def test_a_move_never_removes_a_file_another_change_writes_there(run: Run, project: Path) -> None:
    assert run(project, "apply", "-y").exit_code == 0
    _edit(project, "seed = 42", "seed = 43")
    assert run(project, "apply", "-y").exit_code == 0  # seed 42's result stays in the cache
    _edit(project, "[assets.square-loop]", "[assets.square-loop-2]", "social.toml")
    spec = project / "specs" / "launch.toml"
    spec.write_text(
        spec.read_text()
        + '\n[assets.aaa]\nmode = "t2v"\n'
        + 'prompt = "A slow dolly shot through a foggy pine forest at dawn."\n'
        + 'negative_prompt = "blurry, jitter"\naspect_ratio = "16:9"\nseed = 42\n'
        + 'output = "square-loop.gif"\n'
    )
    changes = _changes(_plan(run, project))
    assert changes["square-loop-2"]["moved_from"] == "square-loop"
    assert changes["aaa"]["action"] == "reuse"
    assert run(project, "apply", "-y").exit_code == 0
    assert (project / "outputs" / "square-loop.gif").is_file()  # aaa's, whoever went first
    assert (project / "outputs" / "square-loop-2.gif").is_file()
    assert _plan(run, project)["changes"] == []


def test_a_delete_never_removes_a_file_an_address_that_stays_holds(run: Run, project: Path) -> None:
    _edit(project, "[assets.poster]", '[assets.poster]\noutput = "poster-print.png"')
    assert run(project, "apply", "-y").exit_code == 0
    _edit(project, "[assets.poster]", "[assets.print]")
    # --target leaves the old address in the state, holding the same path as the new one
    assert run(project, "apply", "-y", "--target", "print").exit_code == 0
    assert _changes(_plan(run, project))["poster"]["action"] == "delete"
    assert "- poster  delete   forget it (outputs/poster-print.png is print's now: kept)" in (
        run(project, "plan").output
    )
    assert run(project, "apply", "-y").exit_code == 0
    assert (project / "outputs" / "poster-print.png").is_file()
    assert _plan(run, project)["changes"] == []


def test_two_renames_of_the_same_content_are_two_moves(run: Run, project: Path) -> None:
    spec = project / "specs" / "launch.toml"
    text = spec.read_text()
    block = text[text.index("[assets.poster]") :]
    spec.write_text(text + "\n" + block.replace("[assets.poster]", "[assets.poster-copy]"))
    assert run(project, "apply", "-y").exit_code == 0
    spec.write_text(
        spec.read_text()
        .replace("[assets.poster]", "[assets.poster-a]")
        .replace("[assets.poster-copy]", "[assets.poster-b]")
    )
    changes = _changes(_plan(run, project))
    assert set(changes) == {"poster-a", "poster-b"}
    assert {changes[a]["moved_from"] for a in changes} == {"poster", "poster-copy"}


def test_a_prompt_in_the_pull_request_comment_is_shown_as_text(run: Run, project: Path) -> None:
    assert run(project, "apply", "-y").exit_code == 0
    _edit(project, '"A slow dolly', '"@team ![x](u) *n* `A slow dolly')
    markdown = run(project, "plan", "--format", "markdown").output
    row = next(line for line in markdown.splitlines() if "`forest-dolly`" in line)
    assert "@team" not in row and "&#64;team" in row  # no mention
    assert "\\!\\[x\\](u)" in row and "\\*n\\*" in row and "\\`A slow" in row


def test_a_rename_without_the_cache_moves_the_intact_file(run: Run, project: Path) -> None:
    assert run(project, "apply", "-y").exit_code == 0
    poster = (project / "outputs" / "poster.png").read_bytes()
    shutil.rmtree(project / ".wanplan" / "blobs")  # a fresh runner, or `gc` after a cleanup
    _edit(project, "[assets.poster]", "[assets.forest-poster]")
    document = _plan(run, project)
    assert [(c["address"], c["action"], c["moved_from"]) for c in document["changes"]] == [
        ("forest-poster", "reuse", "poster")
    ]
    assert document["summary"]["estimated_cost"] == "0.00"
    applied = run(project, "apply", "-y")
    assert applied.exit_code == 0, applied.output
    assert (project / "outputs" / "forest-poster.png").read_bytes() == poster
    assert not (project / "outputs" / "poster.png").exists()
    assert _plan(run, project)["changes"] == []


def test_a_rename_without_the_cache_and_an_altered_file_generates_again(
    run: Run, project: Path
) -> None:
    assert run(project, "apply", "-y").exit_code == 0
    shutil.rmtree(project / ".wanplan" / "blobs")
    (project / "outputs" / "poster.png").write_bytes(b"not the poster")
    _edit(project, "[assets.poster]", "[assets.forest-poster]")
    changes = _changes(_plan(run, project))
    assert changes["forest-poster"]["action"] == "create"
    assert changes["poster"]["action"] == "delete"


def test_a_move_from_the_old_file_serves_a_copy_of_the_same_content(
    run: Run, project: Path
) -> None:
    assert run(project, "apply", "-y").exit_code == 0
    shutil.rmtree(project / ".wanplan" / "blobs")
    spec = project / "specs" / "launch.toml"
    text = spec.read_text()
    block = text[text.index("[assets.poster]") :]
    spec.write_text(
        text.replace("[assets.poster]", "[assets.poster-a]")
        + "\n"
        + block.replace("[assets.poster]", "[assets.poster-b]")
    )
    changes = _changes(_plan(run, project))
    assert changes["poster-a"]["moved_from"] == "poster"
    assert changes["poster-b"]["action"] == "reuse"  # the same content as poster-a
    applied = run(project, "apply", "-y")
    assert applied.exit_code == 0, applied.output
    outputs = project / "outputs"
    assert (outputs / "poster-a.png").read_bytes() == (outputs / "poster-b.png").read_bytes()
    assert _plan(run, project)["changes"] == []


def _swap_dolly_and_city(project: Path) -> None:
    _edit(project, "[assets.forest-dolly]", "[assets.swap-tmp]")
    _edit(project, "[assets.city-timelapse]", "[assets.forest-dolly]")
    _edit(project, "[assets.swap-tmp]", "[assets.city-timelapse]")


def _tasks(project: Path) -> int:
    """Journal rows: one per submit (and per task adopted or imported)."""
    import sqlite3

    with sqlite3.connect(project / "state" / "wanplan.db") as db:
        return int(db.execute("select count(*) from tasks").fetchone()[0])


def test_an_output_file_named_anew_is_written_there_and_the_old_one_removed(
    run: Run, project: Path
) -> None:
    assert run(project, "apply", "-y").exit_code == 0
    old = project / "outputs" / "poster.png"
    made = old.read_bytes()
    tasks = _tasks(project)
    _edit(project, "seed = 1234\n", 'seed = 1234\noutput = "print/poster-a3"\n')
    (change,) = _plan(run, project)["changes"]
    assert (change["address"], change["action"]) == ("poster", "repair")
    assert change["reasons"][0] == (
        "output file is now outputs/print/poster-a3.png (was outputs/poster.png)"
    )
    assert change["estimated_cost"] == "0.00" and change.get("moved_from") is None
    assert run(project, "apply", "-y").exit_code == 0
    new = project / "outputs" / "print" / "poster-a3.png"
    assert new.read_bytes() == made and not old.exists()
    assert run(project, "output", "poster").output.strip() == "outputs/print/poster-a3.png"
    assert _plan(run, project)["changes"] == []
    assert _tasks(project) == tasks  # nothing generated again

    # Named anew where the cache lacks the result (a fresh runner): the intact file moves.
    shutil.rmtree(project / ".wanplan")
    _edit(project, 'output = "print/poster-a3"\n', "")
    (change,) = _plan(run, project)["changes"]
    assert change["action"] == "repair" and change["reasons"][1] == (
        "move outputs/print/poster-a3.png"
    )
    assert run(project, "apply", "-y").exit_code == 0
    assert old.read_bytes() == made and not new.exists()
    assert _plan(run, project)["changes"] == []
    assert _tasks(project) == tasks


def test_two_assets_that_swap_their_output_names_keep_both_files(run: Run, project: Path) -> None:
    stills = project / "specs" / "stills.toml"
    still = (
        '[assets.{0}]\nmode = "t2i"\nmodel = "wan-2.5"\nprompt = "{0}"\nseed = 1\n'
        'output = "{1}"\n\n'
    )
    stills.write_text(still.format("one", "a") + still.format("two", "b"))
    assert run(project, "apply", "-y").exit_code == 0
    one, two = ((project / "outputs" / n).read_bytes() for n in ("a.png", "b.png"))
    assert one != two
    stills.write_text(still.format("one", "b") + still.format("two", "a"))
    result = run(project, "apply", "-y")
    assert result.exit_code == 0, result.output
    assert (project / "outputs" / "b.png").read_bytes() == one
    assert (project / "outputs" / "a.png").read_bytes() == two
    assert _plan(run, project)["changes"] == []
    # Back again where the cache holds neither (a fresh runner): each takes the other's
    # file, and both are kept before either is written over.
    shutil.rmtree(project / ".wanplan")
    stills.write_text(still.format("one", "a") + still.format("two", "b"))
    assert {c["reasons"][1] for c in _plan(run, project)["changes"]} == {
        "move outputs/a.png",
        "move outputs/b.png",
    }
    result = run(project, "apply", "-y")
    assert result.exit_code == 0, result.output
    assert (project / "outputs" / "a.png").read_bytes() == one
    assert (project / "outputs" / "b.png").read_bytes() == two
    assert _plan(run, project)["changes"] == []


def test_an_output_is_never_written_over_a_file_that_would_be_lost(run: Run, project: Path) -> None:
    assert run(project, "apply", "-y").exit_code == 0
    # The user's own file at the path the spec now names: kept, the asset fails.
    mine = project / "outputs" / "cover.png"
    mine.write_bytes(b"my own notes")
    _edit(project, "seed = 1234\n", 'seed = 1234\noutput = "cover"\n')
    result = run(project, "apply", "-y")
    assert result.exit_code == 1
    assert "outputs/cover.png is there already and wanplan did not write it" in result.output
    assert mine.read_bytes() == b"my own notes"
    mine.unlink()
    _edit(project, 'seed = 1234\noutput = "cover"\n', "seed = 1234\n")
    # Another address's output, which it keeps (only this asset is applied): kept too.
    _edit(project, "seed = 1234\n", 'seed = 1234\noutput = "forest-dolly.gif"\n')
    dolly = (project / "outputs" / "forest-dolly.gif").read_bytes()
    _edit(project, "seed = 42\n", 'seed = 42\noutput = "dolly-new"\n')
    result = run(project, "apply", "-y", "--target", "poster")
    assert result.exit_code == 1
    assert "outputs/forest-dolly.gif is forest-dolly's output still" in result.output
    assert (project / "outputs" / "forest-dolly.gif").read_bytes() == dolly
    # Both applied: the dolly moves away first or after, and nothing is lost.
    assert run(project, "apply", "-y").exit_code == 0
    assert (project / "outputs" / "dolly-new.gif").read_bytes() == dolly
    assert _plan(run, project)["changes"] == []


def test_a_resumed_change_never_removes_a_path_another_address_took_meanwhile(
    run: Run, project: Path
) -> None:
    """An interrupted apply moved hero-turn's output onto forest-dolly's old path before
    forest-dolly's new content was collected; forest-dolly's record still names that path.
    When forest-dolly is written, its old path is hero-turn's: not removed."""
    import sqlite3

    assert run(project, "apply", "-y").exit_code == 0
    _edit(project, "seed = 42\n", 'seed = 42\noutput = "dolly-new"\n')
    _edit(project, '"inputs/hero.png"\n', '"inputs/hero.png"\noutput = "forest-dolly"\n')
    dolly = project / "outputs" / "forest-dolly.gif"
    # What the interrupted apply left: hero-turn at forest-dolly's old path, recorded.
    shutil.copy(project / "outputs" / "hero-turn.gif", dolly)
    with sqlite3.connect(project / "state" / "wanplan.db") as db:
        db.execute(
            "update assets set output_path = 'outputs/forest-dolly.gif', output_mtime_ns = ?"
            " where address = 'hero-turn'",
            [dolly.stat().st_mtime_ns],
        )
    hero = dolly.read_bytes()
    assert run(project, "apply", "-y").exit_code == 0
    assert dolly.read_bytes() == hero
    assert _plan(run, project)["changes"] == []


def test_two_addresses_that_trade_contents_pay_nothing_even_without_the_cache(
    run: Run, project: Path
) -> None:
    assert run(project, "apply", "-y").exit_code == 0
    outputs = project / "outputs"
    dolly, city = (outputs / "forest-dolly.gif").read_bytes(), (outputs / "city-timelapse.gif")
    city_bytes, tasks = city.read_bytes(), _tasks(project)
    shutil.rmtree(project / ".wanplan")  # a fresh runner: each result only in the other's file
    _swap_dolly_and_city(project)
    changes = _changes(_plan(run, project))
    assert {a: (c["action"], c["estimated_cost"]) for a, c in changes.items()} == {
        "city-timelapse": ("reuse", "0.00"),
        "forest-dolly": ("reuse", "0.00"),
    }
    assert run(project, "apply", "-y").exit_code == 0
    assert _tasks(project) == tasks  # nothing paid again
    assert (outputs / "city-timelapse.gif").read_bytes() == dolly
    assert (outputs / "forest-dolly.gif").read_bytes() == city_bytes
    assert _plan(run, project)["changes"] == []


def test_a_rename_onto_an_address_that_goes_is_one_move(run: Run, project: Path) -> None:
    assert run(project, "apply", "-y").exit_code == 0
    dolly, tasks = (project / "outputs" / "forest-dolly.gif").read_bytes(), _tasks(project)
    spec = project / "specs" / "launch.toml"
    text = spec.read_text()
    start = text.index("[assets.hero-turn]")
    end = text.index("[assets.", start + 1)
    spec.write_text(
        (text[:start] + text[end:]).replace("[assets.forest-dolly]", "[assets.hero-turn]")
    )
    for cache in ("cached", "not cached"):
        if cache == "not cached":
            shutil.rmtree(project / ".wanplan")
        document = _plan(run, project)
        assert [(c["address"], c["action"], c.get("moved_from")) for c in document["changes"]] == [
            ("hero-turn", "reuse", "forest-dolly")
        ], cache
    assert run(project, "apply", "-y").exit_code == 0
    assert _tasks(project) == tasks
    assert (project / "outputs" / "hero-turn.gif").read_bytes() == dolly
    assert not (project / "outputs" / "forest-dolly.gif").exists()
    assert _plan(run, project)["changes"] == []


def test_replace_on_a_renamed_asset_pays_again_knowingly(run: Run, project: Path) -> None:
    assert run(project, "apply", "-y").exit_code == 0
    _edit(project, "[assets.poster]", "[assets.print]")
    shutil.rmtree(project / ".wanplan")  # the old file could stand in: --replace says no
    result = run(project, "plan", "--format", "json", "--replace", "print")
    changes = _changes(json.loads(result.output))
    assert (changes["print"]["action"], changes["print"].get("moved_from")) == ("create", None)
    assert changes["print"]["estimated_cost"] not in (None, "0.00")
    assert changes["poster"]["action"] == "delete"


def test_an_output_wanplan_wrote_and_forgot_is_written_again(run: Run, project: Path) -> None:
    """`state rm` forgets an address and keeps its files: applying it again writes over its
    old output (wanplan's: its provenance file is beside it), never refusing it."""
    assert run(project, "apply", "-y").exit_code == 0
    assert run(project, "state", "rm", "poster").exit_code == 0
    old = project / "outputs" / "poster.png"
    old.write_bytes(old.read_bytes() + b"changed since")  # not the bytes it will write
    _edit(project, "seed = 1234\n", "seed = 4321\n")
    result = run(project, "apply", "-y")
    assert result.exit_code == 0, result.output
    assert _plan(run, project)["changes"] == []


def test_a_file_in_the_way_is_found_before_the_task_is_paid(run: Run, project: Path) -> None:
    assert run(project, "apply", "-y").exit_code == 0
    tasks = _tasks(project)
    (project / "outputs" / "teaser.gif").write_bytes(b"mine")
    spec = project / "specs" / "more.toml"
    spec.write_text('[assets.teaser]\nmode = "t2v"\nmodel = "wan-2.5"\nprompt = "t"\nseed = 3\n')
    result = run(project, "apply", "-y")
    assert result.exit_code == 1
    assert "outputs/teaser.gif is there already and wanplan did not write it" in result.output
    assert _tasks(project) == tasks  # refused before the submit: nothing paid
    assert (project / "outputs" / "teaser.gif").read_bytes() == b"mine"


def test_one_side_of_a_swap_applied_alone_keeps_the_other_result(run: Run, project: Path) -> None:
    """--target a with an empty cache: a takes b's result from b's file, and a's own old
    result, which b now declares, goes into the cache before a.gif is written over."""
    assert run(project, "apply", "-y").exit_code == 0
    tasks = _tasks(project)
    shutil.rmtree(project / ".wanplan")
    _swap_dolly_and_city(project)
    assert run(project, "apply", "-y", "--target", "forest-dolly").exit_code == 0
    assert _changes(_plan(run, project))["city-timelapse"]["action"] == "reuse"
    assert run(project, "apply", "-y").exit_code == 0
    assert _tasks(project) == tasks
