"""The spec format (version 1) as pydantic models.

A specs file holds `version`, `[defaults]` and `[assets.NAME]` tables. Defaults are merged into
every asset of the same file before validation, so one model checks both.
"""

from __future__ import annotations

import re
import typing
from typing import Annotated, Any, Literal, Required

from pydantic import AfterValidator, ConfigDict, Field, with_config
from typing_extensions import TypedDict

SPEC_FORMAT_VERSION = 1
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
MAX_NAME_LENGTH = 100

Mode = Literal["t2v", "i2v", "flf2v", "r2v", "edit", "t2i", "s2v"]

TOP_LEVEL_KEYS = ("version", "defaults", "assets")


@with_config(ConfigDict(extra="forbid", strict=True))
class DefaultsSpec(TypedDict, total=False):
    """[defaults]: any asset field, none required. (TypedDicts validate several times faster
    than models, and a specs file can hold thousands of assets.)"""

    mode: Mode
    prompt: str
    negative_prompt: str
    provider: str
    model: str
    model_id: str
    resolution: str
    duration: Annotated[int, Field(gt=0, le=600)]
    aspect_ratio: str
    seed: Annotated[int, Field(ge=0, le=2_147_483_647)]
    prompt_expansion: bool
    watermark: bool
    image: str
    first_frame: str
    last_frame: str
    audio: str
    video: str
    references: list[str]
    grid: list[str]
    params: dict[str, Any]
    output: str
    tags: list[str]
    description: str


@with_config(ConfigDict(extra="forbid", strict=True))
class AssetSpec(DefaultsSpec):
    """One asset after its file's [defaults] are merged in."""

    mode: Required[Mode]  # type: ignore[misc]


ASSET_FIELDS: tuple[str, ...] = tuple(DefaultsSpec.__annotations__)

PREFERENCE_FIELDS = ("model", "resolution", "duration", "aspect_ratio")
"""Fields a profile may give as a list of acceptable values, in order of preference: each
asset takes the first its model allows (PRODUCT §3)."""


def _preferences(kind: type, noun: str, low: int = 0, high: int = 0) -> Any:
    """A value of `kind`, or a non-empty list of them (in order of preference)."""

    def check(value: Any) -> Any:
        values = value if isinstance(value, list) else [value]
        if not values:
            raise ValueError("an empty list; give one value or several in order of preference")
        for item in values:
            if not isinstance(item, kind) or isinstance(item, bool):
                raise ValueError(f"expected {noun} or a list of them")
            if high and not low < typing.cast(int, item) <= high:
                raise ValueError(f"{item} is out of range ({low + 1}–{high})")
        return value

    return Annotated[Any, AfterValidator(check)]


@with_config(ConfigDict(extra="forbid", strict=True))
class ProfileSpec(DefaultsSpec, total=False):
    """[profiles.NAME]: asset fields that override every asset's own; the preference fields
    may be lists."""

    model: _preferences(str, "a model family")  # type: ignore[valid-type]
    resolution: _preferences(str, "a resolution")  # type: ignore[valid-type]
    duration: _preferences(int, "seconds", 0, 600)  # type: ignore[valid-type]
    aspect_ratio: _preferences(str, "a ratio like 16:9")  # type: ignore[valid-type]
