"""The state backend interface: a store (where a state lives) opens readers and writers.

SQLite (one machine) and PostgreSQL (a team, PRODUCT §11) implement it. Only `wanplan/backends.py`
names a concrete backend; everything else works through these protocols."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from wanplan.key.file_hashes import FileStamp
from wanplan.state.lock import LockHolder
from wanplan.state.records import AssetRecord, GenerationRecord, StateSnapshot, TaskRecord


class StateReader(Protocol):
    @property
    def lineage(self) -> str | None: ...

    @property
    def serial(self) -> int: ...

    def assets(self, profile: str) -> dict[str, AssetRecord]: ...

    def all_assets(self) -> list[AssetRecord]: ...

    def generation(self, content_key: str) -> GenerationRecord | None:
        """Where the bytes of a generated content key are, if it was generated."""
        ...

    def generation_details(self, content_key: str) -> dict[str, Any] | None:
        """The full generation row (material, model, cost, task id) for display."""
        ...

    def material(self, content_key: str) -> dict[str, Any] | None: ...

    def all_generations(self) -> list[GenerationRecord]:
        """Every generated content key and its blob, for checking and collecting the cache."""
        ...

    def open_tasks(self) -> list[TaskRecord]: ...

    def task(self, task_ref: int) -> TaskRecord | None:
        """One journal row, whatever its status."""
        ...

    def known_task_ids(self, provider: str, task_ids: Sequence[str]) -> dict[str, str | None]:
        """The ones among `task_ids` that the journal records for `provider`, each with when
        its submit was sent (ISO 8601; None for a row written before send times were kept)."""
        ...

    def judged_none(self, content_key: str, since: str, before: str) -> int:
        """How many submits of this content key sent from `since` to just before `before` (ISO
        8601) were judged to have made no task (`not_created`)."""
        ...

    def file_stamps(self) -> dict[str, FileStamp]: ...

    def lock_holder(self) -> LockHolder | None: ...

    def ledger(self, day: str | None = None) -> Iterator[dict[str, Any]]:
        """Every spend row (of one UTC day, "2026-11-21", when given), oldest first."""
        ...

    def close(self) -> None: ...

    def snapshot(self) -> StateSnapshot:
        """Everything `state copy` moves (records.COPIED_TABLES, the lineage and serial)."""
        ...


class StateWriter(StateReader, Protocol):
    def acquire_lock(
        self,
        holder: LockHolder,
        timeout: float,
        on_wait: Callable[[LockHolder], None] | None = None,
        *,
        shared: bool = False,
    ) -> list[str]:
        """Take the state lock within `timeout` seconds or raise StateError naming the holder;
        returns warnings (a dead local holder broken)."""
        ...

    def try_lock(
        self, holder: LockHolder, *, shared: bool = False
    ) -> tuple[LockHolder | None, list[str]]:
        """One attempt at the state lock: (None, warnings) when taken, or (the holder that
        has it, []). `shared`: an apply, beside other applies where the state lets runners
        coordinate (see `coordination`); elsewhere the same as alone."""
        ...

    def coordination(self) -> Coordination | None:
        """How runners sharing this state agree on claims and the account's limits (PRODUCT
        §11); None for one machine's state, whose applies take turns under the lock."""
        ...

    def release_lock(self, lock_id: str) -> None: ...

    def claim(self, content_key: str, holder: str, lease_seconds: float) -> str | None:
        """Claim a content key before its submit (PRODUCT §11): None when `holder` has it now
        (new, its own, or another's whose lease lapsed), else the holder of the live claim."""
        ...

    def renew_claims(self, holder: str, lease_seconds: float) -> int:
        """The heartbeat: `holder`'s claims live `lease_seconds` from now; how many it holds."""
        ...

    def release_claims(self, holder: str) -> None: ...

    def force_unlock(self, lock_id: str) -> LockHolder: ...

    def transaction(self) -> AbstractContextManager[None]:
        """All writes inside one block commit together or not at all."""
        ...

    def record_intent(
        self,
        *,
        provider: str,
        model_id: str,
        content_key: str,
        address: str,
        profile: str,
        estimated_cost: Decimal | None,
        answer_by: float | None = None,
    ) -> int:
        """The journal row of a submit about to be sent; `answer_by` (epoch seconds) is when it
        gives up waiting for the answer: the end of its window should the process die."""
        ...

    def record_sending(self, task_ref: int, answer_by: float | None = None) -> None:
        """The submit of this intent is sent (again, after a refusal): its window starts now."""
        ...

    def record_submitted(self, task_ref: int, task_id: str, note: str | None = None) -> None:
        """The provider's task id, committed before anything else is done with the answer."""
        ...

    def record_quote(self, task_ref: int, quoted_cost: Decimal) -> None:
        """The provider's price quote for a submitted task (asked after its id is committed)."""
        ...

    def record_unconfirmed(self, task_ref: int, reason: str, unknown_until: str | None) -> None:
        """The submit's outcome is unknown: the provider may have made (and charge) a task."""
        ...

    def record_task_status(self, task_ref: int, status: str, error: str | None = None) -> None: ...

    def take_collection(self, task_ref: int) -> bool:
        """Mark the task collected, atomically: True for the one writer that did, False when
        another runner collected it first (its generation and spend are recorded once)."""
        ...

    def record_generation(
        self,
        *,
        content_key: str,
        provider: str,
        model_id: str,
        mode: str,
        material: Mapping[str, Any],
        blob_sha256: str,
        extension: str,
        media_type: str,
        size: int,
        task_id: str | None,
        address: str,
    ) -> None: ...

    def record_spend(
        self,
        *,
        task_ref: int,
        provider: str,
        address: str,
        profile: str,
        content_key: str,
        amount: Decimal | None,
        source: str,
    ) -> None: ...

    def set_asset(self, record: AssetRecord) -> None:
        """Make `record` the current generation of its address (serial + 1)."""
        ...

    def forget_assets(self, profile: str, addresses: Sequence[str]) -> None:
        """Drop these records (serial + 1); generations, blobs and outputs stay."""
        ...

    def move_asset(self, profile: str, source: str, destination: str, output_path: str) -> None:
        """Rename an address with its open journal tasks (serial + 1)."""
        ...

    def restamp_outputs(self, records: Sequence[AssetRecord]) -> None:
        """Record these assets' output size and mtime (serial + 1 when any)."""
        ...

    def forget_generations(self, content_keys: Sequence[str]) -> None:
        """Drop these generations' records (their blobs are being removed from a shared
        cache, where a recorded generation promises its blob)."""
        ...

    def discard_task(self, task_ref: int) -> None:
        """Delete a journal row that recorded nothing: no spend refers to it."""
        ...

    def save_file_stamps(self, stamps: Mapping[str, FileStamp]) -> None: ...

    def restore(self, snapshot: StateSnapshot) -> None:
        """Fill a state that records nothing yet with `snapshot`, ids and lineage kept, in one
        transaction (StateError when it already records something)."""
        ...


class Coordination(Protocol):
    """What the runners sharing one state agree through it (PRODUCT §11): content keys
        claimed before their submit, the account's concurrent tasks, request rate and day's
        budget, and each model's gate (submits share it; reading the task list to settle an unknown
    submit holds it alone). Leases run on the state's clock; a heartbeat
        renews everything a runner holds."""

    def claim(self, content_key: str, holder: str, lease_seconds: float) -> str | None:
        """None when `holder` has the key now, else the holder of the live claim."""
        ...

    def release_claim(self, content_key: str, holder: str) -> None: ...

    def renew_claim(self, content_key: str, holder: str, lease_seconds: float) -> bool:
        """Whether `holder` still holds the key (its lease renewed); False once it lapsed."""
        ...

    def live_claims(self) -> dict[str, str]:
        """Content key → holder of every claim whose lease has not lapsed."""
        ...

    def try_gate(self, name: str, *, shared: bool = False) -> bool:
        """Take the lock `name` without waiting, alone or `shared` with other holders; it goes
        with this connection if not released."""
        ...

    def release_gate(self, name: str, *, shared: bool = False) -> None: ...

    def take_slot(self, provider: str, limit: int, holder: str, lease_seconds: float) -> int | None:
        """One of the account's `limit` tasks at `provider` at once; None when all are held."""
        ...

    def release_slot(self, provider: str, slot: int, holder: str) -> None: ...

    def take_request(self, provider: str, per_minute: float) -> float:
        """0 when one request may be sent now (its token taken), else the seconds to wait."""
        ...

    def budget_turn(self) -> AbstractContextManager[None]:
        """One transaction in which no other runner reserves: check, then `reserve`."""
        ...

    def reserved(self, day: str, excluding: str) -> Decimal:
        """What other live runners reserved for `day` (UTC) and have not drawn yet."""
        ...

    def reserve(self, holder: str, day: str, amount: Decimal, lease_seconds: float) -> None: ...

    def draw(self, holder: str, amount: Decimal) -> None:
        """A task is paid for: its estimate leaves the reservation (inside the commit)."""
        ...

    def release_reservation(self, holder: str) -> None: ...

    def heartbeat(self, holder: str, lease_seconds: float) -> int:
        """Renew all `holder` holds for `lease_seconds`; returns how many claims it holds."""
        ...

    def release_all(self, holder: str) -> None: ...


class StateStore(Protocol):
    """Where one project's state lives. Nothing is opened, created or locked until asked."""

    @property
    def label(self) -> str:
        """How messages name it: `state/wanplan.db`, or a URL without its secrets."""
        ...

    @property
    def disk(self) -> Path | None:
        """The local folder it writes to (its free space is checked before an apply), or None
        for a state on a server."""
        ...

    def exists(self) -> bool:
        """Whether a state was ever written here (a missing one reads as empty)."""
        ...

    def check_confined(self) -> None:
        """Refuse a state reached through a link out of the project (StateError)."""
        ...

    def open_reader(self) -> StateReader:
        """Read-only: it never changes a byte, even when the schema needs a migration."""
        ...

    def open_writer(self) -> StateWriter:
        """For writing, created and migrated as needed. Callers take the lock before writing."""
        ...

    def at_rest(self) -> bool:
        """Nothing of a writer is left beside the state (SQLite: no write-ahead log): what a
        CI job commits or uploads is complete on its own."""
        ...

    def owns(self, path: Path) -> bool:
        """Whether writing `path` would overwrite the state (a plan saved over it)."""
        ...
