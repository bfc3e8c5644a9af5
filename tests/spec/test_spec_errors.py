"""Every bad input gives one line per problem, naming file, line, field, what is allowed and the
nearest valid value; exit 1; the state is untouched (and not created)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.conftest import Run, write_spec

GOOD = """version = 1

[defaults]
model = "wan-2.5"

[assets.shot]
mode = "t2v"
prompt = "A lighthouse in a storm."
seed = 1
"""


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error:")]


def assert_one_error(run: Run, root: Path, expected: str) -> str:
    result = run(root, "validate")
    assert result.exit_code == 1, result.output
    lines = error_lines(result.output)
    assert len(lines) == 1, result.output
    assert expected in lines[0], lines[0]
    assert "Traceback" not in result.output
    return lines[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            GOOD.replace('mode = "t2v"', 'mode = "t2v'),
            "error: specs/a.toml:7: invalid TOML:",
        ),
        (
            GOOD.replace("seed = 1", "sed = 1"),
            "specs/a.toml:9: assets.shot.sed: unknown field (did you mean 'seed'?)",
        ),
        (
            GOOD.replace("seed = 1", 'seed = "1"'),
            "specs/a.toml:9: assets.shot.seed: expected a whole number, got string '1' "
            "(did you mean 1 without quotes?)",
        ),
        (
            GOOD.replace('mode = "t2v"', 'mode = "t2b"'),
            "specs/a.toml:7: assets.shot.mode: 't2b' is not allowed; allowed: t2v, i2v, flf2v, "
            "r2v, edit, t2i, s2v (did you mean 't2v'?)",
        ),
        (
            GOOD.replace("seed = 1", 'resolution = "721p"'),
            "specs/a.toml:9: assets.shot.resolution: '721p' is not allowed for this model; "
            "allowed: 480p, 720p, 1080p (did you mean '720p'?)",
        ),
        (
            GOOD.replace("seed = 1", "duration = 7"),
            "specs/a.toml:9: assets.shot.duration: 7 is not allowed for this model; allowed: 5, 10 "
            "(did you mean 5?)",
        ),
        (
            GOOD.replace('model = "wan-2.5"', 'model = "wan-2.55"'),
            "specs/a.toml:4: defaults.model: unknown model family 'wan-2.55' for t2v on sim; "
            "allowed: wan-2.2, wan-2.5, wan-2.7 (did you mean 'wan-2.5'?)",
        ),
        (
            GOOD.replace('mode = "t2v"', 'mode = "i2v"\nimage = "inputs/hero.pgn"'),
            "specs/a.toml:8: assets.shot.image: file not found: inputs/hero.pgn "
            "(did you mean 'inputs/hero.png'?)",
        ),
        (
            GOOD.replace("[assets.shot]", "[assets.Shot]"),
            "specs/a.toml:6: assets.Shot: asset names use lowercase letters",
        ),
        (
            GOOD.replace("[defaults]", '[defaults]\nprovider = "sin"'),
            "specs/a.toml:4: defaults.provider: unknown provider 'sin'; available: apixo, "
            "dashscope, sim, wanapi, wavespeed (did you mean 'sim'?)",
        ),
        (
            GOOD.replace("version = 1", "version = 2"),
            "specs/a.toml:1: version: spec format 2 is not supported",
        ),
        (
            GOOD + "\n[asset.other]\nmode = 't2v'\n",
            "specs/a.toml:11: asset: unknown top-level key (did you mean 'assets'?)",
        ),
        (
            GOOD.replace('mode = "t2v"', 'mode = "i2v"\nimage = "../secret.png"'),
            "assets.shot.image: '../secret.png' leaves the project",
        ),
        (
            # TOML 1.1 only: specs are TOML 1.0, as tomllib and most editors read them.
            GOOD.replace("seed = 1", "params = { steps = 30,\n  shift = 5, }"),
            "error: specs/a.toml:9: invalid TOML:",
        ),
    ],
    ids=[
        "malformed-toml",
        "unknown-field",
        "wrong-type",
        "bad-mode",
        "bad-resolution",
        "bad-duration",
        "bad-family",
        "missing-input",
        "bad-name",
        "bad-provider",
        "spec-version",
        "unknown-top-level",
        "escaping-input",
        "toml-1.1",
    ],
)
def test_bad_input_gives_one_located_line(
    run: Run, project: Path, text: str, expected: str
) -> None:
    for spec in (project / "specs").glob("*.toml"):
        spec.unlink()
    write_spec(project, "a.toml", text)
    assert_one_error(run, project, expected)


def test_duplicate_names_across_files_name_both_places(run: Run, project: Path) -> None:
    write_spec(project, "zz-copy.toml", GOOD.replace("[assets.shot]", "[assets.poster]"))
    line = assert_one_error(
        run, project, "specs/zz-copy.toml:6: assets.poster: duplicate asset name"
    )
    assert "first declared at specs/launch.toml:" in line


def test_errors_in_several_assets_are_all_reported(run: Run, empty_project: Path) -> None:
    write_spec(
        empty_project,
        "a.toml",
        GOOD.replace("seed = 1", "sed = 1") + '\n[assets.two]\nmode = "t2v"\nprompt = 5\n',
    )
    result = run(empty_project, "validate")
    assert result.exit_code == 1
    lines = error_lines(result.output)
    assert len(lines) == 2
    assert "assets.shot.sed" in lines[0] and "assets.two.prompt" in lines[1]


def test_mode_needs_its_inputs_and_refuses_others(run: Run, empty_project: Path) -> None:
    write_spec(
        empty_project,
        "a.toml",
        '[assets.still]\nmode = "i2v"\nmodel = "wan-2.5"\n'
        '[assets.text]\nmode = "t2v"\nmodel = "wan-2.5"\nprompt = "x"\nimage = "inputs/a.png"\n',
    )
    result = run(empty_project, "validate")
    lines = error_lines(result.output)
    assert "specs/a.toml:1: assets.still.image: required for mode i2v" in lines[0]
    assert "assets.text.image: not used by mode t2v; its inputs are audio" in lines[1]


def test_inherited_fields_that_do_not_apply_are_dropped(run: Run, empty_project: Path) -> None:
    # A file-wide duration must not break the still image declared beside the videos.
    write_spec(
        empty_project,
        "a.toml",
        '[defaults]\nmodel = "wan-2.5"\nduration = 5\n'
        '[assets.still]\nmode = "t2i"\nprompt = "a poster"\n',
    )
    result = run(empty_project, "validate")
    assert result.exit_code == 0, result.output


def test_bad_settings_file(run: Run, project: Path) -> None:
    (project / "wanplan.toml").write_text('[project]\ndefault_provider = "sim"\n[budgets]\nx = 1\n')
    assert_one_error(run, project, "wanplan.toml:3: budgets: unknown setting")


def test_errors_leave_the_state_untouched(run: Run, project: Path) -> None:
    write_spec(project, "broken.toml", "[assets.x\n")
    for command in (("plan",), ("apply", "-y"), ("validate",)):
        assert run(project, *command).exit_code == 1
    assert not (project / "state" / "wanplan.db").exists()

    (project / "specs" / "broken.toml").unlink()
    assert run(project, "apply", "-y").exit_code == 0
    database = project / "state" / "wanplan.db"
    before = hashlib.sha256(database.read_bytes()).hexdigest()
    write_spec(project, "broken.toml", "[assets.x\n")
    assert run(project, "apply", "-y").exit_code == 1
    assert hashlib.sha256(database.read_bytes()).hexdigest() == before


def test_a_mistake_many_assets_share_is_reported_once_naming_them(
    run: Run, empty_project: Path
) -> None:
    assets = "".join(f'[assets.shot-{i}]\nprompt = "Shot {i}."\n' for i in range(50))
    write_spec(empty_project, "many.toml", f'version = 1\n[defaults]\nmode = "t2v"\n{assets}')
    result = run(empty_project, "plan")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: specs/many.toml:4: assets.shot-0.model: required: the model family, one of "
        "wan-2.2, wan-2.5, wan-2.7 for t2v on sim (also in shot-1 (line 6), shot-2 (line 8), "
        "shot-3 (line 10) and 46 more)"
    ]


def test_prompt_expansion_left_on_is_a_plan_warning(run: Run, empty_project: Path) -> None:
    """APIXO expands prompts unless told not to: the plan says the result is not
    reproducible (a warning, not an error), and says nothing once it is turned off."""
    spec = (
        'version = 1\n[assets.clip]\nprovider = "apixo"\nmodel = "wan-2.5"\nmode = "t2v"\n'
        'prompt = "A kite."\nseed = 1\n'
    )
    write_spec(empty_project, "clip.toml", spec)
    [change] = json.loads(run(empty_project, "plan", "--format", "json").stdout)["changes"]
    assert change["warnings"] == [
        "prompt expansion is on (apixo rewrites the prompt): the result is not reproducible; "
        "set prompt_expansion = false"
    ]
    assert "prompt expansion is on" in run(empty_project, "plan").stdout
    write_spec(empty_project, "clip.toml", spec + "prompt_expansion = false\n")
    [change] = json.loads(run(empty_project, "plan", "--format", "json").stdout)["changes"]
    assert change["warnings"] == []


def test_validate_names_each_warning_at_its_line(run: Run, project: Path) -> None:
    result = run(project, "validate")
    assert result.exit_code == 0
    assert result.stdout == "Valid: 6 assets in 2 files.\n"
    line = next(
        n
        for n, text in enumerate((project / "specs" / "launch.toml").read_text().splitlines(), 1)
        if text == "[assets.city-timelapse]"
    )
    assert result.stderr == (
        f"warning: specs/launch.toml:{line}: assets.city-timelapse: seed not pinned: the result "
        "is not reproducible\n"
    )


def test_an_input_name_too_long_for_the_disk_is_an_error_not_a_crash(
    run: Run, project: Path
) -> None:
    # Found by the fuzzer: the file system refuses the name (ENAMETOOLONG) instead of saying
    # it does not exist.
    write_spec(
        project, "a.toml", GOOD.replace('mode = "t2v"', f'mode = "i2v"\nimage = "{"a" * 5000}"')
    )
    result = run(project, "validate")
    assert result.exit_code == 1 and "cannot be read (File name too long)" in result.output
    assert "Traceback" not in result.output
