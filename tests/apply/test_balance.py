"""The balance check (PRODUCT §6): where WaveSpeed or APIXO report the account's balance, a plan
estimated above it is refused whole before the first submit, exit 4, nothing sent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Run, emulator_for_wanplan, write_spec
from wanplan.emulator import Emulator, Knobs

SHOTS = "".join(
    f'[assets.shot-{i}]\nprovider = "{provider}"\nmode = "t2v"\nmodel = "{model}"\n'
    f'resolution = "720p"\nprompt = "Balance shot {i}."\nseed = {i}\n'
    for i, (provider, model) in enumerate([("wavespeed", "wan-2.6"), ("wavespeed", "wan-2.6")])
)


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    with emulator_for_wanplan(monkeypatch, Knobs(latency=0.1), "balance-key") as emulator:
        yield emulator


def submits(emulator: Emulator) -> int:
    return sum(
        1 for e in emulator.log if e.method == "POST" and not e.path.endswith("/model/price")
    )


def test_a_plan_above_the_balance_is_refused_before_any_submit(
    run: Run, empty_project: Path, emulator: Emulator
) -> None:
    write_spec(empty_project, "shots.toml", SHOTS)
    planned = run(empty_project, "plan", "--format", "json")
    assert planned.exit_code == 0, planned.output
    emulator.set_knobs(balance=0.5)  # below the two shots' estimate
    refused = run(empty_project, "apply", "-y")
    assert refused.exit_code == 4, refused.output
    errors = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "wavespeed: the balance is $0.50, below" in errors[0]
    assert "--skip-balance-check" in errors[0]
    assert submits(emulator) == 0
    assert any(entry.path.endswith("/balance") for entry in emulator.log)

    allowed = run(empty_project, "apply", "-y", "--skip-balance-check")
    assert allowed.exit_code == 0, allowed.output
    assert submits(emulator) == 2


def test_a_balance_that_covers_the_plan_lets_it_through(
    run: Run, empty_project: Path, emulator: Emulator
) -> None:
    write_spec(empty_project, "shots.toml", SHOTS)
    emulator.set_knobs(balance=1000)
    assert run(empty_project, "apply", "-y").exit_code == 0
    assert submits(emulator) == 2


def test_apixo_reports_its_balance_too(run: Run, empty_project: Path, emulator: Emulator) -> None:
    write_spec(
        empty_project,
        "shots.toml",
        '[assets.clip]\nprovider = "apixo"\nmode = "t2v"\nmodel = "wan-2.5"\n'
        'prompt = "An APIXO shot."\nseed = 1\n',
    )
    emulator.set_knobs(balance=0)
    result = run(empty_project, "apply", "-y")
    assert result.exit_code == 4, result.output
    assert "apixo: the balance is $0.00" in result.stderr
    assert submits(emulator) == 0
