"""The spend ledger read back: what apply recorded, tallied by day, provider and asset.

Each tally keeps apart what the providers' own figures say (reported usage, price quotes) and
what wanplan estimated from the catalog, and counts the tasks of unknown price instead of adding
them as $0.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from wanplan.cost.spend import QUOTE, REPORTED
from wanplan.errors import WanplanError

GROUPINGS = ("day", "provider", "asset")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One collected task's spend."""

    day: str
    provider: str
    address: str
    profile: str
    amount: Decimal | None
    source: str

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> LedgerEntry:
        amount = row.get("amount")
        return cls(
            day=str(row["day"]),
            provider=str(row["provider"]),
            address=str(row["address"]),
            profile=str(row["profile"]),
            amount=Decimal(amount) if amount is not None else None,
            source=str(row["source"]),
        )


@dataclass(slots=True)
class Tally:
    tasks: int = 0
    reported: Decimal = field(default_factory=Decimal)
    """The providers' own figures: reported amounts and billed usage."""
    quoted: Decimal = field(default_factory=Decimal)
    """The providers' price quotes for the requests."""
    estimated: Decimal = field(default_factory=Decimal)
    unknown: int = 0
    """Tasks of unknown price: counted, never added."""

    def add(self, entry: LedgerEntry) -> None:
        self.tasks += 1
        if entry.amount is None:
            self.unknown += 1
        elif entry.source == REPORTED:
            self.reported += entry.amount
        elif entry.source == QUOTE:
            self.quoted += entry.amount
        else:
            self.estimated += entry.amount

    @property
    def from_provider(self) -> Decimal:
        return self.reported + self.quoted

    @property
    def total(self) -> Decimal | None:
        """The known spend; None when every task of the tally is of unknown price."""
        if self.tasks and self.unknown == self.tasks:
            return None
        return self.from_provider + self.estimated


_KEYS: dict[str, Callable[[LedgerEntry], tuple[str, ...]]] = {
    "day": lambda e: (e.day,),
    "provider": lambda e: (e.provider,),
    "asset": lambda e: (e.address, e.profile),
}


@dataclass
class SpendReport:
    total: Tally
    groups: dict[str, dict[tuple[str, ...], Tally]]
    """For each grouping asked for: its keys, in order, and their tallies."""


def spend_report(entries: Iterable[LedgerEntry], groupings: Sequence[str]) -> SpendReport:
    total = Tally()
    groups: dict[str, dict[tuple[str, ...], Tally]] = {g: {} for g in groupings}
    for entry in entries:
        total.add(entry)
        for grouping, tallies in groups.items():
            tallies.setdefault(_KEYS[grouping](entry), Tally()).add(entry)
    return SpendReport(total, {g: dict(sorted(t.items())) for g, t in groups.items()})


def select(
    rows: Iterable[Mapping[str, Any]],
    *,
    since: datetime.date | None = None,
    until: datetime.date | None = None,
    profile: str | None = None,
) -> list[LedgerEntry]:
    """The ledger's entries within [since, until] (UTC days, both included) and the profile."""
    first, last = (d.isoformat() if d else None for d in (since, until))
    entries = [LedgerEntry.from_row(row) for row in rows]
    return [
        e
        for e in entries
        if (first is None or e.day >= first)
        and (last is None or e.day <= last)
        and (profile is None or e.profile == profile)
    ]


def parse_day(text: str, option: str) -> datetime.date:
    """A YYYY-MM-DD option value, or a one-line error saying how to write it."""
    try:
        if _DAY.match(text):
            return datetime.date.fromisoformat(text)
    except ValueError:
        pass
    raise WanplanError(f"{option} {text!r} is not a date; write it as YYYY-MM-DD, e.g. 2025-06-01")
