"""The state in PostgreSQL, end to end through the CLI (PRODUCT §11): nothing of it on the
runner's disk, `plan` with a read-only role, and no password in any row or message."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.conftest import Run, postgres_admin


def test_apply_and_plan_with_the_state_in_postgresql(
    run: Run, project: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WANPLAN_STATE_URL", postgres_url)
    applied = run(project, "apply", "-y")
    assert applied.exit_code == 0, applied.output
    assert "6 created" in applied.output
    assert not (project / "state").exists()  # the state is the database's
    again = run(project, "plan", "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    listed = run(project, "state", "list")
    assert len(listed.output.split()) == 6
    assert run(project, "refresh").exit_code == 0
    assert "$" in run(project, "cost").output


def test_plan_needs_only_a_read_only_role(
    run: Run, project: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WANPLAN_STATE_URL", postgres_url)
    assert run(project, "apply", "-y", "--target", "poster").exit_code == 0
    role = f"wanplan_ro_{uuid.uuid4().hex[:8]}"
    database = postgres_url.rsplit("/", 1)[1]
    with postgres_admin() as admin:
        admin.execute(f"create role {role} login")
        admin.execute(f"grant connect on database {database} to {role}")
    import psycopg

    try:
        with psycopg.connect(postgres_url, autocommit=True) as owner:
            owner.execute(f"grant select on all tables in schema public to {role}")
        reader = postgres_url.replace("://postgres@", f"://{role}@")
        monkeypatch.setenv("WANPLAN_STATE_URL", reader)
        planned = run(project, "plan")
        assert planned.exit_code == 0, planned.output
        assert "5 to create" in planned.output  # the poster is in the state, read-only
        refused = run(project, "apply", "-y")  # a writer needs a writer's role
        assert refused.exit_code == 1 and "Traceback" not in refused.output
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as owner:
            owner.execute(f"drop owned by {role} cascade")  # its grants in this database
        with postgres_admin() as admin:
            admin.execute(f"drop owned by {role} cascade")
            admin.execute(f"drop role {role}")


def test_a_password_in_the_state_url_is_refused_before_connecting(
    run: Run, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WANPLAN_STATE_URL", "postgresql://bob:hunter2@127.0.0.1:9/x")
    result = run(project, "plan")
    assert result.exit_code == 1 and "hunter2" not in result.output
    assert "PGPASSWORD" in result.output


def test_the_lock_goes_with_its_holders_connection_never_with_a_pid(postgres_url: str) -> None:
    from wanplan.state.lock import this_process
    from wanplan.state.postgres import PostgresStore

    store = PostgresStore(postgres_url)
    # A live holder whose pid means nothing here (another machine, the same host name): kept.
    elsewhere = this_process()._replace(id="runner-a", pid=2**22 + 17)
    first = store.open_writer()
    second = store.open_writer()
    try:
        assert first.acquire_lock(elsewhere, 0.0) == []
        holder, _ = second.try_lock(this_process()._replace(id="runner-b"))
        assert holder is not None and holder.id == "runner-a"
        first.conn.close()  # runner A dies: its session, and with it the lock, is gone
        # (The server ends the session a moment after the connection closes: wait for it.)
        warnings = second.acquire_lock(this_process()._replace(id="runner-b"), 10.0)
        assert "connection to the state is gone" in warnings[0]
        assert second.lock_holder().id == "runner-b"
    finally:
        second.close()
