"""The hosted image models on their own protocols: DashScope's wan2.6 "messages" models (the
prompt and reference images as parts of one user message), with what validation asks of them."""

from __future__ import annotations

from pathlib import Path

from tests.capability_specs import IMAGE, OTHER_IMAGE, write_media
from tests.conftest import Run, write_spec
from tests.providers.test_modes import apply, submitted
from tests.providers.test_modes import emulator as emulator_fixture
from wanplan.emulator import Emulator

emulator = emulator_fixture  # the emulator on loopback with the sample media written

IMAGE_ASSET = '[assets.{name}]\nprovider = "dashscope"\nmode = "t2i"\nmodel = "{family}"\n'


def made(run: Run, root: Path, emulator: Emulator, asset: str) -> dict:
    """The create request's body for this one asset, applied against the emulator."""
    apply(run, root, asset)
    return submitted(emulator, "dashscope")


def test_dashscope_wan26_text_to_image_sends_one_user_message(
    run: Run, empty_project: Path, emulator: Emulator
) -> None:
    body = made(
        run,
        empty_project,
        emulator,
        IMAGE_ASSET.format(name="still", family="wan-2.6")
        + 'prompt = "a flower shop"\nnegative_prompt = "blur"\naspect_ratio = "16:9"\n'
        + "seed = 5\nprompt_expansion = false\n",
    )
    assert body == {
        "model": "wan2.6-t2i",
        "input": {"messages": [{"role": "user", "content": [{"text": "a flower shop"}]}]},
        "parameters": {
            "n": 1,
            "negative_prompt": "blur",
            "size": "1920*1080",
            "prompt_extend": False,
            "seed": 5,
        },
    }
    (create,) = emulator.requests(provider="dashscope", method="POST")
    assert create.path == "/api/v1/services/aigc/image-generation/generation"
    assert create.headers["x-dashscope-async"] == "enable"
    assert (empty_project / "outputs" / "still.png").is_file()


def test_dashscope_wan26_image_edits_its_references(
    run: Run, empty_project: Path, emulator: Emulator
) -> None:
    dress = IMAGE_ASSET.format(name="dress", family="wan-2.6-image") + (
        f'prompt = "a lace dress"\nreferences = ["{IMAGE}", "{OTHER_IMAGE}"]\nwatermark = true\n'
    )
    body = made(run, empty_project, emulator, dress)
    (message,) = body["input"]["messages"]  # type: ignore[index]
    text, *images = message["content"]
    assert text == {"text": "a lace dress"}
    assert len(images) == 2 and all(part["image"].startswith("oss://") for part in images)
    assert images[0] != images[1]
    # The output follows the first image's frame: no size; only what the docs list.
    assert body["parameters"] == {"n": 1, "watermark": True}
    (create,) = [r for r in emulator.requests(provider="dashscope") if "generation" in r.path]
    assert create.headers["x-dashscope-ossresourceresolve"] == "enable"


def test_dashscope_wan26_image_needs_a_reference(run: Run, empty_project: Path) -> None:
    write_media(empty_project)
    write_spec(
        empty_project,
        "a.toml",
        IMAGE_ASSET.format(name="dress", family="wan-2.6-image") + 'prompt = "a lace dress"\n',
    )
    result = run(empty_project, "validate")
    assert result.exit_code == 1
    assert "wan2.6-image needs at least 1 reference image to work from" in result.output
    write_spec(
        empty_project,
        "a.toml",
        IMAGE_ASSET.format(name="dress", family="wan-2.6-image")
        + f'prompt = "x"\nreferences = ["{IMAGE}"]\naspect_ratio = "16:9"\n',
    )
    framed = run(empty_project, "validate")
    assert framed.exit_code == 1 and "aspect_ratio" in framed.output


def test_wavespeed_wan25_image_edit_sends_images_and_no_size(
    run: Run, empty_project: Path, emulator: Emulator
) -> None:
    # wan-2.5/image-edit llms.txt: `images` (1–2); without a size the last image's frame is kept.
    edit = IMAGE_ASSET.format(name="night", family="wan-2.5-image-edit").replace(
        "dashscope", "wavespeed"
    )
    apply(run, empty_project, edit + f'prompt = "at night"\nreferences = ["{IMAGE}"]\nseed = 2\n')
    body = submitted(emulator, "wavespeed")
    assert set(body) == {"prompt", "images", "seed"}
    assert len(body["images"]) == 1  # type: ignore[arg-type]
    assert (empty_project / "outputs" / "night.png").is_file()
    write_spec(empty_project, "a.toml", edit + 'prompt = "at night"\n')
    refused = run(empty_project, "validate")
    assert "alibaba/wan-2.5/image-edit needs at least 1 reference image" in refused.output
