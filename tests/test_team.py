"""A team's runners on one state in PostgreSQL and one cache in S3 (PRODUCT §11): nothing
shared on disk, a fresh runner plans without the cache, `pull` writes byte-identical outputs,
and no secret lands in a row or an object."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_FILES, REPO, Run

SECRET = "testing-secret"  # the AWS secret key the s3_cache fixture sets


def runner(tmp_path: Path, name: str) -> Path:
    """A runner's checkout: the specs, the settings and the inputs, nothing else."""
    root = tmp_path / name
    root.mkdir()
    for entry in EXAMPLE_FILES:
        source = REPO / entry
        (shutil.copytree if source.is_dir() else shutil.copy)(source, root / entry)
    return root


def digests(root: Path) -> dict[str, str]:
    outputs = root / "outputs"
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(outputs.rglob("*"))
        if p.is_file() and not p.name.endswith(".wanplan.json")
    }


def test_a_fresh_runner_plans_without_the_cache_and_pulls_identical_outputs(
    run: Run,
    tmp_path: Path,
    postgres_url: str,
    s3_cache: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WANPLAN_STATE_URL", postgres_url)
    monkeypatch.setenv("WANPLAN_CACHE_URL", s3_cache)
    first = runner(tmp_path, "first")
    applied = run(first, "apply", "-y")
    assert applied.exit_code == 0, applied.output
    assert "6 created" in applied.output

    second = runner(tmp_path, "second")
    with monkeypatch.context() as no_cache_credentials:
        for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"):
            no_cache_credentials.delenv(variable)
        planned = run(second, "plan", "--detailed-exitcode")
    assert planned.exit_code == 0, planned.output  # missing outputs are pull's, not changes
    assert not (second / "outputs").exists()

    pulled = run(second, "pull")
    assert pulled.exit_code == 0, pulled.output
    assert "Pulled 6 outputs." in pulled.output
    assert digests(second) == digests(first)

    altered = next(iter(digests(second)))
    (second / altered).write_bytes(b"edited by hand")
    plan = run(second, "plan")
    assert "restore from the cache" in plan.output, plan.output
    assert run(second, "apply", "-y").exit_code == 0
    assert digests(second) == digests(first)


def test_push_sends_what_a_local_cache_made_and_no_secret_is_kept(
    run: Run,
    tmp_path: Path,
    postgres_url: str,
    s3_cache: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import httpx
    import psycopg

    solo = runner(tmp_path, "solo")
    assert run(solo, "apply", "-y").exit_code == 0  # the local cache, the SQLite state
    monkeypatch.setenv("WANPLAN_CACHE_URL", s3_cache)
    pushed = run(solo, "push")
    assert pushed.exit_code == 0 and "Pushed 6 blobs." in pushed.output, pushed.output
    assert "Pushed 0 blobs." in run(solo, "push").output

    monkeypatch.setenv("WANPLAN_STATE_URL", postgres_url)
    assert run(solo, "apply", "-y", "--target", "poster", "--replace", "poster").exit_code == 0
    with psycopg.connect(postgres_url) as conn:
        for (table,) in conn.execute(
            "select tablename from pg_tables where schemaname = 'public'"
        ).fetchall():
            rows = conn.execute(f"select * from {table}").fetchall()
            assert SECRET not in repr(rows), table
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    bucket = s3_cache.removeprefix("s3://").split("/")[0]
    listing = httpx.get(f"{endpoint.rstrip('/')}/{bucket}").text
    assert SECRET not in listing


def test_a_bucket_that_refuses_is_one_line_and_nothing_is_paid(
    run: Run, tmp_path: Path, s3_cache: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = s3_cache.replace("s3://wanplan-", "s3://no-such-bucket-")
    monkeypatch.setenv("WANPLAN_CACHE_URL", missing)
    root = runner(tmp_path, "refused")
    applied = run(root, "apply", "-y")
    assert applied.exit_code == 1, applied.output
    errors = [line for line in applied.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "nothing was sent" in errors[0], applied.output
    assert "<?xml" not in applied.output and "testing-secret" not in applied.output
    assert not (root / "outputs").exists()  # refused before the first submit

    monkeypatch.setenv("WANPLAN_CACHE_URL", s3_cache)
    assert run(root, "apply", "-y", "--target", "poster").exit_code == 0
    monkeypatch.setenv("WANPLAN_CACHE_URL", missing)
    (root / "outputs" / "poster.png").unlink()
    shutil.rmtree(root / ".wanplan")  # a fresh runner: only the bucket has the bytes
    pulled = run(root, "pull")
    assert pulled.exit_code == 1 and "Traceback" not in pulled.output
    assert "found nothing" in pulled.output and "<?xml" not in pulled.output, pulled.output


def test_gc_with_a_shared_cache_forgets_what_it_removes(
    run: Run, tmp_path: Path, s3_cache: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # From review: gc removed a blob from the bucket but left its generation recorded, so a
    # revert planned `reuse` at $0 and every apply failed on the missing blob.
    monkeypatch.setenv("WANPLAN_CACHE_URL", s3_cache)
    root = runner(tmp_path, "gc")
    spec = root / "specs" / "launch.toml"
    original = spec.read_text()
    assert run(root, "apply", "-y", "--target", "poster").exit_code == 0
    spec.write_text(original.replace('"A minimalist poster', '"Changed. A minimalist poster'))
    assert run(root, "apply", "-y", "--target", "poster").exit_code == 0
    collected = run(root, "gc")
    assert collected.exit_code == 0 and "1 unused blobs" in collected.output, collected.output
    spec.write_text(original)
    plan = run(root, "plan", "--target", "poster")
    assert "reuse" not in plan.output, plan.output
    assert run(root, "apply", "-y", "--target", "poster").exit_code == 0


def test_a_cache_that_stops_taking_results_stops_the_submits(
    run: Run, tmp_path: Path, s3_cache: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What is made once the cache refuses could not be kept either: no further submit, and
    the paid, uncollected tasks are said, for the next apply to collect. One at a time: the
    second was sent when the first task ended, before its result was refused; the third
    would be sent after, and is not."""
    import errno
    import sqlite3

    from wanplan.blobs import s3

    monkeypatch.setenv("WANPLAN_CACHE_URL", s3_cache)
    real = s3.S3BlobStore.commit

    def refusing(store: s3.S3BlobStore, staged: s3.StagedBlob) -> str:
        raise s3.CacheRefused(errno.EIO, f"{s3_cache}: an upload failed (HTTP 503)")

    monkeypatch.setattr(s3.S3BlobStore, "commit", refusing)
    root = runner(tmp_path, "alone")
    settings = root / "wanplan.toml"
    settings.write_text(settings.read_text().replace("concurrency = 4", "concurrency = 1"))
    targets = ["--target", "city-timelapse", "--target", "forest-dolly", "--target", "poster"]
    result = run(root, "apply", "-y", *targets)
    assert result.exit_code == 1, result.output
    assert "the task is recorded: apply again collects it" in result.output
    assert "not submitted: the cache cannot be written" in result.output
    assert "committed by 2 tasks made but not collected: the next apply collects them" in (
        result.output
    )
    with sqlite3.connect(root / "state" / "wanplan.db") as db:
        assert db.execute("select count(*) from tasks").fetchone()[0] == 2
    monkeypatch.setattr(s3.S3BlobStore, "commit", real)
    again = run(root, "apply", "-y", *targets)
    assert again.exit_code == 0 and "2 resumed" in again.output, again.output


def test_pulling_from_a_machine_without_the_shared_cache_says_how(
    run: Run, tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WANPLAN_STATE_URL", postgres_url)
    first = runner(tmp_path, "first")
    assert run(first, "apply", "-y", "--target", "poster").exit_code == 0
    pulled = run(runner(tmp_path, "second"), "pull")
    assert pulled.exit_code == 1
    assert pulled.output.strip().splitlines() == [
        "error: outputs/poster.png: this machine's cache (.wanplan/) has no copy; pull from the "
        "shared one: set [cache] url or WANPLAN_CACHE_URL; nothing was written"
    ]
