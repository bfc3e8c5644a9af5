"""Catalog entries and lookups. The data lives in catalog.toml beside this module."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from decimal import ROUND_CEILING, Decimal
from functools import cache
from importlib import resources
from typing import Literal

import tomli
from pydantic import BaseModel, ConfigDict, Field

Mode = Literal["t2v", "i2v", "flf2v", "r2v", "edit", "t2i", "s2v"]
Media = Literal["image", "video", "audio"]
OptionalInput = Literal["audio", "last_frame", "references", "grid", "video"]
VIDEO_MODES: frozenset[str] = frozenset({"t2v", "i2v", "flf2v", "r2v", "edit", "s2v"})
LENGTH_KEEPING_MODES: frozenset[str] = frozenset({"edit", "s2v"})
"""Modes whose output lasts as long as an input: an edit its source video, speech-to-video
its audio. Their estimates read that input's length."""


class ModelEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str
    family: str
    mode: Mode
    model_id: str
    resolutions: tuple[str, ...]
    durations: tuple[int, ...] = ()
    aspect_ratios: tuple[str, ...] = ()
    default_resolution: str
    default_duration: int | None = None
    default_aspect_ratio: str | None = None
    max_prompt_chars: int | None = None
    max_input_bytes: int | None = None
    """The largest input file the provider accepts (images; also audio and video unless the
    two below say otherwise)."""
    max_audio_bytes: int | None = None
    max_video_bytes: int | None = None
    inputs: tuple[OptionalInput, ...] = ()
    """The optional inputs this model takes besides its mode's required ones."""
    max_references: int | None = None
    """How many `references` it takes (r2v requires at least one)."""
    min_references: int = 0
    """How many `references` it needs besides what its mode requires (DashScope's wan2.6-image
    edits one to four images and makes nothing from text alone)."""
    reference_kinds: tuple[Media, ...] = ("image",)
    max_reference_images: int | None = None
    """How many of the references may be images (WaveSpeed's r2v takes one `image`)."""
    min_reference_videos: int = 0
    """How many of the references must be videos (WaveSpeed's r2v requires `videos`)."""
    max_duration_with_video_reference: int | None = None
    """The longest duration when a reference is a video (DashScope's wan2.7-r2v: 10 s)."""
    max_grid_images: int | None = None
    """Wan 2.7's grid input: up to this many images laid out as a 3×3 storyboard."""
    grid_composed: bool = False
    """The provider documents no grid input: wanplan composes the grid into one image and sends
    it as the first frame (PRODUCT §3)."""
    prompt_expansion_default: bool = False
    """Whether the provider rewrites the prompt unless told not to (irreproducible)."""
    takes_seed: bool = True
    """Whether the provider documents a seed for this model (wanapi.io does not)."""
    takes_prompt: bool = True
    """Whether the provider documents a prompt for this model (DashScope's wan2.2-s2v does not:
    a spec's `prompt` and `negative_prompt` are refused)."""
    watermark_default: bool | None = None
    """Whether the provider marks the output unless told otherwise; None: the model has no
    documented watermark option (a spec's `watermark` is refused)."""
    source: str = ""


class PriceEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str
    model_id: str
    mode: Mode
    resolution: str
    unit: Literal["second", "item"]
    price: Decimal = Field(ge=0)
    minimum_seconds: int = 0
    currency: Literal["USD"]
    source: str
    as_of: datetime.date
    bills_input_video: bool = False
    """The seconds of the input video (an edit's source, r2v's reference videos) are billed
    at the same rate as the output's."""
    max_billed_input_seconds: int | None = Field(None, ge=1)
    """The most seconds billed per input video; also what an input of unknown length (a URL,
    another asset's output) is counted as."""

    @property
    def reads_inputs(self) -> bool:
        """Whether an estimate needs the inputs' lengths: billed, or the output's length when it
        has no duration of its own (an edit keeps its source's length, speech-to-video its
        audio's)."""
        return self.unit == "second" and (
            self.bills_input_video or self.mode in LENGTH_KEEPING_MODES
        )

    def estimate(
        self, duration: int | None, input_seconds: Sequence[Decimal | None] = ()
    ) -> Decimal | None:
        """The price of one generation; None when it depends on a length not known (never $0).
        `input_seconds`: the length of each input video (speech-to-video: of its audio), None
        where unknown."""
        if self.unit == "item":
            return self.price
        billed = [self._billed_input(seconds) for seconds in input_seconds]
        output: Decimal | None = Decimal(duration) if duration is not None else None
        if output is None and self.mode == "edit" and input_seconds:
            # An edit keeps its source's length (which the provider caps like its input).
            output = self._billed_input(input_seconds[0])
        if output is None and self.mode == "s2v" and input_seconds:
            # The video lasts as long as the audio. The spend is what is reported
            # (`usage.video_duration`); the estimate counts every started second (no slack
            # for a container's overshoot here: an estimate budgets are checked against
            # never falls short of a bill in fractions).
            seconds = input_seconds[0]
            output = None if seconds is None else max(_ceiling(seconds), Decimal(1))
        if output is None or (self.bills_input_video and None in billed):
            return None
        seconds = max(output, Decimal(self.minimum_seconds))
        if self.bills_input_video:
            seconds += sum((b for b in billed if b is not None), Decimal(0))
        return self.price * seconds

    def _billed_input(self, seconds: Decimal | None) -> Decimal | None:
        cap = Decimal(self.max_billed_input_seconds) if self.max_billed_input_seconds else None
        if seconds is None:
            return cap
        return min(_whole(seconds), cap) if cap is not None else _whole(seconds)


_FRAME_SLACK = Decimal("0.05")


def _ceiling(seconds: Decimal) -> Decimal:
    return seconds.to_integral_value(rounding=ROUND_CEILING)


def _whole(seconds: Decimal) -> Decimal:
    """Billed seconds: a started second counts, but not the frame or two by which a container
    overshoots a whole length (a 5 s clip at 29.97 fps lasts 5.005 s)."""
    return max((seconds - _FRAME_SLACK).to_integral_value(rounding=ROUND_CEILING), Decimal(1))


class CatalogFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format_version: Literal[1]
    models: list[ModelEntry]
    prices: list[PriceEntry] = []


class Catalog:
    """Lookups over the catalog entries, indexed once.

    A (provider, family, mode) may have several entries: WaveSpeed serves Wan 2.1 and 2.2 with
    one model id per resolution, so the resolution picks the entry.
    """

    def __init__(
        self,
        models: list[ModelEntry],
        prices: list[PriceEntry],
        overridden: frozenset[tuple[str, str, str, str]] = frozenset(),
    ) -> None:
        self.models = models
        self.prices = prices
        self.overridden = overridden
        """The price rows a project's prices.toml sets."""
        self._by_family: dict[tuple[str, str, str], list[ModelEntry]] = {}
        for entry in models:
            self._by_family.setdefault((entry.provider, entry.family, entry.mode), []).append(entry)
        self._by_model_id: dict[tuple[str, str, str], ModelEntry] = {
            (m.provider, m.model_id, m.mode): m for m in models
        }
        self._prices: dict[tuple[str, str, str, str], PriceEntry] = {
            (p.provider, p.model_id, p.mode, p.resolution): p for p in prices
        }

    def entries(self, provider: str, family: str, mode: str) -> list[ModelEntry]:
        return self._by_family.get((provider, family, mode), [])

    def model(
        self, provider: str, family: str, mode: str, resolution: str | None = None
    ) -> ModelEntry | None:
        """The entry serving `resolution` (or the family's default resolution)."""
        entries = self.entries(provider, family, mode)
        if not entries:
            return None
        wanted = resolution or entries[0].default_resolution
        return next((e for e in entries if wanted in e.resolutions), entries[0])

    def resolutions(self, provider: str, family: str, mode: str) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for entry in self.entries(provider, family, mode):
            seen.update(dict.fromkeys(entry.resolutions))
        return tuple(seen)

    def model_by_id(self, provider: str, model_id: str, mode: str) -> ModelEntry | None:
        return self._by_model_id.get((provider, model_id, mode))

    def families(self, provider: str, mode: str | None = None) -> list[str]:
        return sorted(
            {m.family for m in self.models if m.provider == provider and mode in (None, m.mode)}
        )

    def model_ids(self, provider: str) -> list[str]:
        return sorted({m.model_id for m in self.models if m.provider == provider})

    def price(self, provider: str, model_id: str, mode: str, resolution: str) -> PriceEntry | None:
        return self._prices.get((provider, model_id, mode, resolution))

    def with_prices(self, overrides: list[PriceEntry]) -> Catalog:
        """This catalog with a project's own price rows in place of its own for the same
        (provider, model id, mode, resolution); `overridden` says which rows they are."""
        if not overrides:
            return self
        keys = {(p.provider, p.model_id, p.mode, p.resolution) for p in overrides}
        kept = [
            p for p in self.prices if (p.provider, p.model_id, p.mode, p.resolution) not in keys
        ]
        return Catalog(self.models, kept + overrides, frozenset(keys))

    def is_team_price(self, price: PriceEntry) -> bool:
        return (price.provider, price.model_id, price.mode, price.resolution) in self.overridden


@cache
def load_catalog() -> Catalog:
    """The built-in catalog, plus the entries third-party providers bring."""
    from wanplan.providers.registry import plugin_catalogs

    text = resources.files("wanplan.catalog").joinpath("catalog.toml").read_text("utf-8")
    files = [CatalogFile.model_validate(tomli.loads(text))]
    files += [CatalogFile.model_validate(tomli.loads(extra)) for extra in plugin_catalogs()]
    return Catalog([m for f in files for m in f.models], [p for f in files for p in f.prices])
