"""DashScope's speech-to-video (`wan2.2-s2v`) as the emulator checks it: posted to
`/services/aigc/image2video/video-synthesis` with `input.image_url` and `input.audio_url`
(both required) and `parameters.resolution` 480P|720P (default 480P), nothing else; the video
lasts as long as the audio [doc: https://www.alibabacloud.com/help/en/model-studio/wan-s2v-api].
The image check `wan2.2-s2v-detect` (`/services/aigc/image2video/face-detect`) is not served."""

from __future__ import annotations

import io
import math
from typing import Any

from wanplan.spec.media_length import audio_seconds_in

MODELS = frozenset({"wan2.2-s2v"})
INPUT = frozenset({"image_url", "audio_url"})
PARAMETERS = frozenset({"resolution"})
RESOLUTIONS = ("480P", "720P")
SDK_EXTRAS = frozenset({"extend_prompt", "function"})
"""What the official SDK's VideoSynthesis adds to `input`, which the service tolerates (and a
`prompt` of null when none is given)."""


def speaks_s2v(model: str) -> bool:
    return model in MODELS


def refusal(model: str, payload: dict[str, Any], parameters: dict[str, Any]) -> str | None:
    """What is wrong with this request, in the words of a 400 InvalidParameter; None if fine."""
    extra = set(payload) - INPUT - SDK_EXTRAS
    if payload.get("prompt") is None:
        extra.discard("prompt")
    wrong = sorted(f"input.{k}" for k in extra)
    wrong += sorted(f"parameters.{k}" for k in set(parameters) - PARAMETERS)
    if wrong:
        return f"{', '.join(wrong)} is not a parameter of {model}"
    for field in sorted(INPUT):
        if not isinstance(payload.get(field), str) or not payload[field]:
            return f"Field required: input.{field}"
    resolution = parameters.get("resolution", "480P")
    if resolution not in RESOLUTIONS:
        return f"parameters.resolution must be one of {', '.join(RESOLUTIONS)}"
    return None


def seconds(audio: bytes | None) -> int | None:
    """The video's whole seconds: the audio's length where its header gives it."""
    if audio is None:
        return None
    length = audio_seconds_in(io.BytesIO(audio), len(audio))
    return None if length is None else max(1, math.ceil(length))
