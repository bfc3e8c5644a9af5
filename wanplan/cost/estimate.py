"""Estimates from the catalog's prices: what a generation would cost, or an unknown (None),
never $0."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from wanplan.catalog import Catalog
from wanplan.spec import media_kind
from wanplan.spec.media_length import audio_seconds, video_seconds
from wanplan.spec.resolved import ResolvedAsset


def estimate(asset: ResolvedAsset, catalog: Catalog, root: Path | None = None) -> Decimal | None:
    """`root`: the project, whose input videos are read for their length where the price
    depends on it (None: their lengths are unknown)."""
    price = catalog.price(asset.provider, asset.model_id, asset.mode, asset.resolution)
    if price is None:
        return None
    if not price.reads_inputs:
        return price.estimate(asset.duration)
    if asset.mode == "s2v":  # the video lasts as long as its audio
        return price.estimate(asset.duration, [input_audio_seconds(asset, root)])
    model = catalog.model_by_id(asset.provider, asset.model_id, asset.mode)
    video_references = model is None or "video" in model.reference_kinds
    return price.estimate(asset.duration, input_video_seconds(asset, root, video_references))


def input_audio_seconds(asset: ResolvedAsset, root: Path | None) -> Decimal | None:
    """The audio's length (a local WAV or M4A); None for a URL, another asset's output, or a
    file whose length the header does not give (an MP3)."""
    ref = next((r for r in asset.inputs if r.field == "audio"), None)
    if ref is None or root is None or ref.sha256 is None or ref.is_url:
        return None
    return audio_seconds(root / ref.source)


def input_video_seconds(
    asset: ResolvedAsset, root: Path | None, video_references: bool = True
) -> list[Decimal | None]:
    """The length of each input video (an edit's source, r2v's reference videos), None where
    it cannot be known before the run: a URL, another asset's output, an unreadable file.
    `video_references`: whether the model takes videos among its references (else every
    reference is an image, never billed by the second)."""
    lengths: list[Decimal | None] = []
    for ref in asset.inputs:
        kind = ref.field.partition("[")[0]
        if kind not in ("video", "references") or (kind == "references" and not video_references):
            continue
        local = root is not None and ref.sha256 is not None and not ref.is_url
        kinds = (
            media_kind.of_file(root / ref.source) if local and root else None
        ) or media_kind.by_name(ref.source)
        if kind == "references" and kinds is not None and "video" not in kinds:
            continue  # an image reference is not billed by the second
        lengths.append(video_seconds(root / ref.source) if local and root else None)
    return lengths


def estimate_material(material: dict[str, Any], catalog: Catalog) -> Decimal | None:
    """The estimate for a recorded generation, from its key material (its input files are
    known by digest only: their lengths count as unknown)."""
    params = material.get("params") or {}
    resolution, duration = params.get("resolution"), params.get("duration")
    price = catalog.price(
        str(material.get("provider")),
        str(material.get("model_id")),
        str(material.get("mode")),
        str(resolution),
    )
    if price is None:
        return None
    videos: list[Decimal | None] = []
    if price.reads_inputs:
        model = catalog.model_by_id(price.provider, price.model_id, price.mode)
        # A reference known by digest alone may be an image, unbilled: counted as a video only
        # where the model takes no image references.
        only_videos = model is not None and "image" not in model.reference_kinds
        inputs = material.get("inputs")
        for name, value in (inputs if isinstance(inputs, dict) else {}).items():
            if (
                name == "video"
                or (name == "references" and only_videos)
                or (name == "audio" and price.mode == "s2v")  # the video is as long
            ):
                videos += [None] * (len(value) if isinstance(value, list) else 1)
    return price.estimate(int(duration) if duration is not None else None, videos)
