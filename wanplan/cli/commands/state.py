from __future__ import annotations

from pathlib import Path

import click

from wanplan.cli.options import lock_timeout, open_workspace
from wanplan.cli.output import echo

profile_option = click.option(
    "--profile", default="default", show_default=True, help="The profile whose record to change."
)


@click.group()
def state() -> None:
    """Inspect the state, and forget or rename what it records.

    \b
    Examples:
      wanplan state list
      wanplan state show forest-dolly
      wanplan state mv forest-dolly forest-push
      wanplan state rm square-loop
    """


@state.command("list")
@click.option("--profile", help="Only this profile.")
@click.pass_obj
def list_(directory: Path, profile: str | None) -> None:
    """List the addresses in the state, one per line (`profile/address` outside default).

    \b
    Example:
      wanplan state list | wc -l
    """
    from wanplan.maintenance.addresses import label

    for record in open_workspace(directory).recorded(profile):
        echo(label(record))


@state.command("show")
@click.argument("address", metavar="ADDR")
@click.option("--profile", default="default", show_default=True)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.pass_obj
def show_(directory: Path, address: str, profile: str, fmt: str) -> None:
    """Show everything the state records for ADDR: its content key, output file, the
    generation's parameters and inputs, and the task that made it.

    \b
    Examples:
      wanplan state show forest-dolly
      wanplan state show hero-turn --profile draft --format json
    """
    from wanplan.cli.commands.show import print_recorded

    print_recorded(open_workspace(directory).show(address, profile), fmt)


@state.command("rm")
@click.argument("addresses", nargs=-1, required=True, metavar="ADDR...")
@profile_option
@lock_timeout
@click.pass_obj
def rm(directory: Path, addresses: tuple[str, ...], profile: str, lock_timeout: float) -> None:
    """Forget ADDR in the state, without deleting anything.

    The output file and the cached blob stay: if ADDR is still declared, the next plan shows
    it as `reuse` at $0 (a copy from the cache). To remove the file too, delete the asset from
    the specs and apply instead. One unknown address removes nothing.

    \b
    Examples:
      wanplan state rm square-loop
      wanplan state rm hero-turn poster --profile staging
    """
    removed = open_workspace(directory, lock_timeout).forget(addresses, profile)
    for record in removed:
        echo(f"Removed {record.address} from the state (its file {record.output_path} stays).")


@state.command("copy")
@click.option(
    "--to",
    "where",
    required=True,
    metavar="URL|PATH",
    help="An empty PostgreSQL state (postgresql://…) or an SQLite file's path in the project.",
)
@lock_timeout
@click.pass_obj
def copy(directory: Path, where: str, lock_timeout: float) -> None:
    """Copy the state, journal and ledger included, into an empty state elsewhere.

    For a team moving its SQLite state into PostgreSQL, and back. The lineage, serial, task ids
    and ledger are kept; the lock and this machine's input-file stamps are not. Then point
    [state] url (or WANPLAN_STATE_URL) at the copy. The password comes from PGPASSWORD or
    PGPASSFILE, never the URL.

    \b
    Examples:
      wanplan state copy --to postgresql://wanplan@db.internal/wanplan
      WANPLAN_STATE_URL=postgresql://wanplan@db.internal/wanplan \\
        wanplan state copy --to state/wanplan.db
    """
    label, copied = open_workspace(directory, lock_timeout).copy_state(where)
    counts = {table: len(rows) for table, rows in copied.tables.items()}
    echo(
        f"Copied {counts['assets']} assets, {counts['generations']} generations, "
        f"{counts['tasks']} journal rows and {counts['ledger']} ledger entries to {label} "
        f"(lineage {copied.lineage}). Point [state] url (or WANPLAN_STATE_URL) at it to use it."
    )


@state.command("mv")
@click.argument("source", metavar="SRC")
@click.argument("destination", metavar="DST")
@profile_option
@lock_timeout
@click.pass_obj
def mv(directory: Path, source: str, destination: str, profile: str, lock_timeout: float) -> None:
    """Rename SRC to DST in the state, without generating again.

    For renaming an asset in a spec: run this, rename the asset, and `wanplan plan` shows no
    change for it. The output moves from outputs/SRC.<ext> to outputs/DST.<ext> (an `output`
    named in the spec stays where it is); an open task of SRC follows it.

    \b
    Example:
      wanplan state mv forest-dolly forest-push
    """
    moved = open_workspace(directory, lock_timeout).move(source, destination, profile)
    echo(f"Moved {source} to {destination}.")
    if moved.file_moved:
        echo(f"Its output moved from {moved.record.output_path} to {moved.output_path}.")
