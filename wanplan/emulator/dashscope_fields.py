"""The fields DashScope documents for its video and image synthesis tasks, per protocol
(PROVIDERS.md §2, §4b): a request with any other is refused with DashScope's own 400, so an
adapter that sends an undocumented field fails its tests here rather than in production. (The
messages and speech-to-video protocols check their own: dashscope_messages, dashscope_s2v.)"""

from __future__ import annotations

from typing import Any

RUN = frozenset({"duration", "prompt_extend", "watermark", "seed"})
TEXT = frozenset({"prompt", "negative_prompt"})
PROTOCOLS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    # Wan 2.7: media[] (first frame, clips, references, audio), resolution and ratio.
    "media": (TEXT | {"media", "audio_url"}, RUN | {"resolution", "ratio"}),
    # 2.1–2.6 text-to-video: a size "W*H"; 2.5+ a driving audio_url.
    "t2v": (TEXT | {"audio_url"}, RUN | {"size", "audio"}),
    # 2.1–2.6 image-to-video: img_url and a resolution; 2.5+ a driving audio_url.
    "i2v": (TEXT | {"img_url", "audio_url"}, RUN | {"resolution", "audio"}),
    "kf2v": (TEXT | {"first_frame_url", "last_frame_url"}, RUN | {"resolution"}),
    "r2v": (TEXT | {"reference_video_urls"}, RUN | {"size", "shot_type", "audio"}),
    "t2i": (TEXT, frozenset({"size", "n", "seed", "prompt_extend", "watermark"})),
}
SDK_EXTRAS = frozenset({"is_async"})
"""What the official SDK adds to `parameters`, which the service tolerates."""
SDK_INPUT_EXTRAS = frozenset({"extend_prompt", "function"})
"""What the official SDK's VideoSynthesis adds to `input` (its own defaults), tolerated too."""


def protocol(model: str) -> str | None:
    if model.startswith("wan2.7-"):
        return "media"
    if "kf2v" in model:
        return "kf2v"
    for kind in ("t2i", "r2v", "i2v", "t2v"):
        if f"-{kind}" in model:
            return kind
    return None


def refusal(model: str, payload: dict[str, Any], parameters: dict[str, Any]) -> str | None:
    """An undocumented field, in the words of a 400 InvalidParameter; None if there is none."""
    fields = PROTOCOLS.get(protocol(model) or "")
    if fields is None:
        return None
    inputs, known = fields
    extra = sorted(f"input.{k}" for k in set(payload) - inputs - SDK_INPUT_EXTRAS)
    extra += sorted(f"parameters.{k}" for k in set(parameters) - known - SDK_EXTRAS)
    return f"{', '.join(extra)} is not a parameter of {model}" if extra else None
