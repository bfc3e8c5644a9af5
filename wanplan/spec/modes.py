"""What each Wan mode takes: its required and optional inputs, what media each input field
holds, and the providers' switches for prompt expansion."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ModeRule:
    required: tuple[str, ...]
    optional: tuple[str, ...]
    """The inputs the mode can take; the catalog entry says which of them its model takes."""
    prompt_required: bool
    instead: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    """Inputs that can stand for a required one: Wan 2.7's grid, or a clip to continue
    (DashScope's `first_clip`), instead of i2v's image."""


MODE_RULES: dict[str, ModeRule] = {
    "t2v": ModeRule((), ("audio",), prompt_required=True),
    "i2v": ModeRule(
        ("image",),
        ("audio", "last_frame", "grid", "video"),
        prompt_required=False,
        instead={"image": ("grid", "video")},
    ),
    "flf2v": ModeRule(("first_frame", "last_frame"), ("audio",), prompt_required=False),
    "r2v": ModeRule(("references",), ("audio",), prompt_required=True),
    "edit": ModeRule(("video",), ("references",), prompt_required=True),
    "t2i": ModeRule((), ("references",), prompt_required=True),
    # Speech-to-video: a person's image and the audio that drives it; the video lasts as long
    # as the audio (no duration).
    "s2v": ModeRule(("image", "audio"), (), prompt_required=False),
}
FIELD_MEDIA = {
    "image": "image",
    "first_frame": "image",
    "last_frame": "image",
    "grid": "image",
    "video": "video",
    "audio": "audio",
}
"""What each input field takes; references take what the model's `reference_kinds` say."""
GRID_LAYOUT = "grid 3x3 composed into the first frame, v1"
"""How a grid is composed where the provider takes none (providers/grid_image.py): in the
content key of those assets, so changing the layout is a deliberate change of their keys."""
PROMPT_EXPANSION_KEYS = ("prompt_extend", "enable_prompt_expansion")
"""The providers' own names for prompt expansion, should `params` set it directly."""


FIELD_KINDS = {field: frozenset({media}) for field, media in FIELD_MEDIA.items()}


def prompt_expansion(params: dict[str, Any], default: bool) -> bool:
    """Whether the provider will rewrite the prompt: as the spec says (`prompt_expansion`,
    or the provider's own switch in `params`), else the provider's default."""
    value = params.get("prompt_expansion")
    if value is not None:
        return bool(value)
    extra = params.get("params")
    if extra:
        for key in PROMPT_EXPANSION_KEYS:
            if isinstance(extra.get(key), bool):
                return bool(extra[key])
    return default
