"""The SQLite state backend, through sqlite-utils.

Readers open the file read-only (or, when it needs a migration, migrate a copy in memory), so
`plan` never changes a byte of it. The writer runs in WAL mode while it works, so a concurrent
`plan` can read, and goes back to a self-contained rollback-journal file when it closes: the
file at rest is safe to commit.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import sqlite_utils

from wanplan import confine
from wanplan.errors import StateError, StateWriteError
from wanplan.key.file_hashes import FileStamp
from wanplan.money import as_decimal_string, as_micros, in_micros
from wanplan.state import migrations
from wanplan.state.lock import LockHolder, is_alive, wait_for_lock
from wanplan.state.records import (
    COLLECTED,
    COPIED_TABLES,
    INTENT,
    NOT_CREATED,
    OPEN_STATUSES,
    SUBMITTED,
    UNCONFIRMED,
    AssetRecord,
    GenerationRecord,
    StateSnapshot,
    TaskRecord,
    iso,
    now_iso,
    restorable,
)

BUSY_TIMEOUT_MS = 10_000


def _decimal(value: str | None) -> Decimal | None:
    return Decimal(value) if value is not None else None


SQLITE_MAGIC = b"SQLite format 3\x00"


def _not_a_state(path: Path, what: str) -> str:
    return (
        f"{path} is {what}: not a readable wanplan state, and only a missing file starts a "
        "new one; nothing was sent. Restore it (from git: "
        f"`git checkout -- {path.name}` in its folder), or move it away to start a new, "
        "empty state knowingly"
    )


def check_state_file(path: Path) -> None:
    """Refuse, from its header alone, a state file that is empty, not SQLite or truncated.
    (A truncated file would read as a state that lost its latest rows.)"""
    try:
        size = path.stat().st_size
        with path.open("rb") as file:
            header = file.read(100)
    except OSError as exc:
        raise StateError(f"{path}: cannot read the state ({exc.strerror or exc})") from None
    if size == 0:
        raise StateError(_not_a_state(path, "empty (0 bytes)"))
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        raise StateError(_not_a_state(path, "not an SQLite database"))
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    # The page count in the header is valid when written by the same change as the counter.
    counted = header[24:28] == header[92:96] and pages > 0
    # A checkpoint cut off by a kill leaves a short file whose pages SQLite recovers from the
    # write-ahead log: only without one is a short file truncated.
    wal = path.with_name(f"{path.name}-wal")
    if counted and size < pages * page_size and not (wal.exists() and wal.stat().st_size > 0):
        raise StateError(_not_a_state(path, f"truncated ({size} of {pages * page_size} bytes)"))


def _create_state_file(path: Path) -> None:
    """A new state is born whole: made beside its place, then linked in only if no other
    process made one first (the loser of that race opens the winner's)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{uuid.uuid4().hex}.new")
    try:
        conn = sqlite3.connect(draft)
        try:
            db = sqlite_utils.Database(conn)
            migrations.migrate(db, now_iso())
            with db.atomic():
                db.table("meta").insert_all(
                    [
                        {"key": "lineage", "value": str(uuid.uuid4())},
                        {"key": "serial", "value": "0"},
                    ]
                )
        finally:
            conn.close()
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        except OSError:  # a filesystem without hard links: a plain rename, if still free
            if not path.exists():
                os.replace(draft, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            draft.unlink()


class SqliteState:
    """A reader, and with `writable=True` a writer, over one SQLite state file."""

    def __init__(self, db: sqlite_utils.Database, path: Path, *, writable: bool) -> None:
        self.db = db
        self.path = path
        self.writable = writable
        self._tables: frozenset[str] | None = None

    # ---- opening -------------------------------------------------------------------------

    @classmethod
    def open_reader(cls, path: Path) -> SqliteState:
        """Read-only; an absent file reads as an empty state and is not created."""
        if not path.exists():
            return cls(sqlite_utils.Database(memory=True), path, writable=False)
        if not path.is_file():
            raise StateError(f"{path} is not a file; the state is one SQLite file")
        check_state_file(path)
        try:
            try:
                db = cls._checked(cls._read_only(path), path)
            except sqlite3.OperationalError as exc:
                # A killed writer's log that only a write can recover, met by any statement.
                if getattr(exc, "sqlite_errorcode", 0) & 0xFF != sqlite3.SQLITE_READONLY:
                    raise
                db = cls._checked(cls._recovered_copy(path), path)
        except sqlite3.DatabaseError as exc:
            raise StateError(f"{path}: not a readable wanplan state ({exc})") from None
        return cls(db, path, writable=False)

    @classmethod
    def _checked(cls, conn: sqlite3.Connection, path: Path) -> sqlite_utils.Database:
        """A wanplan state this version can read, migrated in memory when it is older."""
        try:
            db = sqlite_utils.Database(conn)
            cls._check_wanplan_state(db, path)
            cls._check_compatible(db, path)
            if migrations.pending(db):
                memory = sqlite3.connect(":memory:", check_same_thread=False)
                conn.backup(memory)
                conn.close()
                db = sqlite_utils.Database(memory)
                migrations.migrate(db, now_iso())
        except BaseException:
            conn.close()
            raise
        return db

    @staticmethod
    def _read_only(path: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False
        )
        try:
            conn.execute("select count(*) from sqlite_master").fetchone()  # opens the WAL too
        except BaseException:
            conn.close()
            raise
        return conn

    @staticmethod
    def _recovered_copy(path: Path) -> sqlite3.Connection:
        """The state as of its last commit, when a read-only connection cannot open it: a
        writer was killed and its write-ahead log needs a recovery, which writes. The file
        and its log are copied aside and recovered there, into memory; the state's own files
        are not touched (a plan changes no byte of them)."""
        with tempfile.TemporaryDirectory(prefix="wanplan-state-") as folder:
            copy = Path(folder) / "state.db"
            shutil.copyfile(path, copy)
            wal = path.with_name(f"{path.name}-wal")
            with contextlib.suppress(FileNotFoundError):
                shutil.copyfile(wal, copy.with_name("state.db-wal"))
            source = sqlite3.connect(copy)
            try:
                memory = sqlite3.connect(":memory:", check_same_thread=False)
                source.backup(memory)
            finally:
                source.close()
        return memory

    @classmethod
    def open_writer(cls, path: Path) -> SqliteState:
        """Open (creating and migrating as needed) for writing. Two processes opening a new
        state at once race for its first schema: the loser waits and tries again."""
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                return cls._open_writer_once(path)
            except sqlite3.OperationalError as exc:
                busy = "locked" in str(exc) or "busy" in str(exc)
                if not busy or time.monotonic() >= deadline:
                    raise StateError(f"{path}: cannot open the state for writing ({exc})") from None
                time.sleep(0.05)
            except sqlite3.DatabaseError as exc:
                raise StateError(f"{path}: cannot open the state for writing ({exc})") from None
            except OSError as exc:
                raise StateWriteError(
                    f"{path}: cannot create the state ({exc.strerror or exc})"
                ) from None

    @classmethod
    def _open_writer_once(cls, path: Path) -> SqliteState:
        if not path.exists():
            _create_state_file(path)
        check_state_file(path)
        # Used from one thread at a time, not always the one that opened it: apply's engine
        # runs the state's calls on a worker thread of their own, off the event loop.
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
        try:
            db = sqlite_utils.Database(conn)
            cls._check_wanplan_state(db, path)
            cls._check_compatible(db, path)
            db.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL still survives a killed process (kill -9, a cancelled CI
            # job), which is what the journal must outlive; only an OS crash or power loss may
            # lose the last commits. FULL would fsync each of the journal's commits per asset.
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            migrations.migrate(db, now_iso())
        except BaseException:
            conn.close()
            raise
        return cls(db, path, writable=True)

    @staticmethod
    def _check_wanplan_state(db: sqlite_utils.Database, path: Path) -> None:
        """Only a missing file is a new state: an SQLite file without wanplan's bookkeeping
        (another program's database, or one emptied by hand) is refused, never adopted as
        empty, which would generate (and pay for) everything again."""
        tables = set(db.table_names())
        if migrations.MIGRATIONS_TABLE not in tables or "meta" not in tables:
            raise StateError(_not_a_state(path, "an SQLite database without wanplan's tables"))
        if not db.execute("select 1 from meta where key = 'lineage'").fetchone():
            raise StateError(_not_a_state(path, "a wanplan database without its lineage"))

    @staticmethod
    def _check_compatible(db: sqlite_utils.Database, path: Path) -> None:
        newer = migrations.unknown(db)
        if newer:
            raise StateError(
                f"{path} was written by a newer wanplan (schema {newer[-1]}); upgrade wanplan"
            )

    def close(self) -> None:
        if self.writable:
            # Fold the WAL back in, so the file at rest is complete on its own. When another
            # connection still has the database open, it cannot be done now: the last writer
            # to close does it.
            with contextlib.suppress(sqlite3.OperationalError):
                self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                self.db.execute("PRAGMA journal_mode=DELETE")
        self.db.close()

    # ---- reading -------------------------------------------------------------------------

    def _meta(self, key: str) -> str | None:
        if not self._has("meta"):
            return None
        rows = list(self.db.query("select value from meta where key = ?", [key]))
        return rows[0]["value"] if rows else None

    @property
    def lineage(self) -> str | None:
        return self._meta("lineage")

    @property
    def serial(self) -> int:
        value = self._meta("serial") or "0"
        try:
            return int(value)
        except ValueError:
            raise StateError(
                f"{self.path}: its serial is not a number ({value[:20]!r}): the file was edited "
                "by hand; restore it (from git: `git checkout -- "
                f"{self.path.name}` in its folder)"
            ) from None

    def _has(self, table: str) -> bool:
        if self._tables is None:
            self._tables = frozenset(self.db.table_names())
        return table in self._tables

    _ASSET_COLUMNS = (
        "select address, profile, content_key, output_path, output_sha256, output_size,"
        " output_mtime_ns, updated_at from assets"
    )
    _GENERATION_COLUMNS = "select content_key, blob_sha256, extension, media_type from generations"

    def assets(self, profile: str) -> dict[str, AssetRecord]:
        if not self._has("assets"):
            return {}
        rows = self.db.execute(f"{self._ASSET_COLUMNS} where profile = ?", [profile]).fetchall()
        return {row[0]: AssetRecord(*row) for row in rows}

    def all_assets(self) -> list[AssetRecord]:
        if not self._has("assets"):
            return []
        rows = self.db.execute(f"{self._ASSET_COLUMNS} order by profile, address").fetchall()
        return [AssetRecord(*row) for row in rows]

    def generation(self, content_key: str) -> GenerationRecord | None:
        if not self._has("generations"):
            return None
        row = self.db.execute(
            f"{self._GENERATION_COLUMNS} where content_key = ?", [content_key]
        ).fetchone()
        return GenerationRecord(*row) if row else None

    def generation_details(self, content_key: str) -> dict[str, Any] | None:
        if not self._has("generations"):
            return None
        rows = list(self.db.query("select * from generations where content_key = ?", [content_key]))
        if not rows:
            return None
        row = dict(rows[0])
        row["material"] = json.loads(row["material"])
        spent = self.db.execute(
            "select amount, source from ledger where content_key = ? order by id desc limit 1",
            [content_key],
        ).fetchone()
        row["cost"], row["cost_source"] = spent if spent else (None, None)
        return row

    def material(self, content_key: str) -> dict[str, Any] | None:
        if not self._has("generations"):
            return None
        row = self.db.execute(
            "select material from generations where content_key = ?", [content_key]
        ).fetchone()
        return json.loads(row[0]) if row else None

    def all_generations(self) -> list[GenerationRecord]:
        if not self._has("generations"):
            return []
        rows = self.db.execute(f"{self._GENERATION_COLUMNS} order by content_key").fetchall()
        return [GenerationRecord(*row) for row in rows]

    _TASK_COLUMNS = (
        "select id, provider, task_id, content_key, address, profile, status, submitted_at,"
        " updated_at, estimated_cost, error, model_id, quoted_cost, sent_at, unknown_until"
        " from tasks"
    )

    @staticmethod
    def _task_record(row: Any) -> TaskRecord:
        return TaskRecord(
            id=row[0],
            provider=row[1],
            model_id=row[11] or "",
            task_id=row[2],
            content_key=row[3],
            address=row[4],
            profile=row[5],
            status=row[6],
            submitted_at=row[7],
            updated_at=row[8],
            estimated_cost=_decimal(row[9]),
            error=row[10],
            quoted_cost=_decimal(row[12]),
            sent_at=row[13],
            unknown_until=row[14],
        )

    def open_tasks(self) -> list[TaskRecord]:
        if not self._has("tasks"):
            return []
        marks = ",".join("?" for _ in OPEN_STATUSES)
        rows = self.db.execute(
            f"{self._TASK_COLUMNS} where status in ({marks}) order by id", list(OPEN_STATUSES)
        ).fetchall()
        return [self._task_record(row) for row in rows]

    def task(self, task_ref: int) -> TaskRecord | None:
        if not self._has("tasks"):
            return None
        row = self.db.execute(f"{self._TASK_COLUMNS} where id = ?", [task_ref]).fetchone()
        return self._task_record(row) if row else None

    def judged_none(self, content_key: str, since: str, before: str) -> int:
        if not self._has("tasks"):
            return 0
        row = self.db.execute(
            "select count(*) from tasks where content_key = ? and status = ?"
            " and coalesce(sent_at, submitted_at) >= ? and coalesce(sent_at, submitted_at) < ?",
            [content_key, NOT_CREATED, since, before],
        ).fetchone()
        return int(row[0])

    def known_task_ids(self, provider: str, task_ids: Sequence[str]) -> dict[str, str | None]:
        if not self._has("tasks") or not task_ids:
            return {}
        found: dict[str, str | None] = {}
        unique = list(dict.fromkeys(task_ids))
        for start in range(0, len(unique), 500):  # SQLite's limit on bound parameters
            chunk = unique[start : start + 500]
            marks = ",".join("?" for _ in chunk)
            rows = self.db.execute(
                f"select task_id, coalesce(sent_at, submitted_at) from tasks "
                f"where provider = ? and task_id in ({marks})",
                [provider, *chunk],
            ).fetchall()
            found.update((row[0], row[1]) for row in rows)
        return found

    def file_stamps(self) -> dict[str, FileStamp]:
        if not self._has("file_hashes"):
            return {}
        rows = self.db.execute(
            "select path, size, mtime_ns, inode, sha256, hashed_at_ns from file_hashes"
        ).fetchall()
        return {row[0]: FileStamp(*row[1:]) for row in rows}

    def ledger(self, day: str | None = None) -> Iterator[dict[str, Any]]:
        if not self._has("ledger"):
            return iter(())
        if day is not None:
            return self.db.query("select * from ledger where day = ? order by id", [day])
        return self.db.query("select * from ledger order by id")

    # ---- the lock ------------------------------------------------------------------------

    def lock_holder(self) -> LockHolder | None:
        if not self._has("locks"):
            return None
        row = self.db.execute(
            "select id, pid, host, command, started_at, process_start from locks"
            " where name = 'state'"
        ).fetchone()
        return LockHolder(*row) if row else None

    def try_lock(
        self, holder: LockHolder, *, shared: bool = False
    ) -> tuple[LockHolder | None, list[str]]:
        """One attempt: (None, warnings) when taken (a dead local holder broken, with a
        warning), or (the holder, []) when someone else holds it. Check and take happen in
        one IMMEDIATE transaction, so two processes can never both succeed. One machine's
        state is never `shared`: a second apply waits (PRODUCT §6)."""
        self._require_writable()
        self.db.execute("BEGIN IMMEDIATE")
        try:
            current = self.lock_holder()
            warnings: list[str] = []
            if current is not None and is_alive(current) is False:
                warnings.append(
                    f"broke the state lock of {current.describe()}: that process is gone"
                )
                current = None
            if current is None:
                self.db.execute(
                    "insert or replace into locks (name, id, pid, host, command, started_at,"
                    " process_start) values ('state', ?, ?, ?, ?, ?, ?)",
                    list(holder),
                )
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return current, warnings

    def acquire_lock(
        self,
        holder: LockHolder,
        timeout: float,
        on_wait: Callable[[LockHolder], None] | None = None,
        *,
        shared: bool = False,
    ) -> list[str]:
        """Take the state lock, waiting up to `timeout` seconds; returns warnings (a dead
        holder broken)."""
        return wait_for_lock(self.try_lock, holder, timeout, on_wait)

    def coordination(self) -> None:
        """One machine's state: its applies take turns, their limits are their own."""
        return None

    def release_lock(self, lock_id: str) -> None:
        with self.transaction():
            self.db.execute("delete from locks where name = 'state' and id = ?", [lock_id])

    def force_unlock(self, lock_id: str) -> LockHolder:
        with self.transaction():
            current = self.lock_holder()
            if current is None:
                raise StateError("the state is not locked")
            if current.id != lock_id:
                raise StateError(
                    f"lock ID {lock_id} does not match: the state is locked by {current.describe()}"
                )
            self.db.execute("delete from locks where name = 'state' and id = ?", [lock_id])
            return current

    def claim(self, content_key: str, holder: str, lease_seconds: float) -> str | None:
        """Claim a content key before its submit: None when `holder` has it now (new, its
        own, or another's whose lease lapsed), else the holder whose claim is live."""
        self._require_writable()
        now = time.time()
        self.db.execute("BEGIN IMMEDIATE")
        try:
            row = self.db.execute(
                "select holder, expires_at from claims where content_key = ?", [content_key]
            ).fetchone()
            if row is not None and row[0] != holder and row[1] > now:
                self.db.execute("COMMIT")
                return str(row[0])
            self.db.execute(
                "insert or replace into claims (content_key, holder, expires_at) values (?, ?, ?)",
                [content_key, holder, now + lease_seconds],
            )
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return None

    def renew_claims(self, holder: str, lease_seconds: float) -> int:
        """The heartbeat: every claim of `holder` lives `lease_seconds` from now; returns
        how many it holds."""
        with self.transaction():
            cursor = self.db.execute(
                "update claims set expires_at = ? where holder = ?",
                [time.time() + lease_seconds, holder],
            )
            return int(cursor.rowcount)

    def release_claims(self, holder: str) -> None:
        with self.transaction():
            self.db.execute("delete from claims where holder = ?", [holder])

    # ---- writing -------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._require_writable()
        try:
            with self.db.atomic():
                yield
        except sqlite3.OperationalError as exc:
            raise StateWriteError(f"{self.path}: cannot write the state ({exc})") from None

    def _require_writable(self) -> None:
        if not self.writable:
            raise StateError("internal: the state was opened read-only")

    def _bump_serial(self) -> None:
        self.db.execute("update meta set value = cast(value as integer) + 1 where key = 'serial'")

    # The journal's writes are plain SQL: they run several times per asset on apply's hot
    # path, where sqlite-utils' table introspection costs more than the writes themselves.

    def _insert(self, table: str, row: Mapping[str, Any], *, replace: bool = False) -> int:
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        verb = "insert or replace" if replace else "insert"
        cursor = self.db.execute(
            f"{verb} into {table} ({columns}) values ({marks})", list(row.values())
        )
        return int(cast(int, cursor.lastrowid))

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
        with self.transaction():
            now = now_iso()
            return self._insert(
                "tasks",
                {
                    "provider": provider,
                    "model_id": model_id,
                    "task_id": None,
                    "content_key": content_key,
                    "address": address,
                    "profile": profile,
                    "status": INTENT,
                    "submitted_at": now,
                    "sent_at": now,
                    "updated_at": now,
                    "estimated_cost": as_decimal_string(estimated_cost),
                    "error": None,
                    "unknown_until": None if answer_by is None else iso(answer_by),
                },
            )

    def record_sending(self, task_ref: int, answer_by: float | None = None) -> None:
        with self.transaction():
            now = now_iso()
            self.db.execute(
                "update tasks set sent_at = ?, updated_at = ?, unknown_until = ? where id = ?",
                [now, now, None if answer_by is None else iso(answer_by), task_ref],
            )

    def record_submitted(self, task_ref: int, task_id: str, note: str | None = None) -> None:
        with self.transaction():
            self.db.execute(
                "update tasks set task_id = ?, status = ?, updated_at = ?, error = ? where id = ?",
                [task_id, SUBMITTED, now_iso(), note, task_ref],
            )

    def record_quote(self, task_ref: int, quoted_cost: Decimal) -> None:
        with self.transaction():
            self.db.execute(
                "update tasks set quoted_cost = ? where id = ?",
                [as_decimal_string(quoted_cost), task_ref],
            )

    def record_unconfirmed(self, task_ref: int, reason: str, unknown_until: str | None) -> None:
        with self.transaction():
            self.db.execute(
                "update tasks set status = ?, error = ?, updated_at = ?,"
                " unknown_until = coalesce(?, unknown_until) where id = ?",
                [UNCONFIRMED, reason, now_iso(), unknown_until, task_ref],
            )

    def record_task_status(self, task_ref: int, status: str, error: str | None = None) -> None:
        with self.transaction():
            self.db.execute(
                "update tasks set status = ?, error = ?, updated_at = ? where id = ?",
                [status, error, now_iso(), task_ref],
            )

    def take_collection(self, task_ref: int) -> bool:
        with self.transaction():
            cursor = self.db.execute(
                "update tasks set status = ?, error = null, updated_at = ?"
                " where id = ? and status != ?",
                [COLLECTED, now_iso(), task_ref, COLLECTED],
            )
            return cursor.rowcount == 1

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
    ) -> None:
        with self.transaction():
            self._insert(
                "generations",
                {
                    "content_key": content_key,
                    "provider": provider,
                    "model_id": model_id,
                    "mode": mode,
                    "material": json.dumps(material, sort_keys=True, default=str),
                    "blob_sha256": blob_sha256,
                    "extension": extension,
                    "media_type": media_type,
                    "size": size,
                    "task_id": task_id,
                    "address": address,
                    "created_at": now_iso(),
                },
                replace=True,
            )

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
    ) -> None:
        with self.transaction():
            now = now_iso()
            self._insert(
                "ledger",
                {
                    "recorded_at": now,
                    "day": now[:10],
                    "task_ref": task_ref,
                    "provider": provider,
                    "address": address,
                    "profile": profile,
                    "content_key": content_key,
                    "amount": as_decimal_string(in_micros(amount)),
                    "amount_micros": as_micros(amount),
                    "currency": "USD",
                    "source": source,
                },
            )

    def set_asset(self, record: AssetRecord) -> None:
        with self.transaction():
            self._bump_serial()
            self._insert(
                "assets",
                {**record._asdict(), "serial": self.serial},
                replace=True,
            )

    def forget_assets(self, profile: str, addresses: Sequence[str]) -> None:
        with self.transaction():
            self._bump_serial()
            self.db.conn.executemany(
                "delete from assets where address = ? and profile = ?",
                [(address, profile) for address in addresses],
            )

    def move_asset(self, profile: str, source: str, destination: str, output_path: str) -> None:
        with self.transaction():
            self._bump_serial()
            self.db.execute(
                "update assets set address = ?, output_path = ?, serial = ?"
                " where address = ? and profile = ?",
                [destination, output_path, self.serial, source, profile],
            )
            marks = ",".join("?" for _ in OPEN_STATUSES)
            self.db.execute(
                f"update tasks set address = ? where address = ? and profile = ?"
                f" and status in ({marks})",
                [destination, source, profile, *OPEN_STATUSES],
            )

    def restamp_outputs(self, records: Sequence[AssetRecord]) -> None:
        if not records:
            return
        with self.transaction():
            self._bump_serial()
            serial = self.serial
            self.db.conn.executemany(
                "update assets set output_size = ?, output_mtime_ns = ?, serial = ?"
                " where address = ? and profile = ?",
                [(r.output_size, r.output_mtime_ns, serial, r.address, r.profile) for r in records],
            )

    def forget_generations(self, content_keys: Sequence[str]) -> None:
        with self.transaction():
            self.db.conn.executemany(
                "delete from generations where content_key = ?", [(key,) for key in content_keys]
            )

    def discard_task(self, task_ref: int) -> None:
        with self.transaction():
            self.db.execute("delete from tasks where id = ?", [task_ref])

    def save_file_stamps(self, stamps: Mapping[str, FileStamp]) -> None:
        if not stamps:
            return
        with self.transaction():
            self.db.table("file_hashes").insert_all(
                [
                    {
                        "path": path,
                        "size": s.size,
                        "mtime_ns": s.mtime_ns,
                        "inode": s.inode,
                        "sha256": s.sha256,
                        "hashed_at_ns": s.hashed_at_ns,
                    }
                    for path, s in stamps.items()
                ],
                replace=True,
            )

    def snapshot(self) -> StateSnapshot:
        tables = {
            table: [dict(row) for row in self.db.query(f"select * from {table} order by rowid")]
            if self._has(table)
            else []
            for table in COPIED_TABLES
        }
        return StateSnapshot(self.lineage or "", self.serial, tables)

    def restore(self, snapshot: StateSnapshot) -> None:
        with self.transaction():
            if self.all_assets() or self.db.execute("select count(*) from tasks").fetchone()[0]:
                raise StateError(f"{self.path} already records a state; copy into an empty one")
            for table in COPIED_TABLES:
                for row in snapshot.tables[table]:
                    self._insert(table, restorable(table, row))
            self.db.execute("update meta set value = ? where key = 'lineage'", [snapshot.lineage])
            self.db.execute(
                "update meta set value = ? where key = 'serial'", [str(snapshot.serial)]
            )


class SqliteStore:
    """The state as one SQLite file inside the project (the default; PRODUCT §2)."""

    def __init__(self, root: Path, path: Path) -> None:
        self.root = root
        self.path = path

    @property
    def label(self) -> str:
        return self.path.relative_to(self.root).as_posix()

    @property
    def disk(self) -> Path:
        return self.path.parent

    def exists(self) -> bool:
        return self.path.exists()

    def _companions(self) -> tuple[tuple[str, Path], ...]:
        return (
            ("the state file", self.path),
            ("the state's log", self.path.with_name(f"{self.path.name}-wal")),
            ("the state's shared memory", self.path.with_name(f"{self.path.name}-shm")),
        )

    def check_confined(self) -> None:
        """The file, its folder and SQLite's -wal and -shm files resolve inside the project:
        git keeps symlinks, so a merged pull request could plant one."""
        for label, path in self._companions():
            try:
                confine.resolved_inside(self.root, path)
            except confine.Confined as exc:
                relative = path.relative_to(self.root).as_posix()
                if "outside" in str(exc):
                    raise StateError(
                        f"{label} ({relative}) is a link that leads out of the project to "
                        f"{path.resolve()}; remove the link, wanplan reads and writes only "
                        "inside the project"
                    ) from None
                raise StateError(f"{label} ({relative}) {exc}") from None

    def open_reader(self) -> SqliteState:
        self.check_confined()
        return SqliteState.open_reader(self.path)

    def open_writer(self) -> SqliteState:
        self.check_confined()
        return SqliteState.open_writer(self.path)

    def at_rest(self) -> bool:
        return not self._companions()[1][1].exists()

    def owns(self, path: Path) -> bool:
        return path.resolve() == self.path.resolve()
