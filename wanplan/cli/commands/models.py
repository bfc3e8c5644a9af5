from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from wanplan.cli.output import echo, style


@click.command()
@click.option("--provider", help="Only this provider's models.")
@click.option("--mode", help="Only this mode (t2v, i2v, flf2v, r2v, edit, t2i, s2v).")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.pass_obj
def models(directory: Path, provider: str | None, mode: str | None, fmt: str) -> None:
    """List the catalog: model ids, capabilities and prices with their source and date
    (a project's prices.toml, where it sets one, marked as such).

    \b
    Examples:
      wanplan models --provider dashscope
      wanplan models --mode i2v --format json
    """
    from wanplan.project import Project
    from wanplan.render.catalog import model_documents
    from wanplan.spec.suggest import did_you_mean

    # In a project, its prices.toml applies (and is shown as the source).
    catalog = Project.at(directory).catalog
    for option, value, known in (
        ("--provider", provider, {m.provider for m in catalog.models}),
        ("--mode", mode, {m.mode for m in catalog.models}),
    ):
        if value is not None and value not in known:
            raise click.BadParameter(
                f"{value!r} is not in the catalog; known: {', '.join(sorted(known))}"
                f"{did_you_mean(value, sorted(known))}",
                param_hint=option,
            )
    rows = model_documents(catalog, provider=provider, mode=mode)
    if fmt == "json":
        echo(json.dumps({"models": rows}, indent=2))
    elif not rows:
        echo("No models match.")
    for row in rows if fmt == "text" else ():
        _print(row)


def _print(row: dict[str, Any]) -> None:
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
    if row["watermark_default"] is not None:
        echo(
            "    watermarks its output unless watermark = false"
            if row["watermark_default"]
            else "    no watermark unless watermark = true"
        )
    for price in row["prices"]:
        if price["price"] is None:
            echo(f"    {price['resolution']}: price unknown")
        else:
            per = "/s" if price["unit"] == "second" else " each"
            minimum = f", {price['minimum_seconds']} s minimum" if price["minimum_seconds"] else ""
            if price["bills_input_video"]:
                cap = price["max_billed_input_seconds"]
                minimum += ", plus the input video's seconds" + (f" (up to {cap} s)" if cap else "")
            team = "prices.toml: " if price["origin"] == "prices.toml" else ""
            echo(
                f"    {price['resolution']}: ${price['price']}{per}{minimum}"
                f" ({team}{price['source']}, {price['as_of']})"
            )


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
