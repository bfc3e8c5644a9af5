"""Benchmark: start-up time of `wanplan --help`, against a bare `python -c pass`.

Run from anywhere with the project's interpreter:

    .venv/bin/python bench/cli_help.py            # 10 runs of each
    .venv/bin/python bench/cli_help.py --runs 30

Both commands run as subprocesses with the same interpreter (the `wanplan` entry point installed
next to sys.executable). Target: `wanplan --help` in <= 150 ms (best of the runs). The exit status
is non-zero only on a crash; a missed target prints MISSED.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import time
from pathlib import Path

HELP_TARGET_MS = 150.0


def run_ms(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return (time.perf_counter() - started) * 1000


def measure(command: list[str], runs: int) -> list[float]:
    run_ms(command)  # warm the file-system cache and the .pyc files
    return [run_ms(command) for _ in range(runs)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="runs of each command (10)")
    args = parser.parse_args()

    wanplan = Path(sys.executable).parent / "wanplan"
    if not wanplan.exists():
        raise SystemExit(f"{wanplan} not found: install the project (pip install -e .)")
    baseline = measure([sys.executable, "-c", "pass"], args.runs)
    helped = measure([str(wanplan), "--help"], args.runs)
    # The entry point's own import work, for context: python -X importtime shows the detail.
    imports = measure([sys.executable, "-c", "import wanplan.cli.main"], args.runs)

    best, base = min(helped), min(baseline)
    ok = best <= HELP_TARGET_MS
    spec = importlib.util.find_spec("wanplan")
    print(f"wanplan imported from {Path(spec.origin).parent if spec and spec.origin else '?'}")
    print("=" * 78)
    print(
        f"wanplan --help: best {best:.1f} ms, median {statistics.median(helped):.1f} ms "
        f"({args.runs} runs)"
    )
    print(
        f"  baseline python -c pass: best {base:.1f} ms, "
        f"median {statistics.median(baseline):.1f} ms"
    )
    print(f"  import wanplan.cli.main: best {min(imports):.1f} ms")
    print(f"  ratio {best / base:.2f}; extra over bare python {best - base:.1f} ms")
    print(f"  target <= {HELP_TARGET_MS:.0f} ms: {'ok' if ok else 'MISSED'}")
    print("=" * 78)


if __name__ == "__main__":
    main()
