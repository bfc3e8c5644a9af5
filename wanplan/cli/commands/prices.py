from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from wanplan.cli.options import open_workspace
from wanplan.cli.output import echo, style

if TYPE_CHECKING:
    from wanplan.catalog.model import PriceEntry
    from wanplan.cost.price_update import PriceUpdate


@click.group()
def prices() -> None:
    """A project's own prices (prices.toml), which override the catalog's.

    \b
    Examples:
      wanplan prices update
      wanplan prices update --model alibaba/wan-2.6/text-to-video --dry-run
    """


@prices.command("update")
@click.option(
    "--provider",
    default="wavespeed",
    show_default=True,
    help="The provider whose price quote to read (WaveSpeed gives one).",
)
@click.option(
    "--model", "model_ids", multiple=True, help="Only this model id (repeatable; default: all)."
)
@click.option("--dry-run", is_flag=True, help="Show the prices; write nothing.")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.pass_obj
def update(
    directory: Path, provider: str, model_ids: tuple[str, ...], dry_run: bool, fmt: str
) -> None:
    """Write prices.toml from the provider's free price quote for your account.

    Each catalog model of the provider is quoted at each resolution and duration it takes
    (the quote is free: nothing is generated or paid), with your key, so your discounts are
    in the prices; where the provider gives a discounted price it is the one used. Rows for
    the models quoted are replaced; every other row of prices.toml is kept. Needs the
    provider's key (WAVESPEED_API_KEY).

    \b
    Examples:
      wanplan prices update
      wanplan prices update --model alibaba/wan-2.6/text-to-video --dry-run
      wanplan prices update --format json
    """
    result = open_workspace(directory).update_prices(provider, model_ids, dry_run=dry_run)
    if fmt == "json":
        echo(json.dumps(_document(result), indent=2))
        return
    for quoted in result.quoted:
        entry = quoted.entry
        line = f"{entry.model_id} {entry.mode} {entry.resolution}: {_price(entry)}"
        if quoted.before is None:
            line += "  (was unknown)"
        elif quoted.changed:
            line += f"  (was {_price(quoted.before)})"
        echo(style(line, fg="yellow") if quoted.changed else line)
    for missing in result.unquoted:
        echo(
            f"{missing.model_id} {missing.mode} {missing.resolution}: not quoted ({missing.reason})"
        )
    changed = sum(1 for q in result.quoted if q.changed)
    where = result.path.name
    if result.written:
        summary = f"Wrote {len(result.quoted)} prices to {where} ({changed} changed)."
    elif dry_run:
        summary = (
            f"{len(result.quoted)} prices quoted ({changed} changed); nothing written (--dry-run)."
        )
    else:
        summary = f"No price could be quoted; {where} is unchanged."
    if result.unquoted:
        summary += f" {len(result.unquoted)} not quoted: their prices stay as they were."
    echo(style(summary, bold=True))


def _price(entry: PriceEntry) -> str:
    from wanplan.money import as_decimal_string

    amount = f"${as_decimal_string(entry.price)}"
    if entry.unit == "item":
        return f"{amount} each"
    minimum = f", {entry.minimum_seconds} s minimum" if entry.minimum_seconds else ""
    return f"{amount}/s{minimum}"


def _document(result: PriceUpdate) -> dict[str, Any]:
    def row(entry: PriceEntry | None) -> dict[str, Any] | None:
        if entry is None:
            return None
        return {
            "unit": entry.unit,
            "price": format(entry.price, "f"),
            "minimum_seconds": entry.minimum_seconds,
            "source": entry.source,
            "as_of": entry.as_of.isoformat(),
        }

    return {
        "provider": result.provider,
        "written": result.written,
        "prices": [
            {
                "model_id": q.entry.model_id,
                "mode": q.entry.mode,
                "resolution": q.entry.resolution,
                **(row(q.entry) or {}),
                "before": row(q.before),
                "changed": q.changed,
            }
            for q in result.quoted
        ],
        "not_quoted": [
            {"model_id": u.model_id, "mode": u.mode, "resolution": u.resolution, "reason": u.reason}
            for u in result.unquoted
        ],
    }
