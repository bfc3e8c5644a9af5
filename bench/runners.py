"""Benchmark: 1,000 assets applied by 4 runners at once through PostgreSQL and S3, against one
account's cap, next to one runner on SQLite.

Run from the repository root with the project's interpreter, PostgreSQL on loopback (trust
auth, or PGPASSWORD) and `pip install -e '.[team,dev]'` (psycopg, obstore, moto's server):

    .venv/bin/python bench/runners.py                     # 1000 assets, 4 runners
    .venv/bin/python bench/runners.py --assets 200        # quicker
    .venv/bin/python bench/runners.py --same              # every runner applies every asset

The emulator runs in its own process (DashScope's protocol, which answers 429 past the
account's cap of concurrent tasks), 2 s tasks at a time scale of 0.04. Each runner is a
separate `wanplan apply -y` process in its own checkout (nothing shared on disk): by default
each applies a quarter of the assets (`--target`), with `--same` all of them (the claims then
share the work). Figures:

- makespan (first request to the provider to the last) of the 4 runners, against the
  single-runner ideal under the same cap (assets / cap × latency): target <= 1.25;
- the same for one runner on SQLite and the local cache, as the baseline (ratio of the two);
- tasks paid (must equal the assets), 429 answers for the cap (must be 0: the runners share
  the account's `concurrency`);
- state round trips per asset: SQL statements sent, BEGIN/COMMIT included, counted in each
  runner process (`bench/counted.py`), PostgreSQL's sum next to SQLite's.

The exit status is non-zero only on a crash; a missed target prints MISSED.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
from apply_throughput import start_emulator

from wanplan.emulator.server import provider_base_urls

LATENCY = 2.0
CAP = 40
RUNNERS = 4
KEY = "bench-key"
MAKESPAN_TARGET = 1.25
ADMIN = os.environ.get("WANPLAN_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
COUNTED = str(Path(__file__).with_name("counted.py"))


def write_project(root: Path, assets: int) -> None:
    (root / "specs").mkdir(parents=True)
    (root / "wanplan.toml").write_text(
        f'[project]\ndefault_provider = "dashscope"\n[providers.dashscope]\nconcurrency = {CAP}\n'
    )
    lines = ['version = 1\n[defaults]\nmodel = "wan-2.6"\nmode = "t2v"\nresolution = "720p"\n']
    lines += [
        f'[assets.shot-{i:05d}]\nprompt = "Benchmark shot {i}."\nseed = {i}\n'
        for i in range(assets)
    ]
    (root / "specs" / "bench.toml").write_text("\n".join(lines))


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = str(Path(sys.executable).with_name("moto_server"))
    process = subprocess.Popen(
        [server, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url, timeout=1)
            return process, url
        except httpx.TransportError:
            if time.monotonic() > deadline:
                process.kill()
                raise SystemExit("moto's S3 server did not start") from None
            time.sleep(0.1)


def apply_all(roots: list[Path], targets: list[list[str]], env: dict[str, str]) -> int:
    """Start one `apply -y` per checkout at once; returns the statements they sent. Each
    runner writes to a file of its own: a pipe read only at the end would fill up and stall it
    (which is how this benchmark first measured itself)."""
    processes = []
    for root, target in zip(roots, targets, strict=True):
        with (root / "apply.log").open("w") as log:
            processes.append(
                subprocess.Popen(
                    [sys.executable, COUNTED, "-C", str(root), "apply", "-y", *target],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env={**env, "WANPLAN_BENCH_COUNT": str(root / "statements.txt")},
                )
            )
    for root, process in zip(roots, processes, strict=True):
        if process.wait(timeout=3600) != 0:
            output = (root / "apply.log").read_text()[-3000:]
            raise SystemExit(f"a runner failed ({process.returncode}):\n{output}")
    return sum(int((root / "statements.txt").read_text()) for root in roots)


def provider_figures(base_url: str) -> tuple[float, Counter[str], int]:
    """From the emulator's log: makespan, tasks made by prompt, 429 answers."""
    log = httpx.get(f"{base_url}/_emulator/log", timeout=60).json()
    entries = log["requests"] if isinstance(log, dict) else log
    times = [entry["time"] for entry in entries]
    made: Counter[str] = Counter()
    for entry in entries:
        body = entry.get("json") or {}
        if entry["method"] == "POST" and entry["status"] == 200 and "input" in body:
            made[str(body["input"].get("prompt"))] += 1
    refused = sum(1 for entry in entries if entry["status"] == 429)
    httpx.post(f"{base_url}/_emulator/reset")
    return max(times) - min(times), made, refused


def cpu_seconds(pid: int) -> float:
    """User and system CPU a process has used (Linux; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class CpuMeter:
    """CPU used meanwhile by the runners (children waited for), the emulator and moto: on a
    small machine they compete with the runners (and PostgreSQL) for the same cores."""

    def __init__(self, emulator: int, moto: int) -> None:
        self.pids = {"emulator": emulator, "S3 server": moto}
        self.start = self._read()

    def _read(self) -> dict[str, float]:
        figures = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        figures["runners"] = children_cpu()
        return figures

    def used(self) -> dict[str, float]:
        now = self._read()
        return {name: now[name] - self.start[name] for name in now}


def checkouts(folder: Path, template: Path, count: int) -> list[Path]:
    roots = []
    for n in range(count):
        root = folder / f"runner-{n}"
        root.mkdir(parents=True)
        shutil.copy(template / "wanplan.toml", root / "wanplan.toml")
        shutil.copytree(template / "specs", root / "specs")
        roots.append(root)
    return roots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=1000)
    parser.add_argument("--runners", type=int, default=RUNNERS)
    parser.add_argument("--same", action="store_true", help="every runner applies every asset")
    args = parser.parse_args()
    import psycopg

    database = f"wanplan_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f"create database {database}")
    emulator, base_url = start_emulator(LATENCY, CAP)
    moto, endpoint = start_moto()
    bucket = f"wanplan-bench-{uuid.uuid4().hex[:8]}"
    httpx.put(f"{endpoint}/{bucket}").raise_for_status()
    env = {**os.environ, **provider_base_urls(base_url), "DASHSCOPE_API_KEY": KEY}
    team_env = {
        **env,
        "WANPLAN_STATE_URL": f"{ADMIN.rsplit('/', 1)[0]}/{database}",
        "WANPLAN_CACHE_URL": f"s3://{bucket}/bench",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench-secret",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
    }
    try:
        with tempfile.TemporaryDirectory(prefix="wanplan-runners-bench-") as folder:
            template = Path(folder) / "template"
            write_project(template, args.assets)
            (solo,) = checkouts(Path(folder) / "solo", template, 1)
            meter = CpuMeter(emulator.pid, moto.pid)
            solo_statements = apply_all([solo], [[]], env)
            solo_cpu = meter.used()
            solo_makespan, solo_made, solo_refused = provider_figures(base_url)

            roots = checkouts(Path(folder) / "team", template, args.runners)
            addresses = [f"--target=shot-{i:05d}" for i in range(args.assets)]
            targets = (
                [[] for _ in roots]
                if args.same
                else [addresses[n :: args.runners] for n in range(args.runners)]
            )
            meter = CpuMeter(emulator.pid, moto.pid)
            team_statements = apply_all(roots, targets, team_env)
            team_cpu = meter.used()
            makespan, made, refused = provider_figures(base_url)
    finally:
        for process in (emulator, moto):
            process.terminate()
            process.wait(timeout=10)
        if emulator.stdout is not None:
            emulator.stdout.close()
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f"drop database if exists {database} with (force)")

    ideal = args.assets / CAP * LATENCY
    ratio = makespan / ideal
    shape = "every asset each" if args.same else f"{args.assets // args.runners} assets each"
    print("=" * 78)
    print(
        f"{args.assets} assets, {LATENCY:g} s tasks, the account's cap {CAP}; ideal {ideal:.2f} s"
    )
    print(
        f"  {args.runners} runners on PostgreSQL + S3 ({shape}): makespan {makespan:.2f} s, "
        f"ratio {ratio:.3f} (target <= {MAKESPAN_TARGET}) "
        f"{'ok' if ratio <= MAKESPAN_TARGET else 'MISSED'}"
    )
    print(
        f"  1 runner on SQLite + local cache:    makespan {solo_makespan:.2f} s, ratio "
        f"{solo_makespan / ideal:.3f}; the runners take {makespan / solo_makespan:.3f}x its time"
    )
    paid_once = sum(made.values()) == args.assets and set(made.values()) == {1}
    print(
        f"  tasks paid: {sum(made.values())} for {args.assets} assets "
        f"({'each once' if paid_once else 'MISSED: some twice or none'}); 429 for the cap: "
        f"{refused} ({'ok' if refused == 0 else 'MISSED'}); SQLite run: "
        f"{sum(solo_made.values())} paid, {solo_refused} refused"
    )
    print(
        f"  state round trips per asset: PostgreSQL {team_statements / args.assets:.1f} "
        f"(all runners), SQLite {solo_statements / args.assets:.1f}"
    )
    for name, used in (("runners", team_cpu), ("SQLite run", solo_cpu)):
        shown = ", ".join(f"{part} {seconds:.1f}" for part, seconds in used.items())
        print(f"  CPU seconds, {name}: {shown} (this machine: {os.cpu_count()} CPUs)")
    print("=" * 78)
    print(json.dumps({"makespan": makespan, "solo": solo_makespan, "ideal": ideal}))


if __name__ == "__main__":
    main()
