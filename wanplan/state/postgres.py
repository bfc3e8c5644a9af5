"""The PostgreSQL state backend (PRODUCT §11), through psycopg 3: one database holds a team's
state, every runner reaches it from `[state] url` or `WANPLAN_STATE_URL`.

The password never comes from the URL (wanplan refuses one): libpq's own environment supplies
it (`PGPASSWORD`, `PGPASSFILE`, `PGSSLMODE` …). Readers run read-only transactions, so a
read-only role is enough for `plan`. Schema migrations run once, by a writer, under an
advisory lock; a schema from a newer wanplan is refused. Input-file stamps are facts of one
machine's disk: this backend keeps none (inputs are hashed on each plan).
"""

from __future__ import annotations

import functools
import json
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from wanplan.errors import StateError, StateWriteError
from wanplan.key.file_hashes import FileStamp
from wanplan.money import as_decimal_string, as_micros, in_micros
from wanplan.state import postgres_team
from wanplan.state.lock import LockHolder, wait_for_lock
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
from wanplan.state.views import POSTGRES, view_definitions

MIGRATIONS_TABLE = "wanplan_migrations"
_NOW = "extract(epoch from clock_timestamp())"
_KEEPALIVE = {
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
}
"""libpq's defaults where the URL sets none (a URL's own settings win)."""
_ADVISORY_KEY = 0x77616E706C616E  # "wanplan": migrations, under a transaction's lock
_STATE_LOCK_KEY = _ADVISORY_KEY + 1  # the state lock, held by the writer's session

_SCHEMA = [
    "create table meta (key text primary key, value text not null)",
    """create table assets (
        address text not null, profile text not null, content_key text not null,
        output_path text not null, output_sha256 text not null, output_size bigint not null,
        output_mtime_ns bigint not null, updated_at text not null, serial bigint not null,
        primary key (address, profile))""",
    """create table generations (
        content_key text primary key, provider text not null, model_id text not null,
        mode text not null, material text not null, blob_sha256 text not null,
        extension text not null, media_type text not null, size bigint not null,
        task_id text, address text not null, created_at text not null)""",
    """create table tasks (
        id bigserial primary key, provider text not null, model_id text not null default '',
        task_id text, content_key text not null, address text not null, profile text not null,
        status text not null, submitted_at text not null, updated_at text not null,
        estimated_cost text, error text, quoted_cost text, sent_at text, unknown_until text)""",
    "create index tasks_status on tasks (status)",
    "create index tasks_content_key on tasks (content_key)",
    "create index tasks_provider_task_id on tasks (provider, task_id)",
    """create table ledger (
        id bigserial primary key, recorded_at text not null, day text not null,
        task_ref bigint references tasks (id), provider text not null, address text not null,
        profile text not null, content_key text not null, amount text, currency text not null,
        source text not null)""",
    "create index ledger_day on ledger (day)",
    "create index ledger_content_key on ledger (content_key)",
    """create table locks (
        name text primary key, id text not null, pid bigint not null, host text not null,
        command text not null, started_at text not null, process_start text not null)""",
    """create table claims (
        content_key text primary key, holder text not null,
        expires_at double precision not null)""",
]
MIGRATIONS: list[tuple[str, list[str]]] = [
    ("0001_initial", _SCHEMA),  # the SQLite backend's schema as of its migration 0007
    ("0002_runners", postgres_team.SCHEMA),
    (
        "0003_ledger_micros_and_views",
        [
            "alter table ledger add column amount_micros bigint",
            "update ledger set amount_micros = round(amount::numeric * 1000000)::bigint"
            " where amount is not null",
        ],
    ),
]
"""Views are derived, not migrated: `_migrate` makes them anew from today's definitions once
the tables are at today's schema (a migration step never reads definitions newer than itself)."""


def redacted(url: str) -> str:
    """The URL as messages show it: no password, no query (which may hold one)."""
    parts = urlsplit(url)
    user, _, hosts = parts.netloc.rpartition("@")  # hosts may be a list: h1:5432,h2:5432
    user = user.split(":", 1)[0]
    return urlunsplit((parts.scheme, f"{user}@{hosts}" if user else hosts, parts.path, "", ""))


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise StateError("a PostgreSQL state needs psycopg: pip install 'wanplan[team]'") from None
    return psycopg


class PostgresStore:
    """The state in a PostgreSQL database."""

    def __init__(self, url: str) -> None:
        self.url = url

    @property
    def label(self) -> str:
        return redacted(self.url)

    @property
    def disk(self) -> Path | None:
        return None

    def _connect(self) -> Any:
        psycopg = _psycopg()
        try:
            given = psycopg.conninfo.conninfo_to_dict(self.url)
            # A runner whose machine vanished holds its session locks (the state lock, a
            # model's gate) until the server notices: within about a minute, not TCP's hours.
            liveness = {k: v for k, v in _KEEPALIVE.items() if k not in given}
            return psycopg.connect(self.url, autocommit=True, connect_timeout=10, **liveness)
        except psycopg.Error as exc:
            raise StateError(
                f"{self.label}: cannot connect to the state ({_reason(exc)})"
            ) from None

    def exists(self) -> bool:
        psycopg = _psycopg()
        conn = self._connect()
        try:
            return _has_schema(conn)
        except psycopg.Error as exc:
            raise StateError(f"{self.label}: cannot read the state ({_reason(exc)})") from None
        finally:
            conn.close()

    def check_confined(self) -> None:
        return None  # nothing of it is on this machine's disk

    def open_reader(self) -> PostgresState:
        psycopg = _psycopg()
        conn = self._connect()
        try:
            conn.execute("set default_transaction_read_only = on")
            if _has_schema(conn):
                _check_compatible(conn, self.label)
            return PostgresState(conn, self.label, writable=False)
        except psycopg.Error as exc:
            conn.close()
            raise StateError(f"{self.label}: cannot read the state ({_reason(exc)})") from None
        except BaseException:
            conn.close()
            raise

    def open_writer(self) -> PostgresState:
        psycopg = _psycopg()
        conn = self._connect()
        try:
            _migrate(conn, self.label)
            return PostgresState(conn, self.label, writable=True)
        except psycopg.Error as exc:
            conn.close()
            raise StateError(
                f"{self.label}: cannot open the state for writing ({_reason(exc)}); apply needs "
                "a role that may write it (plan needs only read access)"
            ) from None
        except BaseException:
            conn.close()
            raise

    def at_rest(self) -> bool:
        return True

    def owns(self, path: Path) -> bool:
        return False


def _reason(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _has_schema(conn: Any) -> bool:
    row = conn.execute("select to_regclass(%s)", [MIGRATIONS_TABLE]).fetchone()
    return row is not None and row[0] is not None


def _applied(conn: Any) -> list[str]:
    if not _has_schema(conn):
        return []
    return [r[0] for r in conn.execute(f"select name from {MIGRATIONS_TABLE} order by name")]


def _check_compatible(conn: Any, label: str) -> None:
    known = {name for name, _ in MIGRATIONS}
    newer = [name for name in _applied(conn) if name not in known]
    if newer:
        raise StateError(f"{label} was written by a newer wanplan (schema {newer[-1]}); upgrade")


def _migrate(conn: Any, label: str) -> None:
    """Pending migrations, once, under the advisory lock; a new state gets its lineage."""
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s)", [_ADVISORY_KEY])
        if not _has_schema(conn):
            conn.execute(
                f"create table {MIGRATIONS_TABLE} (name text primary key, applied_at text)"
            )
        _check_compatible(conn, label)
        done = set(_applied(conn))
        pending = [(name, statements) for name, statements in MIGRATIONS if name not in done]
        views = view_definitions(POSTGRES)
        if pending:  # a step may change a column a view reads: made anew after the last
            for view in reversed(list(views)):
                conn.execute(f"drop view if exists {view}")
        for name, statements in pending:
            for statement in statements:
                conn.execute(statement)
            conn.execute(
                f"insert into {MIGRATIONS_TABLE} (name, applied_at) values (%s, %s)",
                [name, now_iso()],
            )
        if pending:
            for view, select in views.items():
                conn.execute(f"create view {view} as {select}")
        conn.execute(
            "insert into meta (key, value) values ('lineage', %s), ('serial', '0')"
            " on conflict (key) do nothing",
            [str(uuid.uuid4())],
        )


def _decimal(value: str | None) -> Decimal | None:
    return Decimal(value) if value is not None else None


class PostgresState:
    """A reader, and with `writable=True` a writer, over one PostgreSQL state."""

    def __init__(self, conn: Any, label: str, *, writable: bool) -> None:
        self.conn = conn
        self.label = label
        self.writable = writable
        self._schema = _has_schema(conn)
        self._holding: str | None = None
        """How this connection holds the state lock (a session advisory lock): "alone",
        "shared" (an apply beside others) or not (None)."""

    def close(self) -> None:
        self.conn.close()

    # ---- reading -------------------------------------------------------------------------

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        if not self._schema:
            return []
        return list(self._query(sql, params).fetchall())

    def _query(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """A cursor over `sql`'s rows; a lost connection or a refusal is one line."""
        psycopg = _psycopg()
        try:
            return self.conn.execute(sql, list(params))
        except psycopg.Error as exc:
            raise StateError(f"{self.label}: cannot read the state ({_reason(exc)})") from None

    def _meta(self, key: str) -> str | None:
        rows = self._rows("select value from meta where key = %s", [key])
        return rows[0][0] if rows else None

    @property
    def lineage(self) -> str | None:
        return self._meta("lineage")

    @property
    def serial(self) -> int:
        return int(self._meta("serial") or "0")

    _ASSETS = (
        "select address, profile, content_key, output_path, output_sha256, output_size,"
        " output_mtime_ns, updated_at from assets"
    )
    _GENERATIONS = "select content_key, blob_sha256, extension, media_type from generations"
    _TASKS = (
        "select id, provider, model_id, task_id, content_key, address, profile, status,"
        " submitted_at, updated_at, estimated_cost, error, quoted_cost, sent_at, unknown_until"
        " from tasks"
    )

    def assets(self, profile: str) -> dict[str, AssetRecord]:
        rows = self._rows(f"{self._ASSETS} where profile = %s", [profile])
        return {row[0]: AssetRecord(*row) for row in rows}

    def all_assets(self) -> list[AssetRecord]:
        return [
            AssetRecord(*row) for row in self._rows(f"{self._ASSETS} order by profile, address")
        ]

    def generation(self, content_key: str) -> GenerationRecord | None:
        rows = self._rows(f"{self._GENERATIONS} where content_key = %s", [content_key])
        return GenerationRecord(*rows[0]) if rows else None

    def generation_details(self, content_key: str) -> dict[str, Any] | None:
        if not self._schema:
            return None
        cursor = self._query("select * from generations where content_key = %s", [content_key])
        row = cursor.fetchone()
        if row is None:
            return None
        details = dict(zip([c.name for c in cursor.description], row, strict=True))
        details["material"] = json.loads(details["material"])
        spent = self._rows(
            "select amount, source from ledger where content_key = %s order by id desc limit 1",
            [content_key],
        )
        details["cost"], details["cost_source"] = spent[0] if spent else (None, None)
        return details

    def material(self, content_key: str) -> dict[str, Any] | None:
        rows = self._rows("select material from generations where content_key = %s", [content_key])
        return json.loads(rows[0][0]) if rows else None

    def all_generations(self) -> list[GenerationRecord]:
        return [
            GenerationRecord(*r) for r in self._rows(f"{self._GENERATIONS} order by content_key")
        ]

    @staticmethod
    def _task(row: Any) -> TaskRecord:
        return TaskRecord(
            id=row[0],
            provider=row[1],
            model_id=row[2],
            task_id=row[3],
            content_key=row[4],
            address=row[5],
            profile=row[6],
            status=row[7],
            submitted_at=row[8],
            updated_at=row[9],
            estimated_cost=_decimal(row[10]),
            error=row[11],
            quoted_cost=_decimal(row[12]),
            sent_at=row[13],
            unknown_until=row[14],
        )

    def open_tasks(self) -> list[TaskRecord]:
        rows = self._rows(
            f"{self._TASKS} where status = any(%s) order by id", [list(OPEN_STATUSES)]
        )
        return [self._task(row) for row in rows]

    def task(self, task_ref: int) -> TaskRecord | None:
        rows = self._rows(f"{self._TASKS} where id = %s", [task_ref])
        return self._task(rows[0]) if rows else None

    def judged_none(self, content_key: str, since: str, before: str) -> int:
        rows = self._rows(
            "select count(*) from tasks where content_key = %s and status = %s"
            " and coalesce(sent_at, submitted_at) >= %s and coalesce(sent_at, submitted_at) < %s",
            [content_key, NOT_CREATED, since, before],
        )
        return int(rows[0][0]) if rows else 0

    def known_task_ids(self, provider: str, task_ids: Sequence[str]) -> dict[str, str | None]:
        rows = self._rows(
            "select task_id, coalesce(sent_at, submitted_at) from tasks"
            " where provider = %s and task_id = any(%s)",
            [provider, list(dict.fromkeys(task_ids))],
        )
        return {row[0]: row[1] for row in rows}

    def file_stamps(self) -> dict[str, FileStamp]:
        return {}

    def ledger(self, day: str | None = None) -> Iterator[dict[str, Any]]:
        if not self._schema:
            return iter(())
        where, params = ("where day = %s", [day]) if day is not None else ("", [])
        cursor = self._query(f"select * from ledger {where} order by id", params)
        names = [c.name for c in cursor.description]
        return iter([dict(zip(names, row, strict=True)) for row in cursor.fetchall()])

    # ---- the lock and claims -------------------------------------------------------------

    _HOLDER = "select id, pid, host, command, started_at, process_start from locks"

    def lock_holder(self) -> LockHolder | None:
        rows = self._rows(f"{self._HOLDER} where name = 'state'")
        return LockHolder(*rows[0]) if rows else None

    def try_lock(
        self, holder: LockHolder, *, shared: bool = False
    ) -> tuple[LockHolder | None, list[str]]:
        """The lock is a session-level advisory lock held by this connection: a runner that
        dies, or loses its connection, lets go of it with no one's help, whatever its host
        is called. The row beside it only says who holds it. Applies share it (each claims
        the content keys it generates, PRODUCT §11); maintenance holds it alone."""
        psycopg = _psycopg()
        function = "pg_try_advisory_lock_shared" if shared else "pg_try_advisory_lock"
        try:
            taken = self.conn.execute(f"select {function}(%s)", [_STATE_LOCK_KEY]).fetchone()[0]
        except psycopg.Error as exc:
            raise StateWriteError(f"{self.label}: cannot lock the state ({_reason(exc)})") from None
        if not taken:
            return self._holder_elsewhere(), []
        self._holding = "shared" if shared else "alone"
        warnings = []
        with self.transaction():
            if not shared:
                previous = self.lock_holder()
                if previous is not None and previous.id != holder.id:
                    warnings.append(
                        f"took over the state lock of {previous.describe()}: its connection to "
                        "the state is gone"
                    )
                # Holding it alone: every apply that wrote a row is gone.
                self.conn.execute("delete from locks where name like 'apply:%%'")
            else:
                # Sharing it: no one holds it alone, so a row saying so is a dead one's.
                self.conn.execute("delete from locks where name = 'state'")
            self.conn.execute(
                "insert into locks (name, id, pid, host, command, started_at, process_start)"
                " values (%s, %s, %s, %s, %s, %s, %s) on conflict (name) do update set"
                " id = excluded.id, pid = excluded.pid, host = excluded.host,"
                " command = excluded.command, started_at = excluded.started_at,"
                " process_start = excluded.process_start",
                [f"apply:{holder.id}" if shared else "state", *holder],
            )
        return None, warnings

    def _holder_row(self) -> LockHolder | None:
        """The one holding the lock alone, else the oldest apply sharing it (rows are written
        just after the lock is taken; one taken shared clears a row left by a dead one)."""
        current = self.lock_holder()
        if current is None:
            rows = self._rows(f"{self._HOLDER} order by started_at limit 1")
            current = LockHolder(*rows[0]) if rows else None
        return current

    def _holder_elsewhere(self) -> LockHolder:
        for _ in range(20):
            current = self._holder_row()
            if current is not None:
                return current
            time.sleep(0.05)
        return LockHolder("(unknown)", 0, "another connection", "wanplan", "(unknown)", "")

    def acquire_lock(
        self,
        holder: LockHolder,
        timeout: float,
        on_wait: Callable[[LockHolder], None] | None = None,
        *,
        shared: bool = False,
    ) -> list[str]:
        return wait_for_lock(
            lambda h: self.try_lock(h, shared=shared),
            holder,
            timeout,
            on_wait,
            if_gone="a run that died lets go of it as its connection to the state closes",
        )

    def release_lock(self, lock_id: str) -> None:
        with self.transaction():
            self.conn.execute("delete from locks where id = %s", [lock_id])
        if self._holding:
            shared = self._holding == "shared"
            self._holding = None
            function = "pg_advisory_unlock_shared" if shared else "pg_advisory_unlock"
            self.execute(f"select {function}(%s)", [_STATE_LOCK_KEY])

    def coordination(self) -> postgres_team.PostgresTeam:
        """Runners share this state: its claims, slots, rate and reservations."""
        return postgres_team.PostgresTeam(self)

    def force_unlock(self, lock_id: str) -> LockHolder:
        """The lock is a live connection's: it cannot be stuck, only described by a row left
        behind by one that died. Such a row is removed; a live holder is named, not broken."""
        rows = self._rows(f"{self._HOLDER} where id = %s", [lock_id])
        if not rows:
            current = self._holder_row()
            if current is None:
                raise StateError("the state is not locked")
            raise StateError(
                f"lock ID {lock_id} does not match: the state is locked by {current.describe()}"
            )
        named = LockHolder(*rows[0])
        free = self.execute("select pg_try_advisory_lock(%s)", [_STATE_LOCK_KEY]).fetchone()
        if not free[0]:
            # Applies share the lock: while another holds it, the named one may be long dead.
            others = [
                LockHolder(*row)
                for row in self._rows(
                    f"{self._HOLDER} where id <> %s order by started_at", [lock_id]
                )
            ]
            holder = others[0].describe() if others else named.describe()
            if len(others) > 1:
                holder += f" (and {len(others) - 1} more)"
            raise StateError(
                f"the state is locked by {holder} through its open connection to the state; "
                "the lock ends with that connection (stop that run), nothing to force"
                + (f"; the row of {named.describe()} goes once the lock is free" if others else "")
            )
        try:
            with self.transaction():
                self.conn.execute("delete from locks where id = %s", [lock_id])
        finally:
            self.execute("select pg_advisory_unlock(%s)", [_STATE_LOCK_KEY])
        return named

    def claim(self, content_key: str, holder: str, lease_seconds: float) -> str | None:
        """One statement, so two runners can never both win, and one round trip: the claim
        taken, or the live holder that kept it. Leases run on the server's clock, so a runner
        whose clock is ahead cannot take a live claim."""
        while True:
            row = self.execute(
                "with won as (insert into claims (content_key, holder, expires_at)"
                f" values (%s, %s, {_NOW} + %s)"
                " on conflict (content_key) do update set holder = excluded.holder,"
                " expires_at = excluded.expires_at"
                f" where claims.holder = excluded.holder or claims.expires_at <= {_NOW}"
                " returning holder)"
                " select true, holder from won union all"
                " select false, holder from claims where content_key = %s"
                " and not exists (select from won)",
                [content_key, holder, lease_seconds, content_key],
            ).fetchone()
            if row is not None:
                return None if row[0] else str(row[1])
            # Taken by another runner within this very statement: ask again.

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """One statement that writes, on its own (autocommit); a refusal is one line."""
        if not self.writable:
            raise StateError("internal: the state was opened read-only")
        psycopg = _psycopg()
        try:
            return self.conn.execute(sql, list(params))
        except psycopg.Error as exc:
            raise StateWriteError(
                f"{self.label}: cannot write the state ({_reason(exc)})"
            ) from None

    def renew_claims(self, holder: str, lease_seconds: float) -> int:
        with self.transaction():
            cursor = self.conn.execute(
                "update claims set expires_at = extract(epoch from clock_timestamp()) + %s"
                " where holder = %s",
                [lease_seconds, holder],
            )
            return int(cursor.rowcount)

    def release_claims(self, holder: str) -> None:
        with self.transaction():
            self.conn.execute("delete from claims where holder = %s", [holder])

    # ---- writing -------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if not self.writable:
            raise StateError("internal: the state was opened read-only")
        psycopg = _psycopg()
        try:
            with self.conn.transaction():
                yield
        except psycopg.Error as exc:
            raise StateWriteError(
                f"{self.label}: cannot write the state ({_reason(exc)})"
            ) from None

    def _bump_serial(self) -> int:
        row = self.conn.execute(
            "update meta set value = (value::bigint + 1)::text where key = 'serial' returning value"
        ).fetchone()
        return int(row[0])

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
        now = now_iso()
        with self.transaction():
            row = self.conn.execute(
                "insert into tasks (provider, model_id, task_id, content_key, address, profile,"
                " status, submitted_at, sent_at, updated_at, estimated_cost, error,"
                " unknown_until) values (%s, %s, null, %s, %s, %s, %s, %s, %s, %s, %s, null, %s)"
                " returning id",
                [
                    provider,
                    model_id,
                    content_key,
                    address,
                    profile,
                    INTENT,
                    now,
                    now,
                    now,
                    as_decimal_string(estimated_cost),
                    None if answer_by is None else iso(answer_by),
                ],
            ).fetchone()
        return int(row[0])

    def _update(self, sql: str, params: Sequence[Any]) -> None:
        with self.transaction():
            self.conn.execute(sql, list(params))

    def record_sending(self, task_ref: int, answer_by: float | None = None) -> None:
        now = now_iso()
        until = None if answer_by is None else iso(answer_by)
        self._update(
            "update tasks set sent_at = %s, updated_at = %s, unknown_until = %s where id = %s",
            [now, now, until, task_ref],
        )

    def record_submitted(self, task_ref: int, task_id: str, note: str | None = None) -> None:
        self._update(
            "update tasks set task_id = %s, status = %s, updated_at = %s, error = %s where id = %s",
            [task_id, SUBMITTED, now_iso(), note, task_ref],
        )

    def record_quote(self, task_ref: int, quoted_cost: Decimal) -> None:
        self._update(
            "update tasks set quoted_cost = %s where id = %s",
            [as_decimal_string(quoted_cost), task_ref],
        )

    def record_unconfirmed(self, task_ref: int, reason: str, unknown_until: str | None) -> None:
        self._update(
            "update tasks set status = %s, error = %s, updated_at = %s,"
            " unknown_until = coalesce(%s, unknown_until) where id = %s",
            [UNCONFIRMED, reason, now_iso(), unknown_until, task_ref],
        )

    def record_task_status(self, task_ref: int, status: str, error: str | None = None) -> None:
        self._update(
            "update tasks set status = %s, error = %s, updated_at = %s where id = %s",
            [status, error, now_iso(), task_ref],
        )

    def take_collection(self, task_ref: int) -> bool:
        # A second runner's update waits on the row lock and then finds the status changed.
        with self.transaction():
            cursor = self.conn.execute(
                "update tasks set status = %s, error = null, updated_at = %s"
                " where id = %s and status != %s",
                [COLLECTED, now_iso(), task_ref, COLLECTED],
            )
            return bool(cursor.rowcount == 1)

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
        row = [
            content_key,
            provider,
            model_id,
            mode,
            json.dumps(material, sort_keys=True, default=str),
            blob_sha256,
            extension,
            media_type,
            size,
            task_id,
            address,
            now_iso(),
        ]
        self._update(
            "insert into generations (content_key, provider, model_id, mode, material,"
            " blob_sha256, extension, media_type, size, task_id, address, created_at) values"
            " (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) on conflict (content_key) do"
            " update set provider = excluded.provider, model_id = excluded.model_id,"
            " mode = excluded.mode, material = excluded.material,"
            " blob_sha256 = excluded.blob_sha256, extension = excluded.extension,"
            " media_type = excluded.media_type, size = excluded.size,"
            " task_id = excluded.task_id, address = excluded.address,"
            " created_at = excluded.created_at",
            row,
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
        now = now_iso()
        self._update(
            "insert into ledger (recorded_at, day, task_ref, provider, address, profile,"
            " content_key, amount, amount_micros, currency, source) values"
            " (%s, %s, %s, %s, %s, %s, %s, %s, %s, 'USD', %s)",
            [
                now,
                now[:10],
                task_ref,
                provider,
                address,
                profile,
                content_key,
                as_decimal_string(in_micros(amount)),
                as_micros(amount),
                source,
            ],
        )

    def set_asset(self, record: AssetRecord) -> None:
        with self.transaction():
            serial = self._bump_serial()
            self.conn.execute(
                "insert into assets (address, profile, content_key, output_path, output_sha256,"
                " output_size, output_mtime_ns, updated_at, serial) values"
                " (%s, %s, %s, %s, %s, %s, %s, %s, %s) on conflict (address, profile) do update"
                " set content_key = excluded.content_key, output_path = excluded.output_path,"
                " output_sha256 = excluded.output_sha256, output_size = excluded.output_size,"
                " output_mtime_ns = excluded.output_mtime_ns, updated_at = excluded.updated_at,"
                " serial = excluded.serial",
                [*record, serial],
            )

    def forget_assets(self, profile: str, addresses: Sequence[str]) -> None:
        with self.transaction():
            self._bump_serial()
            self.conn.execute(
                "delete from assets where profile = %s and address = any(%s)",
                [profile, list(addresses)],
            )

    def move_asset(self, profile: str, source: str, destination: str, output_path: str) -> None:
        with self.transaction():
            serial = self._bump_serial()
            self.conn.execute(
                "update assets set address = %s, output_path = %s, serial = %s"
                " where address = %s and profile = %s",
                [destination, output_path, serial, source, profile],
            )
            self.conn.execute(
                "update tasks set address = %s where address = %s and profile = %s"
                " and status = any(%s)",
                [destination, source, profile, list(OPEN_STATUSES)],
            )

    def restamp_outputs(self, records: Sequence[AssetRecord]) -> None:
        if not records:
            return
        with self.transaction():
            serial = self._bump_serial()
            with self.conn.cursor() as cursor:
                cursor.executemany(
                    "update assets set output_size = %s, output_mtime_ns = %s, serial = %s"
                    " where address = %s and profile = %s",
                    [
                        (r.output_size, r.output_mtime_ns, serial, r.address, r.profile)
                        for r in records
                    ],
                )

    def forget_generations(self, content_keys: Sequence[str]) -> None:
        self._update("delete from generations where content_key = any(%s)", [list(content_keys)])

    def discard_task(self, task_ref: int) -> None:
        self._update("delete from tasks where id = %s", [task_ref])

    def save_file_stamps(self, stamps: Mapping[str, FileStamp]) -> None:
        return None  # one machine's facts: not kept in a team's state

    def snapshot(self) -> StateSnapshot:
        tables: dict[str, list[dict[str, Any]]] = {}
        for table in COPIED_TABLES:
            if not self._schema:
                tables[table] = []
                continue
            order = "id" if table in ("tasks", "ledger") else "1"
            cursor = self._query(f"select * from {table} order by {order}")
            names = [c.name for c in cursor.description]
            tables[table] = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        return StateSnapshot(self.lineage or "", self.serial, tables)

    def restore(self, snapshot: StateSnapshot) -> None:
        with self.transaction():
            taken = self.conn.execute(
                "select (select count(*) from assets) + (select count(*) from tasks)"
            ).fetchone()
            if taken[0]:
                raise StateError(f"{self.label} already records a state; copy into an empty one")
            for table in COPIED_TABLES:
                for row in map(functools.partial(restorable, table), snapshot.tables[table]):
                    if table == "tasks" and row.get("model_id") is None:
                        row = {**row, "model_id": ""}  # a row from before model ids were kept
                    columns = ", ".join(row)
                    marks = ", ".join("%s" for _ in row)
                    self.conn.execute(
                        f"insert into {table} ({columns}) values ({marks})", list(row.values())
                    )
            for table in ("tasks", "ledger"):  # the next ids follow the copied ones
                self.conn.execute(
                    f"select setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" coalesce((select max(id) from {table}), 0) + 1, false)"
                )
            self.conn.execute(
                "update meta set value = %s where key = 'lineage'", [snapshot.lineage]
            )
            self.conn.execute(
                "update meta set value = %s where key = 'serial'", [str(snapshot.serial)]
            )
