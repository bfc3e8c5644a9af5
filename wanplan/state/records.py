"""Rows of the state, as the rest of wanplan sees them (independent of the backend).

NamedTuples, not frozen dataclasses: as immutable, and five times cheaper to build, which
matters at one record per asset in a plan of 100,000 assets."""

from __future__ import annotations

import datetime
import time
from decimal import Decimal
from typing import Any, NamedTuple

from wanplan.money import as_micros

COPIED_TABLES = ("assets", "generations", "tasks", "ledger")
"""What `state copy` moves between backends, in this order (the ledger refers to tasks), with
the lineage and serial: everything but the lock, claims and one machine's file stamps."""


def restorable(table: str, row: dict[str, Any]) -> dict[str, Any]:
    """A copied row as this version stores it: a ledger row's exact micro-units follow from its
    decimal amount (a snapshot from an older schema has none)."""
    if table == "ledger":
        return {**row, "amount_micros": as_micros(row.get("amount"))}
    return row


class StateSnapshot(NamedTuple):
    lineage: str
    serial: int
    tables: dict[str, list[dict[str, Any]]]
    """Rows by table (COPIED_TABLES), each a column → value mapping, ids included."""


class AssetRecord(NamedTuple):
    """The current generation of one asset address in one profile."""

    address: str
    profile: str
    content_key: str
    output_path: str
    """Relative to the project root."""
    output_sha256: str
    output_size: int
    output_mtime_ns: int
    updated_at: str


class GenerationRecord(NamedTuple):
    """A content key that was generated, and where its bytes are."""

    content_key: str
    blob_sha256: str
    extension: str
    media_type: str


class TaskRecord(NamedTuple):
    """A provider task in the journal."""

    id: int
    provider: str
    model_id: str
    task_id: str | None
    content_key: str
    address: str
    profile: str
    status: str
    submitted_at: str
    updated_at: str
    estimated_cost: Decimal | None
    error: str | None
    quoted_cost: Decimal | None = None
    """The provider's price quote for it, when it gave one at submit."""
    sent_at: str | None = None
    """When its submit request was last sent (the start of the window in which the provider
    may have made the task)."""
    unknown_until: str | None = None
    """The end of the window in which the provider may have made its task: while it is being
    sent, the moment apply gives up waiting for the answer (what counts should the process
    die); once it failed, the moment it failed."""

    @property
    def committed_cost(self) -> Decimal | None:
        """What it costs by the figures known before collection: its price quote, else its
        estimate (None: unknown)."""
        return self.quoted_cost if self.quoted_cost is not None else self.estimated_cost

    @property
    def outcome_unknown(self) -> bool:
        """A submit that may or may not have made (and be paid for) a task."""
        return self.status in UNKNOWN_STATUSES


# Task statuses. `intent` is written just before the submit request, so a crash between the
# provider's answer and our commit leaves a visible trace instead of a silent second payment.
# An intent found by a later apply, or a submit that failed in a way that may still have made a
# task (a 500, a dropped connection), is a submit whose outcome is unknown: reconciliation
# (apply/reconcile.py) settles it as adopted (`submitted`), `not_created`, or leaves it
# `unconfirmed` until the user imports its task or replaces it knowingly (`abandoned`).
INTENT = "intent"
UNCONFIRMED = "unconfirmed"
SUBMITTED = "submitted"
SUCCEEDED = "succeeded"
FAILED = "failed"
COLLECTED = "collected"
ABANDONED = "abandoned"
NOT_CREATED = "not_created"
UNKNOWN_STATUSES = (INTENT, UNCONFIRMED)
OPEN_STATUSES = (INTENT, UNCONFIRMED, SUBMITTED, SUCCEEDED)


def now_iso() -> str:
    """The state's timestamps: UTC, ISO 8601, milliseconds."""
    return iso(time.time())


def iso(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).isoformat(timespec="milliseconds")


def epoch(timestamp: str) -> float:
    """A state timestamp as epoch seconds."""
    return datetime.datetime.fromisoformat(timestamp).timestamp()
