"""Validation shows every mistake at once, each at its own place, with the asset named and the
nearest valid value by meaning (issue 18); a profile's values may be lists of preferences."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Run, write_spec
from wanplan.spec.suggest import nearest

FIVE_MISTAKES_SETTINGS = """\
[project]
default_provider = "sim"

[budget]
max_per_aply = 5
"""

A_TOML = """\
[defaults]
model = "wan-2.5"
resolution = "720p"

[assets.one]
mode = "t2v"
aspect_ratio = "16:10"
seed = 1

[assets.two]
mode = "t2v"
prompt = "x"
duration = 7
seed = 2
"""

B_TOML = """\
[assets.three]
mode = "t2vv"
prompt = "y"

[assets.four]
mode = "i2v"
model = "wan-2.5"
image = "asset:three"
prompt = "z"
"""


def _settings(root: Path, text: str) -> None:
    (root / "wanplan.toml").write_text(text, "utf-8")


def test_five_mistakes_in_three_files_and_two_stages_show_in_one_run(
    run: Run, empty_project: Path
) -> None:
    _settings(empty_project, FIVE_MISTAKES_SETTINGS)
    write_spec(empty_project, "a.toml", A_TOML)
    write_spec(empty_project, "b.toml", B_TOML)
    result = run(empty_project, "validate")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: wanplan.toml:5: budget.max_per_aply: unknown setting "
        "(did you mean 'max_per_apply'?)",
        "error: specs/a.toml:5: assets.one.prompt: required for mode t2v; describe the shot",
        "error: specs/a.toml:7: assets.one.aspect_ratio: '16:10' is not allowed for this model; "
        "allowed: 16:9, 9:16, 1:1 (did you mean '16:9'?)",
        "error: specs/a.toml:13: assets.two.duration: 7 is not allowed for this model; "
        "allowed: 5, 10 (did you mean 5?)",
        "error: specs/b.toml:2: assets.three.mode: 't2vv' is not allowed; allowed: t2v, i2v, "
        "flf2v, r2v, edit, t2i, s2v (did you mean 't2v'?)",
        "error: specs/b.toml:8: assets.four.image: 'asset:three': three has problems of its "
        "own; fix it first",
    ]
    # plan refuses with the same lines, and writes nothing
    planned = run(empty_project, "plan")
    assert planned.exit_code == 1 and planned.stderr == result.stderr
    assert not (empty_project / "state").exists()


def test_a_missing_field_names_the_asset_not_the_defaults(run: Run, empty_project: Path) -> None:
    write_spec(
        empty_project,
        "a.toml",
        '[defaults]\nmodel = "wan-2.5"\n\n[assets.quiet]\nmode = "t2v"\nseed = 1\n',
    )
    result = run(empty_project, "validate")
    assert result.stderr.splitlines() == [
        "error: specs/a.toml:4: assets.quiet.prompt: required for mode t2v; describe the shot"
    ]


def test_a_defaults_value_wrong_for_some_assets_names_them(run: Run, empty_project: Path) -> None:
    assets = "".join(
        f'[assets.shot-{i}]\nmode = "{mode}"\nprompt = "p"\nseed = 1\n'
        for i, mode in enumerate(["t2v", "t2v", "t2i"])
    )
    write_spec(empty_project, "a.toml", f'[defaults]\nmodel = "wan-2.5"\nduration = 7\n{assets}')
    result = run(empty_project, "validate")
    assert result.stderr.splitlines() == [
        "error: specs/a.toml:3: defaults.duration: 7 is not allowed for this model; allowed: "
        "5, 10 (did you mean 5?) (for shot-0, shot-1)"
    ]


def test_a_misspelt_default_provider_is_blamed_on_the_settings_once(
    run: Run, empty_project: Path
) -> None:
    _settings(empty_project, '[project]\ndefault_provider = "simm"\n')
    write_spec(
        empty_project,
        "a.toml",
        "".join(
            f'[assets.a{i}]\nmode = "t2v"\nmodel = "wan-2.5"\nprompt = "p"\nseed = 1\n'
            for i in range(3)
        ),
    )
    result = run(empty_project, "validate")
    assert result.stderr.splitlines() == [
        "error: wanplan.toml:2: project.default_provider: unknown provider 'simm'; available: "
        "apixo, dashscope, sim, wanapi, wavespeed (did you mean 'sim'?)"
    ]


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ("[budget]\nmax_per_aply = 5\n", "budget.max_per_aply: unknown setting (did you mean "),
        ("[projet]\n", "projet: unknown setting (did you mean 'project'?)"),
        ("[providers.sim]\nlatensy = 1\n", "latensy: unknown setting (did you mean 'latency'?)"),
        (
            '[profiles.draft]\nresolutoin = "480p"\n',
            "profiles.draft.resolutoin: unknown setting (did you mean 'resolution'?)",
        ),
        (
            "[state]\nlease = 5\n",
            "state.lease: unknown setting (did you mean 'lease_seconds'?)",
        ),
    ],
)
def test_a_misspelt_setting_gets_a_suggestion(
    run: Run, project: Path, settings: str, expected: str
) -> None:
    _settings(project, settings)
    result = run(project, "validate")
    assert result.exit_code == 1
    assert expected in result.stderr


def test_a_misspelt_setting_far_from_any_lists_the_known_ones(run: Run, project: Path) -> None:
    _settings(project, "[budget]\nzzz = 5\n")
    assert (
        "budget.zzz: unknown setting; known here: max_per_apply, max_per_asset, max_per_day"
        in run(project, "validate").stderr
    )


@pytest.mark.parametrize(
    ("value", "allowed", "expected"),
    [
        ("16:10", ("16:9", "9:16", "1:1"), "16:9"),
        ("21:9", ("16:9", "9:16", "1:1", "4:3"), "16:9"),
        ("4:5", ("16:9", "9:16", "1:1", "4:3", "3:4"), "3:4"),
        ("2:3", ("16:9", "9:16", "1:1"), "9:16"),
        ("1280x720", ("480p", "720p", "1080p"), "720p"),
        ("1920*1080", ("480p", "720p", "1080p"), "1080p"),
        ("4K", ("480p", "720p", "1080p"), "1080p"),
        ("720", ("480p", "720p", "1080p"), "720p"),
    ],
)
def test_nearest_value_by_meaning(value: str, allowed: tuple[str, ...], expected: str) -> None:
    assert nearest(value, allowed) == expected


DRAFT_SPECS = """\
[assets.clip]
mode = "t2v"
model = "wan-2.5"
prompt = "p"
seed = 1
resolution = "1080p"
duration = 10

[assets.old-clip]
mode = "t2v"
model = "wan-2.2"
prompt = "p"
seed = 1

[assets.still]
mode = "t2i"
model = "wan-2.5"
prompt = "p"
seed = 1
"""


def test_a_draft_profile_of_preferences_fits_every_model(run: Run, empty_project: Path) -> None:
    _settings(
        empty_project,
        '[profiles.draft]\nresolution = ["480p", "720p"]\nduration = [3, 5]\n',
    )
    write_spec(empty_project, "a.toml", DRAFT_SPECS)
    result = run(empty_project, "plan", "--profile", "draft", "--format", "json")
    assert result.exit_code == 0, result.output
    changes = {c["address"]: c for c in json.loads(result.output)["changes"]}
    assert changes["clip"]["model_id"] == "sim/wan-2.5/t2v"
    assert changes["old-clip"]["model_id"] == "sim/wan-2.2/t2v"
    # sim's t2i has no 480p: the still takes the next preference, the videos the first.
    text = run(empty_project, "plan", "--profile", "draft").output
    assert "clip      create   t2v sim/wan-2.5/t2v 480p 5s" in text
    assert "old-clip  create   t2v sim/wan-2.2/t2v 480p 5s" in text
    assert "still     create   t2i sim/wan-2.5/t2i 720p" in text
    # the default profile is untouched by the draft's preferences
    assert "clip      create   t2v sim/wan-2.5/t2v 1080p 10s" in run(empty_project, "plan").output


def test_a_preference_list_none_of_which_fits_names_asset_and_model(
    run: Run, empty_project: Path
) -> None:
    _settings(empty_project, "[profiles.draft]\nduration = [3, 4]\n")
    write_spec(empty_project, "a.toml", DRAFT_SPECS)
    expected = [
        "error: wanplan.toml:2: profiles.draft.duration: none of 3, 4 is allowed for "
        "sim/wan-2.5/t2v; allowed: 5, 10 (did you mean 5?) (for clip)",
        "error: wanplan.toml:2: profiles.draft.duration: none of 3, 4 is allowed for "
        "sim/wan-2.2/t2v; allowed: 5 (did you mean 5?) (for old-clip)",
    ]
    result = run(empty_project, "plan", "--profile", "draft")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == expected
    # validate tries every profile: the same mistake, before anyone plans with it
    checked = run(empty_project, "validate")
    assert checked.exit_code == 1 and checked.stderr.splitlines() == expected
    assert run(empty_project, "plan").exit_code == 0  # the default profile is fine


def test_validate_says_which_profile_makes_an_asset_wrong(run: Run, empty_project: Path) -> None:
    # Under the profile's model, the clip's own 10 s is no longer allowed: the asset's line,
    # said to be the profile's doing.
    _settings(empty_project, '[profiles.old]\nmodel = "wan-2.2"\n')
    write_spec(empty_project, "a.toml", DRAFT_SPECS.replace("[assets.still]", "[assets.x]"))
    result = run(empty_project, "validate")
    assert result.exit_code == 1
    clip = [line for line in result.stderr.splitlines() if "assets.clip.duration" in line]
    assert len(clip) == 1 and clip[0].startswith("error: specs/a.toml:7: "), result.stderr
    assert clip[0].endswith("(with --profile old)")
    assert run(empty_project, "plan").exit_code == 0


def test_a_model_preference_takes_the_first_family_with_the_mode(
    run: Run, empty_project: Path
) -> None:
    _settings(empty_project, '[profiles.cheap]\nmodel = ["wan-2.2", "wan-2.5"]\n')
    write_spec(
        empty_project, "a.toml", DRAFT_SPECS.replace('resolution = "1080p"\nduration = 10\n', "")
    )
    result = run(empty_project, "plan", "--profile", "cheap", "--format", "json")
    assert result.exit_code == 0, result.output
    models = {c["address"]: c["model_id"] for c in json.loads(result.output)["changes"]}
    assert models == {
        "clip": "sim/wan-2.2/t2v",
        "old-clip": "sim/wan-2.2/t2v",
        "still": "sim/wan-2.5/t2i",  # wan-2.2 makes no images on sim
    }


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("[]", "an empty list; give one value or several in order of preference"),
        ('["480p", 720]', "expected a resolution or a list of them"),
    ],
)
def test_a_malformed_preference_list_is_one_clear_line(
    run: Run, project: Path, value: str, message: str
) -> None:
    _settings(project, f"[profiles.draft]\nresolution = {value}\n")
    result = run(project, "validate")
    assert result.exit_code == 1
    assert f"wanplan.toml:2: profiles.draft.resolution: {message}" in result.stderr


def test_a_command_without_specs_reports_only_the_settings(run: Run, empty_project: Path) -> None:
    """`state list` reads no specs: a settings typo is its only problem (and it hashes no
    input to find the specs' own)."""
    _settings(empty_project, FIVE_MISTAKES_SETTINGS)
    write_spec(empty_project, "a.toml", A_TOML)
    result = run(empty_project, "state", "list")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: wanplan.toml:5: budget.max_per_aply: unknown setting "
        "(did you mean 'max_per_apply'?)"
    ]


def test_an_unreadable_file_does_not_make_its_assets_unknown_elsewhere(
    run: Run, empty_project: Path
) -> None:
    write_spec(empty_project, "1.toml", '[assets.hero\nmode = "t2i"\n')
    write_spec(
        empty_project,
        "2.toml",
        '[assets.turn]\nmode = "i2v"\nmodel = "wan-2.5"\nimage = "asset:hero"\nprompt = "p"\n'
        "seed = 1\n",
    )
    result = run(empty_project, "validate")
    assert result.stderr.splitlines() == [
        "error: specs/1.toml:1: invalid TOML: Expected ']' at the end of a table declaration "
        "(column 13)"
    ]


def test_a_wrong_field_does_not_hide_the_assets_other_mistakes(
    run: Run, empty_project: Path
) -> None:
    write_spec(
        empty_project,
        "a.toml",
        '[assets.b3]\nmode = "i2v"\nmodel = "wan-2.5"\nprompt = "z"\n'
        'resolution = "1280x720"\nseed = "abc"\n\n'
        '[assets.c1]\nmode = "t2v"\nmodel = "wan-2.5"\nprompt = "q"\nseed = -1\n\n'
        '[assets.c2]\nmode = "t2v"\nmodel = "wan-2.5"\nprompt = "q"\nseed = 2.6\n\n'
        '[assets.c3]\nmode = "t2v"\nprovider = 5\nmodel = "wan-2.6"\nprompt = "q"\nseed = 1\n',
    )
    result = run(empty_project, "validate")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: specs/a.toml:1: assets.b3.image: required for mode i2v",
        "error: specs/a.toml:5: assets.b3.resolution: '1280x720' is not allowed for this model;"
        " allowed: 480p, 720p, 1080p (did you mean '720p'?)",
        "error: specs/a.toml:6: assets.b3.seed: expected a whole number, got string 'abc'",
        "error: specs/a.toml:12: assets.c1.seed: -1 is not allowed; allowed: at least 0"
        " (did you mean 0?)",
        "error: specs/a.toml:18: assets.c2.seed: expected a whole number, got float 2.6"
        " (did you mean 3?)",
        # A wrong provider is all that is said of c3: the default provider standing in for it
        # would make its model look wrong too.
        "error: specs/a.toml:22: assets.c3.provider: expected a string, got int 5"
        ' (did you mean "5"?)',
    ]


def test_a_budget_that_is_no_amount_says_what_is(run: Run, empty_project: Path) -> None:
    _settings(empty_project, '[budget]\nmax_per_apply = "lots"\n')
    result = run(empty_project, "validate")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: wanplan.toml:2: budget.max_per_apply: expected an amount in USD like 20.0, got"
        " 'lots'; leave it out for no cap"
    ]


def test_an_output_in_a_profiles_folder_is_refused(run: Run, empty_project: Path) -> None:
    _settings(empty_project, '[profiles.draft]\nresolution = ["480p", "720p"]\n')
    write_spec(empty_project, "a.toml", DRAFT_SPECS + 'output = "draft/still"\n')
    result = run(empty_project, "validate")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: specs/a.toml:20: assets.still.output: outputs/draft/ holds the outputs of"
        " --profile draft; name a file outside it"
    ]


def test_an_output_in_a_profiles_folder_is_refused_however_written(
    run: Run, empty_project: Path
) -> None:
    _settings(empty_project, '[profiles.draft]\nresolution = ["480p", "720p"]\n')
    write_spec(empty_project, "a.toml", DRAFT_SPECS + 'output = "./draft/still"\n')
    result = run(empty_project, "validate")
    assert result.exit_code == 1 and "outputs/draft/ holds the outputs" in result.stderr
