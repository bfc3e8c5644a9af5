from __future__ import annotations

import json
from pathlib import Path

import click

from wanplan.cli.options import lock_timeout, open_workspace
from wanplan.cli.output import echo


@click.command()
@click.option("--dry-run", is_flag=True, help="List what would be removed; remove nothing.")
@lock_timeout
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.pass_obj
def gc(directory: Path, dry_run: bool, lock_timeout: float, fmt: str) -> None:
    """Remove cached blobs that no asset in the state or the specs uses (any profile).

    Also removes staging files left in .wanplan/tmp by an interrupted apply. Takes the state
    lock, so that no apply writes blobs meanwhile. A collected blob is gone for good: reverting
    an asset to that content later generates it again, at its price.

    \b
    Examples:
      wanplan gc --dry-run
      wanplan gc
    """
    from wanplan.cli.output import warn
    from wanplan.maintenance.collect import format_bytes

    found = open_workspace(directory, lock_timeout).collect_garbage(dry_run=dry_run)
    if fmt == "json":
        document = {
            "dry_run": dry_run,
            "blobs": [{"sha256": b.name, "size": b.size} for b in found.blobs],
            "staging_files": [{"name": f.name, "size": f.size} for f in found.leftovers],
            "count": found.count,
            "bytes": found.size,
        }
        echo(json.dumps(document, indent=2))
        return
    if dry_run:
        for blob in found.blobs:
            echo(f"would remove blob {blob.name} ({format_bytes(blob.size)})")
        for leftover in found.leftovers:
            echo(f"would remove staging file {leftover.name} ({format_bytes(leftover.size)})")
    verb = "Would free" if dry_run else "Freed"
    echo(
        f"{verb} {format_bytes(found.size)}: {len(found.blobs)} unused blobs, "
        f"{len(found.leftovers)} staging files."
    )
    if found.blobs:
        warn(
            "an asset reverted to the content of a collected blob will be generated again, "
            "at its price"
        )
