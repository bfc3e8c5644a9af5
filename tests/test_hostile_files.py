"""Hostile files a user or a pull request can plant (issue 13): links out of the project at any
depth, special files, huge files, values a content key cannot hold. Each run of `plan` and
`apply` ends within 20 s and 200 MB with exit 0 or 1 and located one-line errors, reads nothing
outside the project, and leaves every file outside it exactly as it was."""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import REPO, tmpfs

SECRET = "SECRET-VALUE-4242"
SECONDS = 20
MEGABYTES = 200
LOCATED = re.compile(r"specs/|wanplan\.toml|inputs/|outputs|\.wanplan|state|assets\.")
ASSET = 'mode = "t2v"\nmodel = "wan-2.5"\nprompt = "A fern."\nseed = 1\n'


def spec(root: Path, name: str, text: str) -> None:
    path = root / "specs" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def asset(name: str, extra: str = "") -> str:
    return f"[assets.{name}]\n{ASSET}{extra}"


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def input_from(root: Path, name: str, what: str) -> None:
    path = root / "inputs" / name
    if what == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to(name)
    i2v = asset(path.stem).replace('"t2v"', '"i2v"')
    spec(root, f"{path.stem}.toml", f'{i2v}image = "inputs/{name}"\n')


def link_in(root: Path, relative: str, target: Path | str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)


def deep_link(folder: Path, outside: Path) -> None:
    (folder / "a" / "b").mkdir(parents=True)
    (folder / "a" / "b" / "c").symlink_to(outside)
    shutil.copy(REPO / "inputs" / "hero.png", outside / "secret.png")


def input_through_deep_link(root: Path, outside: Path) -> None:
    deep_link(root / "inputs", outside)
    i2v = asset("deepin").replace('"t2v"', '"i2v"')
    spec(root, "deep_input.toml", f'{i2v}image = "inputs/a/b/c/secret.png"\n')


def output_through_link(root: Path, outside: Path) -> None:
    (root / "outputs").mkdir(exist_ok=True)
    (root / "outputs" / "shots").symlink_to(outside / "elsewhere")
    spec(root, "victim.toml", asset("victim", 'output = "shots/victim.txt"\n'))


Hazard = Callable[[Path, Path], None]
HAZARDS: dict[str, Hazard] = {
    "spec linked out": lambda root, out: (root / "specs" / "leak.toml").symlink_to(
        out / "secret.toml"
    ),
    "specs folder linked out": lambda root, out: (root / "specs" / "sub").symlink_to(out),
    "specs folder linked out three deep": lambda root, out: deep_link(root / "specs", out),
    "input folder linked out three deep": lambda root, out: input_through_deep_link(root, out),
    "settings linked out": lambda root, out: (root / "wanplan.toml").symlink_to(
        out / "secret.toml"
    ),
    "spec is a FIFO": lambda root, out: os.mkfifo(root / "specs" / "pipe.toml"),
    "settings is a FIFO": lambda root, out: os.mkfifo(root / "wanplan.toml"),
    "spec links to /dev/zero": lambda root, out: (root / "specs" / "zero.toml").symlink_to(
        "/dev/zero"
    ),
    "spec links to /dev/urandom": lambda root, out: (root / "specs" / "noise.toml").symlink_to(
        "/dev/urandom"
    ),
    "huge spec": lambda root, out: spec(root, "huge.toml", "# pad\n" * 1_000_000),
    "nan param": lambda root, out: spec(root, "nan.toml", asset("nan", "params = { g = nan }\n")),
    "inf param": lambda root, out: spec(
        root, "inf.toml", asset("inf", "params = { g = [1, -inf] }\n")
    ),
    "nested 450 deep": lambda root, out: spec(
        root, "deep.toml", asset("deep", f"params = {{ g = {deep(450)} }}\n")
    ),
    "nested 60 deep": lambda root, out: spec(
        root, "deep60.toml", asset("deep60", f"params = {{ g = {deep(60)} }}\n")
    ),
    "NUL in a prompt": lambda root, out: spec(
        root, "nul.toml", asset("nul").replace("A fern.", "A\\u0000fern.")
    ),
    "NUL in an input path": lambda root, out: spec(
        root,
        "nulpath.toml",
        asset("nulpath").replace('"t2v"', '"i2v"') + 'image = "inputs/a\\u0000b.png"\n',
    ),
    "input symlink loop": lambda root, out: input_from(root, "loop.png", "symlink loop"),
    "input is a FIFO": lambda root, out: input_from(root, "pipe.png", "fifo"),
    "outputs subfolder linked out": lambda root, out: output_through_link(root, out),
    "outputs linked out": lambda root, out: (root / "outputs").symlink_to(out / "elsewhere"),
    "cache linked out": lambda root, out: (root / ".wanplan").symlink_to(out / "elsewhere"),
    "state folder linked out": lambda root, out: (root / "state").symlink_to(out / "elsewhere"),
    "outputs is a link loop": lambda root, out: (root / "outputs").symlink_to("outputs"),
    "state file is a link loop": lambda root, out: link_in(root, "state/wanplan.db", "wanplan.db"),
    "cache blobs linked out": lambda root, out: link_in(root, ".wanplan/blobs", out / "elsewhere"),
    "cache staging linked out": lambda root, out: link_in(root, ".wanplan/tmp", out / "elsewhere"),
}


MET_BY_APPLY = {"outputs subfolder linked out"}
"""Hazards a plan cannot see (it does not know the output's extension): apply fails them."""


def make_world(tmp_path: Path) -> tuple[Path, Path]:
    """A project with one good asset, and an outside world beside it with a secret in it."""
    root, outside = tmp_path / "project", tmp_path / "outside"
    (root / "specs").mkdir(parents=True)
    shutil.copytree(REPO / "inputs", root / "inputs")
    spec(root, "good.toml", asset("good"))
    (outside / "elsewhere").mkdir(parents=True)
    (outside / "secret.toml").write_text(f'token = "{SECRET}"\n')
    (outside / "elsewhere" / "victim.txt").write_text("precious\n")
    return root, outside


def outside_tree(tmp_path: Path, root: Path) -> dict[str, str]:
    """Every file and link under tmp_path except the project itself, with its content."""
    found: dict[str, str] = {}
    for path in sorted(tmp_path.rglob("*")):
        if path == root or root in path.parents:
            continue
        if path.is_symlink():
            found[str(path)] = f"-> {os.readlink(path)}"
        elif path.is_file():
            found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
        elif path.is_dir():
            found[str(path)] = "dir"
    return found


PEAK = """
def peak_kb():
    # The high-water mark of this process's own memory (VmHWM): ru_maxrss would carry over,
    # across exec, the memory of the test process that started it.
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
"""
PEAK_WRAPPER = (
    PEAK
    + """
import atexit, sys
atexit.register(lambda: sys.stderr.write(f"PEAK_KB={peak_kb()}\\n"))
from wanplan.cli.main import main
sys.argv[0] = "wanplan"
main()
"""
)
"""Runs wanplan and reports the process's own peak memory as it exits: this test run's other
children (a browser in another test) do not count, and no second interpreter is started."""
PEAKS: list[float] = []


def run_command(root: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    environment = {**os.environ, "WANPLAN_SIM_LATENCY": "0.05", "NO_COLOR": "1"}
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", PEAK_WRAPPER, "-C", str(root), *args],
        capture_output=True,
        text=True,
        timeout=SECONDS * 3,
        env=environment,
        stdin=subprocess.DEVNULL,
    )
    stderr, _, peak = result.stderr.rpartition("PEAK_KB=")
    PEAKS.append(int(peak.strip() or 0) / 1024)
    result = subprocess.CompletedProcess(result.args, result.returncode, result.stdout, stderr)
    return result, time.monotonic() - started


SESSION = (
    PEAK
    + """
import contextlib, io, json, sys, time
from wanplan.cli.main import main
results = []
for args in json.loads(sys.argv[1]):
    out, err, code, started = io.StringIO(), io.StringIO(), 0, time.monotonic()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        sys.argv = ["wanplan", *args]
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    results.append([code, out.getvalue(), err.getvalue(), time.monotonic() - started])
sys.__stdout__.write(json.dumps({"results": results, "peak_kb": peak_kb()}))
"""
)
"""Runs several wanplan commands, one after the other, in one process (a session, as in CI):
each one's exit code, output and time, and the process's peak memory."""

COMMANDS = (
    ("validate",),
    ("plan",),
    ("apply", "-y"),
    ("refresh",),
    ("gc",),
    ("show",),
    ("pull",),
)


def run_session(
    root: Path, commands: tuple[tuple[str, ...], ...]
) -> list[tuple[subprocess.CompletedProcess[str], float]]:
    environment = {**os.environ, "WANPLAN_SIM_LATENCY": "0.05", "NO_COLOR": "1"}
    argv = [["-C", str(root), *command] for command in commands]
    done = subprocess.run(
        [sys.executable, "-c", SESSION, json.dumps(argv)],
        capture_output=True,
        text=True,
        timeout=SECONDS * 3,
        env=environment,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    # What the process wrote outside any one command (at exit, from a thread): no crash either.
    assert "Traceback" not in done.stderr and SECRET not in done.stderr, done.stderr
    session = json.loads(done.stdout)
    PEAKS.append(session["peak_kb"] / 1024)
    return [
        (subprocess.CompletedProcess(args, code, out, err), seconds)
        for args, (code, out, err, seconds) in zip(argv, session["results"], strict=True)
    ]


def assert_contained(tmp_path: Path, root: Path, *, plan_fails: bool = True) -> None:
    """`plan` refuses (unless `plan_fails` is False: the hazard is only met by apply), apply
    fails, both in located lines and in time, and nothing outside changes."""
    before = outside_tree(tmp_path, root)
    first = len(PEAKS)
    for command, (result, seconds) in zip(COMMANDS, run_session(root, COMMANDS), strict=True):
        output = result.stdout + result.stderr
        assert seconds < SECONDS, f"{command} took {seconds:.1f} s"
        assert result.returncode in (0, 1), output
        if command[0] == "apply" or (command[0] == "plan" and plan_fails):
            assert result.returncode == 1, output
        assert "Traceback" not in output and "crashed" not in output, output
        assert SECRET not in output, output
        for line in result.stderr.splitlines():
            if line.startswith("error: "):
                assert LOCATED.search(line), f"an error that names no place: {line}"
    peak = max(PEAKS[first:])
    assert peak < MEGABYTES, f"a wanplan process peaked at {peak:.0f} MB"
    assert outside_tree(tmp_path, root) == before, "a file outside the project changed"


@pytest.mark.parametrize("hazard", sorted(HAZARDS))
def test_each_hostile_file_is_refused_in_one_line(tmp_path: Path, hazard: str) -> None:
    root, outside = make_world(tmp_path)
    HAZARDS[hazard](root, outside)
    assert_contained(tmp_path, root, plan_fails=hazard not in MET_BY_APPLY)


COMBINATIONS = [
    sorted(random.Random(n).sample(sorted(HAZARDS), k=2 + n % 3))
    for n in range(int(os.environ.get("WANPLAN_FUZZ_FILE_EXAMPLES", "8")))
]
"""Two to four hazards planted together, drawn from a seeded generator: a test each, so that
they run side by side."""


@pytest.mark.parametrize("planted", COMBINATIONS, ids=["+".join(c) for c in COMBINATIONS])
def test_hostile_files_together_stay_contained(tmp_path: Path, planted: list[str]) -> None:
    root, outside = make_world(tmp_path)
    for hazard in planted:
        try:
            HAZARDS[hazard](root, outside)
        except FileExistsError:
            continue  # two hazards on one path (settings linked out and a FIFO): the first
    assert_contained(tmp_path, root)


def test_an_output_replaced_by_a_directory_is_never_removed_or_moved(tmp_path: Path) -> None:
    root, _ = make_world(tmp_path)
    assert run_command(root, "apply", "-y")[0].returncode == 0
    output = root / "outputs" / "good.gif"
    output.unlink()
    output.mkdir()
    (output / "mine.txt").write_text("the user's\n")

    plan, _ = run_command(root, "plan")
    assert "outputs/good.gif is a directory: move it away" in plan.stdout, plan.stdout
    apply, _ = run_command(root, "apply", "-y")
    assert apply.returncode == 1
    assert "outputs/good.gif is a directory: move it away" in apply.stdout, apply.stdout
    moved, _ = run_command(root, "state", "mv", "good", "renamed")
    assert moved.returncode == 1 and "never moves what it did not write" in moved.stderr
    assert (output / "mine.txt").read_text() == "the user's\n"

    shutil.rmtree(output)  # moved away: the next apply restores it from the cache
    assert run_command(root, "apply", "-y")[0].returncode == 0
    assert output.is_file()


def test_a_state_whose_serial_is_not_a_number_is_one_line(tmp_path: Path) -> None:
    import sqlite3

    root, _ = make_world(tmp_path)
    assert run_command(root, "apply", "-y")[0].returncode == 0
    with sqlite3.connect(root / "state" / "wanplan.db") as db:
        db.execute("update meta set value = 'seven' where key = 'serial'")
    db.close()
    result, _ = run_command(root, "plan")
    assert result.returncode == 1
    assert "serial is not a number" in result.stderr and len(result.stderr.splitlines()) == 1


def test_an_output_link_inside_the_project_cannot_overwrite_the_state(tmp_path: Path) -> None:
    root, _ = make_world(tmp_path)
    assert run_command(root, "apply", "-y")[0].returncode == 0
    state = (root / "state" / "wanplan.db").read_bytes()
    (root / "outputs" / "s").symlink_to("../state")
    spec(root, "evil.toml", asset("evil", 'output = "s/wanplan.db"\n'))
    result, _ = run_command(root, "apply", "-y")
    assert result.returncode == 1
    assert "outputs/s/wanplan.db links outside outputs/" in result.stdout, result.stdout
    assert (root / "state" / "wanplan.db").read_bytes()[:16] == state[:16]  # still SQLite
    assert run_command(root, "plan")[0].returncode in (0, 2)


def test_refresh_never_reads_a_fifo_or_a_link_in_place_of_an_output(tmp_path: Path) -> None:
    root, outside = make_world(tmp_path)
    assert run_command(root, "apply", "-y")[0].returncode == 0
    output = root / "outputs" / "good.gif"
    output.unlink()
    os.mkfifo(output)
    result, seconds = run_command(root, "refresh")
    assert seconds < SECONDS and result.returncode in (0, 1), result.stdout + result.stderr
    assert "altered" in result.stdout + result.stderr
    output.unlink()
    output.symlink_to(outside / "secret.toml")
    result, _ = run_command(root, "refresh")
    assert "altered" in result.stdout + result.stderr, result.stdout  # never hashed through


def test_state_mv_never_carries_a_sidecar_linked_out(tmp_path: Path) -> None:
    root, outside = make_world(tmp_path)
    assert run_command(root, "apply", "-y")[0].returncode == 0
    sidecar = root / "outputs" / "good.gif.wanplan.json"
    sidecar.unlink()
    sidecar.symlink_to(outside / "secret.toml")
    result, _ = run_command(root, "state", "mv", "good", "renamed")
    assert result.returncode == 1 and "sidecar" in result.stderr, result.stderr
    assert not list((root / "outputs").glob("renamed*"))


def test_readers_refuse_a_state_linked_out(tmp_path: Path) -> None:
    root, outside = make_world(tmp_path)
    assert run_command(root, "apply", "-y")[0].returncode == 0
    shutil.move(root / "state", outside / "state")
    (root / "state").symlink_to(outside / "state")
    for command in (
        ("show", "good"),
        ("report",),
        ("cost",),
        ("state", "list"),
        ("output", "good"),
    ):
        result, _ = run_command(root, *command)
        assert result.returncode == 1, (command, result.stdout)
        assert "leads out of the project" in result.stderr, (command, result.stderr)
    assert not (root / "report").exists()


def test_plan_reports_a_profile_folder_linked_out(tmp_path: Path) -> None:
    root, outside = make_world(tmp_path)
    (root / "wanplan.toml").write_text('[profiles.draft]\nresolution = "720p"\n')
    assert run_command(root, "apply", "-y", "--profile", "draft")[0].returncode == 0
    shutil.move(root / "outputs" / "draft", outside / "draft")
    (root / "outputs" / "draft").symlink_to(outside / "draft")
    result, _ = run_command(root, "plan", "--profile", "draft")
    assert "outputs/draft/ links outside outputs/" in result.stdout, result.stdout


def test_init_never_writes_through_a_link(tmp_path: Path) -> None:
    root, outside = make_world(tmp_path)
    before = outside_tree(tmp_path, root)
    (root / "wanplan.toml").symlink_to(outside / "created.toml")  # dangling: kept, not created
    (root / ".github").symlink_to(outside / "elsewhere")
    result, _ = run_command(root, "init", "--ci", "github")
    assert result.returncode == 1 and "links outside the project" in result.stderr
    assert outside_tree(tmp_path, root) == before


def test_a_read_only_project_is_one_line_not_a_crash(tmp_path: Path) -> None:
    root, _ = make_world(tmp_path)
    assert run_command(root, "apply", "-y")[0].returncode == 0
    with tmpfs(tmp_path / "ro", 16) as disk:
        shutil.copytree(root, disk / "project", symlinks=True)
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        for command in (("report",), ("apply", "-y", "--replace", "good")):
            result, _ = run_command(disk / "project", *command)
            assert result.returncode == 1, (command, result.stdout, result.stderr)
            output = result.stdout + result.stderr
            assert "crashed" not in output and "Traceback" not in output, output
            assert "read-only" in output.lower() or "readonly" in output.lower(), output
            assert len([line for line in output.splitlines() if "error" in line]) == 1, output
