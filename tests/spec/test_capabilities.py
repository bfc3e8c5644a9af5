"""The capability table, generated from the catalog: for every (provider, family, mode) entry, a
valid asset passes `validate`, and an asset asking for one impossible thing per capability
(resolution, duration, aspect ratio, prompt length, input kind, input count, input size) is
refused on its own line, naming the field, with a suggestion. A new catalog entry is covered
without a line of test code."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import Result

from tests.capability_specs import AUDIO, IMAGE, input_lines, valid_spec, write_media
from tests.conftest import Run, write_spec
from wanplan.catalog import ModelEntry, load_catalog
from wanplan.catalog.model import VIDEO_MODES

ENTRIES = load_catalog().models
SUGGESTION = re.compile(r"did you mean|shorten it by|drop \d|remove it|shrink it")


def _label(entry: ModelEntry) -> str:
    return f"{entry.provider}:{entry.model_id}:{entry.mode}"


def impossible(entry: ModelEntry) -> dict[str, tuple[str, str]]:
    """capability -> (field blamed, asset): each asset valid but for that one capability."""
    cases: dict[str, tuple[str, str]] = {
        "resolution": ("resolution", valid_spec(entry, "resolution", resolution="2160p")),
    }
    if entry.durations:
        too_long = min(max(entry.durations) + 1, 600)
        cases["duration"] = ("duration", valid_spec(entry, "duration", duration=too_long))
    elif entry.mode in VIDEO_MODES or entry.mode == "t2i":
        cases["duration"] = ("duration", valid_spec(entry, "duration", duration=5))
    typo = entry.aspect_ratios[0].replace(":", "x") if entry.aspect_ratios else "16:9"
    cases["aspect_ratio"] = ("aspect_ratio", valid_spec(entry, "aspect_ratio", aspect_ratio=typo))
    if entry.max_prompt_chars:
        long_prompt = "a" * (entry.max_prompt_chars + 1)
        cases["prompt"] = ("prompt", valid_spec(entry, "prompt", prompt=long_prompt))
    inputs = [line.split(" = ")[0] for line in input_lines(entry)]
    image_field = next((f for f in inputs if f in ("image", "first_frame", "references")), None)
    if image_field == "references" and "image" not in entry.reference_kinds:
        image_field = None
    if image_field is not None:
        value: object = [AUDIO] if image_field == "references" else AUDIO
        cases["kind"] = (image_field, valid_spec(entry, "kind", **{image_field: value}))
    elif "audio" in inputs:
        cases["kind"] = ("audio", valid_spec(entry, "kind", audio=IMAGE))
    if entry.max_references is not None:
        many = [IMAGE] * (entry.max_references + 1)
        cases["count"] = ("references", valid_spec(entry, "count", references=many))
    if entry.max_grid_images is not None:
        many = [IMAGE] * (entry.max_grid_images + 1)
        cases["grid"] = ("grid", valid_spec(entry, "grid", grid=many, image=None))
    if entry.max_input_bytes is not None and image_field is not None:
        value = ["inputs/huge.png"] if image_field == "references" else "inputs/huge.png"
        cases["size"] = (image_field, valid_spec(entry, "size", **{image_field: value}))
    return cases


def line_of(text: str, asset: str, field: str) -> int:
    lines = text.splitlines()
    start = lines.index(f"[assets.{asset}]")
    return next(i for i in range(start, len(lines)) if lines[i].startswith(f"{field} = ")) + 1


def validate(run: Run, root: Path, text: str) -> Result:
    write_spec(root, "a.toml", text)
    return run(root, "validate")


@pytest.fixture
def media_project(empty_project: Path) -> Path:
    write_media(empty_project)
    return empty_project


@pytest.mark.parametrize("entry", ENTRIES, ids=_label)
def test_a_valid_asset_passes(run: Run, media_project: Path, entry: ModelEntry) -> None:
    result = validate(run, media_project, valid_spec(entry))
    assert result.exit_code == 0, result.output
    assert "Valid: 1 asset in 1 file." in result.output


@pytest.mark.parametrize("entry", ENTRIES, ids=_label)
def test_each_impossible_request_is_refused_on_its_line(
    run: Run, media_project: Path, entry: ModelEntry
) -> None:
    cases = impossible(entry)
    if "size" in cases:  # sparse: as large as the limit says, without writing the bytes
        limit = entry.max_input_bytes or 0
        with (media_project / "inputs" / "huge.png").open("wb") as handle:
            handle.truncate(limit + 1)
    text = "\n".join(asset for _, asset in cases.values())
    result = validate(run, media_project, text)
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    for capability, (field, _) in cases.items():
        where = f"specs/a.toml:{line_of(text, capability, field)}: assets.{capability}.{field}:"
        mine = [line for line in errors if where in line]
        assert len(mine) == 1, f"{capability}: {where} not in\n{result.output}"
        assert SUGGESTION.search(mine[0]), mine[0]
    assert len(errors) == len(cases), result.output


def test_an_mp3_is_not_an_image_whatever_its_name(run: Run, media_project: Path) -> None:
    (media_project / "inputs" / "still.png").write_bytes(b"ID3\x04\x00" + bytes(64))
    result = validate(
        run,
        media_project,
        '[assets.x]\nmode = "i2v"\nmodel = "wan-2.5"\nimage = "inputs/still.png"\nseed = 1\n',
    )
    assert result.exit_code == 1
    assert "specs/a.toml:4: assets.x.image: 'inputs/still.png' is audio; image takes an image" in (
        result.output
    )


def test_bytes_that_are_no_image_are_not_one_for_its_name(run: Run, media_project: Path) -> None:
    (media_project / "inputs" / "still.png").write_bytes(bytes(range(200)) * 5)
    result = validate(
        run,
        media_project,
        '[assets.x]\nmode = "i2v"\nmodel = "wan-2.5"\nimage = "inputs/still.png"\nseed = 1\n',
    )
    assert result.exit_code == 1
    assert (
        "specs/a.toml:4: assets.x.image: 'inputs/still.png' is not a file type wanplan "
        "recognises; image takes an image (did you mean a png, jpg, webp file?)"
    ) in result.output


def test_model_id_overrides_the_family_and_a_typo_gets_a_suggestion(
    run: Run, media_project: Path
) -> None:
    spec = (
        '[assets.x]\nprovider = "dashscope"\nmode = "t2v"\nmodel = "wan-2.1"\n'
        'model_id = "{id}"\nprompt = "a"\nseed = 1\nprompt_expansion = false\n'
    )
    write_spec(media_project, "a.toml", spec.format(id="wan2.7-t2v"))
    plan = run(media_project, "plan", "--format", "json")
    assert '"model_id": "wan2.7-t2v"' in plan.stdout
    result = validate(run, media_project, spec.format(id="wan2.7-t2x"))
    assert "specs/a.toml:5: assets.x.model_id: unknown model id 'wan2.7-t2x'" in result.output
    assert "(did you mean 'wan2.7-t2v'?)" in result.output


def test_a_mode_the_provider_lacks_is_refused(run: Run, media_project: Path) -> None:
    result = validate(
        run,
        media_project,
        '[assets.x]\nprovider = "wanapi"\nmode = "r2v"\nmodel = "wan-2.2"\n'
        'references = ["inputs/hero.png"]\nprompt = "a"\n',
    )
    assert result.exit_code == 1
    assert "specs/a.toml:3: assets.x.mode: wanapi offers no r2v model; providers with r2v: " in (
        result.output
    )
    assert "dashscope" in result.output


def test_an_input_the_model_lacks_names_the_families_with_it(run: Run, media_project: Path) -> None:
    result = validate(
        run,
        media_project,
        '[assets.x]\nprovider = "dashscope"\nmode = "t2v"\nmodel = "wan-2.6"\n'
        f'prompt = "a"\naudio = "{AUDIO}"\n',
    )
    assert (
        "assets.x.audio: wan2.6-t2v takes no audio for t2v; families on dashscope with it: "
        "wan-2.7 (did you mean 'wan-2.7'?)"
    ) in result.output


@pytest.mark.parametrize(
    ("provider", "setting", "warned"),
    [
        ("dashscope", "", True),  # DashScope expands prompts unless told not to
        ("dashscope", "prompt_expansion = false\n", False),
        ("wavespeed", "", False),
        ("wavespeed", "prompt_expansion = true\n", True),
        ("wavespeed", "params = { enable_prompt_expansion = true }\n", True),
    ],
)
def test_prompt_expansion_left_on_is_a_warning(
    run: Run, media_project: Path, provider: str, setting: str, warned: bool
) -> None:
    result = validate(
        run,
        media_project,
        f'[assets.x]\nprovider = "{provider}"\nmode = "t2v"\nmodel = "wan-2.6"\n'
        f'prompt = "a"\nseed = 1\n{setting}',
    )
    assert result.exit_code == 0, result.output
    warning = "warning: specs/a.toml:1: assets.x: prompt expansion is on"
    assert (warning in result.stderr) is warned


def test_models_lists_the_inputs_each_model_takes(run: Run, media_project: Path) -> None:
    listing = json.loads(run(media_project, "models", "--mode", "r2v", "--format", "json").stdout)
    dashscope = next(m for m in listing["models"] if m["model_id"] == "wan2.7-r2v")
    assert (dashscope["max_references"], dashscope["reference_kinds"]) == (5, ["image", "video"])
    assert dashscope["prompt_expansion_default"] is True
    text = run(media_project, "models", "--provider", "dashscope", "--mode", "i2v").output
    assert "takes: audio, last_frame, grid (up to 9 images)" in text


def test_an_image_is_known_by_its_first_bytes_not_by_two_letters() -> None:
    from wanplan.spec.media_kind import IMAGE, sniff

    bmp = b"BM" + (70).to_bytes(4, "little") + bytes(8) + (40).to_bytes(4, "little")
    assert sniff(bmp) == IMAGE
    assert sniff(b"BMW drivers' notes, not a picture") is None
    assert sniff(b"\x89PNG\r\n\x1a\n" + bytes(10)) == IMAGE


def test_speech_to_video_is_estimated_for_every_started_second() -> None:
    from decimal import Decimal

    from wanplan.catalog import load_catalog

    price = load_catalog().price("dashscope", "wan2.2-s2v", "s2v", "720p")
    assert price is not None
    per_second = price.price
    assert price.estimate(None, [Decimal("5.04")]) == per_second * 6
    assert price.estimate(None, [Decimal("5")]) == per_second * 5
    assert price.estimate(None, [Decimal("0.2")]) == per_second * 1
