from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from wanplan.cli.options import open_project
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
    from wanplan.errors import WanplanError
    from wanplan.spec.suggest import did_you_mean
    from wanplan.state.opening import open_reader

    project = open_project(directory)
    reader = open_reader(project)
    try:
        records = reader.assets(profile)
        if address is None:
            rows = [
                {
                    "address": r.address,
                    "content_key": r.content_key,
                    "output": r.output_path,
                    "updated_at": r.updated_at,
                }
                for r in sorted(records.values(), key=lambda r: r.address)
            ]
            document: dict[str, Any] = {
                "lineage": reader.lineage,
                "serial": reader.serial,
                "profile": profile,
                "assets": rows,
            }
        else:
            record = records.get(address)
            if record is None:
                raise WanplanError(
                    f"{address} is not in the state (profile {profile})"
                    f"{did_you_mean(address, sorted(records))}"
                )
            details = reader.generation_details(record.content_key) or {}
            document = {
                "address": record.address,
                "profile": record.profile,
                "content_key": record.content_key,
                "output": record.output_path,
                "output_sha256": record.output_sha256,
                "updated_at": record.updated_at,
                "provider": details.get("provider"),
                "model_id": details.get("model_id"),
                "mode": details.get("mode"),
                "task_id": details.get("task_id"),
                "cost": details.get("cost"),
                "cost_source": details.get("cost_source"),
                "generated_at": details.get("created_at"),
                "parameters": details.get("material", {}).get("params"),
                "inputs": details.get("material", {}).get("inputs"),
            }
    finally:
        reader.close()
    if fmt == "json":
        echo(json.dumps(document, indent=2))
    elif address is None:
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
    echo(f"{len(document['assets'])} assets.")


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
