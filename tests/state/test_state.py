"""The SQLite state: migrations, lineage and serial, atomic writes, read-only plans."""

from __future__ import annotations

import hashlib
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import Run
from wanplan.errors import StateError
from wanplan.state import migrations
from wanplan.state.records import AssetRecord
from wanplan.state.sqlite import SqliteState


def record(address: str, key: str = "k" * 64) -> AssetRecord:
    return AssetRecord(address, "default", key, f"outputs/{address}.gif", "s" * 64, 1, 1, "now")


def test_new_state_has_lineage_serial_and_all_migrations(tmp_path: Path) -> None:
    state = SqliteState.open_writer(tmp_path / "state" / "wanplan.db")
    assert state.lineage and len(state.lineage) == 36
    assert state.serial == 0
    assert migrations.pending(state.db) == []
    state.set_asset(record("a"))
    state.set_asset(record("b"))
    state.forget_assets("default", ["a"])
    assert state.serial == 3
    lineage = state.lineage
    state.close()

    reader = SqliteState.open_reader(tmp_path / "state" / "wanplan.db")
    assert (reader.lineage, reader.serial) == (lineage, 3)
    assert list(reader.assets("default")) == ["b"]
    reader.close()


def test_writes_in_one_transaction_commit_together_or_not_at_all(tmp_path: Path) -> None:
    state = SqliteState.open_writer(tmp_path / "wanplan.db")
    with pytest.raises(RuntimeError), state.transaction():
        state.set_asset(record("a"))
        ref = state.record_intent(
            provider="sim",
            model_id="sim/x",
            content_key="k",
            address="a",
            profile="default",
            estimated_cost=None,
        )
        assert ref > 0
        raise RuntimeError("crash in the middle")
    assert state.assets("default") == {} and state.serial == 0 and state.open_tasks() == []
    state.close()


def test_reader_never_creates_a_database(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    folder.mkdir()
    reader = SqliteState.open_reader(folder / "none.db")
    assert reader.lineage is None and reader.serial == 0 and reader.assets("default") == {}
    reader.close()
    assert list(folder.iterdir()) == []


def test_old_schema_is_migrated_in_memory_for_readers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "wanplan.db"
    SqliteState.open_writer(path).close()
    before = path.read_bytes()

    added: list[str] = []
    monkeypatch.setattr(
        migrations,
        "MIGRATIONS",
        [
            *migrations.MIGRATIONS,
            ("0002_test", lambda db: added.append("ran") or db.table("extra").create({"x": int})),
        ],
    )
    reader = SqliteState.open_reader(path)
    assert added == ["ran"] and "extra" in reader.db.table_names()
    reader.close()
    assert path.read_bytes() == before

    writer = SqliteState.open_writer(path)
    assert "extra" in writer.db.table_names()
    writer.close()


def test_state_from_a_newer_wanplan_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "wanplan.db"
    SqliteState.open_writer(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("insert into _migrations values ('9999_future', 'now')")
    with pytest.raises(StateError, match="newer wanplan"):
        SqliteState.open_reader(path)


def test_not_a_database_is_a_clear_error(tmp_path: Path, run: Run, project: Path) -> None:
    (project / "state").mkdir(exist_ok=True)
    (project / "state" / "wanplan.db").write_bytes(b"this is not sqlite" * 100)
    result = run(project, "plan")
    assert result.exit_code == 1
    assert "not a readable wanplan state" in result.output and "Traceback" not in result.output


def test_plan_leaves_the_database_byte_identical(run: Run, project: Path) -> None:
    assert run(project, "apply", "-y").exit_code == 0
    spec = project / "specs" / "launch.toml"
    spec.write_text(spec.read_text().replace("seed = 42", "seed = 1"))
    state_dir = project / "state"
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in state_dir.iterdir()}
    for fmt in ("text", "json", "markdown"):
        assert run(project, "plan", "--format", fmt).exit_code == 0
    assert run(project, "show").exit_code == 0
    assert run(project, "state", "list").exit_code == 0
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in state_dir.iterdir()}
    assert after == before  # same bytes, and no -wal or -shm left behind


def test_plan_creates_no_database_on_a_new_project(run: Run, project: Path) -> None:
    assert run(project, "plan").exit_code == 0
    assert not (project / "state" / "wanplan.db").exists()
    assert not (project / ".wanplan").exists()


def test_spend_and_tasks_are_recorded(run: Run, project: Path) -> None:
    assert run(project, "apply", "-y").exit_code == 0
    reader = SqliteState.open_reader(project / "state" / "wanplan.db")
    ledger = list(reader.ledger())
    assert len(ledger) == 6
    assert sum(Decimal(row["amount"]) for row in ledger) == Decimal("3.03")
    assert {row["source"] for row in ledger} == {"estimate"}
    tasks = list(reader.db.query("select status, task_id from tasks"))
    assert len(tasks) == 6 and all(t["status"] == "collected" and t["task_id"] for t in tasks)
    assert reader.serial == 6
    reader.close()


def test_spend_is_looked_up_by_content_key_through_an_index(tmp_path: Path) -> None:
    """Each output's provenance reads its spend by content key: without an index, a scan of
    the whole ledger per asset (quadratic over a large apply)."""
    state = SqliteState.open_writer(tmp_path / "state.db")
    try:
        plan = state.db.execute(
            "explain query plan select amount from ledger where content_key = ?", ["k"]
        ).fetchall()
    finally:
        state.close()
    assert any("USING INDEX" in str(row) for row in plan), plan


KILLED_WRITER = """
import os, signal, sys
from wanplan.state.sqlite import SqliteState
state = SqliteState.open_writer(__import__("pathlib").Path(sys.argv[1]))
state.db.execute("insert into meta (key, value) values ('last', 'in the log')")
state.db.conn.commit()
os.kill(os.getpid(), signal.SIGKILL)  # the commit is in the write-ahead log only
"""


def test_a_reader_that_cannot_recover_a_killed_writers_log_reads_a_private_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess
    import sys

    path = tmp_path / "state" / "wanplan.db"
    subprocess.run([sys.executable, "-c", KILLED_WRITER, str(path)], check=False)
    assert path.with_name("wanplan.db-wal").stat().st_size > 0
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in path.parent.iterdir()}

    def needs_recovery(_: Path) -> sqlite3.Connection:
        # What SQLite answers a read-only connection when the log needs a recovery it cannot
        # write (a read-only mount, or the killed writer's shared memory left mid-update).
        error = sqlite3.OperationalError("attempt to write a readonly database")
        error.sqlite_errorcode = sqlite3.SQLITE_READONLY_RECOVERY  # type: ignore[attr-defined]
        raise error

    monkeypatch.setattr(SqliteState, "_read_only", staticmethod(needs_recovery))
    reader = SqliteState.open_reader(path)
    try:
        row = reader.db.execute("select value from meta where key = 'last'").fetchone()
        assert row == ("in the log",)  # the last commit, recovered from the log
    finally:
        reader.close()
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in path.parent.iterdir()}
    assert after == files  # the state's own files are untouched
