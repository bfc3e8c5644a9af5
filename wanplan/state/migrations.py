"""Schema migrations, applied in order on open; each with its bookkeeping row in one transaction."""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils

from wanplan.money import as_micros
from wanplan.state.views import SQLITE, view_definitions

MIGRATIONS_TABLE = "_migrations"


def _initial(db: sqlite_utils.Database) -> None:
    db.table("meta").create({"key": str, "value": str}, pk="key")
    db.table("assets").create(
        {
            "address": str,
            "profile": str,
            "content_key": str,
            "output_path": str,
            "output_sha256": str,
            "output_size": int,
            "output_mtime_ns": int,
            "updated_at": str,
            "serial": int,
        },
        pk=("address", "profile"),
    )
    db.table("generations").create(
        {
            "content_key": str,
            "provider": str,
            "model_id": str,
            "mode": str,
            "material": str,
            "blob_sha256": str,
            "extension": str,
            "media_type": str,
            "size": int,
            "task_id": str,
            "address": str,
            "created_at": str,
        },
        pk="content_key",
    )
    db.table("tasks").create(
        {
            "id": int,
            "provider": str,
            "task_id": str,
            "content_key": str,
            "address": str,
            "profile": str,
            "status": str,
            "submitted_at": str,
            "updated_at": str,
            "estimated_cost": str,
            "error": str,
        },
        pk="id",
    )
    db.table("tasks").create_index(["status"])
    db.table("tasks").create_index(["content_key"])
    db.table("ledger").create(
        {
            "id": int,
            "recorded_at": str,
            "day": str,
            "task_ref": int,
            "provider": str,
            "address": str,
            "profile": str,
            "content_key": str,
            "amount": str,
            "currency": str,
            "source": str,
        },
        pk="id",
        foreign_keys=[("task_ref", "tasks", "id")],
    )
    db.table("ledger").create_index(["day"])
    db.table("file_hashes").create(
        {
            "path": str,
            "size": int,
            "mtime_ns": int,
            "inode": int,
            "sha256": str,
            "hashed_at_ns": int,
        },
        pk="path",
    )


def _task_model_id(db: sqlite_utils.Database) -> None:
    # Some providers (APIXO) poll a task under its model's path.
    db.table("tasks").add_column("model_id", str)


def _locks(db: sqlite_utils.Database) -> None:
    db.table("locks").create(
        {
            "name": str,
            "id": str,
            "pid": int,
            "host": str,
            "command": str,
            "started_at": str,
            "process_start": str,
        },
        pk="name",
    )


def _ledger_by_content_key(db: sqlite_utils.Database) -> None:
    # Each output's provenance and `show` look up its spend by content key.
    db.table("ledger").create_index(["content_key"])


def _task_quoted_cost(db: sqlite_utils.Database) -> None:
    # A provider's price quote, given at submit (WaveSpeed): a task resumed by a later apply
    # is recorded at it, not at the estimate.
    db.table("tasks").add_column("quoted_cost", str)


def _task_send_window(db: sqlite_utils.Database) -> None:
    # A submit whose outcome is unknown is looked for in the provider's task list within the
    # window in which it was sent; adopted task ids are checked against the journal's.
    db.table("tasks").add_column("sent_at", str)
    db.table("tasks").add_column("unknown_until", str)
    db.table("tasks").create_index(["provider", "task_id"])


def _claims(db: sqlite_utils.Database) -> None:
    # A content key claimed before its submit, by one apply, for a lease it renews (PRODUCT
    # §11): on one machine the state lock already admits a single apply; the claims are the
    # same interface a shared state gives several runners.
    db.table("claims").create(
        {"content_key": str, "holder": str, "expires_at": float}, pk="content_key"
    )


def _ledger_micros_and_views(db: sqlite_utils.Database) -> None:
    # SQLite has no exact decimal type: amounts also kept as an integer of micro-units sum and
    # sort exactly. (The views over them are made after the migrations: `_rebuild_views`.)
    db.table("ledger").add_column("amount_micros", int)
    for row in list(db.query("select id, amount from ledger where amount is not null")):
        db.execute(
            "update ledger set amount_micros = ? where id = ?",
            [as_micros(row["amount"]), row["id"]],
        )


def _drop_views(db: sqlite_utils.Database) -> None:
    """Before a migration step: a step may change a column a view reads."""
    for name in reversed(list(view_definitions(SQLITE))):
        db.execute(f"drop view if exists {name}")


def _create_views(db: sqlite_utils.Database) -> None:
    """The views are derived, not migrated: made anew from today's definitions, with the last
    migration, once the tables are at today's schema (a step never reads definitions newer
    than itself)."""
    _drop_views(db)
    for name, select in view_definitions(SQLITE).items():
        db.execute(f"create view {name} as {select}")


MIGRATIONS: list[tuple[str, Callable[[sqlite_utils.Database], None]]] = [
    ("0001_initial", _initial),
    ("0002_task_model_id", _task_model_id),
    ("0003_locks", _locks),
    ("0004_ledger_by_content_key", _ledger_by_content_key),
    ("0005_task_quoted_cost", _task_quoted_cost),
    ("0006_task_send_window", _task_send_window),
    ("0007_claims", _claims),
    ("0008_ledger_micros_and_views", _ledger_micros_and_views),
]


def applied(db: sqlite_utils.Database) -> list[str]:
    if MIGRATIONS_TABLE not in db.table_names():
        return []
    return [row["name"] for row in db.query(f"select name from {MIGRATIONS_TABLE} order by name")]


def pending(db: sqlite_utils.Database) -> list[str]:
    done = set(applied(db))
    return [name for name, _ in MIGRATIONS if name not in done]


def unknown(db: sqlite_utils.Database) -> list[str]:
    """Migrations in the database that this wanplan does not know: a newer wanplan wrote it."""
    known = {name for name, _ in MIGRATIONS}
    return [name for name in applied(db) if name not in known]


def migrate(db: sqlite_utils.Database, now: str) -> None:
    """Apply the pending migrations, each in its own IMMEDIATE transaction that checks again
    whether it is still pending: two processes opening an old state at once migrate it once."""
    if not pending(db):
        return
    last = MIGRATIONS[-1][0]
    for name, step in MIGRATIONS:
        db.execute("BEGIN IMMEDIATE")
        try:
            if MIGRATIONS_TABLE not in db.table_names():
                db.table(MIGRATIONS_TABLE).create({"name": str, "applied_at": str}, pk="name")
            if name not in applied(db):
                _drop_views(db)
                step(db)
                db.table(MIGRATIONS_TABLE).insert({"name": name, "applied_at": now})
            if name == last:  # in the same transaction: never a state left without its views
                _create_views(db)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
