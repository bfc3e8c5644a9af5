"""Estimates from the catalog's prices: what a generation would cost, or an unknown (None),
never $0."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from wanplan.catalog import Catalog
from wanplan.spec.resolved import ResolvedAsset


def estimate(asset: ResolvedAsset, catalog: Catalog) -> Decimal | None:
    price = catalog.price(asset.provider, asset.model_id, asset.mode, asset.resolution)
    return price.estimate(asset.duration) if price else None


def estimate_material(material: dict[str, Any], catalog: Catalog) -> Decimal | None:
    """The estimate for a recorded generation, from its key material."""
    params = material.get("params") or {}
    resolution, duration = params.get("resolution"), params.get("duration")
    price = catalog.price(
        str(material.get("provider")),
        str(material.get("model_id")),
        str(material.get("mode")),
        str(resolution),
    )
    return price.estimate(int(duration) if duration is not None else None) if price else None
