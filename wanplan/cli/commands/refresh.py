from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from wanplan.cli.options import lock_timeout, open_workspace
from wanplan.cli.output import echo

if TYPE_CHECKING:
    from wanplan.maintenance.refresh import RefreshReport


@click.command()
@click.option("--profile", help="Only this profile's outputs (default: every profile).")
@lock_timeout
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.pass_obj
def refresh(directory: Path, profile: str | None, lock_timeout: float, fmt: str) -> None:
    """Check every recorded output and cached blob against its sha256.

    `plan` trusts an output whose size and mtime match the state; refresh reads every byte.
    A missing or altered output shows in the next plan as `repair`, restored from the cache at
    no cost; an intact output with a new mtime gets it recorded, so plans stop hashing it. A
    corrupt blob is removed from the cache: what needs it is then generated again, at the
    estimate. No provider is called.

    \b
    Examples:
      wanplan refresh
      wanplan refresh --format json
    """
    from wanplan.maintenance.addresses import label

    report = open_workspace(directory, lock_timeout).refresh(profile)
    if fmt == "json":
        echo(json.dumps(_document(report), indent=2))
        return
    for record in report.missing:
        echo(f"{label(record)}: missing {record.output_path}; the next plan restores it (repair)")
    for record in report.altered:
        echo(f"{label(record)}: {record.output_path} was altered; the next plan restores it")
    for blob in report.corrupt_blobs:
        users = ", ".join(blob.addresses) or "no current asset"
        echo(
            f"corrupt blob {blob.sha256[:12]} removed from the cache (used by {users}): "
            "a repair or reuse of it will generate again, at the estimate"
        )
    echo(
        f"Refreshed: {len(report.intact) + len(report.restamped)} outputs intact "
        f"({len(report.restamped)} with a new mtime recorded), {len(report.missing)} missing, "
        f"{len(report.altered)} altered; {report.blobs_checked} cached blobs checked, "
        f"{len(report.corrupt_blobs)} corrupt."
    )


def _document(report: RefreshReport) -> dict[str, Any]:
    from wanplan.maintenance.addresses import label

    def outputs(records: list[Any]) -> list[dict[str, str]]:
        return [{"address": label(r), "output": r.output_path} for r in records]

    return {
        "outputs": {
            "intact": len(report.intact) + len(report.restamped),
            "restamped": outputs(report.restamped),
            "missing": outputs(report.missing),
            "altered": outputs(report.altered),
        },
        "blobs": {
            "checked": report.blobs_checked,
            "corrupt": [
                {
                    "sha256": b.sha256,
                    "content_keys": list(b.content_keys),
                    "used_by": list(b.addresses),
                }
                for b in report.corrupt_blobs
            ],
        },
    }
