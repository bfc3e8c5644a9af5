"""The request fields each provider documents (PROVIDERS.md §1–§4b), per provider and mode, as
an independent reading of the docs: every body wanplan sends must stay within them. A field
that is only in wanplan's adapter and not here is a field no source documents."""

from __future__ import annotations

from typing import Any

_WAVESPEED_COMMON = {"prompt", "negative_prompt", "seed", "enable_prompt_expansion", "duration"}
WAVESPEED: dict[str, set[str]] = {
    # §1: 2.1–2.6 t2v `size`, 2.5/2.6 `audio`; §4b llms.txt: t2i `size`; the image edit's
    # llms.txt: `images`.
    "t2v": _WAVESPEED_COMMON | {"size", "audio"},
    "t2i": {"prompt", "negative_prompt", "size", "enable_prompt_expansion", "seed", "images"},
    # §1: i2v `image` and a `resolution` (2.5+), 2.2 `size` and `last_image`.
    "i2v": _WAVESPEED_COMMON | {"image", "resolution", "size", "last_image", "audio"},
    "flf2v": _WAVESPEED_COMMON | {"image", "last_image", "size"},
    # §4b: r2v `videos`, one optional `image`, `resolution`; no size, no images.
    "r2v": _WAVESPEED_COMMON | {"videos", "image", "resolution"},
    # §1 (2.7 extras unverified): edit `video`, reference `images`, `resolution`.
    "edit": {"prompt", "negative_prompt", "seed", "enable_prompt_expansion", "video", "images"}
    | {"resolution"},
}
# §2, §4b: `input` and `parameters` of the task API, by protocol.
_RUN = {"duration", "prompt_extend", "watermark", "seed"}
DASHSCOPE: dict[str, tuple[set[str], set[str]]] = {
    "2.7 media": (
        {"prompt", "negative_prompt", "media", "audio_url"},
        _RUN | {"resolution", "ratio"},
    ),
    "t2v size": ({"prompt", "negative_prompt"}, _RUN | {"size"}),
    "i2v img_url": ({"prompt", "negative_prompt", "img_url"}, _RUN | {"resolution"}),
    "kf2v": (
        {"prompt", "negative_prompt", "first_frame_url", "last_frame_url"},
        _RUN | {"resolution"},
    ),
    "2.6 r2v": ({"prompt", "negative_prompt", "reference_video_urls"}, _RUN | {"size"}),
    "t2i": ({"prompt", "negative_prompt"}, {"size", "n", "seed", "prompt_extend", "watermark"}),
    # wan2.2-s2v [doc: alibabacloud.com/help/en/model-studio/wan-s2v-api]: an image and an
    # audio, a resolution; no prompt, seed, duration, prompt_extend or watermark.
    "s2v": ({"image_url", "audio_url"}, {"resolution"}),
    # §4b [sdk: aigc/image_generation.py]: wan2.6-t2i / wan2.6-image, one user message.
    "messages": (
        {"messages"},
        {"negative_prompt", "size", "n", "seed", "prompt_extend", "watermark"},
    ),
}
MESSAGE_PARTS = {"text", "image"}


def dashscope_protocol(model_id: str, mode: str) -> str:
    if model_id.startswith("wan2.7-"):
        return "2.7 media"
    if model_id in ("wan2.6-t2i", "wan2.6-image"):
        return "messages"
    if "kf2v" in model_id:
        return "kf2v"
    if mode == "s2v":
        return "s2v"
    if mode == "t2i":
        return "t2i"
    if mode == "r2v":
        return "2.6 r2v"
    return "t2v size" if mode == "t2v" else "i2v img_url"


DASHSCOPE_MEDIA = {
    "first_frame",
    "last_frame",
    "driving_audio",
    "first_clip",
    "reference_image",
    "reference_video",
    "video",
}
# §3, §4b: APIXO's `input`, per model.
_APIXO_COMMON = {"mode", "prompt", "resolution", "duration", "negative_prompt", "seed"}
APIXO: dict[str, set[str]] = {
    "wan-2-5": _APIXO_COMMON | {"image_urls", "aspect_ratio", "enable_prompt_expansion"},
    "wan-2-6-video": _APIXO_COMMON | {"image_urls", "audio_urls", "aspect_ratio", "prompt_extend"},
    "wan-2-7-video": _APIXO_COMMON
    | {"image_urls", "video_urls", "audio_urls", "aspect_ratio", "prompt_extend"},
}
# §4: wanapi.io's body.
WANAPI = {"model", "prompt", "image", "duration", "aspect_ratio", "webhook_url"}


def undocumented(provider: str, model_id: str, mode: str, body: Any) -> set[str]:
    """The fields of a submitted body that the provider's docs do not list."""
    if provider == "wavespeed":
        return set(body) - WAVESPEED[mode]
    if provider == "dashscope":
        inputs, parameters = DASHSCOPE[dashscope_protocol(model_id, mode)]
        extra = set(body) - {"model", "input", "parameters"}
        extra |= {f"input.{k}" for k in set(body["input"]) - inputs}
        extra |= {f"parameters.{k}" for k in set(body["parameters"]) - parameters}
        types = {m.get("type") for m in body["input"].get("media", [])}
        for message in body["input"].get("messages", []):
            extra |= {f"message.{k}" for k in set(message) - {"role", "content"}}
            extra |= {f"part {k}" for part in message["content"] for k in part} - {
                f"part {k}" for k in MESSAGE_PARTS
            }
        return extra | {f"media type {t}" for t in types - DASHSCOPE_MEDIA}
    if provider == "apixo":
        extra = set(body) - {"request_type", "callback_url", "provider", "input"}
        documented = APIXO[model_id.partition("/")[0]]  # less the catalog's variant
        return extra | {f"input.{k}" for k in set(body["input"]) - documented}
    if provider == "wanapi":
        return set(body) - WANAPI
    raise ValueError(provider)
