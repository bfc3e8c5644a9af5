"""The spec format (version 1) as pydantic models.

A specs file holds `version`, `[defaults]` and `[assets.NAME]` tables. Defaults are merged into
every asset of the same file before validation, so one model checks both.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SPEC_FORMAT_VERSION = 1
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
MAX_NAME_LENGTH = 100

Mode = Literal["t2v", "i2v", "flf2v", "r2v", "edit", "t2i"]

TOP_LEVEL_KEYS = ("version", "defaults", "assets")
# Inputs are files or URLs; their bytes, not their names, go into the content key.
INPUT_FIELDS = ("image", "first_frame", "last_frame", "audio", "video")
# Fields that describe an asset without shaping its output: never part of the content key.
DESCRIPTIVE_FIELDS = ("output", "tags", "description")


class AssetSpec(BaseModel):
    """One asset after its file's [defaults] are merged in."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    mode: Mode
    prompt: str | None = None
    negative_prompt: str | None = None
    provider: str | None = None
    model: str | None = None
    model_id: str | None = None
    resolution: str | None = None
    duration: int | None = Field(default=None, gt=0, le=600)
    aspect_ratio: str | None = None
    seed: int | None = Field(default=None, ge=0, le=2_147_483_647)
    prompt_expansion: bool | None = None
    image: str | None = None
    first_frame: str | None = None
    last_frame: str | None = None
    audio: str | None = None
    video: str | None = None
    references: list[str] | None = None
    params: dict[str, Any] | None = None
    output: str | None = None
    tags: list[str] = []
    description: str | None = None


class DefaultsSpec(AssetSpec):
    """[defaults]: any asset field, none required."""

    mode: Mode | None = None  # type: ignore[assignment]


ASSET_FIELDS: tuple[str, ...] = tuple(AssetSpec.model_fields)
