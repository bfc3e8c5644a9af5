"""The acceptance test of the emulator: the official `wavespeed` and `dashscope` SDKs, unchanged,
complete a text-to-video and an image-to-video generation against it on loopback, and the file
they point at downloads to exactly the bytes the emulator served."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import dashscope  # test-only dependencies (pyproject: dev); a missing one must fail, not skip
import httpx
import pytest
import wavespeed
from dashscope.aigc.image_generation import ImageGeneration

from tests.emulator.conftest import KEY, sha256
from wanplan.emulator import Emulator
from wanplan.providers.sim import media


@pytest.fixture
def portrait(tmp_path: Path) -> Path:
    path = tmp_path / "portrait.png"
    path.write_bytes(media.still(b"portrait", "9:16"))
    return path


def download_matches(emulator: Emulator, url: str, task_id: str) -> None:
    answer = httpx.get(url)
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/gif"
    assert sha256(answer.content) == emulator.results[task_id].sha256
    assert emulator.downloads[-1].complete


def task_id_of(url: str) -> str:
    return url.rpartition("/")[2].partition(".")[0]


def test_wavespeed_sdk_text_to_video(live: tuple[Emulator, str]) -> None:
    emulator, base_url = live
    client = wavespeed.Client(api_key=KEY, base_url=base_url)
    output = client.run(
        "alibaba/wan-2.5/text-to-video",
        {"prompt": "A slow dolly through fog", "size": "1280*720", "duration": 5, "seed": 42},
        poll_interval=0.02,
    )
    (url,) = output["outputs"]
    download_matches(emulator, url, task_id_of(url))
    submit = emulator.requests(provider="wavespeed", method="POST")[0]
    assert submit.path == "/api/v3/alibaba/wan-2.5/text-to-video"
    assert submit.json["prompt"] == "A slow dolly through fog"


def test_wavespeed_sdk_image_to_video_with_upload(
    live: tuple[Emulator, str], portrait: Path
) -> None:
    emulator, base_url = live
    client = wavespeed.Client(api_key=KEY, base_url=base_url)
    image_url = client.upload(str(portrait))
    assert httpx.get(image_url).content == portrait.read_bytes()
    output = client.run(
        "alibaba/wan-2.5/image-to-video",
        {"image": image_url, "prompt": "She turns", "resolution": "720p", "duration": 5},
        poll_interval=0.02,
    )
    (url,) = output["outputs"]
    task_id = task_id_of(url)
    download_matches(emulator, url, task_id)
    assert emulator.task(task_id).media.aspect_ratio == "9:16"  # shaped like its input
    paths = [(e.method, e.path) for e in emulator.log]
    assert ("POST", "/api/v3/media/uploads") in paths
    assert ("PUT", urlsplit(image_url).path) in paths


def test_dashscope_sdk_text_to_video(
    live: tuple[Emulator, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator, base_url = live
    monkeypatch.setattr(dashscope, "base_http_api_url", f"{base_url}/api/v1")
    response = dashscope.VideoSynthesis.call(
        model="wan2.5-t2v-preview",
        prompt="A lighthouse at dusk",
        size="832*480",
        duration=5,
        api_key=KEY,
    )
    assert response.status_code == 200, response
    assert response.output.task_status == "SUCCEEDED"
    assert response.usage.video_duration == 5
    download_matches(emulator, response.output.video_url, response.output.task_id)
    create = emulator.requests(provider="dashscope", method="POST")[0]
    assert create.headers["x-dashscope-async"] == "enable"
    assert create.json["input"]["function"] == "video-synthesis"  # the SDK's extra keys


def test_dashscope_sdk_image_to_video_uploads_a_local_file(
    live: tuple[Emulator, str], portrait: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator, base_url = live
    monkeypatch.setattr(dashscope, "base_http_api_url", f"{base_url}/api/v1")
    response = dashscope.VideoSynthesis.call(
        model="wan2.5-i2v-preview",
        prompt="The portrait smiles",
        img_url=portrait.as_uri(),
        resolution="720P",
        api_key=KEY,
    )
    assert response.status_code == 200, response
    assert response.output.task_status == "SUCCEEDED"
    download_matches(emulator, response.output.video_url, response.output.task_id)
    assert emulator.task(response.output.task_id).media.aspect_ratio == "9:16"
    policy, upload, create = (
        emulator.requests(path="/api/v1/uploads")[0],
        emulator.requests(path="/oss/dashscope-instant")[0],
        emulator.requests(provider="dashscope", method="POST")[0],
    )
    assert policy.query == {"action": "getPolicy", "model": "wan2.5-i2v-preview"}
    assert upload.status == 200
    assert create.json["input"]["img_url"].startswith("oss://dashscope-instant/")
    assert create.headers["x-dashscope-ossresourceresolve"] == "enable"


def test_dashscope_sdk_speech_to_video(
    live: tuple[Emulator, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The SDK has no image_url argument: wan2.2-s2v's image goes in `extra_input`, and `task`
    # picks the image2video path, as its VideoSynthesis lets a caller do.
    emulator, base_url = live
    monkeypatch.setattr(dashscope, "base_http_api_url", f"{base_url}/api/v1")
    response = dashscope.VideoSynthesis.call(
        model="wan2.2-s2v",
        task="image2video",
        audio_url="https://example.com/voice.mp3",
        extra_input={"image_url": "https://example.com/portrait.png"},
        resolution="480P",
        api_key=KEY,
    )
    assert response.status_code == 200, response
    assert response.output.task_status == "SUCCEEDED"
    download_matches(emulator, response.output.video_url, response.output.task_id)
    create = emulator.requests(provider="dashscope", method="POST")[0]
    assert create.path == "/api/v1/services/aigc/image2video/video-synthesis"
    assert create.json["input"]["audio_url"] == "https://example.com/voice.mp3"
    assert create.json["parameters"] == {"resolution": "480P"}


def test_wavespeed_sdk_retries_throttled_polls_and_reports_failures(
    live: tuple[Emulator, str],
) -> None:
    emulator, base_url = live
    client = wavespeed.Client(api_key=KEY, base_url=base_url, retry_interval=0.01)
    emulator.set_knobs(rate_limit_burst=2, fault_methods=["GET"], api_keys=[KEY])
    output = client.run("alibaba/wan-2.5/text-to-video", {"prompt": "x"}, poll_interval=0.02)
    assert len(output["outputs"]) == 1
    assert [e.status for e in emulator.requests(method="GET")][:2] == [429, 429]
    with pytest.raises(RuntimeError, match="Prediction failed"):
        client.run("alibaba/wan-2.5/text-to-video", {"prompt": "x [fail]"}, poll_interval=0.02)
    with pytest.raises(RuntimeError, match="HTTP 401"):
        wavespeed.Client(api_key="wrong", base_url=base_url).run(
            "alibaba/wan-2.5/text-to-video", {"prompt": "x"}
        )


def test_dashscope_sdk_sees_failures_and_bad_keys(
    live: tuple[Emulator, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator, base_url = live
    emulator.set_knobs(latency=0, api_keys=[KEY])
    monkeypatch.setattr(dashscope, "base_http_api_url", f"{base_url}/api/v1")
    failed = dashscope.VideoSynthesis.call(model="wan2.7-t2v", prompt="x [fail]", api_key=KEY)
    assert failed.output.task_status == "FAILED" and failed.output.code == "DataInspectionFailed"
    refused = dashscope.VideoSynthesis.async_call(model="wan2.7-t2v", prompt="x", api_key="bad")
    assert (refused.status_code, refused.code) == (401, "InvalidApiKey")


def test_dashscope_sdk_image_generation_on_the_messages_protocol(
    live: tuple[Emulator, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator, base_url = live
    monkeypatch.setattr(dashscope, "base_http_api_url", f"{base_url}/api/v1")
    message = {"role": "user", "content": [{"text": "A flower shop at dawn"}]}
    task = ImageGeneration.async_call(
        model="wan2.6-t2i", messages=[message], api_key=KEY, n=1, size="1280*1280"
    )
    assert task.status_code == 200, task.message
    done = ImageGeneration.wait(task, api_key=KEY)
    assert done.output.task_status == "SUCCEEDED"
    (choice,) = done.output.choices
    url = choice.message.content[0]["image"]
    answer = httpx.get(url)
    assert sha256(answer.content) == emulator.results[task.output.task_id].sha256
    create = emulator.requests(provider="dashscope", method="POST")[0]
    assert create.path == "/api/v1/services/aigc/image-generation/generation"
    assert create.json["input"] == {"messages": [message]}
