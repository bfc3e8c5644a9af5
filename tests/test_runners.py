"""Several runners applying one project at once through PostgreSQL and S3 (PRODUCT §11):
separate checkouts, separate processes, nothing shared on disk, one emulator for the account.

Each content key is paid once whoever runs it; the provider's `concurrency` is the account's;
`max_per_day` is reserved before the first submit, so two runners cannot cross it together; a
runner killed mid-apply is taken over once its lease lapses, its tasks resumed, never paid again.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import emulator_for_wanplan, write_spec
from wanplan.apply.provenance import is_sidecar
from wanplan.emulator import Emulator, Knobs

WANPLAN = str(Path(sys.executable).with_name("wanplan"))
CAP = 2
PG_CANARY = "pg-canary-5d1e"
"""The account's concurrent tasks at DashScope: the emulator answers 429 beyond it."""
SETTINGS = f"""
[project]
default_provider = "dashscope"
[state]
lease_seconds = 3
[providers.dashscope]
concurrency = {CAP}
listing_lag = 0.3
submit_timeout = 1.0
"""


@pytest.fixture
def team(postgres_url: str, s3_cache: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """The emulator as the account, with the team's state and cache in every runner's env."""
    monkeypatch.setenv("WANPLAN_STATE_URL", postgres_url)
    monkeypatch.setenv("WANPLAN_CACHE_URL", s3_cache)
    monkeypatch.setenv("PGPASSWORD", PG_CANARY)  # the server trusts loopback: read, never kept
    knobs = Knobs(latency=0.5, time_scale=0.01, concurrency_cap=CAP, listing_lag=0.2)
    with emulator_for_wanplan(monkeypatch, knobs, "team-key") as emulator:
        yield emulator


def shots(count: int, first: int = 0) -> str:
    return "".join(
        f'[assets.shot-{i:02d}]\nmode = "t2v"\nmodel = "wan-2.6"\nresolution = "720p"\n'
        f'prompt = "Team shot {i}."\nseed = {i}\n'
        for i in range(first, first + count)
    )


def checkout(tmp_path: Path, name: str, specs: str, settings: str = SETTINGS) -> Path:
    """A runner's own checkout: settings and specs, nothing else."""
    root = tmp_path / name
    root.mkdir()
    (root / "wanplan.toml").write_text(settings)
    write_spec(root, "shots.toml", specs)
    return root


def start(root: Path, *args: str, unbuffered: bool = False) -> subprocess.Popen[str]:
    """`apply -y` in a runner's checkout; `unbuffered`: its lines can be read as they come."""
    return subprocess.Popen(
        [WANPLAN, "-C", str(root), "apply", "-y", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"} if unbuffered else os.environ,
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    output, _ = process.communicate(timeout=120)
    return process.returncode, output


def paid(emulator: Emulator) -> Counter[str]:
    """How many tasks the account was charged for, by prompt."""
    return Counter(str(task.details.get("prompt")) for task in emulator.tasks())


def most_in_flight(emulator: Emulator) -> int:
    """The most tasks the provider ran at once (each from its creation to its end)."""
    edges = []
    for task in emulator.tasks():
        begins = task.started_at if task.started_at is not None else task.created_at
        edges += [(begins, 1), (begins + task.latency, -1)]
    running = most = 0
    for _, step in sorted(edges, key=lambda edge: (edge[0], edge[1])):
        running += step
        most = max(most, running)
    return most


def events(output: str, kind: str) -> list[str]:
    """The assets of the event lines of one kind (`shot-03: created  outputs/…`)."""
    return re.findall(rf"^(shot-\d+): {kind}\b", output, flags=re.MULTILINE)


def outputs(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "outputs").iterdir() if not is_sidecar(p.name))


def refused_for_concurrency(emulator: Emulator) -> int:
    return sum(1 for entry in emulator.log if entry.status == 429)


def test_three_runners_on_disjoint_targets_share_the_accounts_concurrency(
    team: Emulator, tmp_path: Path
) -> None:
    roots = [checkout(tmp_path, f"runner-{n}", shots(9)) for n in range(3)]
    targets = [[f"--target=shot-{i:02d}" for i in range(n, 9, 3)] for n in range(3)]
    runs = [start(root, *target) for root, target in zip(roots, targets, strict=True)]
    results = [finish(process) for process in runs]
    for code, output in results:
        assert code == 0, output
        assert "3 created" in output, output
    assert paid(team) == {f"Team shot {i}.": 1 for i in range(9)}
    assert refused_for_concurrency(team) == 0  # never above the cap, or DashScope says 429
    assert most_in_flight(team) == CAP  # and the runners did fill it together
    assert_no_secret_kept(team_database(), "team-key", "testing-secret", PG_CANARY)


def team_database() -> list[tuple[str, str]]:
    """Every row of every table of the team's state, as text: (table, row)."""
    import psycopg

    with psycopg.connect(os.environ["WANPLAN_STATE_URL"]) as conn:
        tables = conn.execute(
            "select tablename from pg_tables where schemaname = 'public'"
        ).fetchall()
        return [
            (table, repr(row))
            for (table,) in tables
            for row in conn.execute(f"select * from {table}").fetchall()
        ]


def assert_no_secret_kept(rows: list[tuple[str, str]], *secrets: str) -> None:
    assert rows, "the state is empty: nothing was checked"
    for table, row in rows:
        for secret in secrets:
            assert secret not in row, f"{table} keeps a secret: {row}"
    bucket_listing = httpx.get(
        os.environ["AWS_ENDPOINT_URL"] + "/" + os.environ["WANPLAN_CACHE_URL"][5:].split("/")[0]
    ).text
    assert "<Key>" in bucket_listing  # the outputs are there, named by their digests only
    for secret in secrets:
        assert secret not in bucket_listing


def test_two_runners_on_the_same_assets_pay_each_once(team: Emulator, tmp_path: Path) -> None:
    roots = [checkout(tmp_path, f"runner-{n}", shots(6)) for n in range(2)]
    results = [finish(process) for process in [start(root) for root in roots]]
    for code, output in results:
        assert code == 0, output
    assert paid(team) == {f"Team shot {i}.": 1 for i in range(6)}
    assert outputs(roots[0]) == outputs(roots[1]) and len(outputs(roots[0])) == 6
    combined = results[0][1] + results[1][1]
    assert "another runner makes it" in combined  # one waited for the other's claim
    for _, output in results:  # each has every asset, made or reused from the other
        assert len(events(output, "created")) + len(events(output, "reused")) == 6, output
    assert len(events(combined, "created")) == 6


def test_two_runners_that_cross_max_per_day_only_together_one_is_refused_whole(
    team: Emulator, tmp_path: Path
) -> None:
    # wan-2.6 t2v at 720p is $0.10 a second, a shot 5 s: each runner's plan is $1.50 of $2.00.
    budget = SETTINGS + "[budget]\nmax_per_day = 2.0\n"
    # The first submit is answered 429 with a 3 s Retry-After: whoever reserved first has
    # nothing paid yet while the other checks, so only its reservation can refuse the other.
    team.set_knobs(rate_limit_burst=1, retry_after=3, fault_methods=["POST"])
    roots = [
        checkout(tmp_path, "runner-a", shots(3), budget),
        checkout(tmp_path, "runner-b", shots(3, first=3), budget),
    ]
    results = sorted(finish(process) for process in [start(root) for root in roots])
    (ran, ran_output), (refused, refused_output) = results
    assert (ran, refused) == (0, 4), ran_output + refused_output
    assert "reserved by other running applies" in refused_output, refused_output
    assert "nothing was sent to a provider" in refused_output
    made = paid(team)
    assert sum(made.values()) == 3 and set(made.values()) == {1}
    assert {p.split()[2] for p in made} in ({"0.", "1.", "2."}, {"3.", "4.", "5."})
    reservations = [row for table, row in team_database() if table == "reservations"]
    assert reservations == []  # what was reserved and not spent is released at the end


def test_a_runner_killed_mid_apply_is_taken_over_after_its_lease(
    team: Emulator, tmp_path: Path
) -> None:
    team.set_knobs(latency=2.0)
    roots = [checkout(tmp_path, f"runner-{n}", shots(6)) for n in range(2)]
    victim = start(roots[0])
    wait_until(lambda: len(team.tasks()) >= CAP, victim)  # it holds every claim, paid for 2
    survivor = start(roots[1], unbuffered=True)
    assert survivor.stdout is not None
    seen = []
    for line in survivor.stdout:  # its plan resumes the 2 and waits on the victim's claims
        seen.append(line)
        if "another runner makes it" in line:
            break
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=10)
    code, output = finish(survivor)
    output = "".join(seen) + output
    assert code == 0, output
    assert len(events(output, "resumed")) >= CAP, output  # the tasks the dead runner paid for
    assert paid(team) == {f"Team shot {i}.": 1 for i in range(6)}
    assert len(outputs(roots[1])) == 6
    again = subprocess.run(
        [WANPLAN, "-C", str(roots[0]), "apply", "-y"],
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert sum(paid(team).values()) == 6  # the dead runner's checkout reuses, pays nothing


def wait_until(condition: Callable[[], bool], process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert process.poll() is None, finish(process)[1]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_two_runners_whose_submits_lose_their_answers_never_pay_twice(
    team: Emulator, tmp_path: Path
) -> None:
    """Answers dropped after the task was made: each runner reconciles its unknown submits
    against the task list while no other runner's submit of the model is in flight; nothing
    is paid twice, and what stays unconfirmed is settled by a later apply."""
    team.set_knobs(drop_answer_rate=0.3, drop_seed=7)
    roots = [checkout(tmp_path, f"runner-{n}", shots(8)) for n in range(2)]
    for _ in range(2):
        results = [finish(process) for process in [start(root) for root in roots]]
        made = paid(team)
        assert set(made.values()) == {1}, (made, results)
    assert any(entry.fault == "dropped" for entry in team.log), "no answer was dropped"
    team.set_knobs(drop_answer_rate=0.0)
    final = [finish(process) for process in [start(root) for root in roots]]
    assert paid(team) == {f"Team shot {i}.": 1 for i in range(8)}, final


def test_two_runners_share_the_accounts_request_rate(team: Emulator, tmp_path: Path) -> None:
    """`requests_per_minute` is the account's: 120 a minute is 2 a second (a burst of 2), for
    both runners together, never 2 each."""
    settings = SETTINGS.replace(
        f"concurrency = {CAP}", "concurrency = 8\nrequests_per_minute = 120"
    )
    team.set_knobs(concurrency_cap=None, latency=0.2)
    roots = [checkout(tmp_path, f"runner-{n}", shots(6), settings) for n in range(2)]
    targets = [[f"--target=shot-{i:02d}" for i in range(n * 3, n * 3 + 3)] for n in range(2)]
    runs = [start(root, *target) for root, target in zip(roots, targets, strict=True)]
    results = [finish(process) for process in runs]
    for code, output in results:
        assert code == 0, output
    sent = sorted(entry.time for entry in team.log if entry.provider == "dashscope")
    assert len(sent) >= 12  # a submit and a poll at least, per asset
    busiest = max(sum(1 for t in sent if start <= t < start + 1.0) for start in sent)
    assert busiest <= 2 + 2, busiest  # the burst, and one second's refill
