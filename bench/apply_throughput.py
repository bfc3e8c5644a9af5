"""Benchmark: apply 1,000 assets against the emulator, 2 s per task, 100 tasks at once.

Run from the repository root with the project's interpreter:

    .venv/bin/python bench/apply_throughput.py                  # 1000 assets
    .venv/bin/python bench/apply_throughput.py --assets 200     # quicker

The emulator runs in its own process (`wanplan emulator`), emulating APIXO (whose advised
rhythm is "wait ~50 s, then every 5 s") at a time scale of 0.04, so a 2 s task is a 50 s task
sped up. wanplan applies every asset with a provider cap of 100 concurrent tasks. Figures:

- makespan against the ideal (assets / cap × latency): target <= 1.05;
- HTTP requests per asset (submit, polls, download), from the emulator's log: target <= 4;
- peak memory of the applying process;
- with --without-rule, the same apply with submits of one model sent in parallel, and what the
  reconciliation rule (one submit per model whose outcome is unknown at a time) costs;
- a plain sequential submit-and-poll loop, as the providers' quickstarts write it (poll every
  second), timed on a sample and extrapolated to all assets, and its ratio to wanplan.

The exit status is non-zero only on a crash; a missed target prints MISSED.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

LATENCY = 2.0
CAP = 100
TIME_SCALE = 0.04
KEY = "bench-key"
MAKESPAN_TARGET = 1.05
REQUESTS_TARGET = 4.0


def start_emulator(latency: float, cap: int = CAP) -> tuple[subprocess.Popen[str], str]:
    wanplan = str(Path(sys.executable).with_name("wanplan"))
    process = subprocess.Popen(
        [
            wanplan,
            "emulator",
            "--port",
            "0",
            "-q",
            "--latency",
            str(latency),
            "--concurrency-cap",
            str(cap),
            "--time-scale",
            str(TIME_SCALE),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    match = re.search(r"http://127\.0\.0\.1:\d+", process.stdout.readline())
    if not match:
        process.kill()
        raise SystemExit("the emulator did not start")
    return process, match.group(0)


def write_project(root: Path, assets: int) -> None:
    (root / "specs").mkdir(parents=True)
    (root / "wanplan.toml").write_text(
        f'[project]\ndefault_provider = "apixo"\n[providers.apixo]\nconcurrency = {CAP}\n'
    )
    lines = ['version = 1\n[defaults]\nmodel = "wan-2.5"\nmode = "t2v"\n']
    for index in range(assets):
        lines.append(
            f'[assets.shot-{index:05d}]\nprompt = "Benchmark shot {index}."\nseed = {index}\n'
        )
    (root / "specs" / "bench.toml").write_text("\n".join(lines))


def peak_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def wanplan_apply(root: Path, *, one_submit_per_model: bool = True) -> float:
    from wanplan.apply.engine import ApplyEngine
    from wanplan.apply.providers import providers_needed, setup_providers
    from wanplan.blobs import LocalBlobStore
    from wanplan.plan.planner import make_plan
    from wanplan.project import Project
    from wanplan.state.sqlite import SqliteState

    project = Project.at(root)
    state = SqliteState.open_writer(project.state_path)
    try:
        blobs = LocalBlobStore(project.cache_dir)
        plan = make_plan(project, state=state, blobs=blobs)
        setups = setup_providers(project.config, providers_needed(plan))
        engine = ApplyEngine(project, state, blobs, setups)
        # The reconciliation rule: at most one submit per (provider, model) whose outcome is
        # unknown at a time (submits of one model go one after another).
        engine.one_submit_per_model = one_submit_per_model
        started = time.perf_counter()
        result = asyncio.run(engine.run(plan))
        makespan = time.perf_counter() - started
    finally:
        state.close()
    failed = result.failed
    if failed:
        raise SystemExit(
            f"{len(failed)} assets failed, e.g. {failed[0].address}: {failed[0].error}"
        )
    return makespan


def sequential_sample(base_url: str, count: int) -> float:
    """Seconds per asset of the quickstart loop: submit, poll every second, download."""

    async def one(client: httpx.AsyncClient, index: int) -> None:
        headers = {"Authorization": f"Bearer {KEY}"}
        body = {
            "request_type": "async",
            "input": {
                "mode": "text-to-video",
                "prompt": f"Sequential shot {index}.",
                "resolution": "720p",
                "duration": 5,
                "seed": index,
            },
        }
        submitted = await client.post(
            f"{base_url}/api/v1/generateTask/wan-2-5", json=body, headers=headers
        )
        task_id = submitted.json()["data"]["taskId"]
        while True:
            await asyncio.sleep(1.0)
            status = (
                await client.get(
                    f"{base_url}/api/v1/statusTask/wan-2-5",
                    params={"taskId": task_id},
                    headers=headers,
                )
            ).json()["data"]
            if status["state"] in ("success", "failed"):
                break
        import json

        url = json.loads(status["resultJson"])["resultUrls"][0]
        (await client.get(url)).raise_for_status()

    async def main() -> float:
        async with httpx.AsyncClient(timeout=30) as client:
            started = time.perf_counter()
            for index in range(count):
                await one(client, index)
            return (time.perf_counter() - started) / count

    return asyncio.run(main())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=LATENCY)
    parser.add_argument("--sequential-sample", type=int, default=5)
    parser.add_argument(
        "--without-rule",
        action="store_true",
        help="also apply with submits of one model in parallel (the reconciliation rule off), "
        "to print what the rule costs",
    )
    args = parser.parse_args()

    emulator, base_url = start_emulator(args.latency)
    try:
        os.environ["WANPLAN_APIXO_BASE_URL"] = f"{base_url}/api/v1"
        os.environ["APIXO_API_KEY"] = KEY
        with tempfile.TemporaryDirectory(prefix="wanplan-apply-bench-") as folder:
            root = Path(folder)
            write_project(root, args.assets)
            before = peak_mb()
            makespan = wanplan_apply(root)
            peak = peak_mb()
            log = httpx.get(f"{base_url}/_emulator/log").json()
            entries = log["requests"] if isinstance(log, dict) else log
            requests = len(entries)
            outputs = len(list((root / "outputs").iterdir()))
        httpx.post(f"{base_url}/_emulator/reset")
        unruled: tuple[float, int] | None = None
        if args.without_rule:
            with tempfile.TemporaryDirectory(prefix="wanplan-apply-bench-") as folder:
                write_project(Path(folder), args.assets)
                unruled_makespan = wanplan_apply(Path(folder), one_submit_per_model=False)
            unruled_log = httpx.get(f"{base_url}/_emulator/log").json()["requests"]
            unruled = (unruled_makespan, len(unruled_log))
            httpx.post(f"{base_url}/_emulator/reset")
        per_asset_sequential = sequential_sample(base_url, args.sequential_sample)
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)
        if emulator.stdout is not None:
            emulator.stdout.close()

    ideal = args.assets / CAP * args.latency
    sequential = per_asset_sequential * args.assets
    ratio = makespan / ideal
    per_asset = requests / args.assets
    print("=" * 78)
    print(f"apply {args.assets} assets, {args.latency:g} s tasks, cap {CAP}: {outputs} outputs")
    print(
        f"  makespan {makespan:.2f} s; ideal {ideal:.2f} s; ratio {ratio:.3f} "
        f"(target <= {MAKESPAN_TARGET}) {'ok' if ratio <= MAKESPAN_TARGET else 'MISSED'}"
    )
    print(
        f"  HTTP requests {requests}: {per_asset:.2f} per asset "
        f"(target <= {REQUESTS_TARGET:g}) {'ok' if per_asset <= REQUESTS_TARGET else 'MISSED'}"
    )
    if unruled is not None:
        print(
            f"  without the one-submit-per-model rule: makespan {unruled[0]:.2f} s, ratio "
            f"{unruled[0] / ideal:.3f}, {unruled[1] / args.assets:.2f} requests per asset; "
            f"the rule costs {makespan / unruled[0] - 1:+.1%} of makespan"
        )
    print(f"  peak memory {peak:.1f} MB (before apply {before:.1f} MB)")
    print(
        f"  sequential quickstart loop: {per_asset_sequential:.2f} s per asset "
        f"(sample of {args.sequential_sample}), {sequential:.0f} s for all; "
        f"wanplan is {sequential / makespan:.0f}x faster"
    )
    print("=" * 78)


if __name__ == "__main__":
    main()
