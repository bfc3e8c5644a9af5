"""Benchmark: a no-op `wanplan plan` over a large, fully applied project.

Run from the repository root with the project's interpreter:

    .venv/bin/python bench/plan_noop.py                  # 10 000 assets in 10 files
    .venv/bin/python bench/plan_noop.py --assets 100000  # 100 000 assets

It generates a temporary project (sim provider), brings its state to "everything applied" by
writing the state directly (no real apply: far too slow at 100k), checks that `make_plan` then
reports zero changes, and compares the time of an in-process no-op plan with a baseline: the same
Python merely reading and parsing every specs file with tomllib and hashing each asset's
canonical JSON. Targets: ratio <= 1.5, peak memory of the plan process <= 500 MB.

The exit status is non-zero only on a crash; a missed target prints MISSED.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import hashlib
import io
import json
import os
import pstats
import resource
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import tomllib
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli

import wanplan
from wanplan.blobs import LocalBlobStore
from wanplan.plan.model import Action, Plan
from wanplan.project import CACHE_DIR, Project
from wanplan.state.records import AssetRecord, now_iso
from wanplan.state.sqlite import SqliteState

RATIO_TARGET = 1.5
OWN_WORK_TARGET = 2.5
"""The no-op plan against reading the specs with wanplan's own parser: the tomllib yardstick
cannot see a slowdown of wanplan's own work once tomli parses faster (2.2 to 2.3 measured)."""
MEMORY_TARGET_MB = 500.0
INPUT_IMAGES = 4
I2V_EVERY = 10  # one asset in ten is image-to-video
INPUT_AGE_SECONDS = 3600  # stamps are trusted only when hashed > 2 s after the file's mtime

# A 1x1 GIF: the "generated video" of every video asset (one blob shared by all of them).
TINY_GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)

ADJECTIVES = ("foggy", "sunlit", "rain-soaked", "snowy", "neon", "quiet", "windy", "golden")
PLACES = ("pine forest", "harbour", "desert road", "city rooftop", "market", "glacier", "library")
TIMES = ("dawn", "noon", "dusk", "midnight", "blue hour")
MOVES = ("slow dolly", "crane shot", "static wide shot", "handheld walk", "orbit", "push-in")
RATIOS = ("16:9", "9:16", "1:1")


# ---- project generation --------------------------------------------------------------------


def png_bytes(rgb: tuple[int, int, int]) -> bytes:
    """A valid 1x1 RGB PNG of one colour (distinct bytes per colour)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" + bytes(rgb))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def toml_string(value: str) -> str:
    return json.dumps(value)  # a JSON string of plain text is a valid TOML basic string


def asset_lines(index: int) -> list[str]:
    """The TOML lines of asset number `index`: varied mode, prompt, seed and fields."""
    name = f"shot-{index:06d}"
    move = MOVES[index % len(MOVES)]
    adjective = ADJECTIVES[(index // 3) % len(ADJECTIVES)]
    place = PLACES[(index // 7) % len(PLACES)]
    moment = TIMES[(index // 11) % len(TIMES)]
    prompt = f"Shot {index}: a {move} through a {adjective} {place} at {moment}."
    lines = [f"[assets.{name}]"]
    kind = index % I2V_EVERY
    if kind == 0:
        lines.append('mode = "i2v"')
        lines.append(f'image = "inputs/ref-{index // I2V_EVERY % INPUT_IMAGES}.png"')
        lines.append(f"prompt = {toml_string('Camera holds still. ' + prompt)}")
    elif kind == 5:
        lines.append('mode = "t2i"')
        lines.append(f"prompt = {toml_string('Still frame. ' + prompt)}")
        lines.append(f'resolution = "{("720p", "1080p")[index % 2]}"')
        lines.append(f'aspect_ratio = "{RATIOS[index % 3]}"')
    else:
        lines.append('mode = "t2v"')
        lines.append(f"prompt = {toml_string(prompt)}")
        lines.append(f'aspect_ratio = "{RATIOS[index % 3]}"')
        if index % 4 == 1:
            lines.append('resolution = "1080p"')
        if index % 6 == 2:
            lines.append("duration = 10")
        if index % 5 == 3:
            lines.append('negative_prompt = "blurry, jitter, watermark"')
    if index % 13 != 12:  # a few assets leave the seed unpinned
        lines.append(f"seed = {(index * 7919) % 2_147_483_647}")
    if index % 8 == 4:
        lines.append(f'tags = ["batch-{index % 5}", "bench"]')
    if index % 20 == 7:
        lines.append(f'params = {{ motion_strength = {index % 10 / 10}, style = "cinematic" }}')
    return lines


def write_project(root: Path, assets: int, files: int) -> None:
    (root / "wanplan.toml").write_text('[project]\ndefault_provider = "sim"\n', "utf-8")
    inputs = root / "inputs"
    inputs.mkdir()
    past = time.time() - INPUT_AGE_SECONDS
    for n in range(INPUT_IMAGES):
        path = inputs / f"ref-{n}.png"
        path.write_bytes(png_bytes((40 * n, 255 - 40 * n, 128)))
        os.utime(path, (past, past))
    specs = root / "specs"
    specs.mkdir()
    per_file, extra = divmod(assets, files)
    start = 0
    for f in range(files):
        count = per_file + (1 if f < extra else 0)
        resolution = ("480p", "720p")[f % 2]
        lines = [
            "version = 1",
            "",
            "[defaults]",
            'provider = "sim"',
            'model = "wan-2.5"',
            f'resolution = "{resolution}"',
            "duration = 5",
        ]
        for index in range(start, start + count):
            lines.append("")
            lines.extend(asset_lines(index))
        (specs / f"part-{f:02d}.toml").write_text("\n".join(lines) + "\n", "utf-8")
        start += count


def plan_of(root: Path) -> Plan:
    """The plan `wanplan plan` makes, in process (the Workspace opens the state and cache)."""
    from wanplan.workspace import PlanRequest, Workspace

    return Workspace.open(root).plan(PlanRequest()).plan


def fake_apply(root: Path) -> tuple[int, float]:
    """Write the state as if every declared asset had been applied; returns (count, seconds)."""
    started = time.perf_counter()
    project = Project.at(root)
    plan = plan_of(root)
    creates = [c for c in plan.changes if c.action is Action.CREATE]
    if len(creates) != len(plan.changes):
        raise SystemExit(f"fresh project: expected only creates, got {summary(plan)}")
    blobs = LocalBlobStore(root / CACHE_DIR)
    sample = {"gif": root / CACHE_DIR / "sample.gif", "png": root / CACHE_DIR / "sample.png"}
    sample["gif"].parent.mkdir(parents=True, exist_ok=True)
    sample["gif"].write_bytes(TINY_GIF)
    sample["png"].write_bytes(png_bytes((1, 2, 3)))
    blob = {ext: blobs.add_file(path) for ext, path in sample.items()}
    media = {"gif": "image/gif", "png": "image/png"}
    payload = {ext: path.read_bytes() for ext, path in sample.items()}

    state = SqliteState.open_writer(project.state_path)
    try:
        with state.transaction():
            for change in creates:
                asset = change.asset
                assert asset is not None
                ext = "png" if asset.mode == "t2i" else "gif"
                relative = f"outputs/{asset.address}.{ext}"
                destination = root / relative
                destination.parent.mkdir(parents=True, exist_ok=True)
                destination.write_bytes(payload[ext])
                st = os.stat(destination)
                state.record_generation(
                    content_key=asset.content_key,
                    provider=asset.provider,
                    model_id=asset.model_id,
                    mode=asset.mode,
                    material=asset.material,
                    blob_sha256=blob[ext],
                    extension=ext,
                    media_type=media[ext],
                    size=st.st_size,
                    task_id=f"bench-{asset.address}",
                    address=asset.address,
                )
                state.set_asset(
                    AssetRecord(
                        address=asset.address,
                        profile=plan.profile,
                        content_key=asset.content_key,
                        output_path=relative,
                        output_sha256=blob[ext],
                        output_size=st.st_size,
                        output_mtime_ns=st.st_mtime_ns,
                        updated_at=now_iso(),
                    )
                )
            state.save_file_stamps(plan.fresh_file_stamps)
    finally:
        state.close()
    return len(creates), time.perf_counter() - started


def summary(plan: Plan) -> str:
    counts = {a.value: plan.count(a) for a in Action}
    return ", ".join(f"{k} {v}" for k, v in counts.items() if v)


def check_noop(root: Path, expected: int) -> None:
    plan = plan_of(root)
    if plan.changes or plan.unchanged != expected:
        raise SystemExit(
            f"the applied project does not plan as a no-op ({summary(plan)}); "
            "the benchmark would measure the wrong thing"
        )
    if plan.fresh_file_stamps:
        raise SystemExit(
            f"the no-op plan re-hashed {len(plan.fresh_file_stamps)} input files; "
            "their stamps should have been trusted"
        )


# ---- measurements --------------------------------------------------------------------------


class PlanTimeout(Exception):
    pass


@contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Raise PlanTimeout in the main thread once `seconds` have passed (None: no limit)."""
    if not seconds:
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise PlanTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def baseline(root: Path, loads: Callable[[str], dict[str, Any]] = tomllib.loads) -> int:
    """Read and parse every specs file, hash each asset's canonical JSON. Returns the count."""
    count = 0
    for path in sorted((root / "specs").rglob("*.toml")):
        document = loads(path.read_bytes().decode("utf-8"))
        for table in document.get("assets", {}).values():
            canonical = json.dumps(table, sort_keys=True, separators=(",", ":"))
            hashlib.sha256(canonical.encode()).hexdigest()
            count += 1
    return count


def clear_wanplan_caches() -> int:
    """Clear every functools cache in wanplan's loaded modules (catalog, plugins, ...), as a
    fresh `wanplan plan` process would start. Returns how many were cleared."""
    cleared = 0
    for name, module in list(sys.modules.items()):
        if name != "wanplan" and not name.startswith("wanplan."):
            continue
        for value in list(vars(module).values()):
            if callable(getattr(value, "cache_clear", None)):
                value.cache_clear()
                cleared += 1
    return cleared


def noop_plan(root: Path) -> int:
    """One no-op plan as `wanplan plan` does it: a new Project, nothing cached from before."""
    clear_wanplan_caches()
    plan = plan_of(root)
    return plan.unchanged


@dataclass
class Timing:
    runs: list[float]
    timed_out: float | None = None
    """The limit, when a run did not finish within it (no later runs are made)."""

    @property
    def best(self) -> float | None:
        return min(self.runs) if self.runs else None

    @property
    def median(self) -> float | None:
        return statistics.median(self.runs) if self.runs else None


def timed(
    function: Callable[[Path], int],
    root: Path,
    repeat: int,
    expected: int,
    limit: float | None = None,
) -> Timing:
    timing = Timing([])
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        try:
            with deadline(limit):
                result = function(root)
        except PlanTimeout:
            timing.timed_out = limit
            break
        timing.runs.append(time.perf_counter() - started)
        if result != expected:
            raise SystemExit(f"{function.__name__}: {result} assets, expected {expected}")
    return timing


def peak_rss_kib() -> int:
    """This process's peak resident memory in KiB.

    VmHWM from /proc on Linux: ru_maxrss would be wrong in a child process there, because the
    kernel carries the parent's peak over through fork and exec (a child of a 600 MB benchmark
    would report at least 600 MB). Elsewhere, ru_maxrss (KiB on Linux, bytes on macOS).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak


def measure_memory_here(root: Path, limit: float | None) -> None:
    """Child-process mode: print RSS peaks (KiB) after imports and after one no-op plan."""
    after_imports = peak_rss_kib()
    unchanged: int | None = None
    try:
        with deadline(limit):
            unchanged = plan_of(root).unchanged
    except PlanTimeout:
        pass
    peak = peak_rss_kib()
    result = {"after_imports_kib": after_imports, "peak_kib": peak, "unchanged": unchanged}
    print(json.dumps(result))


@dataclass
class Memory:
    after_imports_mb: float
    peak_mb: float
    finished: bool


def measure_memory(root: Path, limit: float | None) -> Memory:
    command = [sys.executable, str(Path(__file__).resolve()), "--measure-memory-only", str(root)]
    if limit:
        command += ["--plan-timeout", str(limit)]
    completed = subprocess.run(command, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return Memory(
        result["after_imports_kib"] / 1024,
        result["peak_kib"] / 1024,
        result["unchanged"] is not None,
    )


def cli_plan_seconds(root: Path, limit: float | None) -> float | None:
    """One end-to-end `wanplan plan` (imports, rendering); None when over `limit`."""
    wanplan_command = Path(sys.executable).parent / "wanplan"
    started = time.perf_counter()
    try:
        completed = subprocess.run(
            [str(wanplan_command), "-C", str(root), "plan", "--detailed-exitcode"],
            capture_output=True,
            text=True,
            timeout=limit,
        )
    except subprocess.TimeoutExpired:
        return None
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"`wanplan plan` exited {completed.returncode}: {completed.stderr}")
    return elapsed


def profile_plan(root: Path, out: Path, limit: float | None, top: int = 25) -> None:
    """cProfile one no-op plan; a run interrupted at `limit` seconds is still reported."""
    profiler = cProfile.Profile()
    note = ""
    started = time.perf_counter()
    try:
        with deadline(limit):
            clear_wanplan_caches()
            profiler.enable()
            plan_of(root)
    except PlanTimeout:
        note = f" (INTERRUPTED after {time.perf_counter() - started:.0f} s)"
    finally:
        profiler.disable()
    text = io.StringIO()
    for order in ("cumulative", "tottime"):
        text.write(f"==== no-op make_plan{note}, sorted by {order} (top {top}) ====\n")
        stats = pstats.Stats(profiler, stream=text)
        stats.sort_stats(order).print_stats(top)
    out.write_text(_shorten_paths(text.getvalue()), "utf-8")


def _shorten_paths(report: str) -> str:
    """Paths relative to the repository or to site-packages, to keep the lines readable."""
    for tree in {Path(__file__).resolve().parent.parent, Path(wanplan.__file__).parent.parent}:
        report = report.replace(f"{tree}{os.sep}", "")
    for directory in sorted({p for p in sys.path if p.endswith("site-packages")}, key=len):
        report = report.replace(directory + os.sep, "")
    return report.replace(os.path.dirname(os.__file__) + os.sep, "")


# ---- main ----------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def describe_plan(timing: Timing, base: float) -> tuple[str, str]:
    """(time text, ratio text) for the summary."""
    if timing.best is None:
        limit = timing.timed_out or 0.0
        ratio = limit / base
        return (
            f"did not finish within {limit:g} s",
            f"ratio > {ratio:.3f} (target <= {RATIO_TARGET}) MISSED",
        )
    ratio = timing.best / base
    return (
        f"{timing.best:.3f} s (median {timing.median:.3f}, {len(timing.runs)} runs)",
        f"ratio {ratio:.3f} (target <= {RATIO_TARGET}) {verdict(ratio <= RATIO_TARGET)}",
    )


def describe_memory(memory: Memory) -> str:
    if not memory.finished:
        return f"peak memory >= {memory.peak_mb:.1f} MB (the plan did not finish) MISSED"
    return (
        f"peak memory {memory.peak_mb:.1f} MB (target <= {MEMORY_TARGET_MB:.0f} MB) "
        f"{verdict(memory.peak_mb <= MEMORY_TARGET_MB)}; after imports "
        f"{memory.after_imports_mb:.1f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assets", type=int, default=10_000, help="assets in total (10000)")
    parser.add_argument("--files", type=int, default=10, help="specs files (10)")
    parser.add_argument("--repeat", type=int, help="repetitions (5, or 3 above 20000 assets)")
    parser.add_argument(
        "--plan-timeout",
        type=float,
        default=900.0,
        metavar="S",
        help="give up on a plan run after S seconds, 0 for no limit (900)",
    )
    parser.add_argument("--cli", action="store_true", help="also time `wanplan plan` once")
    parser.add_argument("--profile", type=Path, metavar="FILE", help="write a cProfile report")
    parser.add_argument("--keep", action="store_true", help="keep the generated project")
    parser.add_argument("--measure-memory-only", type=Path, metavar="ROOT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    limit: float | None = args.plan_timeout or None
    if args.measure_memory_only:
        measure_memory_here(args.measure_memory_only, limit)
        return
    if args.assets < 1 or args.files < 1 or args.files > args.assets:
        parser.error("need 1 <= --files <= --assets")
    repeat = args.repeat or (5 if args.assets <= 20_000 else 3)
    n = args.assets
    # `kill` (SIGTERM) ends the run through the `finally` below, which removes the project.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))

    root = Path(tempfile.mkdtemp(prefix="wanplan-bench-")).resolve()
    try:
        print(f"wanplan imported from {Path(wanplan.__file__).parent}")
        print(f"project: {root} ({n} assets in {args.files} files)", flush=True)
        started = time.perf_counter()
        write_project(root, n, args.files)
        print(f"  specs written in {time.perf_counter() - started:.2f} s", flush=True)
        count, seconds = fake_apply(root)
        print(f"  state written for {count} assets in {seconds:.2f} s (no real apply)")
        check_noop(root, n)
        print("  checked: make_plan reports 0 changes", flush=True)

        print(f"timing, best of {repeat}:", flush=True)
        base = timed(baseline, root, repeat, n)
        assert base.best is not None
        print(f"  baseline (tomllib + sha256 per asset): {base.best:.3f} s", flush=True)
        same_parser = timed(lambda r: baseline(r, tomli.loads), root, repeat, n)
        assert same_parser.best is not None
        print(f"  the same with tomli (wanplan's parser): {same_parser.best:.3f} s", flush=True)
        plan = timed(noop_plan, root, repeat, n, limit)
        print(f"  no-op make_plan:                       {describe_plan(plan, base.best)[0]}")
        cli = cli_plan_seconds(root, limit) if args.cli else None
        print("memory (a fresh subprocess)...", flush=True)
        memory = measure_memory(root, limit)

        print()
        print("=" * 78)
        plan_time, plan_ratio = describe_plan(plan, base.best)
        print(f"plan no-op {n} assets: {plan_time}; baseline {base.best:.3f} s")
        print(f"  {plan_ratio}")
        print(f"  {describe_memory(memory)}")
        if plan.best is not None:
            own = plan.best / same_parser.best
            print(
                f"  own work: {own:.3f} times reading the specs with wanplan's own parser (tomli) "
                f"(target <= {OWN_WORK_TARGET}) {verdict(own <= OWN_WORK_TARGET)}"
            )
            per_asset = f"plan {plan.best / n * 1e6:.1f} us, baseline {base.best / n * 1e6:.1f} us"
            print(f"  per asset: {per_asset}")
        if args.cli:
            took = f"{cli:.3f} s" if cli is not None else f"did not finish within {limit or 0:g} s"
            print(f"  `wanplan plan` end to end (one run, subprocess): {took}")
        print("=" * 78, flush=True)

        if args.profile:
            profile_plan(root, args.profile, limit)
            print(f"cProfile report written to {args.profile}")
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
