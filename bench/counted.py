"""`wanplan ARGS…` with every SQL statement it sends to its state counted (BEGIN and COMMIT
included), written to the file named by WANPLAN_BENCH_COUNT when it exits. For bench/runners.py:
the state round trips per asset, PostgreSQL's and SQLite's alike."""

from __future__ import annotations

import atexit
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

statements = 0


def _count(*_: Any) -> None:
    global statements
    statements += 1


def _count_sqlite() -> None:
    connect = sqlite3.connect

    def counted(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = connect(*args, **kwargs)
        conn.set_trace_callback(_count)
        return conn

    sqlite3.connect = counted  # type: ignore[assignment]


def _count_postgres() -> None:
    try:
        import psycopg
    except ImportError:
        return
    execute = psycopg.Cursor.execute
    enter, leave = psycopg.Transaction.__enter__, psycopg.Transaction.__exit__

    def counted_execute(self: Any, *args: Any, **kwargs: Any) -> Any:
        _count()
        return execute(self, *args, **kwargs)

    def counted_enter(self: Any) -> Any:
        _count()  # BEGIN (or SAVEPOINT)
        return enter(self)

    def counted_leave(self: Any, *args: Any) -> Any:
        _count()  # COMMIT, ROLLBACK (or RELEASE)
        return leave(self, *args)

    psycopg.Cursor.execute = counted_execute  # type: ignore[method-assign]
    psycopg.Transaction.__enter__ = counted_enter  # type: ignore[method-assign]
    psycopg.Transaction.__exit__ = counted_leave  # type: ignore[method-assign]


def _write() -> None:
    target = os.environ.get("WANPLAN_BENCH_COUNT")
    if target:
        Path(target).write_text(f"{statements}\n")


if __name__ == "__main__":
    _count_sqlite()
    _count_postgres()
    atexit.register(_write)
    from wanplan.cli.main import main

    sys.argv[0] = "wanplan"
    main()
