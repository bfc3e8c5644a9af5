"""The conformance suite every state backend passes (PRODUCT §11): journal order, atomic
transactions, the lock, migrations and read-only readers. A new backend adds one entry to
`STORES`; nothing else here may know which backend it is testing."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from tests.conftest import POSTGRES_ADMIN, postgres_admin
from wanplan.errors import StateError
from wanplan.state import migrations, postgres, views
from wanplan.state.base import StateStore
from wanplan.state.lock import this_process
from wanplan.state.postgres import PostgresStore
from wanplan.state.records import (
    COLLECTED,
    INTENT,
    NOT_CREATED,
    SUBMITTED,
    SUCCEEDED,
    UNCONFIRMED,
    AssetRecord,
)
from wanplan.state.sqlite import SqliteStore


class SqliteBackend:
    """What the suite needs to know of one backend beyond its interface: how to make a store,
    read its stored bytes, and plant a schema from a newer wanplan."""

    @staticmethod
    def store(root: Path) -> StateStore:
        return SqliteStore(root, root / "state" / "wanplan.db")

    @staticmethod
    def fingerprint(store: StateStore) -> str:
        assert isinstance(store, SqliteStore)
        return hashlib.sha256(store.path.read_bytes()).hexdigest()

    @staticmethod
    def from_the_future(store: StateStore) -> None:
        assert isinstance(store, SqliteStore)
        db = sqlite_utils.Database(store.path)
        db.table(migrations.MIGRATIONS_TABLE).insert(
            {"name": "9999_from_the_future", "applied_at": "2099-01-01T00:00:00+00:00"}
        )
        db.close()

    @staticmethod
    def drop(store: StateStore) -> None:
        return None

    @staticmethod
    def sql(store: StateStore, statement: str) -> list[tuple[Any, ...]]:
        """What a person's SQL client sees (autocommit)."""
        import sqlite3

        assert isinstance(store, SqliteStore)
        conn = sqlite3.connect(store.path, isolation_level=None)
        try:
            return conn.execute(statement).fetchall()
        finally:
            conn.close()

    @staticmethod
    def before_last_migration(monkeypatch: pytest.MonkeyPatch) -> None:
        """A wanplan of the schema before today's, whose views were none."""
        monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:-1])
        monkeypatch.setattr(migrations, "view_definitions", lambda dialect: {})

    @staticmethod
    def with_a_later_migration(monkeypatch: pytest.MonkeyPatch) -> None:
        def add_note(db: sqlite_utils.Database) -> None:
            db.table("ledger").add_column("note", str)

        later = [*migrations.MIGRATIONS, ("9000_ledger_note", add_note)]
        monkeypatch.setattr(migrations, "MIGRATIONS", later)
        monkeypatch.setattr(migrations, "view_definitions", with_a_notes_view)


class PostgresBackend:
    """Each test gets a database of its own on the server, dropped after it."""

    @classmethod
    def store(cls, root: Path) -> StateStore:
        name = f"wanplan_test_{uuid.uuid4().hex[:12]}"
        with postgres_admin() as admin:
            admin.execute(f"create database {name}")
        return PostgresStore(POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{name}")

    @staticmethod
    def fingerprint(store: StateStore) -> str:
        import psycopg

        assert isinstance(store, PostgresStore)
        digest = hashlib.sha256()
        with psycopg.connect(store.url) as conn:
            tables = conn.execute(
                "select tablename from pg_tables where schemaname = 'public' order by 1"
            ).fetchall()
            for (table,) in tables:
                for row in conn.execute(f"select * from {table} order by 1").fetchall():
                    digest.update(repr((table, row)).encode())
        return digest.hexdigest()

    @staticmethod
    def from_the_future(store: StateStore) -> None:
        import psycopg

        assert isinstance(store, PostgresStore)
        with psycopg.connect(store.url, autocommit=True) as conn:
            conn.execute(
                "insert into wanplan_migrations (name, applied_at) values ('9999_future', 'x')"
            )

    @classmethod
    def drop(cls, store: StateStore) -> None:
        assert isinstance(store, PostgresStore)
        with postgres_admin() as admin:
            admin.execute(f"drop database if exists {store.url.rsplit('/', 1)[1]} with (force)")

    @staticmethod
    def sql(store: StateStore, statement: str) -> list[tuple[Any, ...]]:
        import psycopg

        assert isinstance(store, PostgresStore)
        with psycopg.connect(store.url, autocommit=True) as conn:
            cursor = conn.execute(statement)
            return cursor.fetchall() if cursor.description else []

    @staticmethod
    def before_last_migration(monkeypatch: pytest.MonkeyPatch) -> None:
        """A wanplan of the schema before today's, whose views were none."""
        monkeypatch.setattr(postgres, "MIGRATIONS", postgres.MIGRATIONS[:-1])
        monkeypatch.setattr(postgres, "view_definitions", lambda dialect: {})

    @staticmethod
    def with_a_later_migration(monkeypatch: pytest.MonkeyPatch) -> None:
        later = [*postgres.MIGRATIONS, ("9000_ledger_note", ["alter table ledger add note text"])]
        monkeypatch.setattr(postgres, "MIGRATIONS", later)
        monkeypatch.setattr(postgres, "view_definitions", with_a_notes_view)


def with_a_notes_view(dialect: Any) -> dict[str, str]:
    """Today's views and one over a column that only a later migration adds."""
    return {**views.view_definitions(dialect), "notes": "select note from ledger"}


BACKENDS: dict[str, Any] = {"sqlite": SqliteBackend, "postgres": PostgresBackend}


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest) -> Any:
    return BACKENDS[request.param]


@pytest.fixture
def store(backend: Any, tmp_path: Path) -> Iterator[StateStore]:
    root = tmp_path / "project"
    root.mkdir()
    made = backend.store(root)
    yield made
    backend.drop(made)


@pytest.fixture
def writer(store: StateStore) -> Iterator[object]:
    state = store.open_writer()
    holder = this_process()
    state.acquire_lock(holder, 0.0)
    yield state
    state.release_lock(holder.id)
    state.close()


def intent(state: object, key: str = "k1", address: str = "a") -> int:
    return state.record_intent(  # type: ignore[attr-defined, no-any-return]
        provider="sim",
        model_id="sim-t2v",
        content_key=key,
        address=address,
        profile="default",
        estimated_cost=Decimal("0.50"),
    )


def finish(state: object, ref: int, key: str = "k1", address: str = "a") -> None:
    """What apply writes when a generation is collected: one transaction."""
    with state.transaction():  # type: ignore[attr-defined]
        state.record_generation(  # type: ignore[attr-defined]
            content_key=key,
            provider="sim",
            model_id="sim-t2v",
            mode="t2v",
            material={"params": {"prompt": "p"}},
            blob_sha256="b" * 64,
            extension="gif",
            media_type="image/gif",
            size=3,
            task_id="t-1",
            address=address,
        )
        state.record_spend(  # type: ignore[attr-defined]
            task_ref=ref,
            provider="sim",
            address=address,
            profile="default",
            content_key=key,
            amount=Decimal("0.50"),
            source="estimate",
        )
        state.record_task_status(ref, COLLECTED)  # type: ignore[attr-defined]
        state.set_asset(  # type: ignore[attr-defined]
            AssetRecord(address, "default", key, f"outputs/{address}.gif", "c" * 64, 3, 1, "now")
        )


def test_a_missing_state_reads_as_empty_and_is_not_created(store: StateStore) -> None:
    assert not store.exists()
    reader = store.open_reader()
    try:
        assert reader.lineage is None and reader.serial == 0 and reader.all_assets() == []
    finally:
        reader.close()
    assert not store.exists()


def test_the_journal_keeps_each_step_in_order(store: StateStore, writer: object) -> None:
    ref = intent(writer)
    (row,) = writer.open_tasks()  # type: ignore[attr-defined]
    assert (row.id, row.status, row.task_id) == (ref, INTENT, None)
    writer.record_sending(ref, answer_by=1e9 + 5)  # type: ignore[attr-defined]
    writer.record_submitted(ref, "t-1")  # type: ignore[attr-defined]
    writer.record_quote(ref, Decimal("0.45"))  # type: ignore[attr-defined]
    row = writer.task(ref)  # type: ignore[attr-defined]
    assert (row.status, row.task_id, row.quoted_cost) == (SUBMITTED, "t-1", Decimal("0.45"))
    assert row.sent_at is not None
    known = writer.known_task_ids("sim", ["t-1", "t-2"])  # type: ignore[attr-defined]
    assert list(known) == ["t-1"] and known["t-1"] == row.sent_at
    writer.record_task_status(ref, SUCCEEDED)  # type: ignore[attr-defined]
    serial = writer.serial  # type: ignore[attr-defined]
    finish(writer, ref)
    assert writer.open_tasks() == []  # type: ignore[attr-defined]
    assert writer.serial > serial  # type: ignore[attr-defined]
    assert writer.generation("k1").blob_sha256 == "b" * 64  # type: ignore[attr-defined]
    assert writer.assets("default")["a"].content_key == "k1"  # type: ignore[attr-defined]
    (spent,) = list(writer.ledger())  # type: ignore[attr-defined]
    assert Decimal(str(spent["amount"])) == Decimal("0.50")


def test_a_task_is_taken_for_collection_once(writer: object) -> None:
    ref = intent(writer)
    writer.record_submitted(ref, "t-1")  # type: ignore[attr-defined]
    assert writer.take_collection(ref) is True  # type: ignore[attr-defined]
    assert writer.task(ref).status == COLLECTED  # type: ignore[attr-defined]
    assert writer.take_collection(ref) is False  # type: ignore[attr-defined]
    assert writer.open_tasks() == []  # type: ignore[attr-defined]


def test_submits_judged_to_have_made_no_task_are_counted_by_content_key(writer: object) -> None:
    first, second, other = intent(writer), intent(writer), intent(writer, key="k2")
    for ref in (first, second, other):
        writer.record_sending(ref)  # type: ignore[attr-defined]
        writer.record_task_status(ref, NOT_CREATED, "no task in the list")  # type: ignore[attr-defined]
    sent = writer.task(first).sent_at  # type: ignore[attr-defined]
    long_ago, later = "2000-01-01T00:00:00.000+00:00", "2999-01-01T00:00:00.000+00:00"
    assert writer.judged_none("k1", long_ago, later) == 2  # type: ignore[attr-defined]
    assert writer.judged_none("k1", later, later) == 0  # type: ignore[attr-defined]
    assert writer.judged_none("k1", long_ago, sent) == 0  # type: ignore[attr-defined]  # before
    assert writer.judged_none("k3", long_ago, later) == 0  # type: ignore[attr-defined]


def test_an_unconfirmed_submit_stays_open_with_its_window(writer: object) -> None:
    ref = intent(writer)
    writer.record_unconfirmed(ref, "timed out", "2026-12-06T10:00:05.000+00:00")  # type: ignore[attr-defined]
    (row,) = writer.open_tasks()  # type: ignore[attr-defined]
    assert row.status == UNCONFIRMED and row.unknown_until == "2026-12-06T10:00:05.000+00:00"


def test_a_transaction_commits_all_or_nothing(store: StateStore, writer: object) -> None:
    ref = intent(writer)
    with pytest.raises(RuntimeError), writer.transaction():  # type: ignore[attr-defined]
        writer.record_submitted(ref, "t-1")  # type: ignore[attr-defined]
        raise RuntimeError("killed between two writes")
    assert writer.task(ref).task_id is None  # type: ignore[attr-defined]
    reader = store.open_reader()
    try:
        assert [t.status for t in reader.open_tasks()] == [INTENT]
    finally:
        reader.close()


def test_what_a_writer_committed_is_what_a_new_reader_sees(
    store: StateStore, writer: object
) -> None:
    ref = intent(writer)
    writer.record_submitted(ref, "t-1")  # type: ignore[attr-defined]
    finish(writer, ref)
    reader = store.open_reader()
    try:
        assert reader.lineage == writer.lineage  # type: ignore[attr-defined]
        assert reader.serial == writer.serial  # type: ignore[attr-defined]
        assert reader.assets("default") == writer.assets("default")  # type: ignore[attr-defined]
        assert reader.all_generations() == writer.all_generations()  # type: ignore[attr-defined]
    finally:
        reader.close()


def test_the_lock_admits_one_writer_and_names_the_holder(store: StateStore, writer: object) -> None:
    held_by = writer.lock_holder()  # type: ignore[attr-defined]
    other = store.open_writer()
    try:
        with pytest.raises(StateError, match=held_by.id):
            other.acquire_lock(this_process()._replace(id="other-lock"), 0.0)
        assert other.lock_holder() == held_by
    finally:
        other.close()


def test_a_released_lock_can_be_taken_and_forced(store: StateStore) -> None:
    first = store.open_writer()
    holder = this_process()
    first.acquire_lock(holder, 0.0)
    first.release_lock(holder.id)
    assert first.lock_holder() is None
    first.acquire_lock(holder, 0.0)
    first.close()
    second = store.open_writer()
    try:
        assert second.force_unlock(holder.id).id == holder.id
        assert second.lock_holder() is None
    finally:
        second.close()


def test_a_reader_changes_nothing(store: StateStore, backend: Any) -> None:
    state = store.open_writer()
    finish(state, intent(state))
    state.close()
    before = backend.fingerprint(store)
    reader = store.open_reader()
    try:
        assert "a" in reader.assets("default")
    finally:
        reader.close()
    assert backend.fingerprint(store) == before


def test_migrations_run_once_and_a_newer_schema_is_refused(store: StateStore, backend: Any) -> None:
    store.open_writer().close()
    again = store.open_writer()
    lineage = again.lineage
    again.close()
    reader = store.open_reader()
    assert reader.lineage == lineage
    reader.close()
    backend.from_the_future(store)
    with pytest.raises(StateError, match="newer wanplan"):
        store.open_reader()
    with pytest.raises(StateError, match="newer wanplan"):
        store.open_writer()


def test_try_lock_takes_a_free_lock_and_names_a_live_holder(
    store: StateStore, writer: object
) -> None:
    held_by = writer.lock_holder()  # type: ignore[attr-defined]
    other = store.open_writer()
    try:
        holder, warnings = other.try_lock(this_process()._replace(id="other-lock"))
        assert holder == held_by and warnings == []
        writer.release_lock(held_by.id)  # type: ignore[attr-defined]
        holder, _ = other.try_lock(this_process()._replace(id="other-lock"))
        assert holder is None and other.lock_holder().id == "other-lock"
        other.release_lock("other-lock")
    finally:
        other.close()
    writer.try_lock(held_by)  # type: ignore[attr-defined]  # the fixture releases it


def test_a_content_key_is_claimed_by_one_holder_until_its_lease_lapses(writer: object) -> None:
    assert writer.claim("key-1", "runner-a", 60) is None  # type: ignore[attr-defined]
    assert writer.claim("key-1", "runner-a", 60) is None  # type: ignore[attr-defined]  # its own
    assert writer.claim("key-1", "runner-b", 60) == "runner-a"  # type: ignore[attr-defined]
    assert writer.claim("key-2", "runner-b", 0.05) is None  # type: ignore[attr-defined]
    time.sleep(0.1)  # runner-b stopped renewing: its claim is taken over
    assert writer.claim("key-2", "runner-a", 60) is None  # type: ignore[attr-defined]
    assert writer.renew_claims("runner-a", 60) == 2  # type: ignore[attr-defined]
    assert writer.renew_claims("runner-b", 60) == 0  # type: ignore[attr-defined]
    writer.release_claims("runner-a")  # type: ignore[attr-defined]
    assert writer.claim("key-1", "runner-b", 60) is None  # type: ignore[attr-defined]


def test_a_renewed_claim_outlives_its_first_lease(writer: object) -> None:
    assert writer.claim("key-1", "runner-a", 0.1) is None  # type: ignore[attr-defined]
    writer.renew_claims("runner-a", 60)  # type: ignore[attr-defined]
    time.sleep(0.15)
    assert writer.claim("key-1", "runner-b", 60) == "runner-a"  # type: ignore[attr-defined]


def test_the_ledger_sums_and_sorts_exactly_in_sql(
    store: StateStore, writer: object, backend: Any
) -> None:
    ref = intent(writer)
    finish(writer, ref)  # $0.50, prompt "p"
    for address, amount in [("b", "0.10"), ("b", "0.10"), ("b", "0.10"), ("c", "9.99")]:
        writer.record_spend(  # type: ignore[attr-defined]
            task_ref=ref, provider="sim", address=address, profile="default",
            content_key="k1", amount=Decimal(amount), source="estimate",
        )  # fmt: skip
    for amount in ("10.00", None):
        writer.record_spend(  # type: ignore[attr-defined]
            task_ref=ref, provider="other", address="d", profile="default",
            content_key="k1", amount=Decimal(amount) if amount else None, source="estimate",
        )  # fmt: skip
    sql = lambda statement: backend.sql(store, statement)  # noqa: E731
    # Exact: 0.1 + 0.1 + 0.1 is 0.30, not 0.30000000000000004; numeric: 10.00 sorts above 9.99.
    assert sql("select sum(amount_micros) from ledger where address = 'b'") == [(300_000,)]
    assert sql(
        "select amount from ledger where amount_micros is not null"
        " order by amount_micros desc limit 2"
    ) == [
        ("10.00",),
        ("9.99",),
    ]
    by_provider = sql(
        "select provider, tasks, unknown_price_tasks, amount_micros from spend_by_provider"
        " order by provider"
    )
    assert by_provider == [("other", 2, 1, 10_000_000), ("sim", 5, 0, 10_790_000)]
    # Dollars for reading, exact on both (SQLite has no decimal type: exact text).
    assert sql("select amount_usd from spend_by_asset where address = 'c'") == [
        (Decimal("9.990000") if backend is PostgresBackend else "9.990000",)
    ]
    assert sql("select tasks, amount_micros from spend_by_day") == [(7, 20_790_000)]
    # The prompt and model as columns, without parsing JSON.
    assert sql("select address, model_id, mode, prompt from generation_prompts") == [
        ("a", "sim-t2v", "t2v", "p")
    ]
    assert sql("select model_id, prompt, amount from spend where address = 'a'") == [
        ("sim-t2v", "p", "0.50")
    ]


def test_an_older_ledger_gains_its_exact_amounts_when_migrated(
    store: StateStore, backend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as older:
        backend.before_last_migration(older)
        state = store.open_writer()
        state.close()
    backend.sql(
        store,
        "insert into ledger (recorded_at, day, provider, address, profile, content_key, amount,"
        " currency, source) values ('t', '2026-01-01', 'sim', 'a', 'default', 'k', '0.358385',"
        " 'USD', 'estimate'), ('t', '2026-01-01', 'sim', 'a', 'default', 'k', null, 'USD',"
        " 'unknown')",
    )
    store.open_writer().close()  # migrates
    assert backend.sql(store, "select amount, amount_micros from ledger order by id") == [
        ("0.358385", 358_385),
        (None, None),
    ]


def test_views_are_made_from_todays_definitions_once_every_migration_ran(
    store: StateStore, backend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A view may read a column a later migration adds: the views are derived from today's
    definitions after the tables reached today's schema, never inside an older step."""
    backend.with_a_later_migration(monkeypatch)
    store.open_writer().close()
    assert backend.sql(store, "select count(*) from notes") == [(0,)]
    assert backend.sql(store, "select count(*) from spend_by_day") == [(0,)]


def test_a_ledger_amount_past_six_decimals_is_one_figure_in_text_and_micros(
    store: StateStore, writer: object, backend: Any
) -> None:
    """Billed seconds with fractions make amounts like 0.36125208: the ledger keeps them to
    the micro-dollar, so its decimal text and its integer never disagree."""
    ref = intent(writer)
    writer.record_spend(  # type: ignore[attr-defined]
        task_ref=ref, provider="dashscope", address="s", profile="default",
        content_key="k1", amount=Decimal("0.36125258"), source="reported",
    )  # fmt: skip
    rows = backend.sql(store, "select amount, amount_micros from ledger where address = 's'")
    assert [(Decimal(str(amount)), micros) for amount, micros in rows] == [
        (Decimal("0.361253"), 361_253)
    ]
