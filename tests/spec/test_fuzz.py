"""Thousands of malformed and adversarial specs and settings: each gives a valid plan or a clear
error naming where, never a traceback, and never a write (PRODUCT §10, issue 7)."""

from __future__ import annotations

import datetime
import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.conftest import REPO, Run, write_spec
from wanplan.errors import WanplanError
from wanplan.spec.model import ASSET_FIELDS
from wanplan.state.records import AssetRecord
from wanplan.state.sqlite import SqliteState
from wanplan.workspace import PlanRequest, Workspace

EXAMPLES = int(os.environ.get("WANPLAN_FUZZ_EXAMPLES", "400"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,  # the same examples in every CI run: a failure is reproducible
)

HOSTILE_PATHS = [
    "../outside.png",
    "inputs/../../outside.png",
    "/etc/passwd",
    "inputs/escape.png",  # a symlink out of the project, made below
    "inputs/hero.png",
    "inputs/",
    "inputs/missing.png",
    "https://example.com/a.png",
    "http://169.254.169.254/latest/meta-data/",
    "file:///etc/passwd",
    "ftp://example.com/a.png",
    "C:\\Windows\\system.ini",
    "inputs/hero.png\x00.txt",
    "~/secret.png",
    "",
    "asset:valid",
    "asset:fuzz",
    "asset:missing",
    "asset:../x",
    "asset:",
]
HOSTILE_TEXT = [
    "",
    " ",
    "a" * 5000,
    "../../x",
    "\x00",
    "\u202e",
    "héro",
    "$(rm -rf /)",
    "{{ secrets.KEY }}",
    "720P",
    "16:9",
    "wan-2.5",
    "t2v",
    "sim",
    "outputs/../../x.gif",
]
scalars = st.one_of(
    st.sampled_from(HOSTILE_TEXT + HOSTILE_PATHS),
    st.text(max_size=40),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.datetimes(min_value=datetime.datetime(1, 1, 1)),
    st.dates(),
    st.times(),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=8,
)
field_names = st.sampled_from([*ASSET_FIELDS, "matrix", "depends_on", "unknown_field", "Prompt"])
asset_tables = st.dictionaries(field_names, values, max_size=8)
asset_names = st.one_of(
    st.sampled_from(["hero", "a", "x" * 300, "../escape", "Hero", "a b", "-x", "ok.name", "é"]),
    st.text(max_size=20),
)
spec_documents = st.fixed_dictionaries(
    {},
    optional={
        "version": st.one_of(st.just(1), values),
        "defaults": st.one_of(asset_tables, values),
        "assets": st.one_of(st.dictionaries(asset_names, asset_tables, max_size=4), values),
        "extra": values,
    },
)
config_documents = st.fixed_dictionaries(
    {},
    optional={
        "project": st.dictionaries(
            st.sampled_from(["default_provider", "state", "other"]), values, max_size=3
        ),
        "budget": st.dictionaries(
            st.sampled_from(["max_per_apply", "max_per_asset", "max_per_day", "max"]),
            values,
            max_size=3,
        ),
        "profiles": st.dictionaries(st.text(max_size=10), values, max_size=2),
        "providers": st.dictionaries(
            st.sampled_from(["sim", "wavespeed", "dashscope", "nope"]),
            st.dictionaries(
                st.sampled_from(
                    ["base_url", "api_key_env", "region", "concurrency", "poll_interval", "x"]
                ),
                values,
                max_size=3,
            ),
            max_size=2,
        ),
    },
)


def _digest(root: Path) -> dict[str, str]:
    """Every file under the project with its sha256 (symlinks by their target's name)."""
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_symlink():
            found[str(path)] = f"-> {os.readlink(path)}"
        elif path.is_file():
            found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@pytest.fixture
def fuzz_root(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "fuzz"
    (root / "specs").mkdir(parents=True)
    shutil.copytree(REPO / "inputs", root / "inputs")
    outside = tmp_path / "outside.png"
    outside.write_bytes((REPO / "inputs" / "hero.png").read_bytes())
    (root / "inputs" / "escape.png").symlink_to(outside)
    # A state with a record in it: planning must leave its bytes as they are.
    state = SqliteState.open_writer(root / "state" / "wanplan.db")
    state.set_asset(AssetRecord("old", "default", "k" * 64, "outputs/old.gif", "s" * 64, 1, 1, "x"))
    state.close()
    yield root


def plan_or_clear_error(root: Path) -> None:
    """The property: a plan, or a WanplanError whose every line says something; any other
    exception fails the test (that is the traceback a user would see)."""
    before = _digest(root.parent)
    try:
        plan = Workspace.open(root).plan(PlanRequest()).plan
    except WanplanError as exc:
        lines = str(exc).splitlines()
        assert lines and all(line.strip() for line in lines), repr(str(exc))
        assert "Traceback" not in str(exc)
        event(f"refused: {type(exc).__name__}")
    else:
        event(f"planned {min(len(plan.changes), 3)}+ changes")
    assert _digest(root.parent) == before, "planning wrote a file"


def _toml(document: dict[str, Any]) -> str | None:
    try:
        return tomli_w.dumps(document)
    except (TypeError, ValueError):
        return None  # not representable in TOML (a None, a key tomli-w refuses): not a file


@FUZZ
@given(document=spec_documents)
def test_adversarial_specs_plan_or_fail_clearly(fuzz_root: Path, document: dict[str, Any]) -> None:
    text = _toml(document)
    if text is None:
        return
    (fuzz_root / "specs" / "fuzz.toml").write_text(text, "utf-8")
    plan_or_clear_error(fuzz_root)


VALID_ASSET = {"mode": "i2v", "model": "wan-2.5", "prompt": "A fern.", "image": "inputs/hero.png"}


@FUZZ
@given(
    changes=st.dictionaries(field_names, values, min_size=1, max_size=2),
    name=asset_names,
)
def test_one_hostile_field_in_a_valid_asset_plans_or_fails_clearly(
    fuzz_root: Path, changes: dict[str, Any], name: str
) -> None:
    """Near-valid assets reach the deeper checks: paths, models, capabilities, params."""
    text = _toml({"version": 1, "assets": {"valid": VALID_ASSET, name: VALID_ASSET | changes}})
    if text is None:
        return
    (fuzz_root / "specs" / "fuzz.toml").write_text(text, "utf-8")
    plan_or_clear_error(fuzz_root)


@FUZZ
@given(document=config_documents)
def test_adversarial_settings_plan_or_fail_clearly(
    fuzz_root: Path, document: dict[str, Any]
) -> None:
    text = _toml(document)
    if text is None:
        return
    shutil.copy(REPO / "specs" / "launch.toml", fuzz_root / "specs" / "launch.toml")
    (fuzz_root / "wanplan.toml").write_text(text, "utf-8")
    plan_or_clear_error(fuzz_root)


SPEC_TEXT = (REPO / "specs" / "launch.toml").read_bytes()


@FUZZ
@given(
    cut=st.integers(min_value=0, max_value=len(SPEC_TEXT)),
    length=st.integers(min_value=0, max_value=40),
    insert=st.binary(max_size=12) | st.sampled_from([b"[", b"]]", b'"""', b"\xff\xfe", b"\x00"]),
    target=st.sampled_from(["specs/launch.toml", "wanplan.toml"]),
)
def test_corrupted_files_plan_or_fail_clearly(
    fuzz_root: Path, cut: int, length: int, insert: bytes, target: str
) -> None:
    base = SPEC_TEXT if target.startswith("specs") else (REPO / "wanplan.toml").read_bytes()
    cut = min(cut, len(base))
    # Both files fresh for each example: a settings file broken by an earlier one would stop
    # every later plan before the specs are read.
    shutil.copy(REPO / "specs" / "launch.toml", fuzz_root / "specs" / "launch.toml")
    shutil.copy(REPO / "wanplan.toml", fuzz_root / "wanplan.toml")
    (fuzz_root / target).write_bytes(base[:cut] + insert + base[cut + length :])
    plan_or_clear_error(fuzz_root)


def test_control_characters_in_a_name_are_escaped_not_printed(run: Run, project: Path) -> None:
    """A name with a carriage return or an ANSI escape cannot rewrite the terminal's line or
    hide the error (a pull request could otherwise make a CI log lie)."""
    write_spec(project, "evil.toml", 'version = 1\n[assets."ok\\r\\u001b[2Jfine"]\nmode = "t2v"\n')
    result = run(project, "plan")
    assert result.exit_code == 1
    assert "\r" not in result.stderr and "\x1b" not in result.stderr
    assert "ok\\r\\x1b[2Jfine" in result.stderr
    assert len(result.stderr.splitlines()) == 1
