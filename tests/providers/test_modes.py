"""Every mode end to end: the examples/modes project applies on the sim, and the requests the
providers send for the new modes carry each input in its documented role."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from tests.capability_specs import AUDIO, IMAGE, OTHER_IMAGE, VIDEO, write_media
from tests.conftest import REPO, Run, emulator_for_wanplan, write_spec
from wanplan.emulator import Emulator, Knobs

EXAMPLE = REPO / "examples" / "modes"


def test_the_modes_example_makes_every_mode_on_the_sim(run: Run, tmp_path: Path) -> None:
    root = tmp_path / "modes"
    shutil.copytree(EXAMPLE, root)
    result = run(root, "apply", "-y")
    assert result.exit_code == 0, result.output
    plan = json.loads(run(root, "plan", "--format", "json").stdout)
    assert plan["changes"] == []
    made = {p.name for p in (root / "outputs").iterdir() if not p.name.endswith(".json")}
    assert {"opening.gif", "cast.gif", "opening-at-night.gif", "poster.png"} <= made
    assert "hero-speaks.gif" in made
    specs = (EXAMPLE / "specs" / "modes.toml").read_text()
    for mode in ("t2v", "i2v", "flf2v", "r2v", "edit", "t2i", "s2v"):
        assert f'mode = "{mode}"' in specs
    assert "grid = [" in specs and "audio = " in specs


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch, empty_project: Path) -> Iterator[Emulator]:
    write_media(empty_project)
    (empty_project / "wanplan.toml").write_text(
        "".join(f"[providers.{p}]\npoll_interval = 0.02\n" for p in ("wavespeed", "dashscope"))
    )
    with emulator_for_wanplan(monkeypatch, Knobs(latency=0.05), "sk-modes") as emulator:
        yield emulator


def submitted(emulator: Emulator, provider: str) -> dict[str, object]:
    (submit,) = [
        r
        for r in emulator.requests(provider=provider, method="POST")
        if "upload" not in r.path and "/oss/" not in r.path and "/model/price" not in r.path
    ]
    assert isinstance(submit.json, dict)
    return submit.json


def apply(run: Run, root: Path, text: str) -> None:
    write_spec(root, "a.toml", text)
    result = run(root, "apply", "-y")
    assert result.exit_code == 0, result.output


def test_dashscope_references_and_grid_travel_as_media_roles(
    run: Run, empty_project: Path, emulator: Emulator
) -> None:
    apply(
        run,
        empty_project,
        '[assets.cast]\nprovider = "dashscope"\nmode = "r2v"\nmodel = "wan-2.7"\nseed = 1\n'
        f'prompt = "a"\nreferences = ["{IMAGE}", "{VIDEO}", "https://example.com/b.mp4"]\n'
        'aspect_ratio = "9:16"\n',
    )
    body = submitted(emulator, "dashscope")
    payload, parameters = body["input"], body["parameters"]
    assert isinstance(payload, dict) and isinstance(parameters, dict)
    roles = [m["type"] for m in payload["media"]]
    assert roles == ["reference_image", "reference_video", "reference_video"]
    assert payload["media"][2]["url"] == "https://example.com/b.mp4"
    assert parameters["ratio"] == "9:16" and body["model"] == "wan2.7-r2v"


def test_dashscope_i2v_takes_grid_and_driving_audio(
    run: Run, empty_project: Path, emulator: Emulator
) -> None:
    apply(
        run,
        empty_project,
        '[assets.board]\nprovider = "dashscope"\nmode = "i2v"\nmodel = "wan-2.7"\nseed = 1\n'
        f'grid = ["{IMAGE}", "{IMAGE}", "{IMAGE}"]\naudio = "{AUDIO}"\n',
    )
    payload = submitted(emulator, "dashscope")["input"]
    assert isinstance(payload, dict)
    # No grid input is documented (PROVIDERS.md §4b): the grid is composed into one 3×3 image
    # and sent as the first frame (PRODUCT §3).
    assert [m["type"] for m in payload["media"]] == ["first_frame", "driving_audio"]
    composed = emulator.input_bytes(payload["media"][0]["url"])
    assert composed is not None
    with Image.open(empty_project / IMAGE) as hero, Image.open(io.BytesIO(composed)) as picture:
        assert picture.size == (hero.width * 3, hero.height * 3)
        # Three images fill the top row; the other cells stay black.
        assert picture.convert("RGB").getpixel((hero.width // 2, hero.height * 2)) == (0, 0, 0)
        assert picture.convert("RGB").getpixel(
            (hero.width * 2 + hero.width // 2, hero.height // 2)
        ) != (0, 0, 0)
    # The same grid gives the same content key; another image in it, another key.
    key = json.loads(run(empty_project, "plan", "--format", "json").output)["declared"][0]
    write_spec(
        empty_project,
        "a.toml",
        '[assets.board]\nprovider = "dashscope"\nmode = "i2v"\nmodel = "wan-2.7"\nseed = 1\n'
        f'grid = ["{IMAGE}", "{OTHER_IMAGE}", "{IMAGE}"]\naudio = "{AUDIO}"\n',
    )
    other = json.loads(run(empty_project, "plan", "--format", "json").output)["declared"][0]
    assert key["content_key"] != other["content_key"]


def test_a_grid_to_compose_must_be_files_the_project_has(run: Run, empty_project: Path) -> None:
    write_media(empty_project)
    write_spec(
        empty_project,
        "a.toml",
        '[assets.board]\nprovider = "dashscope"\nmode = "i2v"\nmodel = "wan-2.7"\n'
        f'grid = ["{IMAGE}", "https://example.com/b.png"]\n',
    )
    result = run(empty_project, "validate")
    assert result.exit_code == 1
    assert "dashscope takes no grid, so wanplan composes it" in result.output


def test_wavespeed_edit_and_references(run: Run, empty_project: Path, emulator: Emulator) -> None:
    apply(
        run,
        empty_project,
        '[assets.night]\nprovider = "wavespeed"\nmode = "edit"\nmodel = "wan-2.7"\nseed = 1\n'
        f'prompt = "make it night"\nvideo = "{VIDEO}"\nreferences = ["{IMAGE}"]\n',
    )
    body = submitted(emulator, "wavespeed")
    assert set(body) == {"prompt", "video", "images", "resolution", "seed"}
    assert isinstance(body["images"], list) and len(body["images"]) == 1
    assert "duration" not in body  # an edit keeps its input's length


def test_wavespeed_reference_to_video_sends_videos_and_one_image(
    run: Run, empty_project: Path, emulator: Emulator
) -> None:
    # PROVIDERS.md §4b: `videos` (required), one optional `image`, a resolution; no size.
    apply(
        run,
        empty_project,
        '[assets.cast]\nprovider = "wavespeed"\nmode = "r2v"\nmodel = "wan-2.7"\nseed = 1\n'
        f'prompt = "the two of them"\nduration = 5\nreferences = ["{VIDEO}", "{IMAGE}"]\n',
    )
    body = submitted(emulator, "wavespeed")
    assert set(body) == {"prompt", "videos", "image", "resolution", "duration", "seed"}
    assert isinstance(body["videos"], list) and len(body["videos"]) == 1
    assert isinstance(body["image"], str) and body["resolution"] == "720p"


def test_wavespeed_reference_limits_are_checked_before_anything_is_sent(
    run: Run, empty_project: Path, emulator: Emulator
) -> None:
    head = '[assets.cast]\nprovider = "wavespeed"\nmode = "r2v"\nmodel = "wan-2.7"\nseed = 1\n'
    write_spec(empty_project, "a.toml", head + f'prompt = "x"\nreferences = ["{IMAGE}"]\n')
    result = run(empty_project, "plan")
    assert result.exit_code == 1 and "needs at least 1 video among its references" in result.output
    write_spec(
        empty_project,
        "a.toml",
        head + f'prompt = "x"\nreferences = ["{VIDEO}", "{IMAGE}", "{IMAGE}"]\n',
    )
    result = run(empty_project, "plan")
    assert result.exit_code == 1 and "takes at most 1 image" in result.output
    write_spec(
        empty_project,
        "a.toml",
        '[assets.sq]\nprovider = "wavespeed"\nmode = "t2v"\nmodel = "wan-2.5"\nprompt = "x"\n'
        'aspect_ratio = "1:1"\n',
    )
    result = run(empty_project, "plan")  # Wan 2.5 on WaveSpeed has no square size
    assert result.exit_code == 1 and "'1:1' is not allowed" in result.output
    assert emulator.requests(provider="wavespeed") == []


def test_watermark_is_sent_only_where_documented_and_only_when_set(
    run: Run, empty_project: Path, emulator: Emulator
) -> None:
    clip = '[assets.c]\nprovider = "dashscope"\nmode = "t2v"\nmodel = "{family}"\nprompt = "x"\n'
    apply(run, empty_project, clip.format(family="wan-2.6") + "watermark = false\n")
    body = submitted(emulator, "dashscope")
    assert body["parameters"]["watermark"] is False  # type: ignore[index]
    # Left unset, the provider's documented default applies and nothing is sent.
    write_spec(empty_project, "a.toml", clip.format(family="wan-2.7"))
    assert run(empty_project, "apply", "-y").exit_code == 0
    bodies = [
        r.json
        for r in emulator.requests(provider="dashscope", method="POST")
        if r.path.endswith("/video-synthesis")
    ]
    assert "watermark" not in bodies[-1]["parameters"]  # type: ignore[index]
    shown = run(empty_project, "models", "--provider", "dashscope", "--mode", "t2v").output
    assert "no watermark unless watermark = true" in shown  # Wan 2.7
    assert "watermarks its output unless watermark = false" in shown  # 2.1-2.6
    write_spec(
        empty_project,
        "a.toml",
        '[assets.c]\nprovider = "wavespeed"\nmode = "t2v"\nmodel = "wan-2.6"\nprompt = "x"\n'
        "watermark = false\n",
    )
    refused = run(empty_project, "plan")
    assert refused.exit_code == 1
    assert "has no documented watermark option on wavespeed" in refused.output


def test_dashscope_limits_from_the_second_reading(run: Run, empty_project: Path) -> None:
    write_media(empty_project)
    r2v = '[assets.c]\nprovider = "dashscope"\nmode = "r2v"\nmodel = "wan-2.7"\nprompt = "x"\n'
    write_spec(empty_project, "a.toml", r2v + f'duration = 12\nreferences = ["{VIDEO}"]\n')
    result = run(empty_project, "validate")
    assert result.exit_code == 1
    assert "12 s; wan2.7-r2v makes at most 10 s when a reference is a video" in result.output
    write_spec(empty_project, "a.toml", r2v + f'duration = 12\nreferences = ["{IMAGE}"]\n')
    assert run(empty_project, "validate").exit_code == 0  # image references: up to 15 s
    edit = (
        '[assets.e]\nprovider = "dashscope"\nmode = "edit"\nmodel = "wan-2.7"\nprompt = "x"\n'
        f'video = "{VIDEO}"\nreferences = ["{IMAGE}", "{IMAGE}", "{IMAGE}", "{IMAGE}"]\n'
    )
    write_spec(empty_project, "a.toml", edit)
    assert run(empty_project, "validate").exit_code == 0  # up to 4 reference images
    long = '[assets.l]\nprovider = "dashscope"\nmode = "t2v"\nmodel = "wan-2.6"\n'
    write_spec(empty_project, "a.toml", long + f'prompt = "{"x" * 1501}"\n')
    result = run(empty_project, "validate")
    assert result.exit_code == 1 and "takes at most 1500" in result.output


def test_dashscope_wan26_reference_to_video(
    run: Run, empty_project: Path, emulator: Emulator
) -> None:
    # PROVIDERS.md §4b: wan2.6-r2v takes input.reference_video_urls and parameters.size.
    apply(
        run,
        empty_project,
        '[assets.cast]\nprovider = "dashscope"\nmode = "r2v"\nmodel = "wan-2.6-flash"\n'
        f'prompt = "x"\nresolution = "720p"\naspect_ratio = "9:16"\nreferences = ["{VIDEO}"]\n',
    )
    body = submitted(emulator, "dashscope")
    assert body["model"] == "wan2.6-r2v-flash"
    assert len(body["input"]["reference_video_urls"]) == 1  # type: ignore[index]
    assert body["parameters"]["size"] == "720*1280"  # type: ignore[index]
    assert "media" not in body["input"]  # type: ignore[operator]


def test_hosted_text_to_image(run: Run, empty_project: Path, emulator: Emulator) -> None:
    # DashScope's text-to-image path answers output.results[].url; WaveSpeed's takes a size.
    shot = '[assets.{name}]\nprovider = "{provider}"\nmode = "t2i"\nmodel = "wan-2.5"\n'
    apply(
        run,
        empty_project,
        shot.format(name="still", provider="dashscope")
        + 'prompt = "a lighthouse"\naspect_ratio = "16:9"\nseed = 3\n'
        + shot.format(name="poster", provider="wavespeed")
        + 'prompt = "a lighthouse"\nresolution = "720p"\naspect_ratio = "3:4"\nseed = 3\n',
    )
    (dashscope,) = [
        r for r in emulator.requests(provider="dashscope", method="POST") if "synthesis" in r.path
    ]
    assert dashscope.path == "/api/v1/services/aigc/text2image/image-synthesis"
    assert dashscope.json["parameters"] == {"size": "1920*1080", "n": 1, "seed": 3}
    wavespeed = submitted(emulator, "wavespeed")
    assert wavespeed == {"prompt": "a lighthouse", "size": "832*1088", "seed": 3}
    made = sorted(p.name for p in (empty_project / "outputs").iterdir() if p.suffix != ".json")
    assert made == ["poster.png", "still.png"]


def test_dashscope_continues_a_clip(run: Run, empty_project: Path, emulator: Emulator) -> None:
    # Wan 2.7 i2v continues a clip given as `video`: media type first_clip (PROVIDERS.md §4b).
    head = '[assets.more]\nprovider = "dashscope"\nmode = "i2v"\nmodel = "wan-2.7"\nseed = 1\n'
    apply(run, empty_project, head + f'prompt = "and then"\nvideo = "{VIDEO}"\n')
    payload = submitted(emulator, "dashscope")["input"]
    assert [m["type"] for m in payload["media"]] == ["first_clip"]  # type: ignore[index]
    write_spec(empty_project, "a.toml", head + f'video = "{VIDEO}"\nimage = "{IMAGE}"\n')
    both = run(empty_project, "validate")
    assert both.exit_code == 1 and "give only one of image or video" in both.output
    write_spec(empty_project, "a.toml", head.replace("dashscope", "wavespeed") + 'prompt = "x"\n')
    missing = run(empty_project, "validate")
    assert missing.exit_code == 1 and "image: required for mode i2v" in missing.output


def test_a_first_frame_from_defaults_gives_way_to_the_assets_own(
    run: Run, empty_project: Path
) -> None:
    # [defaults] video is for the file's edits; an i2v asset with its own image is not in
    # conflict with it.
    write_media(empty_project)
    write_spec(
        empty_project,
        "a.toml",
        f'[defaults]\nprovider = "dashscope"\nmodel = "wan-2.7"\nvideo = "{VIDEO}"\n'
        '[assets.cut]\nmode = "edit"\nprompt = "night"\n'
        f'[assets.hero]\nmode = "i2v"\nimage = "{IMAGE}"\n',
    )
    result = run(empty_project, "validate")
    assert result.exit_code == 0, result.output


def test_a_reference_of_unknown_kind_is_refused_where_kinds_are_sent_apart(
    run: Run, empty_project: Path
) -> None:
    write_media(empty_project)
    write_spec(
        empty_project,
        "a.toml",
        '[assets.cast]\nprovider = "wavespeed"\nmode = "r2v"\nmodel = "wan-2.7"\nprompt = "x"\n'
        f'references = ["{VIDEO}", "https://cdn.example/get?id=1"]\n',
    )
    result = run(empty_project, "validate")
    assert result.exit_code == 1
    assert "cannot tell whether it is an image or a video" in result.output


def test_a_huge_grid_image_is_refused_before_it_is_decoded(tmp_path: Path) -> None:
    import struct
    import zlib

    from wanplan.providers.grid_image import compose_grid

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    # A tiny PNG that claims 8000×8000 pixels: only its header is ever read.
    header = struct.pack(">IIBBBBB", 8000, 8000, 8, 2, 0, 0, 0)
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b""))
    with pytest.raises(ValueError, match="at most 40,000,000 pixels"):
        compose_grid([bomb])
    for side in (11000, 20000):  # what Pillow itself calls a decompression bomb
        header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
        bomb.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b""))
        with pytest.raises(ValueError, match=r"bomb\.png"):
            compose_grid([bomb])


def test_a_dashscope_grid_is_composed_and_uploaded_before_the_submit(tmp_path: Path) -> None:
    """The composed grid is sent by `prepare`, as every other input: the submit that follows
    sends its request alone, so a slow upload cannot run into the submit's time limit."""
    import asyncio

    import httpx

    from wanplan.config import ProviderSettings
    from wanplan.providers.base import GenerationRequest, ProviderContext, RequestInput
    from wanplan.providers.dashscope import DashScopeProvider

    cell = tmp_path / "cell.png"
    Image.new("RGB", (8, 8), (200, 30, 30)).save(cell)
    grid = tuple(RequestInput(f"grid[{n}]", "inputs/cell.png", "ab" * 32, cell) for n in range(3))
    request = GenerationRequest(
        "board", "k" * 64, "wan2.7-i2v", "i2v", {"resolution": "720p", "duration": 5}, grid
    )
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.host}{request.url.path}")
        if request.url.params.get("action") == "getPolicy":
            policy = {"upload_host": "https://oss.example.com/", "upload_dir": "dir"}
            return httpx.Response(200, json={"data": policy})
        if request.url.host == "oss.example.com":
            return httpx.Response(200)
        return httpx.Response(200, json={"output": {"task_id": "t-1", "task_status": "PENDING"}})

    async def prepare_then_submit() -> tuple[GenerationRequest, list[str], str]:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
            context = ProviderContext(
                ProviderSettings(), client, "https://ds.example.com/api/v1", "k", None
            )
            provider = DashScopeProvider(context)
            prepared = await provider.prepare(request)
            before = list(seen)
            seen.clear()
            task = await provider.submit(prepared)
            return prepared, before, task.task_id

    prepared, before_submit, task_id = asyncio.run(prepare_then_submit())
    assert before_submit == ["GET ds.example.com/api/v1/uploads", "POST oss.example.com/"]
    url = prepared.inputs[0].sent_as
    assert url is not None and url.startswith("oss://dir/")
    assert seen == [
        "POST ds.example.com/api/v1/services/aigc/video-generation/video-synthesis"
    ]  # the submit alone
    assert task_id == "t-1"
