from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from wanplan.cli.options import open_workspace
from wanplan.cli.output import echo, style


@click.command()
@click.argument("address", required=False)
@click.option("--profile", default="default", show_default=True)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.pass_obj
def show(directory: Path, address: str | None, profile: str, fmt: str) -> None:
    """Show what the state records: every asset, or one in detail.

    \b
    Examples:
      wanplan show
      wanplan show forest-dolly --format json
    """
    print_recorded(open_workspace(directory).show(address, profile), fmt)


def print_recorded(document: dict[str, Any], fmt: str) -> None:
    """The state's summary, or one asset's record (when the document has an address)."""
    if fmt == "json":
        echo(json.dumps(document, indent=2))
    elif "address" not in document:
        _print_summary(document)
    else:
        _print_asset(document)


def _print_summary(document: dict[str, Any]) -> None:
    if document["lineage"] is None:
        echo("The state is empty: nothing has been applied yet.")
        return
    echo(
        f"State serial {document['serial']}, lineage {document['lineage']}, "
        f"profile {document['profile']}"
    )
    for row in document["assets"]:
        echo(f"  {style(row['address'], bold=True)}  {row['output']}  {row['content_key'][:12]}")
    count = len(document["assets"])
    echo(f"{count} asset{'' if count == 1 else 's'}.")


def _print_asset(document: dict[str, Any]) -> None:
    echo(style(document["address"], bold=True))
    for key, value in document.items():
        if key == "address" or value is None:
            continue
        if isinstance(value, dict):
            for inner, item in value.items():
                echo(f"  {key}.{inner}: {item}")
        else:
            echo(f"  {key}: {value}")
