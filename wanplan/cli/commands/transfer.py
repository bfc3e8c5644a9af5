"""`pull` and `push`: outputs and blobs between this disk and a shared cache."""

from __future__ import annotations

from pathlib import Path

import click

from wanplan.cli.options import open_workspace
from wanplan.cli.output import echo


@click.command()
@click.argument("addresses", nargs=-1, metavar="[ADDR...]")
@click.option("--profile", help="Only this profile's outputs (default: every profile).")
@click.pass_obj
def pull(directory: Path, addresses: tuple[str, ...], profile: str | None) -> None:
    """Write the recorded outputs missing here (or altered) from the cache.

    With a shared cache ([cache] url), a fresh runner plans without downloading anything: an
    output missing from its disk is not a change. `pull` writes them, each checked against
    the digest the state records. Reads the state only.

    \b
    Examples:
      wanplan pull
      wanplan pull hero-turn poster --profile draft
    """
    written = open_workspace(directory).pull(addresses, profile)
    for record in written:
        echo(f"{record.address}: wrote {record.output_path}")
    echo(f"Pulled {len(written)} output{'s' if len(written) != 1 else ''}.")


@click.command()
@click.pass_obj
def push(directory: Path) -> None:
    """Upload the blobs on this disk that the shared cache lacks.

    For a cache moved to a bucket: blobs generated before, kept in .wanplan/, go up. With
    the local cache it has nothing to do.

    \b
    Example:
      WANPLAN_CACHE_URL=s3://team-bucket/wanplan wanplan push
    """
    pushed = open_workspace(directory).push()
    echo(f"Pushed {len(pushed)} blob{'s' if len(pushed) != 1 else ''}.")
