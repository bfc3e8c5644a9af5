"""Shared fixtures. Every test runs in its own project folder with a fake home, and no test can
open a socket beyond loopback."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from wanplan import workspace
from wanplan.apply.backoff import Backoff
from wanplan.cli.main import cli
from wanplan.emulator import Emulator, Knobs, provider_base_urls, running

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_FILES = ("wanplan.toml", "specs", "inputs")
EXAMPLE_ADDRESSES = (
    "city-timelapse",
    "forest-dolly",
    "hero-to-forest",
    "hero-turn",
    "poster",
    "square-loop",
)
"""The example project's assets, in address order."""


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("WANPLAN_SIM_LATENCY", "0.05")
    # Retries back off from 10 ms, not 1 s: the rhythm itself is test_retry.py's; here it
    # would only make fault tests wait. (The Workspace takes its backoff injected.)
    monkeypatch.setattr(workspace, "DEFAULT_BACKOFF", Backoff(base=0.01))
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    real_connect = socket.socket.connect

    def loopback_only(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and host not in ("127.0.0.1", "::1", "localhost"):
            raise RuntimeError(f"tests may not reach the network ({host})")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", loopback_only)
    yield


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the repository's example project."""
    root = tmp_path / "project"
    root.mkdir()
    for name in EXAMPLE_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name)
        else:
            shutil.copy(source, root / name)
    return root


@pytest.fixture
def empty_project(tmp_path: Path) -> Path:
    root = tmp_path / "empty"
    (root / "specs").mkdir(parents=True)
    (root / "inputs").mkdir()
    return root


Run = Callable[..., Result]


@pytest.fixture
def run() -> Run:
    """Run the CLI in a project: run(root, "plan", "--format", "json")."""

    def invoke(root: Path, *args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(
            cli, ["-C", str(root), *args], input=input, catch_exceptions=False
        )

    return invoke


KEY_VARIABLES = {
    "wavespeed": "WAVESPEED_API_KEY",
    "dashscope": "DASHSCOPE_API_KEY",
    "apixo": "APIXO_API_KEY",
    "wanapi": "WANAPI_API_KEY",
}


@contextmanager
def emulator_for_wanplan(
    monkeypatch: pytest.MonkeyPatch, knobs: Knobs, key: str
) -> Iterator[Emulator]:
    """The emulator on a loopback port, with every provider's base URL and key variable set
    for the wanplan commands that the test runs."""
    emulator = Emulator(knobs)
    with running(emulator) as base_url:
        for variable, url in provider_base_urls(base_url).items():
            monkeypatch.setenv(variable, url)
        for variable in KEY_VARIABLES.values():
            monkeypatch.setenv(variable, key)
        yield emulator


def write_spec(root: Path, name: str, text: str) -> Path:
    path = root / "specs" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    return path


@contextmanager
def tmpfs(mount: Path, megabytes: int) -> Iterator[Path]:
    """A small tmpfs at `mount` (a real disk that can fill up or be made read-only). Mounting
    needs root: skipped elsewhere with the reason, and never skipped in CI, which runs as root."""
    mount.mkdir(exist_ok=True)
    try:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(mount)],
            check=True,
            capture_output=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        if os.environ.get("CI") == "true" and os.geteuid() == 0:
            raise
        pytest.skip(f"cannot mount a tmpfs here ({exc}); CI runs this as root")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


POSTGRES_ADMIN = os.environ.get(
    "WANPLAN_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
"""A PostgreSQL server where tests may create databases and roles (.ci/run starts one)."""
IN_CI = os.environ.get("CI") == "true"  # read at import: `_isolated` clears CI for each test


def postgres_admin() -> Any:
    """A connection to the test server; outside CI a missing server skips, with the reason."""
    import psycopg

    try:
        return psycopg.connect(POSTGRES_ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        if IN_CI:
            raise
        pytest.skip(f"no PostgreSQL at {POSTGRES_ADMIN} ({exc}); CI starts one (.ci/run)")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty database of this test's own, dropped after it."""
    import uuid

    name = f"wanplan_test_{uuid.uuid4().hex[:12]}"
    with postgres_admin() as admin:
        admin.execute(f"create database {name}")
    yield POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    with postgres_admin() as admin:
        admin.execute(f"drop database if exists {name} with (force)")


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """An S3-compatible server on loopback: WANPLAN_TEST_S3_ENDPOINT (.ci/run starts moto's),
    else a moto server of this test run's own."""
    import sys
    import time

    import httpx

    given = os.environ.get("WANPLAN_TEST_S3_ENDPOINT")
    if given:
        yield given
        return
    server = Path(sys.executable).with_name("moto_server")
    if not server.exists():
        if IN_CI:
            raise RuntimeError("moto_server is missing: pip install 'moto[server]'")
        pytest.skip("moto's S3 server is not installed (pip install -e '.[dev]'); CI has it")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [str(server), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url, timeout=1)
            break
        except httpx.TransportError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError(f"moto's S3 server did not start on {url}") from None
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def s3_cache(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh bucket on the S3 server, with the AWS variables that reach it; its cache URL."""
    import uuid

    import httpx

    bucket = f"wanplan-{uuid.uuid4().hex[:12]}"
    httpx.put(f"{s3_endpoint}/{bucket}").raise_for_status()
    for variable, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing-secret",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": s3_endpoint,
    }.items():
        monkeypatch.setenv(variable, value)
    return f"s3://{bucket}/team-cache"
