"""What apply reports as it goes, and what it returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from wanplan.money import total
from wanplan.plan.model import Action


@dataclass(frozen=True)
class ApplyEvent:
    address: str
    kind: str
    """submitting | submitted | running | waiting | downloading | created | replaced | reused |
    repaired | resumed | adopted | deleted | failed | skipped | interrupted"""
    message: str = ""
    elapsed: float = 0.0
    spent: Decimal | None = None
    """On a completed generation: what it cost (None when the price is unknown)."""


EventSink = Callable[[ApplyEvent], None]


def ignore(_: ApplyEvent) -> None:
    return None


@dataclass(frozen=True)
class AssetOutcome:
    address: str
    action: Action
    ok: bool
    error: str | None = None
    spent: Decimal | None = Decimal(0)
    output_path: str | None = None
    interrupted: bool = False
    committed_before: bool = False
    """Its spend is a task this apply's plan found submitted already (a resume)."""


@dataclass(frozen=True)
class UnrecordedTask:
    """A task the provider made whose id the state could not record (a full disk)."""

    address: str
    provider: str
    task_id: str


@dataclass
class ApplyResult:
    outcomes: list[AssetOutcome] = field(default_factory=list)
    unrecorded: list[UnrecordedTask] = field(default_factory=list)
    uncollected: list[Decimal | None] = field(default_factory=list)
    """What each task this apply sent or resumed but did not collect costs (None: unknown):
    paid, and collected by the next apply."""

    def done(self, action: Action) -> list[AssetOutcome]:
        return [o for o in self.outcomes if o.ok and o.action is action]

    @property
    def failed(self) -> list[AssetOutcome]:
        return [o for o in self.outcomes if not o.ok and not o.interrupted]

    @property
    def interrupted(self) -> list[AssetOutcome]:
        return [o for o in self.outcomes if o.interrupted]

    @property
    def spent(self) -> Decimal:
        """Known spend; see `unknown_spend` for generations whose price is not known."""
        return total([o.spent for o in self.outcomes if o.ok])[0]

    @property
    def unknown_spend(self) -> int:
        return total([o.spent for o in self.outcomes if o.ok])[1]

    @property
    def committed_spend(self) -> tuple[Decimal, int]:
        """The part of the spend that tasks submitted before this apply account for (its plan's
        committed cost): the rest is the new spend its estimate covered."""
        return total([o.spent for o in self.outcomes if o.ok and o.committed_before])
