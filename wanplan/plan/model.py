"""A plan and its changes, as values: renderers and apply read them, nothing mutates them."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from decimal import Decimal

from wanplan.key.file_hashes import FileStamp
from wanplan.money import total
from wanplan.spec.resolve import ResolvedAsset
from wanplan.state.records import AssetRecord, GenerationRecord, TaskRecord


class Action(enum.StrEnum):
    CREATE = "create"
    REPLACE = "replace"
    REUSE = "reuse"
    RESUME = "resume"
    REPAIR = "repair"
    DELETE = "delete"
    UNCHANGED = "unchanged"


SYMBOLS: dict[Action, str] = {
    Action.CREATE: "+",
    Action.REPLACE: "~",
    Action.REUSE: "=",
    Action.RESUME: ">",
    Action.REPAIR: "!",
    Action.DELETE: "-",
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
    def content_key(self) -> str | None:
        return self.asset.content_key if self.asset else None

    @property
    def previous_content_key(self) -> str | None:
        return self.previous.content_key if self.previous else None

    @property
    def provider(self) -> str | None:
        return self.asset.provider if self.asset else None


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
    def has_changes(self) -> bool:
        return bool(self.changes)
