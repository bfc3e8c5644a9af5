from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from wanplan.cli.options import open_workspace
from wanplan.cli.output import echo, style

if TYPE_CHECKING:
    from wanplan.cost.ledger import SpendReport, Tally

_HEADINGS = {"day": "By day", "provider": "By provider", "asset": "By asset"}


@click.command()
@click.option(
    "--by",
    "groupings",
    type=click.Choice(["day", "provider", "asset"]),
    multiple=True,
    help="Group by day, provider or asset (repeatable; default: all three).",
)
@click.option("--since", metavar="YYYY-MM-DD", help="Only spend from this UTC day on.")
@click.option("--until", metavar="YYYY-MM-DD", help="Only spend up to this UTC day, included.")
@click.option("--profile", help="Only this profile's spend (default: every profile).")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.pass_obj
def cost(
    directory: Path,
    groupings: tuple[str, ...],
    since: str | None,
    until: str | None,
    profile: str | None,
    fmt: str,
) -> None:
    """Show what apply spent, from the state's ledger: by day, provider and asset.

    Each figure says how much of it is the providers' own (reported usage, price quotes) and how
    much wanplan estimated from the catalog; tasks of unknown price are counted, never added as
    $0. Reads the state only.

    \b
    Examples:
      wanplan cost
      wanplan cost --by day --since 2025-06-01
      wanplan cost --by asset --profile preview --format json
    """
    from wanplan.cost.ledger import GROUPINGS, parse_day
    from wanplan.errors import WanplanError

    first = parse_day(since, "--since") if since else None
    last = parse_day(until, "--until") if until else None
    if first and last and first > last:
        raise WanplanError(f"--since {since} is after --until {until}; nothing can match")
    wanted = [g for g in GROUPINGS if g in groupings] if groupings else list(GROUPINGS)
    report = open_workspace(directory).spend(wanted, since=first, until=last, profile=profile)
    if fmt == "json":
        document = {"currency": "USD", "since": since, "until": until, "profile": profile}
        echo(json.dumps({**document, **_as_json(report)}, indent=2))
    elif not report.total.tasks:
        echo("No spend recorded.")
    else:
        _print(report)


def _tally_json(tally: Tally) -> dict[str, Any]:
    from wanplan.money import as_decimal_string

    return {
        "total": as_decimal_string(tally.total),
        "reported": as_decimal_string(tally.reported),
        "quoted": as_decimal_string(tally.quoted),
        "estimated": as_decimal_string(tally.estimated),
        "unknown": tally.unknown,
        "tasks": tally.tasks,
    }


def _as_json(report: SpendReport) -> dict[str, Any]:
    names = {"day": ("day",), "provider": ("provider",), "asset": ("address", "profile")}
    document: dict[str, Any] = {"total": _tally_json(report.total)}
    for grouping, tallies in report.groups.items():
        document[f"by_{grouping}"] = [
            {**dict(zip(names[grouping], key, strict=True)), **_tally_json(tally)}
            for key, tally in tallies.items()
        ]
    return document


def _label(grouping: str, key: tuple[str, ...]) -> str:
    if grouping == "asset" and key[1] != "default":
        return f"{key[0]} ({key[1]})"
    return key[0]


def _print(report: SpendReport) -> None:
    rows = {
        grouping: [(_label(grouping, key), tally) for key, tally in tallies.items()]
        for grouping, tallies in report.groups.items()
    }
    width = max([len(label) for lines in rows.values() for label, _ in lines] + [5])
    for grouping, lines in rows.items():
        echo(style(_HEADINGS[grouping], bold=True))
        for label, tally in lines:
            echo(f"  {label:<{width}}  {_figures(tally)}")
        echo()
    echo(style(f"  {'Total':<{width}}  {_figures(report.total)}", bold=True))


def _figures(tally: Tally) -> str:
    """`$1.50  ($1.00 from the provider, $0.50 estimated; 3 tasks, 1 of unknown price)`."""
    from wanplan.money import format_usd

    parts = []
    if tally.from_provider:
        parts.append(f"{format_usd(tally.from_provider)} from the provider")
    if tally.estimated:
        parts.append(f"{format_usd(tally.estimated)} estimated")
    count = f"{tally.tasks} task{'s' if tally.tasks != 1 else ''}"
    if tally.unknown:
        count += f", {tally.unknown} of unknown price"
    detail = f"{', '.join(parts)}; {count}" if parts else count
    return f"{format_usd(tally.total):>10}  ({detail})"
