"""Speech-to-video (mode `s2v`): DashScope's wan2.2-s2v gets exactly its documented body, a
spec without its audio or with a prompt is refused before anything is sent, the audio's bytes
are in the content key, the estimate follows the audio's length (unknown where it cannot be
read, never $0), and the sim makes it offline."""

from __future__ import annotations

import io
import json
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.capability_specs import AUDIO, IMAGE, write_media
from tests.conftest import Run, emulator_for_wanplan, write_spec
from wanplan.emulator import Emulator, Knobs
from wanplan.workspace import PlanRequest, Workspace

SPEECH = """[assets.talk]
provider = "{provider}"
mode = "s2v"
model = "wan-2.2"
resolution = "720p"
image = "{image}"
audio = "{audio}"
"""


def speech(provider: str = "dashscope", image: str = IMAGE, audio: str = AUDIO) -> str:
    return SPEECH.format(provider=provider, image=image, audio=audio)


def wav(seconds: float) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(16000)
        sound.writeframes(bytes(2 * round(16000 * seconds)))
    return out.getvalue()


@pytest.fixture
def project(empty_project: Path) -> Path:
    write_media(empty_project)
    (empty_project / "wanplan.toml").write_text("[providers.dashscope]\npoll_interval = 0.02\n")
    return empty_project


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch, project: Path) -> Iterator[Emulator]:
    with emulator_for_wanplan(monkeypatch, Knobs(latency=0.05), "sk-s2v") as emulator:
        yield emulator


def submits(emulator: Emulator) -> list[dict[str, object]]:
    return [
        r.json
        for r in emulator.requests(provider="dashscope", method="POST")
        if "video-synthesis" in r.path
    ]


def test_dashscope_gets_exactly_the_documented_body(
    run: Run, project: Path, emulator: Emulator
) -> None:
    write_spec(
        project,
        "a.toml",
        speech(image="https://example.com/face.png", audio="https://example.com/line.mp3"),
    )
    result = run(project, "apply", "-y")
    assert result.exit_code == 0, result.output
    (create,) = emulator.requests(provider="dashscope", method="POST")
    assert create.path == "/api/v1/services/aigc/image2video/video-synthesis"
    assert create.headers["x-dashscope-async"] == "enable"
    # [doc: alibabacloud.com/help/en/model-studio/wan-s2v-api]: no prompt, seed or duration.
    assert create.json == {
        "model": "wan2.2-s2v",
        "input": {
            "image_url": "https://example.com/face.png",
            "audio_url": "https://example.com/line.mp3",
        },
        "parameters": {"resolution": "720P"},
    }


def test_local_files_are_uploaded_and_the_video_is_as_long_as_the_audio(
    run: Run, project: Path, emulator: Emulator
) -> None:
    (project / AUDIO).write_bytes(wav(2.4))
    write_spec(project, "a.toml", speech())
    result = run(project, "apply", "-y")
    assert result.exit_code == 0, result.output
    (body,) = submits(emulator)
    payload = body["input"]
    assert isinstance(payload, dict)
    assert payload["image_url"].startswith("oss://") and payload["audio_url"].startswith("oss://")
    (task,) = emulator.tasks()
    assert task.media.seconds == 3  # 2.4 s of audio, in started seconds
    # The spend is what DashScope reports (usage.video_duration) at $0.129018 per second.
    assert "Spent: $0.39" in result.output, result.output


def test_a_missing_audio_is_one_clear_line(run: Run, project: Path) -> None:
    write_spec(project, "a.toml", speech().replace(f'audio = "{AUDIO}"\n', ""))
    result = run(project, "validate")
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.output
    assert "specs/a.toml:1: assets.talk.audio: required for mode s2v" in errors[0]


def test_a_prompt_is_refused_where_none_is_documented(run: Run, project: Path) -> None:
    write_spec(project, "a.toml", speech() + 'prompt = "Say it warmly."\n')
    result = run(project, "validate")
    assert result.exit_code == 1
    assert "assets.talk.prompt: wan2.2-s2v takes no prompt on dashscope; remove it" in (
        result.output
    )
    # A prompt the file's [defaults] give is left out (as for watermark): not an error.
    write_spec(project, "a.toml", '[defaults]\nprompt = "for the others"\n' + speech())
    assert run(project, "validate").exit_code == 0


def key_of(root: Path, text: str) -> str:
    write_spec(root, "a.toml", text)
    plan = Workspace.open(root).plan(PlanRequest()).plan
    return next(c.content_key for c in plan.changes if c.address == "talk")


def test_the_audio_bytes_are_in_the_content_key(project: Path) -> None:
    base = key_of(project, speech())
    (project / "inputs" / "renamed.wav").write_bytes((project / AUDIO).read_bytes())
    assert key_of(project, speech(audio="inputs/renamed.wav")) == base
    (project / "inputs" / "renamed.wav").write_bytes(wav(1.0))
    assert key_of(project, speech(audio="inputs/renamed.wav")) != base
    assert key_of(project, speech().replace("720p", "480p")) != base


def estimated(run: Run, root: Path, text: str) -> object:
    write_spec(root, "a.toml", text)
    result = run(root, "plan", "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["changes"][0]["estimated_cost"]


def test_the_estimate_follows_the_audio_and_is_unknown_where_it_cannot_be_read(
    run: Run, project: Path
) -> None:
    # $0.129018 per second of 720P video [doc], as long as the audio: 10 s of WAV.
    (project / AUDIO).write_bytes(wav(10))
    assert estimated(run, project, speech()) == "1.29018"
    # 2.4 s of audio: counted as the 3 started seconds a bill may count, never short of it.
    (project / AUDIO).write_bytes(wav(2.4))
    assert estimated(run, project, speech()) == "0.387054"
    # An MP3's length is not read from its header, nor a URL's: unknown, never $0.
    (project / "inputs" / "line.mp3").write_bytes(b"ID3\x03\x00\x00\x00\x00\x00\x00" + bytes(64))
    assert estimated(run, project, speech(audio="inputs/line.mp3")) is None
    assert estimated(run, project, speech(audio="https://example.com/line.mp3")) is None


def test_the_sim_makes_it_offline(run: Run, project: Path) -> None:
    write_spec(project, "a.toml", speech(provider="sim"))
    result = run(project, "apply", "-y")
    assert result.exit_code == 0, result.output
    assert (project / "outputs" / "talk.gif").is_file()
    plan = json.loads(run(project, "plan", "--format", "json").output)
    assert plan["changes"] == []
