"""DashScope's multimodal "messages" protocol (wan2.6-t2i, wan2.6-image) as the emulator checks
and answers it: `/services/aigc/image-generation/generation`, one user message of one text part
and the model's image parts, and the documented parameters only; a finished task answers
`output.choices[].message.content[].image` [sdk: dashscope 2.0 aigc/image_generation.py,
v2/resources/images.py; doc: wan-image-generation-api-reference]."""

from __future__ import annotations

from typing import Any

PATH = "services/aigc/image-generation/generation"
PARAMETERS = frozenset(
    {
        "negative_prompt",
        "size",
        "n",
        "seed",
        "prompt_extend",
        "watermark",
        "enable_interleave",
        "max_images",
    }
)
SDK_EXTRAS = frozenset({"is_async"})
"""What the official SDK adds to `parameters` (its async_call), which the service tolerates."""
INPUT = frozenset({"messages"})
IMAGES = {"wan2.6-t2i": (0, 0), "wan2.6-image": (1, 4)}
"""Image parts each model takes (wan2.6-image edits 1–4 without `enable_interleave`)."""
INTERLEAVED_IMAGES = (0, 1)


def speaks_messages(model: str) -> bool:
    return model in IMAGES


def content(payload: dict[str, Any]) -> list[Any]:
    messages = payload.get("messages")
    first = messages[0] if isinstance(messages, list) and messages else None
    parts = first.get("content") if isinstance(first, dict) else None
    return parts if isinstance(parts, list) else []


def image_urls(payload: dict[str, Any]) -> list[str]:
    return [
        part["image"]
        for part in content(payload)
        if isinstance(part, dict) and isinstance(part.get("image"), str)
    ]


def prompt(payload: dict[str, Any]) -> str | None:
    texts = [p["text"] for p in content(payload) if isinstance(p, dict) and "text" in p]
    return texts[0] if texts and isinstance(texts[0], str) else None


def refusal(model: str, payload: dict[str, Any], parameters: dict[str, Any]) -> str | None:
    """What is wrong with this request, in the words of a 400 InvalidParameter; None if fine."""
    extra = sorted({f"input.{k}" for k in set(payload) - INPUT})
    extra += sorted(f"parameters.{k}" for k in set(parameters) - PARAMETERS - SDK_EXTRAS)
    if extra:
        return f"{', '.join(extra)} is not a parameter of {model}"
    messages = payload.get("messages")
    if not isinstance(messages, list) or len(messages) != 1:
        return "input.messages must hold exactly one message"
    message = messages[0]
    if not isinstance(message, dict) or message.get("role") != "user":
        return "input.messages[0].role must be user"
    parts = content(payload)
    if not all(isinstance(p, dict) and len(p) == 1 and set(p) <= {"text", "image"} for p in parts):
        return "input.messages[0].content parts are {text} or {image}"
    if sum(1 for p in parts if "text" in p) != 1:
        return "input.messages[0].content must hold exactly one text"
    least, most = INTERLEAVED_IMAGES if parameters.get("enable_interleave") else IMAGES[model]
    if not least <= len(image_urls(payload)) <= most:
        return f"{model} takes {least} to {most} images here"
    n = parameters.get("n", 4)
    if not isinstance(n, int) or not 1 <= n <= 4:
        return "parameters.n must be 1 to 4"
    return None


def output(url: str) -> dict[str, Any]:
    """The `choices` of a finished task with one image."""
    message = {"role": "assistant", "content": [{"image": url}]}
    return {"choices": [{"finish_reason": "stop", "message": message}]}
