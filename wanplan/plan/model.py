"""A plan and its changes, as values: renderers and apply read them, nothing mutates them."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import NamedTuple

from wanplan.key.file_hashes import FileStamp
from wanplan.money import total
from wanplan.plan.diff import FieldDiff
from wanplan.spec.resolved import ResolvedAsset
from wanplan.state.records import INTENT, AssetRecord, GenerationRecord, TaskRecord


class Action(enum.StrEnum):
    CREATE = "create"
    REPLACE = "replace"
    REUSE = "reuse"
    RESUME = "resume"
    REPAIR = "repair"
    DELETE = "delete"
    UNCONFIRMED = "unconfirmed"
    UNCHANGED = "unchanged"


SYMBOLS: dict[Action, str] = {
    Action.CREATE: "+",
    Action.REPLACE: "~",
    Action.REUSE: "=",
    Action.RESUME: ">",
    Action.REPAIR: "!",
    Action.DELETE: "-",
    Action.UNCONFIRMED: "?",
}


@dataclass(frozen=True, slots=True)
class PlanChange:
    address: str
    action: Action
    reasons: tuple[str, ...] = ()
    estimated_cost: Decimal | None = Decimal(0)
    """None when the price is not known: never shown as $0."""
    asset: ResolvedAsset | None = None
    """The declared asset (None for a delete)."""
    previous: AssetRecord | None = None
    source: GenerationRecord | None = None
    """The generation whose bytes a reuse or repair restores."""
    task: TaskRecord | None = None
    """The earlier task a resume collects."""
    warnings: tuple[str, ...] = ()
    waits_for: str | None = None
    """A reuse of content that another change of this plan generates."""
    cost_at_risk: Decimal | None = Decimal(0)
    """For `unconfirmed`: what the earlier submit may have cost (None: unknown)."""
    diff: tuple[FieldDiff, ...] = ()
    """For a change of content at a recorded address: each field, before → after."""
    moved: AssetRecord | None = None
    """For a rename: the record of the old address, which this change takes over (its output
    file is removed and the address forgotten once the new one is written)."""
    file_source: AssetRecord | None = None
    """Where the cache lacks the result (a fresh CI runner, `gc`): the recorded output whose
    intact file holds it (an old address, this one's own old path, or another address that
    moves away); apply puts that file in the cache first, checked against its digest."""

    @property
    def moved_from(self) -> str | None:
        return self.moved.address if self.moved is not None else None

    @property
    def generates(self) -> bool:
        """Whether this change has a provider make something (or collect what it made)."""
        return self.source is None and self.action in (
            Action.CREATE,
            Action.REPLACE,
            Action.RESUME,
            Action.REPAIR,
        )

    @property
    def committed_cost(self) -> Decimal | None:
        """For `resume`: what the task submitted earlier costs, already paid and not part of
        the new spend (its price quote, else its estimate; None: unknown)."""
        if self.action is not Action.RESUME:
            return Decimal(0)
        return self.task.committed_cost if self.task is not None else None

    @property
    def content_key(self) -> str | None:
        return self.asset.content_key if self.asset else None

    @property
    def previous_content_key(self) -> str | None:
        return self.previous.content_key if self.previous else None

    @property
    def provider(self) -> str | None:
        return self.asset.provider if self.asset else None


class DeclaredCost(NamedTuple):
    """A declared asset and what generating it from scratch would cost (None: unknown)."""

    address: str
    content_key: str
    rebuild_cost: Decimal | None


@dataclass
class Plan:
    profile: str
    lineage: str | None
    serial: int
    changes: list[PlanChange]
    """Every change, sorted by address; unchanged assets are only counted."""
    unchanged: int
    fresh_file_stamps: dict[str, FileStamp] = field(default_factory=dict)
    """Input hashes computed while planning, for apply to remember."""
    targets: tuple[str, ...] = ()
    force_replace: tuple[str, ...] = ()
    scope: frozenset[str] = frozenset()
    """The addresses planned: the targets and the assets they use; empty for all."""
    declared_assets: Sequence[ResolvedAsset] = ()
    """Every declared asset, in and out of the plan's scope (`targets`)."""
    recorded: Mapping[str, AssetRecord] = field(default_factory=dict)
    """What the state holds for this profile, in and out of scope."""
    recorded_costs: dict[str, Decimal | None] = field(default_factory=dict)
    """The rebuild cost of the state's version of each changed or deleted address."""
    estimator: Callable[[ResolvedAsset], Decimal | None] | None = None

    def count(self, action: Action) -> int:
        if action is Action.UNCHANGED:
            return self.unchanged
        return sum(1 for c in self.changes if c.action is action)

    @property
    def estimated_cost(self) -> Decimal:
        return total([c.estimated_cost for c in self.changes])[0]

    @property
    def unknown_cost(self) -> int:
        return total([c.estimated_cost for c in self.changes])[1]

    @property
    def committed_cost(self) -> tuple[Decimal, int]:
        """What the tasks this plan resumes cost (paid already): (known, unknown count)."""
        return total([c.committed_cost for c in self.changes if c.action is Action.RESUME])

    @property
    def cost_at_risk(self) -> tuple[Decimal, int]:
        """What unconfirmed submits may have cost: (known, unknown count)."""
        return total([c.cost_at_risk for c in self.changes if c.action is Action.UNCONFIRMED])

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    # Computed on demand: a plain `plan` needs none of it, and it costs per asset.

    def in_scope(self, address: str) -> bool:
        return not self.scope or address in self.scope

    @cached_property
    def declared(self) -> list[DeclaredCost]:
        """Every declared asset in scope, with what generating it from scratch would cost."""
        estimator = self.estimator or (lambda asset: None)
        return [
            DeclaredCost(a.address, a.content_key, estimator(a))
            for a in self.declared_assets
            if self.in_scope(a.address)
        ]

    @property
    def inputs(self) -> dict[str, str]:
        """Every local input file the specs use, with its sha256."""
        return {
            ref.source: ref.sha256
            for asset in self.declared_assets
            for ref in asset.inputs
            if ref.sha256 is not None
        }

    @property
    def rebuild_cost_after(self) -> tuple[Decimal, int]:
        """The full rebuild cost of the declared assets in scope: (known, unknown count)."""
        return total([d.rebuild_cost for d in self.declared])

    @property
    def rebuild_cost_before(self) -> tuple[Decimal, int]:
        """The same for what the state holds now."""
        declared = {d.address: d.rebuild_cost for d in self.declared}
        return total(
            [
                self.recorded_costs[address]
                if address in self.recorded_costs
                else declared[address]
                for address in self.recorded
                if self.in_scope(address)
            ]
        )


def unconfirmed_reason(task: TaskRecord) -> str:
    """Why a submit's outcome is unknown, for the plan and apply's failure."""
    when = task.sent_at or task.submitted_at
    sent = f"journal row {task.id}, sent {when[:10]} {when[11:19]} UTC"
    if task.status == INTENT:
        return f"a submit ({sent}) was cut off before its answer was recorded"
    why = (task.error or "").removeprefix("unconfirmed: ")
    return f"a submit ({sent}) may have made a task: {why or 'its outcome is unknown'}"
