"""The request fields each provider documents (PROVIDERS.md §1–§4b), per provider and mode, as
an independent reading of the docs: every body wanplan sends must stay within them. A field
that is only in wanplan's adapter and not here is a field no source documents."""

from __future__ import annotations

from typing import Any

_WAVESPEED_COMMON = {"prompt", "negative_prompt", "seed", "enable_prompt_expansion", "duration"}
WAVESPEED: dict[str, set[str]] = {
    # §1: 2.1–2.6 t2v `size`, 2.5/2.6 `audio`; §4b llms.txt: t2i `size`.
    "t2v": _WAVESPEED_COMMON | {"size", "audio"},
    "t2i": {"prompt", "negative_prompt", "size", "enable_prompt_expansion", "seed"},
    # §1: i2v `image` and a `resolution` (2.5+), 2.2 `size` and `last_image`.
    "i2v": _WAVESPEED_COMMON | {"image", "resolution", "size", "last_image", "audio"},
    "flf2v": _WAVESPEED_COMMON | {"image", "last_image", "size"},
    # §4b: r2v `videos`, one optional `image`, `resolution`; no size, no images.
    "r2v": _WAVESPEED_COMMON | {"videos", "image", "resolution"},
    # §1 (2.7 extras unverified): edit `video`, reference `images`, `resolution`.
    "edit": {"prompt", "negative_prompt", "seed", "enable_prompt_expansion", "video", "images"}
    | {"resolution"},
}
# §2: `input` and `parameters` of the task API, by protocol.
DASHSCOPE_INPUT = {
    "prompt",
    "negative_prompt",
    "img_url",
    "first_frame_url",
    "last_frame_url",
    "audio_url",
    "media",
    "reference_video_urls",
}
DASHSCOPE_PARAMETERS = {
    "resolution",
    "size",
    "ratio",
    "duration",
    "prompt_extend",
    "watermark",
    "seed",
    "n",
}
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
        extra = set(body) - {"model", "input", "parameters"}
        extra |= {f"input.{k}" for k in set(body["input"]) - DASHSCOPE_INPUT}
        extra |= {f"parameters.{k}" for k in set(body["parameters"]) - DASHSCOPE_PARAMETERS}
        types = {m.get("type") for m in body["input"].get("media", [])}
        return extra | {f"media type {t}" for t in types - DASHSCOPE_MEDIA}
    if provider == "apixo":
        extra = set(body) - {"request_type", "callback_url", "provider", "input"}
        return extra | {f"input.{k}" for k in set(body["input"]) - APIXO[model_id]}
    if provider == "wanapi":
        return set(body) - WANAPI
    raise ValueError(provider)
