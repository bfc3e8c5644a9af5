"""The catalog as documents: `wanplan models` prints them, and its JSON is them."""

from __future__ import annotations

from typing import Any

from wanplan.catalog import Catalog
from wanplan.money import as_decimal_string


def model_documents(
    catalog: Catalog, *, provider: str | None = None, mode: str | None = None
) -> list[dict[str, Any]]:
    """Every model of `provider` and `mode` (all when None): capabilities and prices with
    their source and date; a price not known is None, never 0."""
    rows: list[dict[str, Any]] = []
    for entry in catalog.models:
        if (provider and entry.provider != provider) or (mode and entry.mode != mode):
            continue
        prices = []
        for resolution in entry.resolutions:
            price = catalog.price(entry.provider, entry.model_id, entry.mode, resolution)
            prices.append(
                {
                    "resolution": resolution,
                    "unit": price.unit if price else None,
                    "price": as_decimal_string(price.price) if price else None,
                    "minimum_seconds": price.minimum_seconds if price else None,
                    "bills_input_video": price.bills_input_video if price else None,
                    "max_billed_input_seconds": price.max_billed_input_seconds if price else None,
                    "currency": price.currency if price else None,
                    "source": price.source if price else None,
                    "origin": (
                        ("prices.toml" if catalog.is_team_price(price) else "catalog")
                        if price
                        else None
                    ),
                    "as_of": price.as_of.isoformat() if price else None,
                }
            )
        rows.append(
            {
                "provider": entry.provider,
                "family": entry.family,
                "mode": entry.mode,
                "model_id": entry.model_id,
                "resolutions": list(entry.resolutions),
                "durations": list(entry.durations),
                "aspect_ratios": list(entry.aspect_ratios),
                "max_prompt_chars": entry.max_prompt_chars,
                "max_input_bytes": entry.max_input_bytes,
                "max_audio_bytes": entry.max_audio_bytes,
                "max_video_bytes": entry.max_video_bytes,
                "inputs": list(entry.inputs),
                "max_references": entry.max_references,
                "reference_kinds": list(entry.reference_kinds),
                "max_grid_images": entry.max_grid_images,
                "prompt_expansion_default": entry.prompt_expansion_default,
                "watermark_default": entry.watermark_default,
                "prices": prices,
            }
        )
    return rows
