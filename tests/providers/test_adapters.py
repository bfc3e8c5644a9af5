"""Each wanplan adapter against the emulator on loopback: the exact requests it sends, and every
(provider, family, mode) of the catalog applying end to end with the bytes the emulator served."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.capability_specs import AUDIO, IMAGE, VIDEO, valid_spec, write_media
from tests.conftest import REPO, Run, emulator_for_wanplan, write_spec
from tests.providers.documented_fields import undocumented
from wanplan.apply.provenance import is_sidecar
from wanplan.catalog import load_catalog
from wanplan.emulator import Emulator, Knobs, LoggedRequest

KEY = "sk-test-adapter-key"
PROVIDERS = ("wavespeed", "dashscope", "apixo", "wanapi")
FAST_POLLING = "".join(f"[providers.{p}]\npoll_interval = 0.02\n" for p in PROVIDERS)


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    with emulator_for_wanplan(monkeypatch, Knobs(latency=0.05), KEY) as emulator:
        yield emulator


@pytest.fixture
def project(empty_project: Path) -> Path:
    (empty_project / "wanplan.toml").write_text(FAST_POLLING)
    for name in ("hero.png", "forest.png"):
        shutil.copy(REPO / "inputs" / name, empty_project / "inputs" / name)
    return empty_project


def apply(run: Run, project: Path, spec: str) -> None:
    write_spec(project, "a.toml", spec)
    result = run(project, "apply", "-y")
    assert result.exit_code == 0, result.output


def submits(emulator: Emulator, provider: str) -> list[LoggedRequest]:
    return [
        r
        for r in emulator.requests(provider=provider, method="POST")
        if "upload" not in r.path and "/oss/" not in r.path and not r.path.endswith("/model/price")
    ]


def outputs_match_what_was_served(project: Path, emulator: Emulator) -> None:
    served = emulator.served_sha256()
    files = [p for p in (project / "outputs").rglob("*") if p.is_file() and not is_sidecar(p.name)]
    assert files
    for path in files:
        assert hashlib.sha256(path.read_bytes()).hexdigest() in served, path


def no_key_in_log(emulator: Emulator) -> None:
    dump = json.dumps([r.as_dict() for r in emulator.log])
    assert KEY not in dump
    for request in emulator.log:
        if "authorization" in request.headers:
            assert request.headers["authorization"] == "Bearer [REDACTED]"
    # The key goes to the provider's API only, never to the host a result is fetched from.
    assert all("authorization" not in r.headers for r in emulator.requests(provider="files"))


T2V = """[assets.clip]
provider = "{provider}"
mode = "t2v"
model = "{family}"
prompt = "A kite over a windy beach."
negative_prompt = "blurry"
aspect_ratio = "9:16"
seed = 42
"""

I2V = """[assets.turn]
provider = "{provider}"
mode = "i2v"
model = "{family}"
image = "inputs/hero.png"
prompt = "The subject turns slowly."
seed = 7
"""


def test_wavespeed_flat_body_and_media_upload(run: Run, project: Path, emulator: Emulator) -> None:
    apply(
        run,
        project,
        T2V.format(provider="wavespeed", family="wan-2.5")
        + I2V.format(provider="wavespeed", family="wan-2.6"),
    )
    t2v, i2v = sorted(submits(emulator, "wavespeed"), key=lambda r: r.path)
    assert t2v.path == "/api/v3/alibaba/wan-2.5/text-to-video"
    assert t2v.json == {
        "prompt": "A kite over a windy beach.",
        "negative_prompt": "blurry",
        "size": "720*1280",
        "duration": 5,
        "seed": 42,
    }
    assert t2v.headers["authorization"] == "Bearer [REDACTED]"
    assert t2v.headers["content-type"] == "application/json"

    (ticket,) = emulator.requests(provider="wavespeed", path="/api/v3/media/uploads")
    size = (project / "inputs/hero.png").stat().st_size
    assert ticket.json == {"filename": "hero.png", "size": size, "content_type": "image/png"}
    (put,) = [r for r in emulator.log if r.method == "PUT"]
    assert "authorization" not in put.headers  # the key never goes to the upload URL
    assert i2v.path == "/api/v3/alibaba/wan-2.6/image-to-video"
    assert set(i2v.json) == {"prompt", "image", "resolution", "duration", "seed"}
    assert i2v.json["image"].startswith("http://127.0.0.1:") and i2v.json["resolution"] == "720p"
    polls = emulator.requests(provider="wavespeed", method="GET")
    assert polls and all(r.path.endswith("/result") for r in polls if "predictions" in r.path)
    outputs_match_what_was_served(project, emulator)
    no_key_in_log(emulator)


def test_wavespeed_first_and_last_frame_on_wan_2_2(
    run: Run, project: Path, emulator: Emulator
) -> None:
    apply(
        run,
        project,
        '[assets.morph]\nprovider = "wavespeed"\nmode = "flf2v"\nmodel = "wan-2.2"\n'
        'first_frame = "inputs/hero.png"\nlast_frame = "inputs/forest.png"\nprompt = "x"\n'
        'resolution = "720p"\nduration = 8\nseed = 1\n',
    )
    (submit,) = submits(emulator, "wavespeed")
    assert submit.path == "/api/v3/wavespeed-ai/wan-2.2/image-to-video"
    assert submit.json["size"] == "1280*720" and submit.json["duration"] == 8
    assert submit.json["image"] != submit.json["last_image"]


def test_wavespeed_per_resolution_model_ids(run: Run, project: Path, emulator: Emulator) -> None:
    spec = T2V.format(provider="wavespeed", family="wan-2.1").replace(
        'aspect_ratio = "9:16"', 'resolution = "720p"'
    )
    apply(run, project, spec)
    (submit,) = submits(emulator, "wavespeed")
    assert submit.path == "/api/v3/wavespeed-ai/wan-2.1/t2v-720p"
    assert submit.json["size"] == "1280*720"


def test_dashscope_protocols(run: Run, project: Path, emulator: Emulator) -> None:
    spec = (
        T2V.format(provider="dashscope", family="wan-2.7")
        + I2V.format(provider="dashscope", family="wan-2.5")
        + '[assets.t2v-old]\nprovider = "dashscope"\nmode = "t2v"\nmodel = "wan-2.6"\n'
        'prompt = "x"\nresolution = "720p"\naspect_ratio = "1:1"\nduration = 3\nseed = 2\n'
        '[assets.keyframes]\nprovider = "dashscope"\nmode = "flf2v"\nmodel = "wan-2.1"\n'
        'first_frame = "inputs/hero.png"\nlast_frame = "https://example.com/last.png"\n'
        'prompt = "x"\nseed = 3\n'
        '[assets.frames-27]\nprovider = "dashscope"\nmode = "flf2v"\nmodel = "wan-2.7"\n'
        'first_frame = "inputs/hero.png"\nlast_frame = "inputs/forest.png"\n'
        'prompt = "x"\nseed = 4\n'
        "prompt_expansion = false\n"
    )
    write_spec(project, "a.toml", spec)
    # https inputs are the user's own hosting: the emulator cannot fetch them, so this asset
    # fails there (as the real service would report an unreachable URL) and the rest apply.
    run(project, "apply", "-y")
    posts = {
        r.json["model"]: r for r in submits(emulator, "dashscope") if r.json and "model" in r.json
    }
    for request in posts.values():
        assert request.headers["x-dashscope-async"] == "enable"

    t2v = posts["wan2.7-t2v"]
    assert t2v.path == "/api/v1/services/aigc/video-generation/video-synthesis"
    assert t2v.json == {
        "model": "wan2.7-t2v",
        "input": {"prompt": "A kite over a windy beach.", "negative_prompt": "blurry"},
        "parameters": {"resolution": "1080P", "ratio": "9:16", "duration": 5, "seed": 42},
    }
    i2v = posts["wan2.5-i2v-preview"]
    assert i2v.json["input"]["img_url"].startswith("oss://")
    assert i2v.headers["x-dashscope-ossresourceresolve"] == "enable"
    assert i2v.json["parameters"] == {"resolution": "1080P", "duration": 5, "seed": 7}
    policies = emulator.requests(provider="dashscope", path="/api/v1/uploads")
    assert {"action": "getPolicy", "model": "wan2.5-i2v-preview"} in [p.query for p in policies]
    oss_posts = [r for r in emulator.log if r.path.startswith("/oss/")]
    assert oss_posts and all("authorization" not in r.headers for r in oss_posts)

    old = posts["wan2.6-t2v"]
    assert old.json["parameters"] == {"size": "960*960", "duration": 3, "seed": 2}
    keyframes = posts["wan2.1-kf2v-plus"]
    assert keyframes.path == "/api/v1/services/aigc/image2video/video-synthesis"
    assert keyframes.json["input"]["first_frame_url"].startswith("oss://")
    assert keyframes.json["input"]["last_frame_url"] == "https://example.com/last.png"
    frames = posts["wan2.7-i2v"]
    assert [m["type"] for m in frames.json["input"]["media"]] == ["first_frame", "last_frame"]
    assert frames.json["parameters"]["prompt_extend"] is False
    polls = emulator.requests(provider="dashscope", method="GET", path_prefix="/api/v1/tasks/")
    assert polls
    no_key_in_log(emulator)


def test_apixo_async_body_and_result_json(run: Run, project: Path, emulator: Emulator) -> None:
    apply(
        run,
        project,
        T2V.format(provider="apixo", family="wan-2.5")
        + I2V.format(provider="apixo", family="wan-2.5"),
    )
    bodies = {r.json["input"]["mode"]: r for r in submits(emulator, "apixo")}
    t2v = bodies["text-to-video"]
    assert t2v.path == "/api/v1/generateTask/wan-2-5"
    assert t2v.json == {
        "request_type": "async",
        "input": {
            "mode": "text-to-video",
            "prompt": "A kite over a windy beach.",
            "resolution": "720p",
            "duration": 5,
            "aspect_ratio": "9:16",
            "negative_prompt": "blurry",
            "seed": 42,
        },
    }
    i2v = bodies["image-to-video"]
    (image,) = i2v.json["input"]["image_urls"]
    assert image.startswith("data:image/png;base64,")
    polls = emulator.requests(provider="apixo", method="GET", path_prefix="/api/v1/statusTask")
    assert polls and all(
        r.path == "/api/v1/statusTask/wan-2-5" and "taskId" in r.query for r in polls
    )
    outputs_match_what_was_served(project, emulator)


def test_wanapi_openai_shaped_body(run: Run, project: Path, emulator: Emulator) -> None:
    apply(
        run,
        project,
        T2V.format(provider="wanapi", family="wan-2.2")
        + I2V.format(provider="wanapi", family="wan-2.1"),
    )
    bodies = {r.json["model"]: r for r in submits(emulator, "wanapi")}
    assert bodies["wan-2-2"].path == "/v1/video/generations"
    assert bodies["wan-2-2"].json == {
        "model": "wan-2-2",
        "prompt": "A kite over a windy beach.",
        "duration": 5,
        "aspect_ratio": "9:16",  # and no seed: wanapi.io documents none (PROVIDERS.md §4)
    }
    assert bodies["wan-2-1"].json["image"].startswith("data:image/png;base64,")
    outputs_match_what_was_served(project, emulator)


def _catalog_specs() -> list[tuple[str, str]]:
    """Every catalog entry with every input it takes: each mode, on each provider with it."""
    return [
        (f"{e.provider}:{e.model_id}:{e.mode}:{e.resolutions[-1]}", valid_spec(e))
        for e in load_catalog().models
        if e.provider in PROVIDERS
    ]


@pytest.mark.parametrize(("label", "spec"), _catalog_specs(), ids=[s[0] for s in _catalog_specs()])
def test_every_catalog_model_applies(
    run: Run, project: Path, emulator: Emulator, label: str, spec: str
) -> None:
    write_media(project)
    apply(run, project, spec)
    outputs_match_what_was_served(project, emulator)
    # Every field it sent is one the provider documents (tests/providers/documented_fields.py).
    provider, model_id, mode, _ = label.split(":")
    (submit,) = submits(emulator, provider)
    assert undocumented(provider, model_id, mode, submit.json) == set(), submit.json


def test_unknown_prices_are_not_reported_as_free(
    run: Run, project: Path, emulator: Emulator
) -> None:
    # No price anywhere for APIXO's Wan 2.7 (and no quote): the spend stays unknown.
    write_spec(project, "a.toml", T2V.format(provider="apixo", family="wan-2.7"))
    result = run(project, "apply", "-y")
    assert result.exit_code == 0, result.output
    assert "Estimated cost: unknown (1 of unknown price)" in result.output
    assert "Spent: unknown (1 of unknown price)" in result.output
    assert "$0.00" not in result.output


def test_apixo_newer_models_get_their_own_body(run: Run, project: Path, emulator: Emulator) -> None:
    # PROVIDERS.md §4b: wan-2-6-video and wan-2-7-video rewrite prompts with `prompt_extend`,
    # take media as image_urls / video_urls / audio_urls, and have their own modes.
    write_media(project)
    head = '[assets.{name}]\nprovider = "apixo"\nmodel = "{family}"\nprompt = "x"\nseed = 1\n'
    apply(
        run,
        project,
        head.format(name="talk", family="wan-2.6")
        + f'mode = "t2v"\nduration = 12\nprompt_expansion = false\naudio = "{AUDIO}"\n'
        + head.format(name="cast", family="wan-2.7")
        + f'mode = "r2v"\nreferences = ["{VIDEO}", "{IMAGE}"]\naspect_ratio = "4:3"\n'
        + head.format(name="night", family="wan-2.7")
        + f'mode = "edit"\nvideo = "{VIDEO}"\nreferences = ["{IMAGE}"]\n',
    )
    bodies = {r.json["input"]["mode"]: r.json["input"] for r in submits(emulator, "apixo")}
    talk = bodies["text-to-video"]
    assert talk["prompt_extend"] is False and "enable_prompt_expansion" not in talk
    assert talk["duration"] == 12 and len(talk["audio_urls"]) == 1
    cast = bodies["reference-to-video"]
    assert len(cast["video_urls"]) == 1 and len(cast["image_urls"]) == 1
    assert cast["aspect_ratio"] == "4:3"
    night = bodies["video-edit"]
    assert len(night["video_urls"]) == 1 and len(night["image_urls"]) == 1
    assert "duration" not in night and "aspect_ratio" not in night  # keeps its input's length


def test_apixo_bad_request_detail_is_shown(run: Run, project: Path, emulator: Emulator) -> None:
    # A 400's detail is in data.error (PROVIDERS.md §4b): it reaches the user.
    write_spec(
        project,
        "a.toml",
        T2V.format(provider="apixo", family="wan-2.5").replace(
            "seed = 42", "seed = 42\nparams = { prompt_extend = true }"
        ),
    )
    result = run(project, "apply", "-y")
    assert result.exit_code == 1
    assert "Bad Request: input.prompt_extend is not a parameter of wan-2-5" in result.output


def test_wanapi_gets_no_seed_and_the_asset_says_so(
    run: Run, project: Path, emulator: Emulator
) -> None:
    # wanapi.io documents no seed (PROVIDERS.md §4): none is sent, the content key is kept.
    write_spec(project, "a.toml", T2V.format(provider="wanapi", family="wan-2.2"))
    planned = run(project, "plan")
    assert "wanapi documents no seed for wan-2-2: none is sent" in planned.output
    apply(run, project, T2V.format(provider="wanapi", family="wan-2.2"))
    (submit,) = submits(emulator, "wanapi")
    assert "seed" not in submit.json


def test_apixo_flash_is_a_mode_of_the_same_model(
    run: Run, project: Path, emulator: Emulator
) -> None:
    # PROVIDERS.md §4b: wan-2-6-video's image-to-video-flash; the catalog keys it apart.
    apply(run, project, I2V.format(provider="apixo", family="wan-2.6-flash"))
    (submit,) = submits(emulator, "apixo")
    assert submit.path == "/api/v1/generateTask/wan-2-6-video"
    assert submit.json["input"]["mode"] == "image-to-video-flash"
    polls = emulator.requests(provider="apixo", method="GET", path_prefix="/api/v1/statusTask")
    assert polls and {r.path for r in polls} == {"/api/v1/statusTask/wan-2-6-video"}
