from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from wanplan.cli.output import echo, style


@click.command()
@click.option("--provider", help="Only this provider's models.")
@click.option("--mode", help="Only this mode (t2v, i2v, flf2v, r2v, edit, t2i).")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.pass_obj
def models(directory: Path, provider: str | None, mode: str | None, fmt: str) -> None:
    """List the catalog: model ids, capabilities and prices with their source and date.

    \b
    Examples:
      wanplan models --provider dashscope
      wanplan models --mode i2v --format json
    """
    from wanplan.catalog import load_catalog
    from wanplan.money import as_decimal_string

    catalog = load_catalog()
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
                    "currency": price.currency if price else None,
                    "source": price.source if price else None,
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
                "prices": prices,
            }
        )
    if fmt == "json":
        echo(json.dumps({"models": rows}, indent=2))
        return
    for row in rows:
        durations = _span(row["durations"])
        head = f"{row['provider']:<10} {row['family']:<13} {row['mode']:<6} {row['model_id']}"
        echo(style(head, bold=True))
        shape = f"resolutions {', '.join(row['resolutions'])}"
        if durations:
            shape += f"; durations {durations} s"
        if row["aspect_ratios"]:
            shape += f"; ratios {', '.join(row['aspect_ratios'])}"
        echo(f"    {shape}")
        takes = _inputs(row)
        if takes:
            echo(f"    takes: {takes}")
        if row["prompt_expansion_default"]:
            echo("    expands prompts unless prompt_expansion = false")
        for price in row["prices"]:
            if price["price"] is None:
                echo(f"    {price['resolution']}: price unknown")
            else:
                per = "/s" if price["unit"] == "second" else " each"
                minimum = (
                    f", {price['minimum_seconds']} s minimum" if price["minimum_seconds"] else ""
                )
                echo(
                    f"    {price['resolution']}: ${price['price']}{per}{minimum}"
                    f" ({price['source']}, {price['as_of']})"
                )
    if not rows:
        echo("No models match.")


def _span(values: list[int]) -> str:
    if len(values) > 3 and values == list(range(values[0], values[-1] + 1)):
        return f"{values[0]}–{values[-1]}"
    return ", ".join(str(v) for v in values)


def _inputs(row: dict[str, Any]) -> str:
    """The inputs a model takes beyond the fixed ones of its mode, with their limits."""
    names = list(row["inputs"])
    if row["mode"] == "r2v" and "references" not in names:
        names.insert(0, "references")
    shown = {
        "references": f"references (up to {row['max_references']}: "
        f"{'/'.join(row['reference_kinds'])})",
        "grid": f"grid (up to {row['max_grid_images']} images)",
    }
    return ", ".join(shown.get(name, name) for name in names)
