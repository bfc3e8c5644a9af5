"""DashScope's multimodal "messages" protocol, the only one wan2.6-t2i and wan2.6-image answer on
[sdk: dashscope 2.0 v2/resources/images.py, aigc/image_generation.py].

The async task is created at `/services/aigc/image-generation/generation` (the same
`X-DashScope-Async` header and `/tasks/{id}` polling as every DashScope task); the prompt is the
text part of one user message and each reference image an `image` part after it; the negative
prompt is a parameter here, not an input. A finished task lists its images as
`output.choices[].message.content[].image` [sdk: v2/resources/_jobs.py `_image_choices`].
"""

from __future__ import annotations

from typing import Any

from wanplan.providers import answers, wire
from wanplan.providers.base import GenerationRequest

PATH = "/services/aigc/image-generation/generation"
MODELS = ("wan2.6-t2i", "wan2.6-image")
"""The SDK routes by these prefixes [sdk: images.py MULTIMODAL_MODEL_PREFIXES]."""


def speaks_messages(model_id: str) -> bool:
    return model_id.startswith(MODELS)


def body(request: GenerationRequest, image_urls: list[str]) -> dict[str, Any]:
    """The create body; `image_urls` are the references, already uploaded or given as URLs."""
    params = request.params
    content: list[dict[str, str]] = [{"text": params.get("prompt", "")}]
    content += [{"image": url} for url in image_urls]
    # n defaults to 4 images, each billed [3p: ope.ai "official default 4"]: one is asked for.
    parameters: dict[str, Any] = {"n": 1}
    if params.get("negative_prompt"):
        parameters["negative_prompt"] = params["negative_prompt"]
    if not image_urls:  # an edit's output follows its first reference's frame [3p: modelstream]
        parameters["size"] = wire.size(str(params["resolution"]), params.get("aspect_ratio"))
    for field, sent_as in (
        ("prompt_expansion", "prompt_extend"),
        ("seed", "seed"),
        ("watermark", "watermark"),
    ):  # each a parameter of both models [sdk: images.py _named_image_parameters]
        if params.get(field) is not None:
            parameters[sent_as] = params[field]
    parameters.update(params.get("params") or {})
    return {
        "model": request.model_id,
        "input": {"messages": [{"role": "user", "content": content}]},
        "parameters": parameters,
    }


def image_url(output: answers.Answer) -> str:
    """The first image part of the first choice."""
    choices = output.get("choices")
    first = choices[0] if isinstance(choices, list) and choices else None
    message = first.get("message") if isinstance(first, dict) else None
    parts = message.get("content") if isinstance(message, dict) else None
    for part in parts if isinstance(parts, list) else []:
        if isinstance(part, dict) and isinstance(part.get("image"), str) and part["image"]:
            return str(part["image"])
    raise output.error("answered no output.choices[0].message.content[].image")
